//! The API server (`capstan server`): Argo CD's REST API on its paths and JSON shapes (applications,
//! projects, repositories, repository credentials, clusters, accounts, session, settings, version),
//! Server-Sent Event watch streams, Git provider webhooks, Prometheus metrics and an OpenAPI document.
//!
//! It stores nothing itself: Applications and AppProjects are custom resources, repositories, clusters
//! and credentials are labelled Secrets, settings are `argocd-cm`, `argocd-rbac-cm` and
//! `argocd-secret`, all in the control-plane namespace, exactly as Argo CD keeps them. Syncs, rollbacks
//! and terminations are requests written into the Application (`operation`, `operationState`), which
//! the controller carries out.

pub mod auth;
pub mod body;
pub mod cache;
pub mod connection;
pub mod destination;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod project_checks;
pub mod rbac;
pub mod routes;
pub mod selector;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use capstan_controller::ManifestGenerator;
use capstan_kube::ClusterClient;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use state::{AppState, ServerConfig, SettingsLoadError};

use crate::auth::session::UserSlot;
use crate::error::Outcome;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Settings could not be read or are invalid (an RBAC policy line that does not parse, ...).
    #[error("reading settings: {0}")]
    Settings(#[from] SettingsLoadError),
    /// The port could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// Where to listen.
#[derive(Debug, Clone)]
pub struct Listen {
    /// API address.
    pub api: SocketAddr,
    /// Metrics address, if metrics are served.
    pub metrics: Option<SocketAddr>,
    /// TLS on the API port (plain HTTP when `None`).
    pub tls: Option<tls::TlsSource>,
}

/// A running server.
pub struct Running {
    /// Bound API address.
    pub addr: SocketAddr,
    /// Bound metrics address.
    pub metrics_addr: Option<SocketAddr>,
    /// Shared state.
    pub state: AppState,
    tls: bool,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// `http://<addr>` or `https://<addr>`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops accepting requests, ends streams and waits for in-flight requests.
    pub async fn stop(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Resolves when the server has stopped.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    routes::router(state.clone()).layer(axum::middleware::from_fn_with_state(state, log_requests))
}

async fn log_requests(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let slot = UserSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let user = slot
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_else(|| "-".to_string());
    let outcome = response
        .extensions()
        .get::<Outcome>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| "ok".to_string());
    let millis = started.elapsed().as_millis() as u64;
    if status >= 500 {
        tracing::error!(%method, %path, status, %user, %outcome, millis, "request");
    } else if status >= 400 {
        tracing::warn!(%method, %path, status, %user, %outcome, millis, "request");
    } else {
        tracing::info!(%method, %path, status, %user, millis, "request");
    }
    state.metrics.inc(
        "argocd_api_requests_total",
        format!("method=\"{method}\",status=\"{status}\""),
    );
    response
}

/// Starts the server: reads the settings (refusing to start on an invalid RBAC policy), bootstraps
/// the admin password and signing key, and serves until [`Running::stop`].
pub async fn start(
    listen: Listen,
    client: ClusterClient,
    config: ServerConfig,
    generator: Option<Arc<dyn ManifestGenerator>>,
) -> Result<Running, ServerError> {
    let cancel = CancellationToken::new();
    let state = AppState::new(client, config, generator, cancel.clone()).await?;
    state.spawn_settings_watch();
    state.spawn_app_cache();
    let listener = tokio::net::TcpListener::bind(listen.api)
        .await
        .map_err(|source| ServerError::Bind {
            addr: listen.api,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: listen.api,
        source,
    })?;
    let mut tasks = Vec::new();
    let app = router(state.clone());
    let shutdown = cancel.clone();
    let tls = listen.tls.is_some();
    match &listen.tls {
        None => tasks.push(tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "API server stopped");
            }
        })),
        Some(source) => {
            let rustls = tls::config(source).await?;
            let std_listener = listener.into_std().map_err(|source| ServerError::Bind {
                addr: listen.api,
                source,
            })?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tasks.push(tokio::spawn(async move {
                shutdown.cancelled().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            }));
            tasks.push(tokio::spawn(async move {
                let served = axum_server::from_tcp_rustls(std_listener, rustls)
                    .handle(handle)
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "API server stopped");
                }
            }));
        }
    }
    let mut metrics_addr = None;
    if let Some(m) = listen.metrics {
        let listener = tokio::net::TcpListener::bind(m)
            .await
            .map_err(|source| ServerError::Bind { addr: m, source })?;
        metrics_addr = listener.local_addr().ok();
        let app = routes::metrics_router(state.clone());
        let shutdown = cancel.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "metrics server stopped");
            }
        }));
    }
    tracing::info!(%addr, tls, "capstan API server listening");
    Ok(Running {
        addr,
        metrics_addr,
        state,
        tls,
        cancel,
        tasks,
    })
}
