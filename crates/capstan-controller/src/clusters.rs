//! Keeps a cluster's live state in a [`LiveCache`], fed by one watch per resource type (not repeated
//! lists). Changes are reported as application instance names so only those applications refresh.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use capstan_diff::tracking::Tracking;
use capstan_kube::{ClusterClient, KubeError, ResourceType, WatchEvent};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::cache::LiveCache;

/// What part of a cluster is watched: every namespace, or only some (a namespace-scoped cluster), with
/// or without cluster-scoped kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Namespaces watched; empty means all.
    pub namespaces: Vec<String>,
    /// Cluster-scoped kinds are watched (always when `namespaces` is empty).
    pub cluster_resources: bool,
    /// Kinds never watched (argocd-cm's `resource.exclusions` / `resource.inclusions`).
    pub filters: crate::exclusions::ResourceFilters,
}

impl Scope {
    /// The namespaces to watch a type in: `[None]` for all, one entry per namespace otherwise, none
    /// when the type is cluster-scoped and the scope excludes those.
    pub(crate) fn watches_for(&self, namespaced: bool) -> Vec<Option<String>> {
        if self.namespaces.is_empty() {
            vec![None]
        } else if namespaced {
            self.namespaces.iter().cloned().map(Some).collect()
        } else if self.cluster_resources {
            vec![None]
        } else {
            Vec::new()
        }
    }
}

/// The live state of one cluster.
pub struct ClusterState {
    /// Client for the cluster.
    pub client: ClusterClient,
    /// The cache.
    pub cache: Arc<RwLock<LiveCache>>,
    scope: Scope,
    watched: Mutex<HashSet<(String, String)>>,
    pending: Arc<Mutex<usize>>,
    synced_tx: watch::Sender<bool>,
    synced_rx: watch::Receiver<bool>,
    /// When every watch had delivered its initial list (Argo CD's `lastCacheSyncTime`).
    synced_at: RwLock<Option<chrono::DateTime<chrono::Utc>>>,
    changes: mpsc::UnboundedSender<String>,
    cancel: CancellationToken,
}

impl ClusterState {
    /// Starts watching every listable type of the cluster. `changes` receives the application
    /// instances whose objects changed.
    pub async fn start(
        client: ClusterClient,
        scope: Scope,
        tracking: Tracking,
        changes: mpsc::UnboundedSender<String>,
        cancel: CancellationToken,
    ) -> Result<Arc<ClusterState>, KubeError> {
        let (synced_tx, synced_rx) = watch::channel(false);
        let state = Arc::new(ClusterState {
            client,
            cache: Arc::new(RwLock::new(LiveCache::new(tracking))),
            scope,
            watched: Mutex::new(HashSet::new()),
            pending: Arc::new(Mutex::new(0)),
            synced_tx,
            synced_rx,
            synced_at: RwLock::new(None),
            changes,
            cancel,
        });
        state.clone().discover().await?;
        Ok(state)
    }

    /// Waits until every watch has delivered its initial list.
    pub async fn wait_synced(&self) {
        let mut rx = self.synced_rx.clone();
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Finds resource types not watched yet (new CRDs) and starts watching them.
    pub fn discover(
        self: Arc<Self>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), KubeError>> + Send>> {
        Box::pin(async move { self.discover_now().await })
    }

    async fn discover_now(self: Arc<Self>) -> Result<(), KubeError> {
        let types = self.client.watchable_types().await?;
        let mut started = 0;
        for rt in types {
            let review = rt.kind.ends_with("Review")
                && matches!(
                    rt.group.as_str(),
                    "authorization.k8s.io" | "authentication.k8s.io"
                );
            // argocd-cm's exclusions (Argo CD's defaults: high churn, no part of any application)
            let excluded =
                self.scope
                    .filters
                    .is_excluded(&rt.group, &rt.kind, self.client.server());
            if review || excluded {
                continue;
            }
            let key = (rt.group.clone(), rt.kind.clone());
            let fresh = self
                .watched
                .lock()
                .map(|mut w| w.insert(key))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            for namespace in self.scope.watches_for(rt.namespaced) {
                if let Ok(mut p) = self.pending.lock() {
                    *p += 1;
                }
                started += 1;
                tokio::spawn(self.clone().watch_type(rt.clone(), namespace));
            }
        }
        if started == 0 {
            self.mark_synced_if_done();
        }
        Ok(())
    }

    fn mark_synced_if_done(&self) {
        let done = self.pending.lock().map(|p| *p == 0).unwrap_or(false);
        if done {
            if let Ok(mut at) = self.synced_at.write() {
                *at = Some(chrono::Utc::now());
            }
            let _ = self.synced_tx.send(true);
        }
    }

    /// When the cache last completed its lists of every watched kind (None while the first lists
    /// are still running).
    pub fn last_sync(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.synced_at.read().ok().and_then(|t| *t)
    }

    /// Number of resource kinds watched (Argo CD's `apisCount`).
    pub fn apis_count(&self) -> usize {
        self.watched.lock().map(|w| w.len()).unwrap_or(0)
    }

    fn notify(&self, apps: Vec<String>) {
        for app in apps {
            let _ = self.changes.send(app);
        }
    }

    async fn watch_type(self: Arc<Self>, rt: ResourceType, namespace: Option<String>) {
        let mut stream = Box::pin(capstan_kube::watch_resource(
            &self.client,
            rt.clone(),
            namespace.as_deref(),
            None,
        ));
        let mut listing: Vec<serde_json::Value> = Vec::new();
        let mut first_list = true;
        let is_crd = rt.kind == "CustomResourceDefinition" && rt.group == "apiextensions.k8s.io";
        loop {
            let event = tokio::select! {
                _ = self.cancel.cancelled() => return,
                event = stream.next() => event,
            };
            let Some(event) = event else { return };
            match event {
                Ok(WatchEvent::ListStart) => listing.clear(),
                Ok(WatchEvent::Listed(obj)) => listing.push(obj),
                Ok(WatchEvent::ListDone) => {
                    let objects = std::mem::take(&mut listing);
                    let affected = match self.cache.write() {
                        Ok(mut cache) => {
                            cache.replace_type(&rt.group, &rt.kind, namespace.as_deref(), objects)
                        }
                        Err(_) => Vec::new(),
                    };
                    self.notify(affected);
                    if first_list {
                        first_list = false;
                        if let Ok(mut p) = self.pending.lock() {
                            *p = p.saturating_sub(1);
                        }
                        self.mark_synced_if_done();
                    }
                }
                Ok(WatchEvent::Applied(obj)) => {
                    let affected = match self.cache.write() {
                        Ok(mut cache) => cache.apply(obj),
                        Err(_) => Vec::new(),
                    };
                    self.notify(affected);
                    if is_crd {
                        // a new CRD may serve a new kind: watch it too
                        let state = self.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            if let Err(err) = state.discover().await {
                                tracing::warn!(%err, "rediscovery after a CRD change failed");
                            }
                        });
                    }
                }
                Ok(WatchEvent::Deleted(obj)) => {
                    let affected = match self.cache.write() {
                        Ok(mut cache) => cache.delete(&obj),
                        Err(_) => Vec::new(),
                    };
                    self.notify(affected);
                }
                Err(err) => {
                    let text = err.to_string();
                    if first_list
                        && (text.contains("MethodNotAllowed") || text.contains("NotFound"))
                    {
                        // a kind that cannot be listed is not cached; it must not hold up the start
                        tracing::debug!(kind = %rt.kind, %err, "not listable; not cached");
                        if let Ok(mut p) = self.pending.lock() {
                            *p = p.saturating_sub(1);
                        }
                        self.mark_synced_if_done();
                        return;
                    }
                    tracing::warn!(kind = %rt.kind, %err, "watch error; retrying");
                }
            }
        }
    }
}
