//! `capstan controller`: the application controller alone, with the repo server in-process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use capstan_controller::{Controller, ControllerConfig, RepoGenerator, SecretCredentialStore};
use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_repo::{RepoService, ServiceSettings};
use tokio_util::sync::CancellationToken;

/// Run the application controller: compare Applications with the cluster, write their status and
/// run syncs. Applications, AppProjects and settings are read from `--namespace`.
///
/// Example: `capstan controller --kubeconfig .capstan/kubeconfig`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// kubeconfig of the control-plane cluster (in-cluster configuration when absent).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of Applications, AppProjects and settings.
    #[arg(long, env = "ARGOCD_NAMESPACE", default_value = "argocd")]
    pub namespace: String,
    /// Directory for the repo server's Git and manifest caches.
    #[arg(
        long,
        env = "CAPSTAN_REPO_CACHE_DIR",
        default_value = "/tmp/capstan-repo-cache"
    )]
    pub repo_cache_dir: PathBuf,
    /// Status (refresh) workers.
    #[arg(
        long,
        env = "ARGOCD_APPLICATION_CONTROLLER_STATUS_PROCESSORS",
        default_value_t = 20
    )]
    pub status_processors: usize,
    /// Operation (sync) workers.
    #[arg(
        long,
        env = "ARGOCD_APPLICATION_CONTROLLER_OPERATION_PROCESSORS",
        default_value_t = 10
    )]
    pub operation_processors: usize,
    /// `capstan repo-server` replicas to render with, comma-separated (`http://host:8081`); each
    /// source prefers one replica and fails over to the next. The repo server runs in this process
    /// when absent.
    #[arg(long, env = "ARGOCD_REPO_SERVER")]
    pub repo_server: Option<String>,
    /// Seconds to wait for the repo server (Argo CD's controller.repo.server.timeout.seconds).
    #[arg(
        long,
        env = "ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER_TIMEOUT_SECONDS",
        default_value_t = 60
    )]
    pub repo_server_timeout: u64,
    /// Address of the health endpoint (`GET /healthz`), for probes.
    #[arg(long, env = "ARGOCD_APPLICATION_CONTROLLER_HEALTH_LISTEN")]
    pub health_listen: Option<std::net::SocketAddr>,
    /// Seconds between sync waves.
    #[arg(long, env = "ARGOCD_SYNC_WAVE_DELAY", default_value_t = 2.0)]
    pub wave_delay: f64,
    /// Requests per second to each cluster, the control plane included (0: no limit).
    #[arg(long, env = "ARGOCD_K8S_CLIENT_QPS", default_value_t = 0.0)]
    pub k8s_client_qps: f64,
    /// Requests allowed at once above `--k8s-client-qps`.
    #[arg(long, env = "ARGOCD_K8S_CLIENT_BURST", default_value_t = 100)]
    pub k8s_client_burst: u32,
    /// Controller replicas. Above 1, the replicas share the clusters through coordination.k8s.io
    /// Leases in `--namespace` (the live replicas are counted from their Leases, so scaling needs
    /// no restart); each cluster is handled by exactly one replica.
    #[arg(long, env = "ARGOCD_CONTROLLER_REPLICAS", default_value_t = 1)]
    pub replicas: u32,
    /// This replica's identity in its Lease (default: host name and process id).
    #[arg(long, env = "CAPSTAN_CONTROLLER_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// How clusters are placed on replicas: legacy, round-robin or consistent-hashing.
    #[arg(
        long,
        env = "ARGOCD_CONTROLLER_SHARDING_ALGORITHM",
        default_value = "legacy"
    )]
    pub sharding_method: String,
    /// Seconds a replica's Leases last without renewal: a dead replica's clusters move to the others
    /// within about this time.
    #[arg(long, env = "CAPSTAN_CONTROLLER_LEASE_SECONDS", default_value_t = 15)]
    pub lease_seconds: u64,
}

impl Args {
    fn sharding(&self) -> anyhow::Result<Option<capstan_controller::ShardingConfig>> {
        if self.replicas <= 1 {
            return Ok(None);
        }
        let algorithm = self
            .sharding_method
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--sharding-method: {e}"))?;
        let replica_id = match &self.replica_id {
            Some(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => {
                let host = std::env::var("HOSTNAME")
                    .ok()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "controller".to_string());
                format!("{host}-{}", std::process::id())
            }
        };
        Ok(Some(capstan_controller::ShardingConfig {
            replica_id,
            algorithm,
            lease_duration: Duration::from_secs(self.lease_seconds.max(3)),
        }))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let sharding = args.sharding()?;
    rt.block_on(async move {
        capstan_kube::install_crypto_provider();
        let options = ConnectOptions {
            qps: args.k8s_client_qps,
            burst: args.k8s_client_burst,
            ..ConnectOptions::default()
        };
        let client = match &args.kubeconfig {
            Some(path) => {
                ClusterClient::from_kubeconfig(path, args.context.as_deref(), options).await
            }
            None => ClusterClient::infer(options).await,
        }
        .context("connecting to the control-plane cluster")?;
        let cancel = CancellationToken::new();
        let credentials = SecretCredentialStore::watch(&client, &args.namespace, cancel.clone())
            .await
            .context("reading repository Secrets")?;
        let generator = match &args.repo_server {
            Some(urls) => {
                let servers = urls
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|url| {
                        let base = if url.starts_with("http://") || url.starts_with("https://") {
                            url.to_string()
                        } else {
                            format!("http://{url}")
                        };
                        capstan_repo::RemoteRepoServer::new(
                            base,
                            Duration::from_secs(args.repo_server_timeout),
                        )
                    })
                    .collect::<Vec<_>>();
                anyhow::ensure!(!servers.is_empty(), "--repo-server names no server");
                RepoGenerator::replicas(servers)
            }
            None => in_process_generator(credentials, &args.repo_cache_dir)?,
        };
        let config = ControllerConfig {
            namespace: args.namespace.clone(),
            status_processors: args.status_processors,
            operation_processors: args.operation_processors,
            wave_delay: Duration::from_secs_f64(args.wave_delay.max(0.0)),
            sharding,
            client_qps: args.k8s_client_qps,
            client_burst: args.k8s_client_burst,
            ..ControllerConfig::default()
        };
        let generator = Arc::new(generator);
        let controller = Controller::start(config, client, generator)
            .await
            .context("starting the controller")?;
        if let Some(addr) = args.health_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
            let stop = cancel.clone();
            tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(err) = served {
                    tracing::error!(%err, "health endpoint stopped");
                }
            });
        }
        tracing::info!(namespace = %args.namespace, "capstan controller started");
        shutdown_signal().await;
        tracing::info!("shutting down");
        cancel.cancel();
        controller.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The repo server in this process, with credentials from the control plane's Secrets and its caches
/// under `cache_dir` (shared by `capstan controller`, `capstan server` and `capstan up`).
pub fn in_process_generator(
    credentials: SecretCredentialStore,
    cache_dir: &std::path::Path,
) -> anyhow::Result<RepoGenerator> {
    let service = RepoService::new(ServiceSettings::new(cache_dir), Arc::new(credentials))
        .context("opening the repository cache")?;
    Ok(RepoGenerator::new(Arc::new(service)))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
