//! The controller's loops: watching Applications, AppProjects and argocd-cm, the refresh workers and
//! the operation workers, with graceful shutdown.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use capstan_kube::{ClusterClient, WatchEvent};
use capstan_types::{AppProject, Application};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::clusters::{ClusterState, Scope};
use crate::error::ControllerError;
use crate::leases::{Coordinator, Ownership};
use crate::manifests::ManifestGenerator;
use crate::queue::WorkQueue;
use crate::registry::{ClusterInfo, ClusterRegistry, RegistryParts};
use crate::settings::{ControllerConfig, RuntimeSettings};

/// Shared state of a running controller.
pub(crate) struct Inner {
    pub(crate) config: ControllerConfig,
    pub(crate) control: ClusterClient,
    pub(crate) clusters: Arc<ClusterRegistry>,
    pub(crate) ownership: Arc<Ownership>,
    pub(crate) apps: RwLock<HashMap<String, Application>>,
    pub(crate) projects: RwLock<HashMap<String, AppProject>>,
    /// Shared, replaced whole when argocd-cm changes: a refresh takes an `Arc`, not a copy.
    pub(crate) settings: RwLock<Arc<RuntimeSettings>>,
    pub(crate) generator: Arc<dyn ManifestGenerator>,
    pub(crate) refresh_queue: WorkQueue,
    pub(crate) running_ops: Mutex<HashSet<String>>,
    pub(crate) op_slots: Arc<Semaphore>,
    pub(crate) cancel: CancellationToken,
}

/// A running controller. Dropping it does not stop it; call [`Controller::shutdown`].
pub struct Controller {
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn name_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl Controller {
    /// Starts a controller against `control` (the cluster holding Applications, which is also the
    /// in-cluster destination). Returns once the live-state cache has its initial lists.
    pub async fn start(
        config: ControllerConfig,
        control: ClusterClient,
        generator: Arc<dyn ManifestGenerator>,
    ) -> Result<Controller, ControllerError> {
        let cancel = CancellationToken::new();
        let settings = load_settings(&control, &config.namespace).await?;
        let (changes_tx, mut changes_rx) = mpsc::unbounded_channel::<String>();
        let (cluster_tx, mut cluster_rx) = mpsc::unbounded_channel::<String>();
        let cluster = ClusterState::start(
            control.clone(),
            Scope {
                filters: settings.filters.clone(),
                ..Scope::default()
            },
            settings.tracking.clone(),
            changes_tx.clone(),
            cancel.clone(),
        )
        .await?;
        if tokio::time::timeout(Duration::from_secs(60), cluster.wait_synced())
            .await
            .is_err()
        {
            tracing::warn!("live-state cache not fully synced after 60 s; starting anyway");
        }
        let ownership = if config.sharding.is_some() {
            Ownership::sharded()
        } else {
            Ownership::everything()
        };
        let clusters = ClusterRegistry::new(RegistryParts {
            control: control.clone(),
            control_state: cluster,
            namespace: config.namespace.clone(),
            connect: capstan_kube::ConnectOptions {
                field_manager: config.field_manager.clone(),
                qps: config.client_qps,
                burst: config.client_burst,
                ..capstan_kube::ConnectOptions::default()
            },
            timings: config.cluster_timings.clone(),
            tracking: settings.tracking.clone(),
            filters: settings.filters.clone(),
            in_cluster_enabled: settings.in_cluster_enabled,
            changes: changes_tx,
            cluster_events: cluster_tx.clone(),
            ownership: ownership.clone(),
            cancel: cancel.clone(),
        });
        let inner = Arc::new(Inner {
            op_slots: Arc::new(Semaphore::new(config.operation_processors.max(1))),
            config,
            control,
            clusters,
            ownership,
            apps: RwLock::new(HashMap::new()),
            projects: RwLock::new(HashMap::new()),
            settings: RwLock::new(Arc::new(settings)),
            generator,
            refresh_queue: WorkQueue::default(),
            running_ops: Mutex::new(HashSet::new()),
            cancel: cancel.clone(),
        });
        let mut tasks = Vec::new();
        // live changes -> refresh of the tracking application (instance name = app name here)
        {
            let inner = inner.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let app = tokio::select! {
                        _ = inner.cancel.cancelled() => return,
                        app = changes_rx.recv() => app,
                    };
                    let Some(app) = app else { return };
                    let name = app.rsplit('_').next().unwrap_or(&app).to_string();
                    inner.refresh_queue.add(&name);
                }
            }));
        }
        // a cluster connected, failed, recovered or was removed -> refresh its applications
        {
            let inner = inner.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let server = tokio::select! {
                        _ = inner.cancel.cancelled() => return,
                        s = cluster_rx.recv() => s,
                    };
                    let Some(server) = server else { return };
                    let names: Vec<String> = inner
                        .apps
                        .read()
                        .map(|apps| {
                            apps.values()
                                .filter(|a| {
                                    server.is_empty()
                                        || inner.clusters.server_of(a).is_none_or(|s| s == server)
                                })
                                .map(|a| a.name().to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    for name in names {
                        inner.refresh_queue.add(&name);
                    }
                }
            }));
        }
        tasks.push(tokio::spawn(inner.clusters.clone().watch_secrets()));
        if let Some(sharding) = inner.config.sharding.clone() {
            let coordinator = Coordinator {
                config: sharding,
                control: inner.control.clone(),
                namespace: inner.config.namespace.clone(),
                ownership: inner.ownership.clone(),
                clusters: inner.clusters.clone(),
                events: cluster_tx,
                cancel: cancel.clone(),
            };
            tasks.push(tokio::spawn(coordinator.run()));
        }
        tasks.push(tokio::spawn(crate::info::publish(inner.clone())));
        tasks.push(tokio::spawn(watch_projects(inner.clone())));
        tasks.push(tokio::spawn(watch_settings(inner.clone())));
        tasks.push(tokio::spawn(watch_apps(inner.clone())));
        for _ in 0..inner.config.status_processors.max(1) {
            let inner = inner.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(name) = inner.refresh_queue.next().await {
                    crate::refresh::refresh(&inner, &name).await;
                    inner.refresh_queue.done(&name);
                }
            }));
        }
        Ok(Controller { inner, tasks })
    }

    /// Asks for a refresh of one application now.
    pub fn refresh(&self, name: &str) {
        self.inner.refresh_queue.add(name);
    }

    /// Applications waiting for a refresh or being refreshed, and operations running.
    pub fn busy(&self) -> usize {
        self.inner.refresh_queue.busy()
            + self.inner.running_ops.lock().map(|o| o.len()).unwrap_or(0)
    }

    /// How many applications the controller knows, and how many of them are Synced and Healthy.
    pub fn synced_and_healthy(&self) -> (usize, usize) {
        let Ok(apps) = self.inner.apps.read() else {
            return (0, 0);
        };
        let good = apps
            .values()
            .filter(|a| {
                let status = a.status.as_ref();
                status.and_then(|s| s.sync.as_ref()).map(|s| s.status)
                    == Some(capstan_types::SyncStatusCode::Synced)
                    && status.and_then(|s| s.health.as_ref()).map(|h| h.status)
                        == Some(capstan_types::HealthStatus::Healthy)
            })
            .count();
        (apps.len(), good)
    }

    /// Connection information of every destination cluster.
    pub fn clusters(&self) -> Vec<ClusterInfo> {
        crate::info::with_app_counts(&self.inner, self.inner.clusters.info())
    }

    /// Servers of the clusters this replica handles now (all of them without sharding).
    pub fn owned_clusters(&self) -> Vec<String> {
        if self.inner.config.sharding.is_none() {
            return self
                .inner
                .clusters
                .slots()
                .into_iter()
                .map(|(s, _)| s)
                .collect();
        }
        self.inner.ownership.owned_servers()
    }

    /// Names of the applications the controller knows.
    pub fn application_names(&self) -> Vec<String> {
        self.inner
            .apps
            .read()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Stops every loop and waits for them.
    pub async fn shutdown(self) {
        self.inner.cancel.cancel();
        self.inner.refresh_queue.close();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn load_settings(
    control: &ClusterClient,
    namespace: &str,
) -> Result<RuntimeSettings, ControllerError> {
    let rt = control.resolve("v1", "ConfigMap").await?;
    match control
        .get(&rt, Some(namespace), capstan_settings::names::ARGOCD_CM)
        .await?
    {
        None => Ok(RuntimeSettings::default()),
        Some(cm) => {
            let data = capstan_settings::config_map_data(&cm)
                .map_err(|e| ControllerError::Settings(e.to_string()))?;
            RuntimeSettings::from_config_map_data(&data).map_err(ControllerError::Settings)
        }
    }
}

fn resource_version(app: &Application) -> Option<u64> {
    app.metadata.resource_version.as_deref()?.parse().ok()
}

/// True when `incoming` is older than what is already known (events of our own writes arrive after
/// the write's response). Versions that are not numbers are never considered older.
pub(crate) fn is_older(incoming: &Application, known: Option<&Application>) -> bool {
    match (resource_version(incoming), known.and_then(resource_version)) {
        (Some(new), Some(old)) => new < old,
        _ => false,
    }
}

/// Spec, operation, deletion or a refresh annotation changed (a status-only write does not refresh).
fn needs_refresh(old: Option<&Application>, new: &Application) -> bool {
    let Some(old) = old else { return true };
    old.spec != new.spec
        || old.operation != new.operation
        || old.metadata.deletion_timestamp != new.metadata.deletion_timestamp
        || new
            .metadata
            .annotation(capstan_types::annotations::REFRESH)
            .is_some()
        || old.metadata.finalizers != new.metadata.finalizers
}

async fn watch_apps(inner: Arc<Inner>) {
    let rt = match inner
        .control
        .resolve(capstan_types::annotations::API_VERSION, "Application")
        .await
    {
        Ok(rt) => rt,
        Err(err) => {
            tracing::error!(%err, "cannot watch Applications (are the CRDs installed?)");
            return;
        }
    };
    let mut stream = Box::pin(capstan_kube::watch_resource(
        &inner.control,
        rt,
        Some(&inner.config.namespace),
        None,
    ));
    let mut listing: Vec<Value> = Vec::new();
    loop {
        let event = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        match event {
            Ok(WatchEvent::ListStart) => listing.clear(),
            Ok(WatchEvent::Listed(obj)) => listing.push(obj),
            Ok(WatchEvent::ListDone) => {
                let mut fresh = HashMap::new();
                for obj in std::mem::take(&mut listing) {
                    match capstan_types::decode::<Application>(&obj) {
                        Ok(app) => {
                            fresh.insert(app.name().to_string(), app);
                        }
                        Err(err) => {
                            tracing::warn!(app = ?name_of(&obj), %err, "Application cannot be read")
                        }
                    }
                }
                let names: Vec<String> = fresh.keys().cloned().collect();
                if let Ok(mut apps) = inner.apps.write() {
                    *apps = fresh;
                }
                for name in names {
                    inner.refresh_queue.add(&name);
                }
            }
            Ok(WatchEvent::Applied(obj)) => match capstan_types::decode::<Application>(&obj) {
                Ok(app) => {
                    let name = app.name().to_string();
                    let refresh = match inner.apps.write() {
                        Ok(mut apps) => {
                            if is_older(&app, apps.get(&name)) {
                                // our own write already gave us a newer copy
                                false
                            } else {
                                let refresh = needs_refresh(apps.get(&name), &app);
                                apps.insert(name.clone(), app);
                                refresh
                            }
                        }
                        Err(_) => false,
                    };
                    if refresh {
                        inner.refresh_queue.add(&name);
                    }
                }
                Err(err) => {
                    tracing::warn!(app = ?name_of(&obj), %err, "Application cannot be read")
                }
            },
            Ok(WatchEvent::Deleted(obj)) => {
                if let (Some(name), Ok(mut apps)) = (name_of(&obj), inner.apps.write()) {
                    apps.remove(&name);
                }
            }
            Err(err) => tracing::warn!(%err, "Application watch error; retrying"),
        }
    }
}

async fn watch_projects(inner: Arc<Inner>) {
    let rt = match inner
        .control
        .resolve(capstan_types::annotations::API_VERSION, "AppProject")
        .await
    {
        Ok(rt) => rt,
        Err(err) => {
            tracing::error!(%err, "cannot watch AppProjects");
            return;
        }
    };
    let mut stream = Box::pin(capstan_kube::watch_resource(
        &inner.control,
        rt,
        Some(&inner.config.namespace),
        None,
    ));
    loop {
        let event = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        let (obj, deleted) = match event {
            Ok(WatchEvent::Applied(obj) | WatchEvent::Listed(obj)) => (obj, false),
            Ok(WatchEvent::Deleted(obj)) => (obj, true),
            Ok(_) => continue,
            Err(err) => {
                tracing::warn!(%err, "AppProject watch error; retrying");
                continue;
            }
        };
        let Some(name) = name_of(&obj) else { continue };
        if let Ok(mut projects) = inner.projects.write() {
            if deleted {
                projects.remove(&name);
            } else {
                match capstan_types::decode::<AppProject>(&obj) {
                    Ok(p) => {
                        projects.insert(name.clone(), p);
                    }
                    Err(err) => tracing::warn!(project = %name, %err, "AppProject cannot be read"),
                }
            }
        }
        // applications of the project are checked again
        let names: Vec<String> = inner
            .apps
            .read()
            .map(|apps| {
                apps.values()
                    .filter(|a| a.project() == name)
                    .map(|a| a.name().to_string())
                    .collect()
            })
            .unwrap_or_default();
        for app in names {
            inner.refresh_queue.add(&app);
        }
    }
}

async fn watch_settings(inner: Arc<Inner>) {
    let Ok(rt) = inner.control.resolve("v1", "ConfigMap").await else {
        return;
    };
    let mut stream = Box::pin(capstan_kube::watch_resource(
        &inner.control,
        rt,
        Some(&inner.config.namespace),
        None,
    ));
    loop {
        let event = tokio::select! {
            _ = inner.cancel.cancelled() => return,
            e = stream.next() => e,
        };
        let Some(event) = event else { return };
        let Ok(WatchEvent::Applied(obj)) = event else {
            continue;
        };
        if name_of(&obj).as_deref() != Some(capstan_settings::names::ARGOCD_CM) {
            continue;
        }
        let data = match capstan_settings::config_map_data(&obj) {
            Ok(d) => d,
            Err(err) => {
                tracing::error!(%err, "argocd-cm cannot be read; keeping the previous settings");
                continue;
            }
        };
        match RuntimeSettings::from_config_map_data(&data) {
            Ok(settings) => {
                inner
                    .clusters
                    .set_in_cluster_enabled(settings.in_cluster_enabled);
                inner.clusters.set_tracking(settings.tracking.clone());
                inner.clusters.set_filters(settings.filters.clone());
                if let Ok(mut current) = inner.settings.write() {
                    *current = Arc::new(settings);
                }
                let names: Vec<String> = inner
                    .apps
                    .read()
                    .map(|a| a.keys().cloned().collect())
                    .unwrap_or_default();
                for name in names {
                    inner.refresh_queue.add(&name);
                }
            }
            Err(err) => {
                tracing::error!(%err, "argocd-cm has an error; keeping the previous settings")
            }
        }
    }
}
