//! The controller on the embedded apiserver with a real Git repository: sync, drift, self-heal, prune,
//! waves and hooks, degraded workloads and bad input.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guestbook_syncs_and_becomes_healthy() {
    let h = Harness::start().await;
    let commit = h.commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    h.apply(&h.application("guestbook", "guestbook", "default", json!({})))
        .await;
    // compared but not synced: OutOfSync, resources Missing
    let app = h
        .wait_app("guestbook", LONG, |a| sync_status(a) == "OutOfSync")
        .await;
    assert_eq!(health(&app), "Missing");
    assert_eq!(
        app.pointer("/status/sync/revision").and_then(Value::as_str),
        Some(commit.as_str())
    );
    assert_eq!(app["status"]["sourceType"], "Directory");

    h.sync("guestbook", false).await;
    // the Deployment goes Progressing, then Healthy
    let saw_progressing = std::sync::atomic::AtomicBool::new(false);
    let app = h
        .wait_app("guestbook", LONG, |a| {
            let deployment_health = a["status"]["resources"]
                .as_array()
                .and_then(|r| r.iter().find(|x| x["kind"] == "Deployment"))
                .map(|x| x["health"]["status"].clone());
            if deployment_health == Some(json!("Progressing")) {
                saw_progressing.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            sync_status(a) == "Synced" && health(a) == "Healthy" && op_phase(a) == "Succeeded"
        })
        .await;
    assert!(
        saw_progressing.load(std::sync::atomic::Ordering::SeqCst),
        "the Deployment was never seen Progressing"
    );
    assert_eq!(
        app["status"]["operationState"]["message"],
        "successfully synced (all tasks run)"
    );
    let history = app["status"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["revision"], commit.as_str());
    assert!(app.get("operation").is_none() || app["operation"].is_null());
    // the Deployment carries the tracking annotation and Capstan's field manager
    let deployment = h
        .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
        .await
        .unwrap();
    assert_eq!(
        deployment["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "guestbook:apps/Deployment:default/guestbook-ui"
    );
    let managers: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"capstan-controller"), "{managers:?}");
    h.shutdown().await;
}
