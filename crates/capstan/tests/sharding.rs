//! Two `capstan controller` replicas sharing four destination clusters (plus in-cluster) through
//! Leases: each cluster is held by exactly one replica; after one replica is killed with SIGKILL its
//! clusters are taken over once its Leases expire, and nothing is applied twice.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_testkit::{Cluster, GitRepo, application, health, sync_status};
use serde_json::{Value, json};

const LEASE_SECONDS: u64 = 3;

/// A replica process, killed when dropped (also when an assertion fails mid-test: a leaked replica
/// would keep running, and keep spending CPU, after the test).
struct Replica(Child);

impl Replica {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start_replica(id: &str, kubeconfig: &std::path::Path, cache: &std::path::Path) -> Replica {
    let child = Command::new(env!("CARGO_BIN_EXE_capstan"))
        .args([
            "controller",
            "--replicas",
            "2",
            "--replica-id",
            id,
            "--sharding-method",
            "round-robin",
            "--lease-seconds",
            &LEASE_SECONDS.to_string(),
            "--wave-delay",
            "0.2",
            "--status-processors",
            "4",
        ])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--repo-cache-dir")
        .arg(cache)
        .env("CAPSTAN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("capstan controller starts");
    Replica(child)
}

/// Cluster server -> holder of its Lease.
async fn holders(control: &Cluster) -> BTreeMap<String, String> {
    let rt = control
        .client
        .resolve("coordination.k8s.io/v1", "Lease")
        .await
        .unwrap();
    let (leases, _) = control
        .client
        .list(
            &rt,
            Some("argocd"),
            Some("capstan.dev/controller-lease=cluster"),
        )
        .await
        .unwrap();
    leases
        .iter()
        .filter_map(|l| {
            let server = l
                .pointer("/metadata/annotations/capstan.dev~1cluster-server")?
                .as_str()?;
            let holder = l.pointer("/spec/holderIdentity")?.as_str()?;
            Some((server.to_string(), holder.to_string()))
        })
        .filter(|(_, h)| !h.is_empty())
        .collect()
}

async fn probe(client: &ClusterClient) -> Option<Value> {
    let rt = client.resolve("v1", "ConfigMap").await.ok()?;
    client.get(&rt, Some("default"), "probe").await.ok()?
}

fn cm(value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  value: {value}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_clusters_and_take_over_from_a_dead_one() {
    let dir = tempfile::tempdir().unwrap();
    let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(100)).await;
    let mut destinations = Vec::new();
    for i in 0..4 {
        let config = capstan_apiserver::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join(format!("dest-{i}")),
        );
        let running = capstan_apiserver::start(config).await.unwrap();
        let client =
            ClusterClient::from_kubeconfig(&running.kubeconfig, None, ConnectOptions::default())
                .await
                .unwrap();
        control
            .apply(&json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("dest-{i}"), "namespace": "argocd",
                    "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
                "stringData": {"name": format!("dest-{i}"), "server": running.url(), "config": "{}"}
            }))
            .await;
        destinations.push((running, client));
    }
    let repo = GitRepo::init(&dir.path().join("repo"));
    repo.commit(&[("cm/probe.yaml", &cm("one"))], &[]);
    for (i, (running, _)) in destinations.iter().enumerate() {
        let mut app = application(
            &format!("app-{i}"),
            &repo.url(),
            "cm",
            "default",
            json!({"automated": {"prune": true}}),
        );
        app["spec"]["destination"]["server"] = json!(running.url());
        control.apply(&app).await;
    }

    let mut r1 = start_replica(
        "replica-a",
        &control.apiserver.kubeconfig,
        &dir.path().join("cache-a"),
    );
    let mut r2 = start_replica(
        "replica-b",
        &control.apiserver.kubeconfig,
        &dir.path().join("cache-b"),
    );

    for i in 0..4 {
        control
            .wait_app(&format!("app-{i}"), Duration::from_secs(90), |a| {
                sync_status(a) == "Synced" && health(a) == "Healthy"
            })
            .await;
    }
    // every cluster (4 destinations and in-cluster) is held by exactly one replica, and both work
    let deadline = Instant::now() + Duration::from_secs(20);
    let split = loop {
        let h = holders(&control).await;
        let a = h.values().filter(|v| *v == "replica-a").count();
        let b = h.values().filter(|v| *v == "replica-b").count();
        if h.len() == 5 && a >= 2 && b >= 2 {
            break h;
        }
        assert!(Instant::now() < deadline, "leases never settled: {h:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let before: Vec<(String, String)> = {
        let mut out = Vec::new();
        for (_, client) in &destinations {
            let cm = probe(client).await.expect("ConfigMap applied");
            out.push((
                cm["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                cm["metadata"]["managedFields"].to_string(),
            ));
        }
        out
    };
    for (_, client) in &destinations {
        let cm = probe(client).await.unwrap();
        let managers: Vec<&str> = cm["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(managers, vec!["capstan-controller"], "{cm}");
    }

    // replica-a dies: its clusters move to replica-b once its Leases expire
    r1.kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(LEASE_SECONDS * 2 + 15);
    loop {
        let h = holders(&control).await;
        if h.len() == 5 && h.values().all(|v| v == "replica-b") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "clusters of the dead replica were not taken over: {h:?} (before: {split:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "takeover after {:.1} s with {LEASE_SECONDS} s leases",
        killed.elapsed().as_secs_f64()
    );
    // the survivor found everything in sync and applied nothing again
    for i in 0..4 {
        let app = control
            .wait_app(&format!("app-{i}"), Duration::from_secs(30), |a| {
                sync_status(a) == "Synced"
            })
            .await;
        let history = app
            .pointer("/status/history")
            .and_then(Value::as_array)
            .map(Vec::len);
        assert_eq!(history, Some(1), "app-{i} synced more than once: {app}");
    }
    for ((_, client), (rv, fields)) in destinations.iter().zip(&before) {
        let cm = probe(client).await.unwrap();
        assert_eq!(cm["metadata"]["resourceVersion"].as_str().unwrap(), rv);
        assert_eq!(&cm["metadata"]["managedFields"].to_string(), fields);
    }
    // and it syncs new commits in every cluster, including those it took over
    repo.commit(&[("cm/probe.yaml", &cm("two"))], &[]);
    for i in 0..4 {
        control
            .patch_app(
                &format!("app-{i}"),
                &json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
            )
            .await;
    }
    for (i, (_, client)) in destinations.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let value = probe(client)
                .await
                .and_then(|c| c.pointer("/data/value").cloned());
            if value == Some(json!("two")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "dest-{i} never got the new commit: {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    r2.kill();
    for (running, _) in destinations {
        running.stop().await;
    }
    control.apiserver.stop().await;
}
