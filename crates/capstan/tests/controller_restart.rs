//! `capstan controller` killed with SIGKILL in the middle of a sync and started again: the operation
//! resumes from `status.operationState` and completes once, without losing track of what it applied.

use std::path::Path;
use std::time::Duration;

use capstan_testkit::{Cluster, GitRepo, KillOnDrop, application, op_phase, poll, sync_status};
use serde_json::json;

/// `capstan controller` with its repository cache in `cache`, killed when dropped.
fn start_controller(kubeconfig: &Path, cache: &Path) -> KillOnDrop {
    capstan_testkit::start_controller(
        Path::new(env!("CARGO_BIN_EXE_capstan")),
        kubeconfig,
        cache,
        &[],
    )
}

/// Whether the ConfigMap of wave 2 was applied.
async fn third_exists(cluster: &Cluster) -> bool {
    cluster
        .get("v1", "ConfigMap", Some("default"), "third")
        .await
        .is_some()
}

fn deployment(name: &str, wave: i32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.27\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_sync_resumes_and_completes_once() {
    let dir = tempfile::tempdir().unwrap();
    // workloads take 3 s to become available: long enough to kill the controller inside wave 0
    let cluster = Cluster::start(&dir.path().join("api"), Duration::from_secs(3)).await;
    let repo = GitRepo::init(&dir.path().join("repo"));
    repo.commit(
        &[
            ("app/first.yaml", &deployment("first", 0)),
            ("app/second.yaml", &deployment("second", 1)),
            ("app/third.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: third\n  annotations:\n    argocd.argoproj.io/sync-wave: \"2\"\ndata: {a: b}\n"),
        ],
        &[],
    );
    let cache = dir.path().join("repo-cache");
    let mut controller = start_controller(&cluster.apiserver.kubeconfig, &cache);
    cluster
        .apply(&application(
            "resume",
            &repo.url(),
            "app",
            "default",
            json!({}),
        ))
        .await;
    cluster
        .wait_app("resume", Duration::from_secs(60), |a| {
            sync_status(a) == "OutOfSync"
        })
        .await;
    cluster
        .patch_app(
            "resume",
            &json!({"operation": {"sync": {}, "initiatedBy": {"username": "test"}}}),
        )
        .await;
    // wait until wave 0 was applied (the Deployment exists) but the operation still runs
    poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        async || {
            let first = cluster
                .get("apps/v1", "Deployment", Some("default"), "first")
                .await;
            let app = cluster.app("resume").await;
            if first.is_some() && op_phase(&app) == "Running" {
                Ok(())
            } else {
                Err(format!("wave 0 never started: {}", app["status"]))
            }
        },
    )
    .await;
    controller.kill();
    assert!(!third_exists(&cluster).await, "killed before wave 2");
    assert_eq!(op_phase(&cluster.app("resume").await), "Running");

    let mut controller = start_controller(&cluster.apiserver.kubeconfig, &cache);
    let app = cluster
        .wait_app("resume", Duration::from_secs(90), |a| {
            op_phase(a) == "Succeeded" && sync_status(a) == "Synced"
        })
        .await;
    controller.kill();
    assert!(third_exists(&cluster).await);
    let history = app["status"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "one sync, recorded once: {history:?}");
    let results = app["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    for name in ["first", "second", "third"] {
        let r = results
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {results:?}"));
        assert_eq!(r["status"], "Synced");
    }
    cluster.apiserver.stop().await;
}
