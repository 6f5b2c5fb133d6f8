//! `RespectIgnoreDifferences=true` (pure): before a resource is applied, the fields its
//! ignoreDifferences rules (the application's and argocd-cm's) ignore take their live values, so a
//! sync does not overwrite what the comparison ignores — as Argo CD's `normalizeTargetResources`
//! does: the ignored fields are removed from the desired object, then the live object's values of
//! those fields are patched in. Patches are strategic merge patches for built-in kinds (lists merge
//! by their keys, so one ignored container field does not replace the container list) and plain
//! merges of maps, replacing lists, for other kinds.

use capstan_diff::{DiffOptions, Differ, IgnoreDifferencesRule};
use capstan_sync::{ResourceKey, ResourceSyncOptions};
use capstan_types::Application;
use serde_json::Value;

use crate::compare::Comparison;
use crate::controller::Inner;

/// The two normalisers: one with the ignore rules, one without.
pub(crate) struct Normalizers {
    with_rules: Differ,
    without_rules: Differ,
}

impl Normalizers {
    /// From the diff options of an application (its ignore rules included).
    pub(crate) fn new(options: &DiffOptions) -> Result<Self, String> {
        let without = DiffOptions {
            ignore_differences: Vec::new(),
            ..options.clone()
        };
        Ok(Normalizers {
            with_rules: Differ::new(options.clone()).map_err(|e| e.to_string())?,
            without_rules: Differ::new(without).map_err(|e| e.to_string())?,
        })
    }

    /// `target` with every ignored field set to its value in `live` (or removed when `live` has
    /// none).
    pub(crate) fn respect(&self, target: &Value, live: &Value) -> Result<Value, String> {
        let api_version = target
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = target
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let err = |e: capstan_diff::DiffError| e.to_string();
        let patch_err = |e: capstan_patch::PatchError| e.to_string();
        let live_ignored = self.with_rules.normalized(live, Some(live)).map_err(err)?;
        let live_all = self
            .without_rules
            .normalized(live, Some(live))
            .map_err(err)?;
        let target_ignored = self
            .with_rules
            .normalized(target, Some(live))
            .map_err(err)?;
        let target_all = self
            .without_rules
            .normalized(target, Some(live))
            .map_err(err)?;
        if live_ignored == live_all && target_ignored == target_all {
            return Ok(target.clone());
        }
        let remove =
            capstan_patch::two_way_strategic_patch(&target_all, &target_ignored, api_version, kind)
                .map_err(patch_err)?;
        let restore =
            capstan_patch::two_way_strategic_patch(&live_ignored, &live_all, api_version, kind)
                .map_err(patch_err)?;
        let without =
            capstan_patch::apply_strategic_merge_patch(target, &remove, api_version, kind)
                .map_err(patch_err)?;
        capstan_patch::apply_strategic_merge_patch(&without, &restore, api_version, kind)
            .map_err(patch_err)
    }
}

/// The diff options of an application, as its comparison uses them.
fn diff_options(inner: &Inner, app: &Application) -> Result<DiffOptions, String> {
    let settings = inner
        .settings
        .read()
        .map_err(|_| "settings lock poisoned".to_string())?;
    let rules: Vec<IgnoreDifferencesRule> = app
        .spec
        .ignore_differences
        .iter()
        .flatten()
        .map(|r| IgnoreDifferencesRule {
            group: r.group.clone().unwrap_or_default(),
            kind: r.kind.clone(),
            name: r.name.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            json_pointers: r.json_pointers.clone().unwrap_or_default(),
            jq_path_expressions: r.jq_path_expressions.clone().unwrap_or_default(),
            managed_fields_managers: r.managed_fields_managers.clone().unwrap_or_default(),
        })
        .collect();
    let mut options = settings.diff.options_for_app(&rules);
    options.server_side_apply = true;
    options.manager = inner.config.field_manager.clone();
    Ok(options)
}

/// The desired objects to apply: those whose sync options say `RespectIgnoreDifferences=true`
/// and that exist live get their ignored fields from the live object. An error names the
/// resource.
pub(crate) fn apply_to(
    inner: &Inner,
    app: &Application,
    app_options: &ResourceSyncOptions,
    desired: &[Value],
    comparison: &Comparison,
) -> Result<Vec<Value>, String> {
    let mut normalizers: Option<Normalizers> = None;
    let mut out = Vec::with_capacity(desired.len());
    for target in desired {
        let options =
            ResourceSyncOptions::for_resource(app_options, target).map_err(|e| e.to_string())?;
        let key = ResourceKey::of(target);
        let live = comparison
            .resources
            .iter()
            .find(|r| r.key == key)
            .and_then(|r| r.live.clone());
        match live {
            Some(live) if options.respect_ignore_differences => {
                if normalizers.is_none() {
                    normalizers = Some(Normalizers::new(&diff_options(inner, app)?)?);
                }
                let Some(n) = normalizers.as_ref() else {
                    continue;
                };
                out.push(
                    n.respect(target, &live)
                        .map_err(|e| format!("RespectIgnoreDifferences: {key}: {e}"))?,
                );
            }
            _ => out.push(target.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(kind: &str, pointers: &[&str], jq: &[&str]) -> IgnoreDifferencesRule {
        IgnoreDifferencesRule {
            group: "apps".into(),
            kind: kind.into(),
            json_pointers: pointers.iter().map(|p| p.to_string()).collect(),
            jq_path_expressions: jq.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
    }

    fn deployment(replicas: i64, image: &str, env: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                    {"name": "web", "image": image, "env": [{"name": "MODE", "value": env}]},
                    {"name": "sidecar", "image": "proxy:1"}]}}}})
    }

    #[test]
    fn ignored_fields_keep_their_live_values() {
        let options = DiffOptions {
            ignore_differences: vec![rule(
                "Deployment",
                &["/spec/replicas"],
                &[".spec.template.spec.containers[] | select(.name == \"web\") | .image"],
            )],
            ..Default::default()
        };
        let n = Normalizers::new(&options).unwrap();
        let target = deployment(1, "web:2", "new");
        let mut live = deployment(5, "web:1", "old");
        live["metadata"]["resourceVersion"] = json!("42");
        live["status"] = json!({"replicas": 5});
        let out = n.respect(&target, &live).unwrap();
        assert_eq!(out["spec"]["replicas"], 5, "ignored: live value kept");
        let containers = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0]["image"], "web:1", "ignored: live value kept");
        assert_eq!(
            containers[0]["env"][0]["value"], "new",
            "not ignored: desired value"
        );
        assert_eq!(containers[1]["image"], "proxy:1");
        assert!(
            out.get("status").is_none(),
            "nothing but ignored fields comes from live"
        );
        assert!(out["metadata"].get("resourceVersion").is_none());
    }

    #[test]
    fn a_field_absent_from_live_is_not_applied_and_other_kinds_are_untouched() {
        let options = DiffOptions {
            ignore_differences: vec![rule("Deployment", &["/spec/replicas"], &[])],
            ..Default::default()
        };
        let n = Normalizers::new(&options).unwrap();
        let mut live = deployment(3, "web:1", "old");
        live["spec"].as_object_mut().unwrap().remove("replicas");
        let out = n.respect(&deployment(1, "web:2", "new"), &live).unwrap();
        assert!(out["spec"].get("replicas").is_none(), "{out}");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let live_cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
        assert_eq!(n.respect(&cm, &live_cm).unwrap(), cm);
    }
}
