//! `capstan up`: the whole system in one process on one machine - the embedded Kubernetes API server
//! (or an existing cluster), the repo server, the controller - plus a demo application.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use capstan_controller::{Controller, ControllerConfig, SecretCredentialStore};
use capstan_kube::{ApplyOptions, ClusterClient, ConnectOptions};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::controller::shutdown_signal;

/// Run Capstan on this machine: an embedded Kubernetes API server (unless --kubeconfig is given), the
/// repo server and the controller, with a demo Git repository and Application (unless --no-demo).
/// Stopping it (Ctrl-C, SIGTERM) shuts down cleanly; starting it again on the same data directory
/// keeps everything.
///
/// Example: `capstan up --data-dir .capstan`, then `kubectl --kubeconfig .capstan/kubeconfig get applications -n argocd`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for all state (the API server's store, caches, the demo repository).
    #[arg(long, env = "CAPSTAN_DATA_DIR", default_value = ".capstan")]
    pub data_dir: PathBuf,
    /// Address of the embedded Kubernetes API server.
    #[arg(
        long,
        env = "CAPSTAN_APISERVER_LISTEN",
        default_value = "127.0.0.1:6443"
    )]
    pub apiserver_listen: SocketAddr,
    /// Address of Capstan's API (plain HTTP; it listens on loopback unless told otherwise).
    #[arg(long, env = "CAPSTAN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Use this cluster instead of the embedded API server.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (with --kubeconfig).
    #[arg(long)]
    pub context: Option<String>,
    /// Do not create the demo repository and Application.
    #[arg(long)]
    pub no_demo: bool,
    /// How often applications are compared with Git when nothing else triggers it (Argo CD's
    /// timeout.reconciliation; on one machine a short interval is cheap). Only set when argocd-cm
    /// does not exist yet.
    #[arg(long, default_value = "15s")]
    pub reconciliation: String,
}

const NAMESPACE: &str = "argocd";

/// The demo application: Argo CD's guestbook example (also used by the tests).
const DEMO_GUESTBOOK: &str = include_str!("../../demo/guestbook-ui.yaml");

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "capstan")
        .env("GIT_AUTHOR_EMAIL", "capstan@localhost")
        .env("GIT_COMMITTER_NAME", "capstan")
        .env("GIT_COMMITTER_EMAIL", "capstan@localhost")
        .output()
        .with_context(|| format!("running git {args:?} (is git installed?)"))?;
    anyhow::ensure!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Creates the demo repository once; an existing one is left as the user changed it.
fn demo_repo(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let repo = data_dir.join("demo-repo");
    if repo.join(".git").exists() {
        return Ok(repo);
    }
    std::fs::create_dir_all(repo.join("guestbook"))
        .with_context(|| format!("creating {}", repo.display()))?;
    std::fs::write(repo.join("guestbook/guestbook-ui.yaml"), DEMO_GUESTBOOK)?;
    git(&repo, &["init", "-q", "-b", "main"])?;
    git(&repo, &["add", "-A"])?;
    git(&repo, &["commit", "-q", "-m", "guestbook demo"])?;
    Ok(repo)
}

async fn create_if_missing(client: &ClusterClient, obj: &Value) -> anyhow::Result<()> {
    let (rt, ns, name) = client.locate(obj).await?;
    if client.get(&rt, ns.as_deref(), &name).await?.is_none() {
        client
            .create(obj, false)
            .await
            .with_context(|| format!("creating {} {name}", rt.kind))?;
    }
    Ok(())
}

/// CRDs, the control-plane namespace, the default project and the settings ConfigMaps.
async fn install(client: &ClusterClient, reconciliation: &str) -> anyhow::Result<()> {
    for crd in capstan_crds::crds() {
        let options = ApplyOptions {
            force: true,
            field_manager: Some("capstan-up".into()),
            ..Default::default()
        };
        client
            .apply(&crd.object, &options)
            .await
            .context("installing the CRDs")?;
    }
    create_if_missing(
        client,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
    )
    .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while client
        .resolve("argoproj.io/v1alpha1", "AppProject")
        .await
        .is_err()
    {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the AppProject CRD was not established within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    create_if_missing(
        client,
        &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}),
    )
    .await?;
    create_if_missing(
        client,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "argocd"}},
            "data": {"timeout.reconciliation": reconciliation, "timeout.reconciliation.jitter": "0s"}}),
    )
    .await?;
    create_if_missing(
        client,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-rbac-cm", "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "argocd"}},
            "data": {}}),
    )
    .await?;
    Ok(())
}

async fn demo_application(client: &ClusterClient, repo: &Path) -> anyhow::Result<()> {
    let app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": NAMESPACE,
            "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {
            "project": "default",
            "source": {"repoURL": format!("file://{}", repo.display()), "path": "guestbook", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]},
        }
    });
    create_if_missing(client, &app).await
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        capstan_kube::install_crypto_provider();
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating {}", args.data_dir.display()))?;
        let data_dir = args
            .data_dir
            .canonicalize()
            .unwrap_or_else(|_| args.data_dir.clone());
        let started = std::time::Instant::now();
        let (apiserver, kubeconfig) = match &args.kubeconfig {
            Some(path) => (None, path.clone()),
            None => {
                let config =
                    capstan_apiserver::Config::new(args.apiserver_listen, data_dir.clone());
                let running = capstan_apiserver::start(config).await.with_context(|| {
                    format!(
                        "starting the embedded API server on {}",
                        args.apiserver_listen
                    )
                })?;
                let kubeconfig = running.kubeconfig.clone();
                (Some(running), kubeconfig)
            }
        };
        let client = ClusterClient::from_kubeconfig(
            &kubeconfig,
            args.context.as_deref(),
            ConnectOptions::default(),
        )
        .await
        .context("connecting to the cluster")?;
        install(&client, &args.reconciliation).await?;
        let cancel = CancellationToken::new();
        let credentials = SecretCredentialStore::watch(&client, NAMESPACE, cancel.clone()).await?;
        let generator = Arc::new(super::controller::in_process_generator(
            credentials,
            &data_dir.join("repo-server"),
        )?);
        let config = ControllerConfig {
            namespace: NAMESPACE.into(),
            ..ControllerConfig::default()
        };
        let controller = Controller::start(config, client.clone(), generator.clone())
            .await
            .context("starting the controller")?;
        // notifications (argocd-notifications-cm) in-process, as Argo CD's notifications controller
        let notifications_options = super::notifications::controller_options(
            NAMESPACE,
            5,
            Arc::new(capstan_notifications::Metrics::default()),
        );
        let notifications_client = client.clone();
        let notifications_cancel = cancel.clone();
        tokio::spawn(async move {
            let run = capstan_notifications::run_controller(
                notifications_client,
                notifications_options,
                notifications_cancel,
            );
            if let Err(e) = run.await {
                tracing::warn!("notifications controller: {e}");
            }
        });
        if !args.no_demo {
            let repo = demo_repo(&data_dir)?;
            demo_application(&client, &repo).await?;
        }
        let secrets = client.resolve("v1", "Secret").await?;
        let initial_secret = capstan_settings::names::ARGOCD_INITIAL_ADMIN_SECRET;
        let had_initial_password = client
            .get(&secrets, Some(NAMESPACE), initial_secret)
            .await?
            .is_some();
        let server = capstan_server::start(
            capstan_server::Listen {
                api: args.listen,
                metrics: None,
                tls: None,
            },
            client.clone(),
            capstan_server::ServerConfig {
                namespace: NAMESPACE.into(),
                ..capstan_server::ServerConfig::default()
            },
            Some(generator.clone() as Arc<dyn capstan_controller::ManifestGenerator>),
        )
        .await
        .with_context(|| format!("starting the API server on {}", args.listen))?;
        // the server creates the admin password on its first start: show it this once
        let initial_password = if had_initial_password {
            None
        } else {
            client
                .get(&secrets, Some(NAMESPACE), initial_secret)
                .await?
                .and_then(|s| capstan_settings::secret_data(&s).ok())
                .and_then(|d| d.get("password").cloned())
        };
        println!(
            "Capstan is running ({:.1} s to start).",
            started.elapsed().as_secs_f64()
        );
        println!("  web UI and API:  {}", server.url());
        match &initial_password {
            Some(password) => println!("  admin password:  {password}   (shown once)"),
            None => println!(
                "  admin password:  capstan admin initial-password --kubeconfig {}",
                kubeconfig.display()
            ),
        }
        if let Some(api) = &apiserver {
            println!("  Kubernetes API:  {}", api.url());
        }
        println!("  kubeconfig:      {}", kubeconfig.display());
        if !args.no_demo {
            println!(
                "  demo repository: {}",
                data_dir.join("demo-repo").display()
            );
        }
        println!();
        println!("Next:");
        println!(
            "  kubectl --kubeconfig {} get applications -n argocd",
            kubeconfig.display()
        );
        println!(
            "  kubectl --kubeconfig {} get deployments -n guestbook",
            kubeconfig.display()
        );
        println!("  capstan login {} --username admin", server.url());
        println!("  capstan app list");
        println!("Stop with Ctrl-C; `capstan up` again on the same --data-dir keeps everything.");
        shutdown_signal().await;
        eprintln!("shutting down");
        server.stop().await;
        cancel.cancel();
        controller.shutdown().await;
        if let Some(api) = apiserver {
            api.stop().await;
        }
        Ok(ExitCode::SUCCESS)
    })
}
