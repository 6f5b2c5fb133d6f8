//! Orphaned resources (pure), as Argo CD finds them when a project sets `spec.orphanedResources`:
//! top-level namespaced resources (no ownerReferences) in the application's destination namespace
//! that no existing application tracks, that the project permits, that are not one of the
//! resources Kubernetes creates in every namespace and that `ignore` does not list — together with
//! the objects they own. With `warn` (absent counts as on, as in Argo CD) the application gets the
//! condition `OrphanedResourceWarning`: "Application has N orphaned resources".

use std::collections::HashSet;
use std::sync::Arc;

use capstan_diff::tracking::Tracking;
use capstan_sync::ResourceKey;
use capstan_types::{AppProject, Application, ApplicationConditionType};
use serde_json::Value;

use crate::cache::LiveCache;
use crate::compare::Comparison;
use crate::controller::Inner;
use crate::projects::glob_match;

/// What the search reads.
pub(crate) struct OrphanInput<'a> {
    /// The application's project.
    pub(crate) project: &'a AppProject,
    /// Keys of the application's own resources.
    pub(crate) managed: &'a HashSet<ResourceKey>,
    /// Every live object of the destination namespace.
    pub(crate) in_namespace: &'a [Arc<Value>],
    /// Reads which application instance tracks an object.
    pub(crate) tracking: &'a Tracking,
    /// True when an application instance exists.
    pub(crate) app_exists: &'a dyn Fn(&str) -> bool,
    /// Objects owned by the object with this uid.
    pub(crate) children_of: &'a dyn Fn(&str) -> Vec<Arc<Value>>,
}

/// Resources Kubernetes creates by itself, never reported (Argo CD's list).
fn known_exclusion(key: &ResourceKey) -> bool {
    key.group.is_empty()
        && ((key.namespace == "default" && key.kind == "Service" && key.name == "kubernetes")
            || (key.kind == "ServiceAccount" && key.name == "default")
            || (key.kind == "ConfigMap" && key.name == "kube-root-ca.crt"))
}

fn ignored(project: &AppProject, key: &ResourceKey) -> bool {
    let list = project
        .spec
        .orphaned_resources
        .as_ref()
        .and_then(|o| o.ignore.as_deref())
        .unwrap_or_default();
    list.iter().any(|item| {
        let kind = item.kind.as_deref().unwrap_or_default();
        let group = item.group.as_deref().unwrap_or_default();
        let name = item.name.as_deref().unwrap_or_default();
        (kind.is_empty() || glob_match(kind, &key.kind))
            && glob_match(group, &key.group)
            && (name.is_empty() || glob_match(name, &key.name))
    })
}

fn permitted(project: &AppProject, obj: &Value) -> bool {
    crate::projects::check_resource(obj, true, project).is_none()
}

fn has_owner(obj: &Value) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| !refs.is_empty())
}

fn uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/uid").and_then(Value::as_str)
}

/// The orphaned resources, top-level ones and what they own, sorted.
pub(crate) fn orphaned(input: &OrphanInput<'_>) -> Vec<ResourceKey> {
    let mut found: Vec<ResourceKey> = Vec::new();
    let mut seen: HashSet<ResourceKey> = HashSet::new();
    let mut stack: Vec<Arc<Value>> = Vec::new();
    for obj in input.in_namespace {
        let key = ResourceKey::of(obj);
        if key.namespace.is_empty()
            || has_owner(obj)
            || input.managed.contains(&key)
            || known_exclusion(&key)
            || ignored(input.project, &key)
        {
            continue;
        }
        stack.push(obj.clone());
    }
    while let Some(obj) = stack.pop() {
        let key = ResourceKey::of(&obj);
        if input.managed.contains(&key) || !seen.insert(key.clone()) {
            continue;
        }
        if let Some(app) = input.tracking.app_instance(&obj)
            && (input.app_exists)(&app)
        {
            continue;
        }
        if !permitted(input.project, &obj) {
            continue;
        }
        if let Some(uid) = uid(&obj) {
            stack.extend((input.children_of)(uid));
        }
        found.push(key);
    }
    found.sort();
    found
}

/// The condition for `count` orphaned resources, when the project asks for warnings.
pub(crate) fn condition(
    project: &AppProject,
    count: usize,
) -> Option<(ApplicationConditionType, String)> {
    let settings = project.spec.orphaned_resources.as_ref()?;
    if count == 0 || settings.warn == Some(false) {
        return None;
    }
    Some((
        ApplicationConditionType::OrphanedResourceWarning,
        format!("Application has {count} orphaned resources"),
    ))
}

/// Adds the OrphanedResourceWarning of the application's project to a comparison (nothing when the
/// project does not monitor orphaned resources).
pub(crate) fn warn(
    inner: &Inner,
    app: &Application,
    cache: &LiveCache,
    tracking: &Tracking,
    comparison: &mut Comparison,
) {
    let Some(project) = crate::refresh::project_of(inner, app) else {
        return;
    };
    if project.spec.orphaned_resources.is_none() {
        return;
    }
    let namespace = app
        .spec
        .destination
        .namespace
        .as_deref()
        .unwrap_or_default();
    if namespace.is_empty() {
        return;
    }
    let managed: HashSet<ResourceKey> =
        comparison.resources.iter().map(|r| r.key.clone()).collect();
    let in_namespace = cache.in_namespace(namespace);
    let apps = inner.apps.read().ok();
    let control = inner.config.namespace.as_str();
    let app_exists = |instance: &str| {
        let (ns, name) = instance.split_once('_').unwrap_or((control, instance));
        apps.as_ref().is_some_and(|apps| {
            apps.get(name)
                .is_some_and(|a| a.metadata.namespace.as_deref().unwrap_or(control) == ns)
        })
    };
    let children = |uid: &str| cache.children_of(uid);
    let found = orphaned(&OrphanInput {
        project: &project,
        managed: &managed,
        in_namespace: &in_namespace,
        tracking,
        app_exists: &app_exists,
        children_of: &children,
    });
    comparison
        .conditions
        .extend(condition(&project, found.len()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(spec: Value) -> AppProject {
        capstan_types::decode(&json!({"metadata": {"name": "p"}, "spec": spec})).unwrap()
    }

    fn obj(kind: &str, name: &str, extra: Value) -> Arc<Value> {
        let api = if kind == "Deployment" || kind == "ReplicaSet" {
            "apps/v1"
        } else {
            "v1"
        };
        let mut o = json!({"apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": "web", "uid": format!("uid-{name}")}});
        if let Some(map) = extra.as_object() {
            for (k, v) in map {
                o["metadata"][k] = v.clone();
            }
        }
        Arc::new(o)
    }

    fn run(project: &AppProject, objects: &[Arc<Value>], managed: &[&str]) -> Vec<String> {
        let managed: HashSet<ResourceKey> = objects
            .iter()
            .filter(|o| managed.contains(&o["metadata"]["name"].as_str().unwrap()))
            .map(|o| ResourceKey::of(o))
            .collect();
        let tracking = Tracking::default();
        let all = objects.to_vec();
        let children = move |uid: &str| -> Vec<Arc<Value>> {
            all.iter()
                .filter(|o| {
                    o.pointer("/metadata/ownerReferences/0/uid")
                        .and_then(Value::as_str)
                        == Some(uid)
                })
                .cloned()
                .collect()
        };
        let exists = |app: &str| app == "other";
        orphaned(&OrphanInput {
            project,
            managed: &managed,
            in_namespace: objects,
            tracking: &tracking,
            app_exists: &exists,
            children_of: &children,
        })
        .into_iter()
        .map(|k| k.name)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
    }

    #[test]
    fn finds_untracked_top_level_resources_and_their_children() {
        let p = project(json!({"orphanedResources": {"warn": true},
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]}));
        let objects = vec![
            obj("ConfigMap", "mine", json!({})),
            obj("ConfigMap", "stray", json!({})),
            obj(
                "ConfigMap",
                "of-other-app",
                json!({"annotations": {"argocd.argoproj.io/tracking-id": "other:/ConfigMap:web/of-other-app"}}),
            ),
            obj(
                "ConfigMap",
                "of-deleted-app",
                json!({"annotations": {"argocd.argoproj.io/tracking-id": "gone:/ConfigMap:web/of-deleted-app"}}),
            ),
            obj("ServiceAccount", "default", json!({})),
            obj("ConfigMap", "kube-root-ca.crt", json!({})),
            obj("ResourceQuota", "quota", json!({})),
            obj("Deployment", "manual", json!({})),
            obj(
                "ReplicaSet",
                "manual-1",
                json!({"ownerReferences": [{"uid": "uid-manual"}]}),
            ),
        ];
        let found = run(&p, &objects, &["mine"]);
        assert_eq!(found, ["manual", "manual-1", "of-deleted-app", "stray"]);
        assert_eq!(
            condition(&p, found.len()).unwrap().1,
            "Application has 4 orphaned resources"
        );
    }

    #[test]
    fn ignore_list_and_warn_switch() {
        let p = project(json!({"orphanedResources": {"warn": false,
            "ignore": [{"kind": "ConfigMap", "name": "keep-*"}, {"group": "apps", "kind": "*"}]}}));
        let objects = vec![
            obj("ConfigMap", "keep-me", json!({})),
            obj("ConfigMap", "report-me", json!({})),
            obj("Deployment", "ignored-by-group", json!({})),
        ];
        assert_eq!(run(&p, &objects, &[]), ["report-me"]);
        assert!(condition(&p, 1).is_none(), "warn: false");
        let on = project(json!({"orphanedResources": {}}));
        assert!(condition(&on, 1).is_some(), "warn absent counts as on");
        assert!(condition(&on, 0).is_none());
        assert!(condition(&project(json!({})), 3).is_none(), "not enabled");
    }
}
