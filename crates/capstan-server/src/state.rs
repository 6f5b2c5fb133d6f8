//! Shared server state: the control-plane client, the settings read from `argocd-cm`,
//! `argocd-rbac-cm` and `argocd-secret` (kept current by a watch), the login limiter and metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use capstan_controller::ManifestGenerator;
use capstan_kube::{ClusterClient, ResourceType, WatchEvent, watch_resource};
use capstan_settings::{ArgoCdConfig, ArgoCdSecret, RbacConfig, names, secret_data};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::Principal;
use crate::auth::password;
use crate::auth::ratelimit::{Limits, LoginLimiter};
use crate::cache::{AppCache, AppFilter, CachedApp, Snapshot};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Options of the API server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Namespace of Applications, AppProjects and settings.
    pub namespace: String,
    /// Login limits.
    pub login_limits: Limits,
    /// Largest webhook payload accepted, in bytes.
    pub webhook_max_body: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            namespace: names::DEFAULT_NAMESPACE.to_string(),
            login_limits: Limits::default(),
            webhook_max_body: 10 * 1024 * 1024,
        }
    }
}

/// Settings as last read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `argocd-cm`.
    pub cm: ArgoCdConfig,
    /// `argocd-rbac-cm`.
    pub rbac: RbacConfig,
    /// `argocd-secret`.
    pub secret: ArgoCdSecret,
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsLoadError {
    /// The cluster could not be read.
    #[error(transparent)]
    Kube(#[from] capstan_kube::KubeError),
    /// A settings object is invalid (each problem names the object, key and line).
    #[error("{0}")]
    Invalid(String),
}

/// Resource types used everywhere.
#[derive(Debug, Clone)]
pub struct Types {
    /// Application.
    pub app: ResourceType,
    /// AppProject.
    pub project: ResourceType,
    /// Secret.
    pub secret: ResourceType,
    /// ConfigMap.
    pub config_map: ResourceType,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

/// The state behind [`AppState`].
pub struct Inner {
    /// Control-plane cluster.
    pub client: ClusterClient,
    /// Options.
    pub config: ServerConfig,
    /// Resource types.
    pub types: Types,
    settings: RwLock<Arc<Settings>>,
    /// Held for a whole reload (read, then store), so that a reload that read older objects can
    /// never store them over a newer one (the ConfigMap and Secret watches reload concurrently).
    reloading: tokio::sync::Mutex<()>,
    /// Login limiter.
    pub limiter: LoginLimiter,
    /// Prometheus counters.
    pub metrics: Metrics,
    /// Manifest generation (the in-process repo server), when available.
    pub generator: Option<Arc<dyn ManifestGenerator>>,
    /// Cancelled at shutdown (ends watch streams).
    pub shutdown: CancellationToken,
    /// Every Application, kept current by a watch ([`AppState::spawn_app_cache`]).
    pub apps: Arc<AppCache>,
    /// Repository and cluster connection tests.
    pub connections: crate::connection::Connections,
    /// The OpenID provider's keys (ID tokens used as bearer tokens).
    pub provider_keys: crate::auth::oidc::ProviderKeys,
    /// Clients of destination clusters.
    pub destinations: crate::destination::DestinationClients,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// base64 of each value, as Secret `data`.
pub fn encode_data(pairs: &[(&str, Option<&str>)]) -> Value {
    let mut data = serde_json::Map::new();
    for (k, v) in pairs {
        data.insert(
            (*k).to_string(),
            match v {
                Some(v) => Value::String(base64::engine::general_purpose::STANDARD.encode(v)),
                None => Value::Null,
            },
        );
    }
    Value::Object(data)
}

impl AppState {
    /// Resolves the types, reads the settings (failing on an invalid RBAC policy) and bootstraps the
    /// admin password and signing key.
    pub async fn new(
        client: ClusterClient,
        config: ServerConfig,
        generator: Option<Arc<dyn ManifestGenerator>>,
        shutdown: CancellationToken,
    ) -> Result<AppState, SettingsLoadError> {
        let types = Types {
            app: client
                .resolve("argoproj.io/v1alpha1", "Application")
                .await?,
            project: client.resolve("argoproj.io/v1alpha1", "AppProject").await?,
            secret: client.resolve("v1", "Secret").await?,
            config_map: client.resolve("v1", "ConfigMap").await?,
        };
        let settings = load(&client, &types, &config.namespace).await?;
        let state = AppState(Arc::new(Inner {
            limiter: LoginLimiter::new(config.login_limits.clone()),
            client,
            config,
            types,
            settings: RwLock::new(Arc::new(settings)),
            reloading: tokio::sync::Mutex::new(()),
            metrics: Metrics::default(),
            generator,
            shutdown,
            apps: Arc::new(AppCache::default()),
            connections: Default::default(),
            provider_keys: Default::default(),
            destinations: Default::default(),
        }));
        state.bootstrap().await?;
        Ok(state)
    }

    /// Current settings.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the settings; an invalid policy keeps the previous one (and is logged).
    pub async fn reload(&self) {
        let _one_at_a_time = self.reloading.lock().await;
        match load(&self.client, &self.types, &self.config.namespace).await {
            Ok(settings) => {
                *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
            }
            Err(e) => {
                tracing::error!(error = %e, "settings not reloaded; keeping the previous ones")
            }
        }
    }

    /// Writes keys of `argocd-secret` (None removes a key) and reloads the settings.
    pub async fn update_argocd_secret(
        &self,
        pairs: &[(&str, Option<&str>)],
    ) -> Result<(), ApiError> {
        let patch = json!({"data": encode_data(pairs)});
        self.client
            .merge_patch(
                &self.types.secret,
                Some(&self.config.namespace),
                names::ARGOCD_SECRET,
                &patch,
            )
            .await?;
        self.reload().await;
        Ok(())
    }

    async fn bootstrap(&self) -> Result<(), SettingsLoadError> {
        let ns = self.config.namespace.clone();
        let existing = self
            .client
            .get(&self.types.secret, Some(&ns), names::ARGOCD_SECRET)
            .await?;
        if existing.is_none() {
            let secret = json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": names::ARGOCD_SECRET, "namespace": ns,
                    "labels": {"app.kubernetes.io/name": "argocd-secret", "app.kubernetes.io/part-of": "argocd"}},
                "type": "Opaque",
                "data": {}
            });
            self.client.create(&secret, false).await?;
        }
        let settings = load(&self.client, &self.types, &ns).await?;
        let mut pairs: Vec<(&str, Option<String>)> = Vec::new();
        if settings.secret.server_secret_key.is_none() {
            pairs.push(("server.secretkey", Some(password::random_key())));
        }
        let mut initial = None;
        if settings.secret.admin_password_hash.is_none() {
            let plain = password::random_string(16);
            let hash = password::hash(&plain).map_err(SettingsLoadError::Invalid)?;
            pairs.push(("admin.password", Some(hash)));
            pairs.push((
                "admin.passwordMtime",
                Some(crate::auth::session::mtime_now()),
            ));
            initial = Some(plain);
        }
        if !pairs.is_empty() {
            let borrowed: Vec<(&str, Option<&str>)> =
                pairs.iter().map(|(k, v)| (*k, v.as_deref())).collect();
            let patch = json!({"data": encode_data(&borrowed)});
            self.client
                .merge_patch(&self.types.secret, Some(&ns), names::ARGOCD_SECRET, &patch)
                .await?;
        }
        if let Some(plain) = initial {
            let secret = json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": names::ARGOCD_INITIAL_ADMIN_SECRET, "namespace": ns},
                "type": "Opaque",
                "data": encode_data(&[("password", Some(&plain))]),
            });
            self.client
                .delete(
                    &self.types.secret,
                    Some(&ns),
                    names::ARGOCD_INITIAL_ADMIN_SECRET,
                    &Default::default(),
                )
                .await?;
            self.client.create(&secret, false).await?;
            tracing::info!(
                "generated the initial admin password; read it with `capstan admin initial-password`"
            );
        }
        self.ensure_default_project().await?;
        self.reload().await;
        Ok(())
    }

    async fn ensure_default_project(&self) -> Result<(), SettingsLoadError> {
        let ns = &self.config.namespace;
        if self
            .client
            .get(&self.types.project, Some(ns), "default")
            .await?
            .is_some()
        {
            return Ok(());
        }
        let project = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "default", "namespace": ns},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]
            }
        });
        match self.client.create(&project, false).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_conflict() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts the watch that feeds the Application cache (ends at shutdown).
    pub fn spawn_app_cache(&self) {
        self.apps.spawn_watch(
            self.client.clone(),
            self.types.app.clone(),
            self.config.namespace.clone(),
            self.shutdown.clone(),
        );
    }

    /// The Applications `principal` may `get` that pass `filter`, sorted by name, from the cache
    /// (waiting up to 10 s for its initial list; after that the cluster is listed directly). This is
    /// what `GET /api/v1/applications` answers, and what the web UI pages over.
    pub async fn visible_applications(
        &self,
        principal: &Principal,
        filter: &AppFilter,
    ) -> Result<Snapshot, ApiError> {
        let snapshot = match self.apps.query(filter) {
            Some(s) => s,
            None if self
                .apps
                .wait_synced(std::time::Duration::from_secs(10))
                .await =>
            {
                self.apps.query(filter).unwrap_or(Snapshot {
                    apps: Vec::new(),
                    resource_version: String::new(),
                })
            }
            None => {
                let (items, rv) = self
                    .client
                    .list(&self.types.app, Some(&self.config.namespace), None)
                    .await?;
                let mut apps: Vec<Arc<CachedApp>> = items
                    .into_iter()
                    .map(|v| Arc::new(CachedApp::new(v)))
                    .filter(|a| filter.matches(a))
                    .collect();
                apps.sort_by(|a, b| a.name.cmp(&b.name));
                Snapshot {
                    apps,
                    resource_version: rv,
                }
            }
        };
        let authorizer = crate::rbac::Authorizer::new(self, principal).await?;
        let mut object = String::new();
        let apps = snapshot
            .apps
            .into_iter()
            .filter(|a| {
                object.clear();
                object.push_str(&a.project);
                object.push('/');
                object.push_str(&a.name);
                authorizer.allows("applications", "get", &object)
            })
            .collect();
        Ok(Snapshot {
            apps,
            resource_version: snapshot.resource_version,
        })
    }

    /// Keeps the settings current: reloads when `argocd-cm`, `argocd-rbac-cm` or `argocd-secret`
    /// changes. Ends at shutdown.
    pub fn spawn_settings_watch(&self) {
        for rt in [self.types.config_map.clone(), self.types.secret.clone()] {
            let state = self.clone();
            tokio::spawn(async move {
                let stream = watch_resource(&state.client, rt, Some(&state.config.namespace), None);
                futures::pin_mut!(stream);
                loop {
                    let event = tokio::select! {
                        _ = state.shutdown.cancelled() => return,
                        e = stream.next() => e,
                    };
                    let Some(event) = event else { return };
                    let name = match &event {
                        Ok(WatchEvent::Applied(o)) | Ok(WatchEvent::Deleted(o)) => o
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        Ok(WatchEvent::ListDone) => names::ARGOCD_CM.to_string(),
                        _ => continue,
                    };
                    if [
                        names::ARGOCD_CM,
                        names::ARGOCD_RBAC_CM,
                        names::ARGOCD_SECRET,
                    ]
                    .contains(&name.as_str())
                    {
                        state.reload().await;
                    }
                }
            });
        }
    }
}

/// Reads the three settings objects; an invalid `argocd-rbac-cm` policy is an error listing every
/// bad line.
pub async fn load(
    client: &ClusterClient,
    types: &Types,
    namespace: &str,
) -> Result<Settings, SettingsLoadError> {
    let cm = match client
        .get(&types.config_map, Some(namespace), names::ARGOCD_CM)
        .await?
    {
        Some(obj) => ArgoCdConfig::from_config_map(&obj)
            .map_err(|e| SettingsLoadError::Invalid(e.to_string()))?,
        None => ArgoCdConfig::default(),
    };
    let rbac = match client
        .get(&types.config_map, Some(namespace), names::ARGOCD_RBAC_CM)
        .await?
    {
        Some(obj) => RbacConfig::from_config_map(&obj),
        None => RbacConfig::from_data(names::ARGOCD_RBAC_CM, &BTreeMap::new()),
    }
    .map_err(|errors| {
        SettingsLoadError::Invalid(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let secret = match client
        .get(&types.secret, Some(namespace), names::ARGOCD_SECRET)
        .await?
    {
        Some(obj) => ArgoCdSecret::from_data(
            &secret_data(&obj).map_err(|e| SettingsLoadError::Invalid(e.to_string()))?,
        ),
        None => ArgoCdSecret::default(),
    };
    Ok(Settings { cm, rbac, secret })
}
