//! `capstan bench shards`: applications spread over several destination clusters (each a
//! `capstan apiserver` process), synced by 1, 2, 4... `capstan controller` replicas sharing the
//! clusters through Leases. Reports the time until all are Synced and Healthy, and each replica's
//! CPU, peak RSS and number of clusters.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use capstan_kube::{ApplyOptions, ClusterClient};
use futures::StreamExt;
use serde_json::{Value, json};

use super::bench::{
    KillOnDrop, cpu_seconds, make_repo, prepare_control_plane, proc_status_kb, start_apiserver,
};

async fn synced(control: &ClusterClient) -> anyhow::Result<usize> {
    let rt = control
        .resolve("argoproj.io/v1alpha1", "Application")
        .await?;
    let (apps, _) = control.list(&rt, Some("argocd"), None).await?;
    Ok(apps
        .iter()
        .filter(|a| {
            a.pointer("/status/sync/status").and_then(Value::as_str) == Some("Synced")
                && a.pointer("/status/health/status").and_then(Value::as_str) == Some("Healthy")
        })
        .count())
}

async fn lease_holders(control: &ClusterClient) -> anyhow::Result<Vec<String>> {
    let rt = control.resolve("coordination.k8s.io/v1", "Lease").await?;
    let (leases, _) = control
        .list(
            &rt,
            Some("argocd"),
            Some("capstan.dev/controller-lease=cluster"),
        )
        .await?;
    Ok(leases
        .iter()
        .filter_map(|l| {
            l.pointer("/spec/holderIdentity")?
                .as_str()
                .map(str::to_string)
        })
        .collect())
}

/// One run with `replicas` controllers.
async fn run_once(dir: &Path, apps: usize, clusters: usize, replicas: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let repo = dir.join("repo");
    make_repo(&repo, apps)?;
    let (_control_proc, control, _) = start_apiserver(&dir.join("control")).await?;
    prepare_control_plane(
        &control,
        json!({"timeout.reconciliation": "0", "cluster.inClusterEnabled": "false"}),
    )
    .await?;
    let force = ApplyOptions {
        force: true,
        ..Default::default()
    };
    let mut destinations = Vec::new();
    let mut servers = Vec::new();
    for i in 0..clusters {
        let (proc_, _, server) = start_apiserver(&dir.join(format!("cluster-{i}"))).await?;
        control
            .apply(
                &json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": format!("cluster-{i}"), "namespace": "argocd",
                        "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
                    "stringData": {"name": format!("cluster-{i}"), "server": server, "config": "{}"}}),
                &force,
            )
            .await?;
        destinations.push(proc_);
        servers.push(server);
    }
    let exe = std::env::current_exe()?;
    let kubeconfig = dir.join("control/kubeconfig");
    let mut controllers = Vec::new();
    for r in 0..replicas {
        let child = Command::new(&exe)
            .args(["controller", "--replicas"])
            .arg(replicas.max(2).to_string())
            .args(["--replica-id", &format!("replica-{r}")])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--repo-cache-dir")
            .arg(dir.join(format!("repo-cache-{r}")))
            .env("CAPSTAN_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting capstan controller")?;
        controllers.push(KillOnDrop(child));
    }
    let url = format!("file://{}", repo.display());
    let started = Instant::now();
    let creates = futures::stream::iter(0..apps)
        .map(|i| {
            let control = control.clone();
            let url = url.clone();
            let server = servers[i % servers.len()].clone();
            async move {
                let app: Value = json!({
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                    "metadata": {"name": format!("app-{i}"), "namespace": "argocd"},
                    "spec": {"project": "default",
                        "source": {"repoURL": url, "path": format!("apps/app-{i}"), "targetRevision": "main"},
                        "destination": {"server": server, "namespace": "default"},
                        "syncPolicy": {"automated": {"prune": true}}}
                });
                control.create(&app, false).await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let failed = creates.iter().filter(|r| r.is_err()).count();
    anyhow::ensure!(failed == 0, "{failed} Applications could not be created");
    loop {
        let done = synced(&control).await.unwrap_or(0);
        if done == apps {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "only {done} of {apps} Synced and Healthy after 30 minutes"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let holders = lease_holders(&control).await.unwrap_or_default();
    println!(
        "replicas {replicas}: {apps} applications over {clusters} clusters Synced and Healthy after {elapsed:.1} s"
    );
    for (r, c) in controllers.iter().enumerate() {
        let pid = c.0.id();
        let owned = holders
            .iter()
            .filter(|h| **h == format!("replica-{r}"))
            .count();
        println!(
            "  replica-{r}: {owned} clusters, {:.1} s CPU, peak RSS {:.0} MiB",
            cpu_seconds(&pid.to_string()),
            proc_status_kb(&pid.to_string(), "VmHWM:") as f64 / 1024.0
        );
    }
    drop(controllers);
    drop(destinations);
    Ok(())
}

/// Runs the benchmark for every replica count.
pub async fn bench_shards(
    apps: usize,
    clusters: usize,
    replicas: &[usize],
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let base = dir.unwrap_or_else(|| temp.path().to_path_buf());
    for r in replicas {
        run_once(
            &base.join(format!("replicas-{r}")),
            apps,
            clusters.max(1),
            (*r).max(1),
        )
        .await?;
    }
    Ok(())
}
