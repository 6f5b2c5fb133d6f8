//! What the annotations of one object say about its place in a sync: hook types, delete policies, wave.

use capstan_types::annotations::{
    HELM_HOOK, HELM_HOOK_DELETE_POLICY, HELM_HOOK_WEIGHT, HOOK, HOOK_DELETE_POLICY, SYNC_WAVE,
    split_list,
};
use capstan_types::{HookDeletePolicy, HookType};
use serde_json::Value;

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// Hook types of an object: `argocd.argoproj.io/hook`, else Helm's `helm.sh/hook` mapped as Argo CD
/// maps it (and Helm's `pre-delete`/`post-delete` as PreDelete/PostDelete). Unknown values are
/// ignored, as Argo CD ignores them. Empty: not a hook.
pub fn hook_types(obj: &Value) -> Vec<HookType> {
    if let Some(text) = annotation(obj, HOOK) {
        return split_list(text).filter_map(|h| h.parse().ok()).collect();
    }
    match annotation(obj, HELM_HOOK) {
        Some(text) => {
            // Argo CD also runs Helm's pre-delete and post-delete hooks, as PreDelete/PostDelete
            let mut types: Vec<HookType> = split_list(text)
                .filter_map(|h| {
                    HookType::from_helm(h).or(match h.trim() {
                        "pre-delete" => Some(HookType::PreDelete),
                        "post-delete" => Some(HookType::PostDelete),
                        _ => None,
                    })
                })
                .collect();
            types.dedup();
            types
        }
        None => Vec::new(),
    }
}

/// True when the object is a hook (of any type, `Skip` included).
pub fn is_hook(obj: &Value) -> bool {
    !hook_types(obj).is_empty()
}

/// Delete policies of a hook; `BeforeHookCreation` when none is given.
pub fn delete_policies(obj: &Value) -> Vec<HookDeletePolicy> {
    let mut policies: Vec<HookDeletePolicy> = match annotation(obj, HOOK_DELETE_POLICY) {
        Some(text) => split_list(text).filter_map(|p| p.parse().ok()).collect(),
        None => annotation(obj, HELM_HOOK_DELETE_POLICY)
            .map(|text| {
                split_list(text)
                    .filter_map(HookDeletePolicy::from_helm)
                    .collect()
            })
            .unwrap_or_default(),
    };
    if policies.is_empty() {
        policies.push(HookDeletePolicy::BeforeHookCreation);
    }
    policies
}

/// The wave: `argocd.argoproj.io/sync-wave` when it is an integer, else `helm.sh/hook-weight` when it is
/// an integer, else 0 (for every resource, hooks or not).
pub fn wave_of(obj: &Value) -> i32 {
    [SYNC_WAVE, HELM_HOOK_WEIGHT]
        .iter()
        .find_map(|key| annotation(obj, key).and_then(|v| v.trim().parse::<i32>().ok()))
        .unwrap_or(0)
}

/// Hook information of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookInfo {
    /// The hook type this task runs as.
    pub hook_type: HookType,
    /// Delete policies.
    pub delete_policies: Vec<HookDeletePolicy>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "annotations": annotations}})
    }

    #[test]
    fn hooks_and_waves() {
        assert_eq!(
            hook_types(&obj(json!({HOOK: "PreSync,PostSync"}))),
            [HookType::PreSync, HookType::PostSync]
        );
        assert_eq!(
            hook_types(&obj(json!({HELM_HOOK: "pre-install,pre-upgrade"}))),
            [HookType::PreSync]
        );
        assert_eq!(hook_types(&obj(json!({HELM_HOOK: "test"}))), []);
        // a Helm post-delete hook is a PostDelete hook (never applied by a sync)
        assert_eq!(
            hook_types(&obj(json!({HELM_HOOK: "post-delete"}))),
            [HookType::PostDelete]
        );
        assert_eq!(
            hook_types(&obj(json!({HELM_HOOK: "pre-delete"}))),
            [HookType::PreDelete]
        );
        // Argo CD's annotation wins over Helm's
        assert_eq!(
            hook_types(&obj(json!({HOOK: "Sync", HELM_HOOK: "pre-install"}))),
            [HookType::Sync]
        );
        assert_eq!(
            delete_policies(&obj(json!({HOOK: "Sync"}))),
            [HookDeletePolicy::BeforeHookCreation]
        );
        assert_eq!(
            delete_policies(&obj(json!({HELM_HOOK_DELETE_POLICY: "hook-succeeded"}))),
            [HookDeletePolicy::HookSucceeded]
        );
        assert_eq!(wave_of(&obj(json!({SYNC_WAVE: "-2"}))), -2);
        assert_eq!(
            wave_of(&obj(json!({SYNC_WAVE: "x", HELM_HOOK_WEIGHT: "5"}))),
            5
        );
        assert_eq!(wave_of(&obj(json!({}))), 0);
    }
}
