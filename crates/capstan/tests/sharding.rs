//! Two `capstan controller` replicas sharing four destination clusters (plus in-cluster) through
//! Leases: each cluster is held by exactly one replica; after one replica is killed with SIGKILL its
//! clusters are taken over once its Leases expire, and nothing is applied twice.

use std::path::Path;
use std::time::{Duration, Instant};

use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_testkit::{
    Cluster, GitRepo, KillOnDrop, application, cluster_lease_holders, health, poll, probe,
    probe_config_map, sync_status, wait_probe,
};
use serde_json::{Value, json};

const LEASE_SECONDS: u64 = 3;

/// A `capstan controller` replica of two, sharding round-robin with short Leases; killed when
/// dropped (also when an assertion fails mid-test: a leaked replica would keep running, and keep
/// spending CPU, after the test).
fn start_replica(id: &str, kubeconfig: &Path, cache: &Path) -> KillOnDrop {
    let lease_seconds = LEASE_SECONDS.to_string();
    capstan_testkit::start_controller(
        Path::new(env!("CARGO_BIN_EXE_capstan")),
        kubeconfig,
        cache,
        &[
            "--replicas",
            "2",
            "--replica-id",
            id,
            "--sharding-method",
            "round-robin",
            "--lease-seconds",
            &lease_seconds,
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_clusters_and_take_over_from_a_dead_one() {
    let dir = tempfile::tempdir().unwrap();
    let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(100)).await;
    let mut destinations = Vec::new();
    for running in control.add_destinations(dir.path(), 4).await {
        let client =
            ClusterClient::from_kubeconfig(&running.kubeconfig, None, ConnectOptions::default())
                .await
                .unwrap();
        destinations.push((running, client));
    }
    let repo = GitRepo::init(&dir.path().join("repo"));
    repo.commit(&[("cm/probe.yaml", &probe_config_map("one"))], &[]);
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
    let split = poll(
        Duration::from_secs(20),
        Duration::from_millis(200),
        async || {
            let h = cluster_lease_holders(&control).await;
            let a = h.values().filter(|v| *v == "replica-a").count();
            let b = h.values().filter(|v| *v == "replica-b").count();
            if h.len() == 5 && a >= 2 && b >= 2 {
                Ok(h)
            } else {
                Err(format!("leases never settled: {h:?}"))
            }
        },
    )
    .await;
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
    poll(
        Duration::from_secs(LEASE_SECONDS * 2 + 15),
        Duration::from_millis(100),
        async || {
            let h = cluster_lease_holders(&control).await;
            if h.len() == 5 && h.values().all(|v| v == "replica-b") {
                Ok(())
            } else {
                Err(format!(
                    "clusters of the dead replica were not taken over: {h:?} (before: {split:?})"
                ))
            }
        },
    )
    .await;
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
    repo.commit(&[("cm/probe.yaml", &probe_config_map("two"))], &[]);
    for i in 0..4 {
        control.refresh_app(&format!("app-{i}")).await;
    }
    for (i, (_, client)) in destinations.iter().enumerate() {
        let what = format!("dest-{i} never got the new commit");
        wait_probe(client, "two", Duration::from_secs(60), &what).await;
    }

    r2.kill();
    for (running, _) in destinations {
        running.stop().await;
    }
    control.apiserver.stop().await;
}
