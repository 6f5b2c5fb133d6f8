//! `capstan server`: the API server, with the controller and the repo server in-process unless told
//! they run separately.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use capstan_controller::{Controller, ControllerConfig, ManifestGenerator, SecretCredentialStore};
use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_server::tls::TlsSource;
use capstan_server::{Listen, ServerConfig};
use tokio_util::sync::CancellationToken;

/// Run the API server (Argo CD's REST API, login, RBAC, SSE streams, webhooks). Applications,
/// projects, repositories and settings live in `--namespace` of the control-plane cluster.
/// The controller and the repo server run in the same process unless `--no-controller` is given.
///
/// Example: `capstan server --kubeconfig .capstan/kubeconfig --insecure`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the API (and webhook) port.
    #[arg(long, env = "ARGOCD_SERVER_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of the Prometheus metrics port.
    #[arg(
        long,
        env = "ARGOCD_SERVER_METRICS_LISTEN",
        default_value = "0.0.0.0:8083"
    )]
    pub metrics_listen: SocketAddr,
    /// Serve plain HTTP instead of TLS.
    #[arg(long, env = "ARGOCD_SERVER_INSECURE")]
    pub insecure: bool,
    /// TLS certificate (PEM); a self-signed one is generated when absent.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// kubeconfig of the control-plane cluster (in-cluster configuration when absent).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of Applications, AppProjects and settings.
    #[arg(long, env = "ARGOCD_NAMESPACE", default_value = "argocd")]
    pub namespace: String,
    /// Do not run the controller in this process (it runs as `capstan controller`); manifests and
    /// managed-resources are then unavailable from this server.
    #[arg(long)]
    pub no_controller: bool,
    /// Directory for the repo server's Git and manifest caches.
    #[arg(
        long,
        env = "CAPSTAN_REPO_CACHE_DIR",
        default_value = "/tmp/capstan-repo-cache"
    )]
    pub repo_cache_dir: PathBuf,
    /// Largest webhook payload, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub webhook_max_body: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        capstan_kube::install_crypto_provider();
        let options = ConnectOptions::default();
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
        let generator = Arc::new(super::controller::in_process_generator(
            credentials,
            &args.repo_cache_dir,
        )?);
        let tls = match (args.insecure, &args.tls_cert, &args.tls_key) {
            (true, _, _) => None,
            (false, Some(cert), Some(key)) => Some(TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => Some(TlsSource::SelfSigned { names: Vec::new() }),
        };
        let config = ServerConfig {
            namespace: args.namespace.clone(),
            webhook_max_body: args.webhook_max_body,
            ..ServerConfig::default()
        };
        let dyn_generator: Arc<dyn ManifestGenerator> = generator.clone();
        let server = capstan_server::start(
            Listen {
                api: args.listen,
                metrics: Some(args.metrics_listen),
                tls,
            },
            client.clone(),
            config,
            Some(dyn_generator),
        )
        .await
        .context("starting the API server")?;
        let controller = if args.no_controller {
            None
        } else {
            let config = ControllerConfig {
                namespace: args.namespace.clone(),
                wave_delay: Duration::from_secs(2),
                ..ControllerConfig::default()
            };
            Some(
                Controller::start(config, client, generator)
                    .await
                    .context("starting the controller")?,
            )
        };
        tracing::info!(url = %server.url(), "capstan server started");
        super::controller::shutdown_signal().await;
        tracing::info!("shutting down");
        server.stop().await;
        cancel.cancel();
        if let Some(c) = controller {
            c.shutdown().await;
        }
        Ok(ExitCode::SUCCESS)
    })
}
