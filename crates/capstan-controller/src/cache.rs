//! The live state of one cluster as a plain data structure: objects by key, indexed by the application
//! that tracks them. The watch plumbing feeds it (`apply`, `delete`, `replace_type`); comparison reads it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use capstan_diff::tracking::Tracking;
use capstan_sync::ResourceKey;
use serde_json::Value;

/// What the cache keeps of an object: everything comparison, health and the resource tree read. An
/// Application (a child of an app of apps) keeps its spec and the small parts of its status (health,
/// sync, conditions, operation phase) that health checks read; its resource list, history and sync
/// result are dropped: they are most of its size, and at thousands of applications the control
/// cluster's cache would otherwise hold every status twice.
fn trimmed(mut obj: Value) -> Value {
    let is_app = obj.get("kind").and_then(Value::as_str) == Some("Application")
        && obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("argoproj.io/"));
    if is_app && let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        for big in ["resources", "history", "summary"] {
            status.remove(big);
        }
        if let Some(op) = status
            .get_mut("operationState")
            .and_then(Value::as_object_mut)
        {
            op.remove("syncResult");
        }
    }
    obj
}

/// Objects of one cluster.
#[derive(Debug, Default)]
pub struct LiveCache {
    objects: HashMap<ResourceKey, Arc<Value>>,
    by_app: HashMap<String, HashSet<ResourceKey>>,
    owner_of: HashMap<ResourceKey, String>,
    tracking: Tracking,
}

impl LiveCache {
    /// An empty cache that reads ownership with `tracking`.
    pub fn new(tracking: Tracking) -> Self {
        LiveCache {
            tracking,
            ..Default::default()
        }
    }

    /// Adds or replaces an object. Returns the application instance that tracks it (before or after
    /// the change), so that application can be refreshed.
    pub fn apply(&mut self, obj: Value) -> Vec<String> {
        let obj = trimmed(obj);
        let key = ResourceKey::of(&obj);
        let owner = self.tracking.app_instance(&obj);
        let mut affected = Vec::new();
        if let Some(previous) = self.owner_of.remove(&key) {
            if let Some(set) = self.by_app.get_mut(&previous) {
                set.remove(&key);
            }
            affected.push(previous);
        }
        if let Some(owner) = owner {
            self.by_app
                .entry(owner.clone())
                .or_default()
                .insert(key.clone());
            self.owner_of.insert(key.clone(), owner.clone());
            if !affected.contains(&owner) {
                affected.push(owner);
            }
        }
        self.objects.insert(key, Arc::new(obj));
        affected
    }

    /// Removes an object. Returns the application that tracked it.
    pub fn delete(&mut self, obj: &Value) -> Vec<String> {
        self.remove_key(&ResourceKey::of(obj))
    }

    fn remove_key(&mut self, key: &ResourceKey) -> Vec<String> {
        self.objects.remove(key);
        match self.owner_of.remove(key) {
            Some(owner) => {
                if let Some(set) = self.by_app.get_mut(&owner) {
                    set.remove(key);
                }
                vec![owner]
            }
            None => Vec::new(),
        }
    }

    /// Replaces every object of one kind (in one namespace, or all) with a fresh list (after a watch
    /// re-list). Returns the applications whose objects changed.
    pub fn replace_type(
        &mut self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        objects: Vec<Value>,
    ) -> Vec<String> {
        let listed: HashSet<ResourceKey> = objects.iter().map(ResourceKey::of).collect();
        let stale: Vec<ResourceKey> = self
            .objects
            .keys()
            .filter(|k| {
                k.group == group
                    && k.kind == kind
                    && namespace.is_none_or(|ns| k.namespace == ns)
                    && !listed.contains(*k)
            })
            .cloned()
            .collect();
        let mut affected = Vec::new();
        for key in stale {
            affected.extend(self.remove_key(&key));
        }
        for obj in objects {
            let obj = trimmed(obj);
            let unchanged = self
                .objects
                .get(&ResourceKey::of(&obj))
                .is_some_and(|o| **o == obj);
            if !unchanged {
                affected.extend(self.apply(obj));
            }
        }
        affected.sort();
        affected.dedup();
        affected
    }

    /// The object with this key.
    pub fn get(&self, key: &ResourceKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// Every object tracked by an application instance.
    pub fn tracked_by(&self, app_instance: &str) -> Vec<Arc<Value>> {
        let mut keys: Vec<&ResourceKey> = self
            .by_app
            .get(app_instance)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        keys.sort();
        keys.into_iter()
            .filter_map(|k| self.objects.get(k).cloned())
            .collect()
    }

    /// Objects whose ownerReferences name `uid` (children in the resource tree).
    pub fn children_of(&self, uid: &str) -> Vec<Arc<Value>> {
        self.objects
            .values()
            .filter(|o| {
                o.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter()
                            .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
                    })
            })
            .cloned()
            .collect()
    }

    /// Objects of one namespace (a scan of the whole cache: used only for projects that monitor
    /// orphaned resources).
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<Value>> {
        self.objects
            .iter()
            .filter(|(k, _)| k.namespace == namespace)
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, app: Option<&str>) -> Value {
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}});
        if let Some(app) = app {
            obj["metadata"]["annotations"] =
                json!({"argocd.argoproj.io/tracking-id": format!("{app}:/ConfigMap:ns/{name}")});
        }
        obj
    }

    #[test]
    fn tracks_ownership_through_changes() {
        let mut cache = LiveCache::new(Tracking::default());
        assert_eq!(cache.apply(cm("a", Some("app1"))), ["app1"]);
        assert_eq!(cache.apply(cm("b", None)), Vec::<String>::new());
        assert_eq!(cache.tracked_by("app1").len(), 1);
        // ownership moves from app1 to app2: both are affected
        assert_eq!(cache.apply(cm("a", Some("app2"))), ["app1", "app2"]);
        assert!(cache.tracked_by("app1").is_empty());
        assert_eq!(cache.delete(&cm("a", None)), ["app2"]);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn applications_keep_only_the_small_part_of_their_status() {
        let mut cache = LiveCache::new(Tracking::default());
        let app = serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "child", "namespace": "argocd"},
            "spec": {"project": "default"},
            "status": {"health": {"status": "Healthy"}, "sync": {"status": "Synced"},
                "resources": [{"kind": "ConfigMap"}], "history": [{"id": 0}],
                "operationState": {"phase": "Succeeded", "syncResult": {"revision": "abc"}}}
        });
        cache.apply(app.clone());
        let kept = cache.get(&ResourceKey::of(&app)).unwrap();
        assert_eq!(kept["spec"], app["spec"]);
        assert_eq!(kept["status"]["health"]["status"], "Healthy");
        assert_eq!(kept["status"]["operationState"]["phase"], "Succeeded");
        assert!(kept["status"].get("resources").is_none());
        assert!(kept["status"].get("history").is_none());
        assert!(kept["status"]["operationState"].get("syncResult").is_none());
        // other kinds are kept whole
        let deploy = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "x"}, "status": {"history": 1}});
        cache.apply(deploy.clone());
        assert_eq!(*cache.get(&ResourceKey::of(&deploy)).unwrap(), deploy);
    }

    #[test]
    fn relist_removes_what_is_gone() {
        let mut cache = LiveCache::new(Tracking::default());
        cache.apply(cm("a", Some("app1")));
        cache.apply(cm("b", Some("app2")));
        let affected = cache.replace_type("", "ConfigMap", None, vec![cm("b", Some("app2"))]);
        assert_eq!(affected, ["app1"]);
        assert!(cache.get(&ResourceKey::of(&cm("a", None))).is_none());
    }
}
