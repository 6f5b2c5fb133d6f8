//! The Application cache: every Application of the control-plane namespace, kept current by one watch
//! (an initial list, then a watch from its resourceVersion; kube-runtime's watcher re-lists after a
//! 410 Gone). Each entry keeps its JSON text, so a list answers by concatenating stored bytes instead
//! of encoding 10,000 objects again. List, get and the SSE streams read it; handlers that write an
//! Application feed their result back ([`AppCache::apply`]) so a read after a write sees the write.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use capstan_kube::{ClusterClient, ResourceType, WatchEvent, watch_resource};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::selector::LabelSelector;

/// One cached Application.
#[derive(Debug)]
pub struct CachedApp {
    /// `metadata.name`.
    pub name: String,
    /// `spec.project` (`default` when unset).
    pub project: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// The object.
    pub value: Value,
    /// The object as JSON text.
    pub json: Bytes,
}

impl CachedApp {
    /// Builds an entry (encodes the object once).
    pub fn new(value: Value) -> CachedApp {
        let text = |p: &str| {
            value
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let project = Some(text("/spec/project"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".to_string());
        CachedApp {
            name: text("/metadata/name"),
            resource_version: text("/metadata/resourceVersion"),
            project,
            json: Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
            value,
        }
    }

    /// The RBAC object `<project>/<name>`.
    pub fn rbac_object(&self) -> String {
        format!("{}/{}", self.project, self.name)
    }
}

/// What happened to an Application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// It appeared.
    Added,
    /// It changed.
    Modified,
    /// It is gone.
    Deleted,
}

impl ChangeKind {
    /// Argo CD's event type (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// A change broadcast to stream subscribers.
#[derive(Debug, Clone)]
pub struct Change {
    /// Kind.
    pub kind: ChangeKind,
    /// The Application (its last state for a deletion).
    pub app: Arc<CachedApp>,
}

/// Filters of a list or stream request.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    /// Only this name.
    pub name: Option<String>,
    /// Only these projects (any when empty).
    pub projects: Vec<String>,
    /// Only Applications with a source of this repository URL.
    pub repo: Option<String>,
    /// Label selector.
    pub selector: LabelSelector,
}

fn same_repo(a: &str, b: &str) -> bool {
    let n = |s: &str| {
        s.trim()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_lowercase()
    };
    n(a) == n(b)
}

impl AppFilter {
    /// Whether an Application passes every filter.
    pub fn matches(&self, app: &CachedApp) -> bool {
        if self.name.as_ref().is_some_and(|n| *n != app.name) {
            return false;
        }
        if !self.projects.is_empty() && !self.projects.contains(&app.project) {
            return false;
        }
        if let Some(r) = &self.repo
            && !crate::project_checks::sources(&app.value["spec"])
                .iter()
                .any(|s| same_repo(s["repoURL"].as_str().unwrap_or_default(), r))
        {
            return false;
        }
        self.selector.matches(&app.value)
    }
}

/// Every cached Application, sorted by name, at one resourceVersion.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The Applications, sorted by name.
    pub apps: Vec<Arc<CachedApp>>,
    /// The list's resourceVersion (the newest seen).
    pub resource_version: String,
}

#[derive(Default)]
struct Store {
    apps: BTreeMap<String, Arc<CachedApp>>,
    /// Objects of a (re-)list in progress.
    relist: Option<BTreeMap<String, Arc<CachedApp>>>,
    resource_version: String,
    synced: bool,
    /// Applications a handler saw deleted before the watch did: name -> newest resourceVersion then
    /// (older watch events about them are ignored).
    tombstones: BTreeMap<String, String>,
}

/// Newer-or-equal by resourceVersion when both are numbers (the embedded apiserver's and etcd's are);
/// otherwise the later arrival wins.
fn not_older(candidate: &str, current: &str) -> bool {
    match (candidate.parse::<u64>(), current.parse::<u64>()) {
        (Ok(a), Ok(b)) => a >= b,
        _ => true,
    }
}

/// The cache (see the module documentation).
pub struct AppCache {
    store: RwLock<Store>,
    changes: broadcast::Sender<Change>,
    ready: watch::Sender<bool>,
}

impl Default for AppCache {
    fn default() -> Self {
        AppCache {
            store: RwLock::new(Store::default()),
            changes: broadcast::channel(4096).0,
            ready: watch::channel(false).0,
        }
    }
}

impl AppCache {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the initial list has completed.
    pub fn is_synced(&self) -> bool {
        self.read().synced
    }

    /// Waits up to `timeout` for the initial list; true when synced.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn bump_version(store: &mut Store, rv: &str) {
        if not_older(rv, &store.resource_version) {
            store.resource_version = rv.to_string();
        }
    }

    /// Stores an Application seen by the watch or written by a handler, unless the cache already holds
    /// a newer version of it.
    pub fn apply(&self, value: Value) {
        let app = Arc::new(CachedApp::new(value));
        if app.name.is_empty() {
            return;
        }
        let mut store = self.write();
        if let Some(rv) = store.tombstones.get(&app.name) {
            if !not_older(&app.resource_version, rv) || app.resource_version == *rv {
                return;
            }
            store.tombstones.remove(&app.name);
        }
        let kind = match store.apps.get(&app.name) {
            Some(old) if !not_older(&app.resource_version, &old.resource_version) => return,
            Some(old) if old.resource_version == app.resource_version => return,
            Some(_) => ChangeKind::Modified,
            None => ChangeKind::Added,
        };
        Self::bump_version(&mut store, &app.resource_version);
        store.apps.insert(app.name.clone(), app.clone());
        let _ = self.changes.send(Change { kind, app });
    }

    fn remove(&self, value: Value) {
        let app = Arc::new(CachedApp::new(value));
        let mut store = self.write();
        Self::bump_version(&mut store, &app.resource_version);
        store.tombstones.remove(&app.name);
        if store.apps.remove(&app.name).is_some() {
            let _ = self.changes.send(Change {
                kind: ChangeKind::Deleted,
                app,
            });
        }
    }

    /// Drops an Application known to be deleted (announced as DELETED).
    pub fn forget(&self, name: &str) {
        let mut store = self.write();
        let rv = store.resource_version.clone();
        store.tombstones.insert(name.to_string(), rv);
        if let Some(app) = store.apps.remove(name) {
            let _ = self.changes.send(Change {
                kind: ChangeKind::Deleted,
                app,
            });
        }
    }

    fn list_started(&self) {
        self.write().relist = Some(BTreeMap::new());
    }

    fn listed(&self, value: Value) {
        let app = Arc::new(CachedApp::new(value));
        let mut store = self.write();
        Self::bump_version(&mut store, &app.resource_version);
        if let Some(relist) = store.relist.as_mut() {
            relist.insert(app.name.clone(), app);
        }
    }

    /// The (re-)list is complete: it replaces the cache; differences are announced.
    fn list_done(&self) {
        let mut store = self.write();
        let Some(new) = store.relist.take() else {
            return;
        };
        let old = std::mem::replace(&mut store.apps, new);
        for (name, app) in &store.apps {
            let kind = match old.get(name) {
                None => ChangeKind::Added,
                Some(o) if o.resource_version != app.resource_version => ChangeKind::Modified,
                Some(_) => continue,
            };
            let _ = self.changes.send(Change {
                kind,
                app: app.clone(),
            });
        }
        for (name, app) in old {
            if !store.apps.contains_key(&name) {
                let _ = self.changes.send(Change {
                    kind: ChangeKind::Deleted,
                    app,
                });
            }
        }
        store.synced = true;
        drop(store);
        self.ready.send_replace(true);
    }

    /// One Application; `None` when the cache is not synced yet (ask the cluster), `Some(None)` when
    /// it does not exist.
    pub fn get(&self, name: &str) -> Option<Option<Arc<CachedApp>>> {
        let store = self.read();
        store.synced.then(|| store.apps.get(name).cloned())
    }

    /// Every Application, sorted by name; `None` until the initial list is done.
    pub fn snapshot(&self) -> Option<Snapshot> {
        let store = self.read();
        store.synced.then(|| Snapshot {
            apps: store.apps.values().cloned().collect(),
            resource_version: store.resource_version.clone(),
        })
    }

    /// The Applications passing `filter`, sorted by name; `None` until the initial list is done.
    pub fn query(&self, filter: &AppFilter) -> Option<Snapshot> {
        let store = self.read();
        store.synced.then(|| Snapshot {
            apps: store
                .apps
                .values()
                .filter(|a| filter.matches(a))
                .cloned()
                .collect(),
            resource_version: store.resource_version.clone(),
        })
    }

    /// The current Applications and a receiver of every later change, taken atomically; `None` until
    /// the initial list is done.
    pub fn subscribe(&self) -> Option<(Snapshot, broadcast::Receiver<Change>)> {
        let store = self.read();
        if !store.synced {
            return None;
        }
        let rx = self.changes.subscribe();
        Some((
            Snapshot {
                apps: store.apps.values().cloned().collect(),
                resource_version: store.resource_version.clone(),
            },
            rx,
        ))
    }

    /// Feeds the cache from a watch of Applications in `namespace` until `shutdown`.
    pub fn spawn_watch(
        self: &Arc<Self>,
        client: ClusterClient,
        rt: ResourceType,
        namespace: String,
        shutdown: CancellationToken,
    ) {
        let cache = self.clone();
        tokio::spawn(async move {
            let stream = watch_resource(&client, rt, Some(&namespace), None);
            futures::pin_mut!(stream);
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    e = stream.next() => e,
                };
                match event {
                    None => return,
                    Some(Ok(WatchEvent::ListStart)) => cache.list_started(),
                    Some(Ok(WatchEvent::Listed(v))) => cache.listed(v),
                    Some(Ok(WatchEvent::ListDone)) => cache.list_done(),
                    Some(Ok(WatchEvent::Applied(v))) => cache.apply(v),
                    Some(Ok(WatchEvent::Deleted(v))) => cache.remove(v),
                    Some(Err(e)) => tracing::warn!(error = %e, "application cache watch"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(name: &str, rv: u64, project: &str) -> Value {
        json!({"metadata": {"name": name, "resourceVersion": rv.to_string(), "labels": {"p": project}},
               "spec": {"project": project, "source": {"repoURL": "https://example.com/r.git"}}})
    }

    #[test]
    fn relist_replaces_and_announces_differences() {
        let cache = AppCache::default();
        assert!(cache.snapshot().is_none());
        cache.list_started();
        cache.listed(app("b", 2, "x"));
        cache.listed(app("a", 1, "y"));
        cache.list_done();
        let snap = cache.snapshot().unwrap();
        let names: Vec<_> = snap.apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(snap.resource_version, "2");
        let (_, mut rx) = cache.subscribe().unwrap();
        cache.list_started();
        cache.listed(app("a", 5, "y"));
        cache.listed(app("c", 6, "x"));
        cache.list_done();
        let mut seen = Vec::new();
        while let Ok(c) = rx.try_recv() {
            seen.push((c.kind, c.app.name.clone()));
        }
        seen.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            seen,
            [
                (ChangeKind::Modified, "a".to_string()),
                (ChangeKind::Deleted, "b".to_string()),
                (ChangeKind::Added, "c".to_string())
            ]
        );
    }

    #[test]
    fn older_writes_do_not_replace_newer_ones() {
        let cache = AppCache::default();
        cache.list_started();
        cache.list_done();
        cache.apply(app("a", 7, "x"));
        cache.apply(app("a", 6, "y"));
        let a = cache.get("a").unwrap().unwrap();
        assert_eq!(a.resource_version, "7");
        assert_eq!(a.project, "x");
        assert_eq!(serde_json::from_slice::<Value>(&a.json).unwrap(), a.value);
        cache.remove(app("a", 8, "x"));
        assert!(cache.get("a").unwrap().is_none());
        cache.apply(app("b", 9, "x"));
        cache.forget("b");
        cache.apply(app("b", 9, "x"));
        assert!(
            cache.get("b").unwrap().is_none(),
            "a late event of a deleted app"
        );
        cache.apply(app("b", 12, "x"));
        assert!(cache.get("b").unwrap().is_some(), "created again");
    }

    #[test]
    fn filters() {
        let cache = AppCache::default();
        cache.list_started();
        cache.listed(app("a", 1, "x"));
        cache.listed(app("b", 2, "y"));
        cache.list_done();
        let f = AppFilter {
            projects: vec!["y".into()],
            ..Default::default()
        };
        assert_eq!(cache.query(&f).unwrap().apps[0].name, "b");
        let f = AppFilter {
            selector: LabelSelector::parse("p=x").unwrap(),
            repo: Some("https://example.com/r".into()),
            ..Default::default()
        };
        let got = cache.query(&f).unwrap();
        assert_eq!(got.apps.len(), 1);
        assert_eq!(got.apps[0].name, "a");
        let f = AppFilter {
            repo: Some("https://example.com/other".into()),
            ..Default::default()
        };
        assert!(cache.query(&f).unwrap().apps.is_empty());
    }
}
