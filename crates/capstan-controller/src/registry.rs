//! The clusters applications deploy to: the in-cluster destination and every cluster Secret
//! (`argocd.argoproj.io/secret-type: cluster`). Each cluster gets its own live-state cache, connected
//! in the background and probed afterwards, so a slow or unreachable cluster never holds up
//! applications in the others; its applications get a clear condition instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use capstan_diff::tracking::Tracking;
use capstan_kube::{ClusterClient, ConnectOptions, WatchEvent};
use capstan_settings::Cluster;
use capstan_types::Application;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::IN_CLUSTER_SERVER;
use crate::clusters::{ClusterState, Scope};
use crate::exclusions::ResourceFilters;
use crate::leases::Ownership;
use crate::sharding::ClusterSlot;

/// Timings of connecting and probing clusters.
#[derive(Debug, Clone)]
pub struct ClusterTimings {
    /// How often a connected cluster is probed (`GET /version`).
    pub probe_interval: Duration,
    /// How long a connection attempt (discovery and initial lists) may take.
    pub connect_timeout: Duration,
    /// Delay before retrying a cluster that could not be reached.
    pub retry_delay: Duration,
    /// Least time between two publications of a cluster's information (connection, cache
    /// statistics) for the API server; an unchanged one is published again only every minute.
    pub info_interval: Duration,
}

impl Default for ClusterTimings {
    fn default() -> Self {
        ClusterTimings {
            probe_interval: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(60),
            retry_delay: Duration::from_secs(10),
            info_interval: Duration::from_secs(10),
        }
    }
}

/// Connection state of one cluster.
#[derive(Clone)]
pub(crate) enum Link {
    /// First connection still in progress.
    Connecting,
    /// Connected; the cache is current.
    Ready(Arc<ClusterState>),
    /// Not reachable (the cache, if any, is stale).
    Down {
        message: String,
        state: Option<Arc<ClusterState>>,
    },
}

/// Connection information of a cluster, for status and the API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterInfo {
    /// Server URL.
    pub server: String,
    /// Name.
    pub name: String,
    /// `Successful`, `Failed` or `Unknown` (connecting), as Argo CD reports `connectionState.status`.
    pub status: String,
    /// Why it failed.
    pub message: String,
    /// `GET /version`'s gitVersion.
    pub server_version: String,
    /// Objects in the cache.
    pub cached_objects: usize,
    /// Resource kinds watched.
    pub apis_count: usize,
    /// When the cache last completed the lists of every watched kind.
    pub last_cache_sync: Option<chrono::DateTime<chrono::Utc>>,
    /// Applications whose destination is this cluster.
    pub applications_count: usize,
}

struct Entry {
    cluster: Cluster,
    link: RwLock<Link>,
    version: RwLock<String>,
    cancel: CancellationToken,
}

/// A destination resolved to its cluster.
pub(crate) struct Resolved {
    pub(crate) server: String,
    pub(crate) name: String,
    pub(crate) cluster: Cluster,
    pub(crate) state: Arc<ClusterState>,
}

/// Why a destination has no usable cluster.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unresolved {
    /// Not known yet (cluster Secrets still loading, or first connection in progress): try later.
    NotReady,
    /// The destination names no cluster (an invalid spec).
    Unknown(String),
    /// The cluster is known but cannot be reached.
    Unreachable(String),
}

/// Every cluster the controller deploys to.
pub(crate) struct ClusterRegistry {
    control: ClusterClient,
    control_state: Arc<ClusterState>,
    namespace: String,
    connect: ConnectOptions,
    timings: ClusterTimings,
    tracking: RwLock<Tracking>,
    filters: RwLock<ResourceFilters>,
    changes: mpsc::UnboundedSender<String>,
    cluster_events: mpsc::UnboundedSender<String>,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    /// `GET /version` of the control cluster (refreshed by the info publisher).
    control_version: RwLock<String>,
    in_cluster_enabled: AtomicBool,
    secrets_listed: AtomicBool,
    ownership: Arc<Ownership>,
    cancel: CancellationToken,
}

/// Inputs of [`ClusterRegistry::new`].
pub(crate) struct RegistryParts {
    pub(crate) control: ClusterClient,
    pub(crate) control_state: Arc<ClusterState>,
    pub(crate) namespace: String,
    pub(crate) connect: ConnectOptions,
    pub(crate) timings: ClusterTimings,
    pub(crate) tracking: Tracking,
    pub(crate) filters: ResourceFilters,
    pub(crate) in_cluster_enabled: bool,
    pub(crate) changes: mpsc::UnboundedSender<String>,
    pub(crate) cluster_events: mpsc::UnboundedSender<String>,
    pub(crate) ownership: Arc<Ownership>,
    pub(crate) cancel: CancellationToken,
}

fn normalize(server: &str) -> String {
    server.trim().trim_end_matches('/').to_string()
}

impl ClusterRegistry {
    pub(crate) fn new(parts: RegistryParts) -> Arc<ClusterRegistry> {
        Arc::new(ClusterRegistry {
            control: parts.control,
            control_state: parts.control_state,
            namespace: parts.namespace,
            connect: parts.connect,
            timings: parts.timings,
            tracking: RwLock::new(parts.tracking),
            filters: RwLock::new(parts.filters),
            changes: parts.changes,
            cluster_events: parts.cluster_events,
            entries: RwLock::new(HashMap::new()),
            control_version: RwLock::new(String::new()),
            in_cluster_enabled: AtomicBool::new(parts.in_cluster_enabled),
            secrets_listed: AtomicBool::new(false),
            ownership: parts.ownership,
            cancel: parts.cancel,
        })
    }

    /// `cluster.inClusterEnabled` changed.
    pub(crate) fn set_in_cluster_enabled(&self, enabled: bool) {
        let before = self.in_cluster_enabled.swap(enabled, Ordering::SeqCst);
        if before != enabled {
            let _ = self.cluster_events.send(IN_CLUSTER_SERVER.to_string());
        }
    }

    /// argocd-cm's resource exclusions changed: caches connected from now on use them (a cluster
    /// already connected keeps its watches until it reconnects).
    pub(crate) fn set_filters(&self, filters: ResourceFilters) {
        if let Ok(mut f) = self.filters.write() {
            *f = filters;
        }
    }

    /// The tracking method changed: caches started from now on use it.
    pub(crate) fn set_tracking(&self, tracking: Tracking) {
        if let Ok(mut t) = self.tracking.write() {
            *t = tracking;
        }
    }

    fn is_control(&self, server: &str) -> bool {
        server == IN_CLUSTER_SERVER || server == normalize(self.control.server())
    }

    /// The server URL an application's destination resolves to, if any.
    pub(crate) fn server_of(&self, app: &Application) -> Option<String> {
        self.find(app).ok().map(|(server, _, _)| server)
    }

    /// Finds the cluster of a destination: (server, name, settings) or why not.
    fn find(&self, app: &Application) -> Result<(String, String, Option<Arc<Entry>>), Unresolved> {
        let dest = &app.spec.destination;
        let server = dest
            .server
            .as_deref()
            .map(normalize)
            .filter(|s| !s.is_empty());
        let name = dest.name.as_deref().filter(|s| !s.is_empty());
        let entries = self
            .entries
            .read()
            .map_err(|_| Unresolved::NotReady)?
            .clone();
        let in_cluster = self.in_cluster_enabled.load(Ordering::SeqCst);
        let listed = self.secrets_listed.load(Ordering::SeqCst);
        let found = match (&server, name) {
            (Some(_), Some(_)) => {
                return Err(Unresolved::Unknown(
                    "application destination can't have both name and server defined".into(),
                ));
            }
            (None, None) => {
                return Err(Unresolved::Unknown(
                    "application destination has neither server nor name".into(),
                ));
            }
            (Some(server), None) => entries
                .get(server)
                .cloned()
                .or_else(|| {
                    // the control cluster registered under its real URL
                    self.is_control(server)
                        .then(|| entries.get(IN_CLUSTER_SERVER).cloned())
                        .flatten()
                })
                .map(|e| (e.cluster.server.clone(), e.cluster.name.clone(), Some(e)))
                .or_else(|| {
                    (self.is_control(server) && in_cluster).then(|| {
                        (
                            IN_CLUSTER_SERVER.to_string(),
                            capstan_settings::IN_CLUSTER_NAME.to_string(),
                            None,
                        )
                    })
                })
                .ok_or_else(|| {
                    if listed {
                        Unresolved::Unknown(format!(
                            "unable to find destination server: there are no clusters with this URL: {server}"
                        ))
                    } else {
                        Unresolved::NotReady
                    }
                }),
            (None, Some(name)) => entries
                .values()
                .find(|e| e.cluster.name == name)
                .map(|e| (e.cluster.server.clone(), e.cluster.name.clone(), Some(e.clone())))
                .or_else(|| {
                    (name == capstan_settings::IN_CLUSTER_NAME && in_cluster).then(|| {
                        (IN_CLUSTER_SERVER.to_string(), name.to_string(), None)
                    })
                })
                .ok_or_else(|| {
                    if listed {
                        Unresolved::Unknown(format!(
                            "unable to find destination server: there are no clusters with this name: {name}"
                        ))
                    } else {
                        Unresolved::NotReady
                    }
                }),
        }?;
        Ok(found)
    }

    /// The cluster an application deploys to, with its live-state cache.
    pub(crate) fn resolve(&self, app: &Application) -> Result<Resolved, Unresolved> {
        let (server, name, entry) = self.find(app)?;
        let Some(entry) = entry else {
            return Ok(Resolved {
                server,
                name,
                cluster: Cluster::in_cluster(),
                state: self.control_state.clone(),
            });
        };
        if self.is_control(&entry.cluster.server) {
            // a Secret for the in-cluster destination changes its name and scope, not its client
            return Ok(Resolved {
                server,
                name,
                cluster: entry.cluster.clone(),
                state: self.control_state.clone(),
            });
        }
        let link = entry.link.read().map_err(|_| Unresolved::NotReady)?.clone();
        match link {
            Link::Connecting => Err(Unresolved::NotReady),
            Link::Ready(state) => Ok(Resolved {
                server,
                name,
                cluster: entry.cluster.clone(),
                state,
            }),
            Link::Down { message, .. } => Err(Unresolved::Unreachable(format!(
                "failed to sync cluster {server}: {message}"
            ))),
        }
    }

    /// Every cluster to place on a shard: its server and its slot (id: the Secret's name, empty for
    /// the in-cluster destination; `shard` pins it).
    pub(crate) fn slots(&self) -> Vec<(String, ClusterSlot)> {
        let entries: Vec<Arc<Entry>> = self
            .entries
            .read()
            .map(|e| e.values().cloned().collect())
            .unwrap_or_default();
        let mut out: Vec<(String, ClusterSlot)> = entries
            .iter()
            .map(|e| {
                (
                    normalize(&e.cluster.server),
                    ClusterSlot {
                        id: e.cluster.secret_name.clone(),
                        pinned: e.cluster.shard,
                    },
                )
            })
            .collect();
        let control_registered = entries.iter().any(|e| self.is_control(&e.cluster.server));
        if self.in_cluster_enabled.load(Ordering::SeqCst) && !control_registered {
            out.push((
                IN_CLUSTER_SERVER.to_string(),
                ClusterSlot {
                    id: String::new(),
                    pinned: None,
                },
            ));
        }
        out
    }

    /// The control cluster's client (the in-cluster destination).
    pub(crate) fn control(&self) -> &ClusterClient {
        &self.control
    }

    /// Records the control cluster's version (shown for the in-cluster destination).
    pub(crate) fn set_control_version(&self, version: String) {
        if let Ok(mut v) = self.control_version.write() {
            *v = version;
        }
    }

    /// Connection information of every cluster (the in-cluster one first when enabled).
    pub(crate) fn info(&self) -> Vec<ClusterInfo> {
        let mut out = Vec::new();
        let control_version = self
            .control_version
            .read()
            .map(|v| v.clone())
            .unwrap_or_default();
        let stats = |state: Option<&Arc<ClusterState>>| match state {
            Some(s) => (
                s.cache.read().map(|c| c.len()).unwrap_or(0),
                s.apis_count(),
                s.last_sync(),
            ),
            None => (0, 0, None),
        };
        let entries: Vec<Arc<Entry>> = self
            .entries
            .read()
            .map(|e| e.values().cloned().collect())
            .unwrap_or_default();
        let control_registered = entries.iter().any(|e| self.is_control(&e.cluster.server));
        if self.in_cluster_enabled.load(Ordering::SeqCst) && !control_registered {
            let (cached_objects, apis_count, last_cache_sync) = stats(Some(&self.control_state));
            out.push(ClusterInfo {
                server: IN_CLUSTER_SERVER.to_string(),
                name: capstan_settings::IN_CLUSTER_NAME.to_string(),
                status: "Successful".into(),
                server_version: control_version.clone(),
                cached_objects,
                apis_count,
                last_cache_sync,
                ..ClusterInfo::default()
            });
        }
        for entry in entries {
            let (status, message, state) = match entry.link.read().map(|l| l.clone()) {
                _ if self.is_control(&entry.cluster.server) => (
                    "Successful",
                    String::new(),
                    Some(self.control_state.clone()),
                ),
                Ok(Link::Ready(state)) => ("Successful", String::new(), Some(state)),
                Ok(Link::Down { message, state }) => ("Failed", message, state),
                _ => ("Unknown", String::new(), None),
            };
            let (cached_objects, apis_count, last_cache_sync) = stats(state.as_ref());
            let mut server_version = entry.version.read().map(|v| v.clone()).unwrap_or_default();
            if self.is_control(&entry.cluster.server) && server_version.is_empty() {
                server_version = control_version.clone();
            }
            out.push(ClusterInfo {
                server: entry.cluster.server.clone(),
                name: entry.cluster.name.clone(),
                status: status.into(),
                message,
                server_version,
                cached_objects,
                apis_count,
                last_cache_sync,
                applications_count: 0,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Watches the cluster Secrets of the control namespace until cancelled.
    pub(crate) async fn watch_secrets(self: Arc<Self>) {
        let rt = match self.control.resolve("v1", "Secret").await {
            Ok(rt) => rt,
            Err(err) => {
                tracing::error!(%err, "cannot watch cluster Secrets; only in-cluster is known");
                self.secrets_listed.store(true, Ordering::SeqCst);
                return;
            }
        };
        let selector = format!(
            "{}={}",
            capstan_types::annotations::SECRET_TYPE,
            capstan_types::annotations::secret_type::CLUSTER
        );
        let mut stream = Box::pin(capstan_kube::watch_resource(
            &self.control,
            rt,
            Some(&self.namespace),
            Some(&selector),
        ));
        let mut listing: Vec<Value> = Vec::new();
        loop {
            let event = tokio::select! {
                _ = self.cancel.cancelled() => return,
                e = stream.next() => e,
            };
            let Some(event) = event else { return };
            match event {
                Ok(WatchEvent::ListStart) => listing.clear(),
                Ok(WatchEvent::Listed(obj)) => listing.push(obj),
                Ok(WatchEvent::ListDone) => {
                    let secrets = std::mem::take(&mut listing);
                    let mut seen = Vec::new();
                    for obj in &secrets {
                        if let Some(server) = self.upsert(obj) {
                            seen.push(server);
                        }
                    }
                    let gone: Vec<String> = self
                        .entries
                        .read()
                        .map(|e| e.keys().filter(|s| !seen.contains(s)).cloned().collect())
                        .unwrap_or_default();
                    for server in gone {
                        self.remove(&server);
                    }
                    if !self.secrets_listed.swap(true, Ordering::SeqCst) {
                        // applications waiting for the list are resolved now
                        let _ = self.cluster_events.send(String::new());
                    }
                }
                Ok(WatchEvent::Applied(obj)) => {
                    self.upsert(&obj);
                }
                Ok(WatchEvent::Deleted(obj)) => {
                    if let Ok(cluster) = Cluster::from_secret(&obj) {
                        self.remove(&normalize(&cluster.server));
                    }
                }
                Err(err) => tracing::warn!(%err, "cluster Secret watch error; retrying"),
            }
        }
    }

    /// Adds or updates a cluster from its Secret; returns its server.
    fn upsert(self: &Arc<Self>, obj: &Value) -> Option<String> {
        let cluster = match Cluster::from_secret(obj) {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(%err, "cluster Secret cannot be read; ignored");
                return None;
            }
        };
        let server = normalize(&cluster.server);
        let unchanged = self
            .entries
            .read()
            .ok()
            .and_then(|e| e.get(&server).map(|old| old.cluster == cluster))
            .unwrap_or(false);
        if unchanged {
            return Some(server);
        }
        self.remove(&server);
        let entry = Arc::new(Entry {
            cluster,
            link: RwLock::new(Link::Connecting),
            version: RwLock::new(String::new()),
            cancel: self.cancel.child_token(),
        });
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(server.clone(), entry.clone());
        }
        tracing::info!(cluster = %entry.cluster.name, %server, "cluster registered");
        if !self.is_control(&server) {
            tokio::spawn(self.clone().run_cluster(entry));
        }
        let _ = self.cluster_events.send(server.clone());
        Some(server)
    }

    fn remove(&self, server: &str) {
        let removed = self.entries.write().ok().and_then(|mut e| e.remove(server));
        if let Some(entry) = removed {
            entry.cancel.cancel();
            tracing::info!(cluster = %entry.cluster.name, %server, "cluster removed");
            let _ = self.cluster_events.send(server.to_string());
        }
    }

    fn set_link(&self, entry: &Entry, link: Link) {
        let changed = match entry.link.write() {
            Ok(mut current) => {
                let changed = !matches!(
                    (&*current, &link),
                    (Link::Ready(_), Link::Ready(_)) | (Link::Connecting, Link::Connecting)
                ) && !matches!(
                    (&*current, &link),
                    (Link::Down { message: a, .. }, Link::Down { message: b, .. }) if a == b
                );
                *current = link;
                changed
            }
            Err(_) => false,
        };
        if changed {
            let _ = self.cluster_events.send(normalize(&entry.cluster.server));
        }
    }

    /// Connects one cluster while this replica owns it (always without sharding), and disconnects
    /// (dropping its cache) when another replica takes it over.
    async fn run_cluster(self: Arc<Self>, entry: Arc<Entry>) {
        let server = normalize(&entry.cluster.server);
        loop {
            while !self.ownership.owns(&server) {
                tokio::select! {
                    _ = entry.cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
            let session = entry.cancel.child_token();
            let watcher = {
                let registry = self.clone();
                let server = server.clone();
                let session = session.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = session.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        }
                        if !registry.ownership.owns(&server) {
                            session.cancel();
                            return;
                        }
                    }
                })
            };
            self.clone().run_session(&entry, &session).await;
            watcher.abort();
            if entry.cancel.is_cancelled() {
                return;
            }
            tracing::info!(%server, "cluster handed over to another replica; its cache is dropped");
            self.set_link(&entry, Link::Connecting);
        }
    }

    /// One connection of a cluster (until `session.cancel` fires): connect with retries, then probe.
    async fn run_session(self: Arc<Self>, entry: &Entry, session: &CancellationToken) {
        let server = entry.cluster.server.clone();
        let state = loop {
            match self.connect_once(entry, session).await {
                Ok(state) => break state,
                Err(message) => {
                    tracing::warn!(%server, %message, "cluster unreachable; retrying");
                    self.set_link(
                        entry,
                        Link::Down {
                            message,
                            state: None,
                        },
                    );
                }
            }
            tokio::select! {
                _ = session.cancelled() => return,
                _ = tokio::time::sleep(self.timings.retry_delay) => {}
            }
        };
        self.set_link(entry, Link::Ready(state.clone()));
        loop {
            tokio::select! {
                _ = session.cancelled() => return,
                _ = tokio::time::sleep(self.timings.probe_interval) => {}
            }
            let probe =
                tokio::time::timeout(Duration::from_secs(5), state.client.server_version()).await;
            match probe {
                Ok(Ok(version)) => {
                    if let Ok(mut v) = entry.version.write() {
                        *v = version;
                    }
                    self.set_link(entry, Link::Ready(state.clone()));
                }
                Ok(Err(err)) => self.set_link(
                    entry,
                    Link::Down {
                        message: err.to_string(),
                        state: Some(state.clone()),
                    },
                ),
                Err(_) => self.set_link(
                    entry,
                    Link::Down {
                        message: "the API server did not answer within 5 s".into(),
                        state: Some(state.clone()),
                    },
                ),
            }
        }
    }

    async fn connect_once(
        &self,
        entry: &Entry,
        session: &CancellationToken,
    ) -> Result<Arc<ClusterState>, String> {
        let client = ClusterClient::from_cluster(&entry.cluster, self.connect.clone())
            .map_err(|e| e.to_string())?;
        let version = tokio::time::timeout(Duration::from_secs(10), client.server_version())
            .await
            .map_err(|_| "the API server did not answer within 10 s".to_string())?
            .map_err(|e| e.to_string())?;
        if let Ok(mut v) = entry.version.write() {
            *v = version;
        }
        let scope = Scope {
            namespaces: entry.cluster.namespaces.clone(),
            cluster_resources: entry.cluster.cluster_resources,
            filters: self.filters.read().map(|f| f.clone()).unwrap_or_default(),
        };
        let tracking = self.tracking.read().map(|t| t.clone()).unwrap_or_default();
        let attempt = session.child_token();
        let state = ClusterState::start(
            client,
            scope,
            tracking,
            self.changes.clone(),
            attempt.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        if tokio::time::timeout(self.timings.connect_timeout, state.wait_synced())
            .await
            .is_err()
        {
            attempt.cancel();
            return Err(format!(
                "the initial lists did not complete within {} s",
                self.timings.connect_timeout.as_secs()
            ));
        }
        Ok(state)
    }
}

/// Checks the desired objects against a cluster's scope: namespaces it may manage and whether
/// cluster-scoped kinds are allowed. Returns the first problem.
pub(crate) fn check_scope(cluster: &Cluster, objects: &[(Value, bool)]) -> Option<String> {
    if cluster.namespaces.is_empty() {
        return None;
    }
    for (obj, namespaced) in objects {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if *namespaced {
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !cluster.namespaces.iter().any(|n| n == ns) {
                return Some(format!(
                    "{kind} {name}: namespace \"{ns}\" is not managed by cluster {} (its namespaces: {})",
                    cluster.name,
                    cluster.namespaces.join(", ")
                ));
            }
        } else if !cluster.cluster_resources {
            return Some(format!(
                "cluster level {kind} \"{name}\" can not be managed when in namespaced mode (cluster {} has clusterResources: false)",
                cluster.name
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scoped(namespaces: &[&str], cluster_resources: bool) -> Cluster {
        Cluster {
            name: "edge".into(),
            server: "https://edge:6443".into(),
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            cluster_resources,
            ..Cluster::default()
        }
    }

    fn obj(kind: &str, ns: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}});
        if let Some(ns) = ns {
            o["metadata"]["namespace"] = json!(ns);
        }
        o
    }

    #[test]
    fn scope_allows_everything_without_namespaces() {
        let c = scoped(&[], false);
        assert_eq!(check_scope(&c, &[(obj("Namespace", None), false)]), None);
    }

    #[test]
    fn scope_limits_namespaces_and_cluster_kinds() {
        let c = scoped(&["team-a"], false);
        assert_eq!(
            check_scope(&c, &[(obj("ConfigMap", Some("team-a")), true)]),
            None
        );
        let wrong = check_scope(&c, &[(obj("ConfigMap", Some("team-b")), true)]).unwrap();
        assert!(wrong.contains("namespace \"team-b\" is not managed by cluster edge"));
        let cluster_kind = check_scope(&c, &[(obj("Namespace", None), false)]).unwrap();
        assert!(cluster_kind.contains("cluster level Namespace"));
        let allowed = scoped(&["team-a"], true);
        assert_eq!(
            check_scope(&allowed, &[(obj("Namespace", None), false)]),
            None
        );
    }

    #[test]
    fn watch_scopes() {
        let all = Scope::default();
        assert_eq!(all.watches_for(true), vec![None]);
        assert_eq!(all.watches_for(false), vec![None]);
        let two = Scope {
            namespaces: vec!["a".into(), "b".into()],
            cluster_resources: false,
            ..Scope::default()
        };
        assert_eq!(
            two.watches_for(true),
            vec![Some("a".to_string()), Some("b".to_string())]
        );
        assert!(two.watches_for(false).is_empty());
    }
}
