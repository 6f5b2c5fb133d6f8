//! `capstan bench ...`: measurements for docs/benchmarks.md (never part of the test suite).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use capstan_controller::{Controller, ControllerConfig, RepoGenerator};
use capstan_kube::{ApplyOptions, ClusterClient, ConnectOptions};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use futures::StreamExt;
use serde_json::{Value, json};

/// Benchmarks.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchCommand {
    /// Create N single-ConfigMap applications from one local repository on an embedded apiserver (a
    /// separate process) and measure: time until all are Synced and Healthy, the controller's peak
    /// RSS (this process: controller + repo server), and the CPU of one no-change refresh of all.
    ///
    /// Example: `capstan bench sync --apps 1000`
    Sync {
        /// Number of applications.
        #[arg(long, default_value_t = 1000)]
        apps: usize,
        /// Working directory (a temporary one when absent).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Status processors.
        #[arg(long, default_value_t = 20)]
        status_processors: usize,
        /// Operation processors.
        #[arg(long, default_value_t = 10)]
        operation_processors: usize,
    },
    /// Spread N single-ConfigMap applications over several destination clusters (`capstan
    /// apiserver` processes) and sync them with 1, 2, 4... `capstan controller` replicas sharing the
    /// clusters through Leases: time until all are Synced and Healthy, per-replica CPU, peak RSS and
    /// clusters held.
    ///
    /// Example: `capstan bench shards --apps 1000 --clusters 10 --replicas 1,2,4`
    Shards {
        /// Number of applications.
        #[arg(long, default_value_t = 1000)]
        apps: usize,
        /// Number of destination clusters.
        #[arg(long, default_value_t = 10)]
        clusters: usize,
        /// Replica counts to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
        replicas: Vec<usize>,
        /// Working directory (a temporary one when absent).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// A `capstan apiserver` process (killed on drop), a client for it, and its URL.
pub(super) async fn start_apiserver(
    dir: &Path,
) -> anyhow::Result<(KillOnDrop, ClusterClient, String)> {
    let exe = std::env::current_exe()?;
    let child = KillOnDrop(
        Command::new(exe)
            .args(["apiserver", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting capstan apiserver")?,
    );
    let kubeconfig = dir.join("kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if kubeconfig.exists()
            && let Ok(c) =
                ClusterClient::from_kubeconfig(&kubeconfig, None, ConnectOptions::default()).await
            && c.server_version().await.is_ok()
        {
            let server = c.server().to_string();
            return Ok((child, c, server));
        }
        anyhow::ensure!(Instant::now() < deadline, "an apiserver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Installs the CRDs, the `argocd` namespace and an `argocd-cm` with `cm_data`, and waits until
/// Applications are served.
pub(super) async fn prepare_control_plane(
    client: &ClusterClient,
    cm_data: Value,
) -> anyhow::Result<()> {
    let force = ApplyOptions {
        force: true,
        ..Default::default()
    };
    for crd in capstan_crds::crds() {
        client.apply(&crd.object, &force).await?;
    }
    client
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}),
            &force,
        )
        .await?;
    client
        .apply(
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": "argocd"},
                "data": cm_data}),
            &force,
        )
        .await?;
    while client
        .resolve("argoproj.io/v1alpha1", "Application")
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

pub(super) struct KillOnDrop(pub(super) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/<proc>/status` in KiB (`proc`: "self" or a pid).
pub(super) fn proc_status_kb(proc: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{proc}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of a process ("self" or a pid).
pub(super) fn cpu_seconds(proc: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{proc}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // fields after the command: state(0) ... utime(11) stime(12)
    (ticks(11) + ticks(12)) / 100.0
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

pub(super) fn make_repo(dir: &Path, apps: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let payload = "x".repeat(1800);
    for i in 0..apps {
        let app_dir = dir.join(format!("apps/app-{i}"));
        std::fs::create_dir_all(&app_dir)?;
        std::fs::write(
            app_dir.join("cm.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  payload: {payload}\n"
            ),
        )?;
    }
    git(dir, &["init", "-q", "-b", "main"])?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "apps"])?;
    Ok(())
}

async fn bench_sync(
    apps: usize,
    dir: Option<PathBuf>,
    status_processors: usize,
    operation_processors: usize,
) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let repo = dir.join("repo");
    let t = Instant::now();
    make_repo(&repo, apps)?;
    eprintln!(
        "repository with {apps} application paths: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (_apiserver, client, _) = start_apiserver(&dir.join("apiserver")).await?;
    // no periodic refresh during the measurement: the no-change pass below is explicit
    prepare_control_plane(&client, json!({"timeout.reconciliation": "0"})).await?;
    let service = RepoService::new(
        ServiceSettings::new(dir.join("repo-server")),
        Arc::new(SecretCredentials::default()),
    )?;
    let config = ControllerConfig {
        status_processors,
        operation_processors,
        ..ControllerConfig::default()
    };
    let controller = Controller::start(
        config,
        client.clone(),
        Arc::new(RepoGenerator::new(Arc::new(service))),
    )
    .await?;
    let url = format!("file://{}", repo.display());
    let started = Instant::now();
    let creates = futures::stream::iter(0..apps)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let app: Value = json!({
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                    "metadata": {"name": format!("app-{i}"), "namespace": "argocd"},
                    "spec": {"project": "default",
                        "source": {"repoURL": url, "path": format!("apps/app-{i}"), "targetRevision": "main"},
                        "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
                        "syncPolicy": {"automated": {"prune": true}}}
                });
                client.create(&app, false).await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let failed = creates.iter().filter(|r| r.is_err()).count();
    anyhow::ensure!(failed == 0, "{failed} Applications could not be created");
    eprintln!(
        "{apps} Applications created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    loop {
        // the controller's own view (kept current by its watch): no list requests from the bench
        let (_, synced) = controller.synced_and_healthy();
        if synced == apps {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("only {synced} of {apps} Synced and Healthy after 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all_synced = started.elapsed();
    // let the last status writes and operations settle
    while controller.busy() > 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let peak_rss_mb = proc_status_kb("self", "VmHWM:") as f64 / 1024.0;
    let rss_mb = proc_status_kb("self", "VmRSS:") as f64 / 1024.0;
    // one no-change pass: refresh every application once
    let cpu_before = cpu_seconds("self");
    let pass = Instant::now();
    for name in controller.application_names() {
        controller.refresh(&name);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    while controller.busy() > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pass_wall = pass.elapsed();
    let pass_cpu = cpu_seconds("self") - cpu_before;
    println!("applications:                    {apps}");
    println!(
        "all Synced and Healthy after:     {:.1} s (from the first create)",
        all_synced.as_secs_f64()
    );
    println!("controller+repo-server peak RSS:  {peak_rss_mb:.0} MiB (now {rss_mb:.0} MiB)");
    println!(
        "no-change refresh of all:         {:.2} s CPU, {:.1} s wall",
        pass_cpu,
        pass_wall.as_secs_f64()
    );
    controller.shutdown().await;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        capstan_kube::install_crypto_provider();
        match args.command {
            BenchCommand::Sync {
                apps,
                dir,
                status_processors,
                operation_processors,
            } => bench_sync(apps, dir, status_processors, operation_processors).await?,
            BenchCommand::Shards {
                apps,
                clusters,
                replicas,
                dir,
            } => super::bench_shards::bench_shards(apps, clusters, &replicas, dir).await?,
        }
        Ok(ExitCode::SUCCESS)
    })
}
