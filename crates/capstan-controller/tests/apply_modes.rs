//! How desired objects are applied: RespectIgnoreDifferences, client-side apply with the
//! last-applied-configuration annotation, Replace - on the embedded apiserver.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

fn cm(name: &str, a: &str, b: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: \"{a}\"\n  b: \"{b}\"\n"
    )
}

async fn refresh(h: &Harness, name: &str) {
    let rt = h
        .client
        .resolve("argoproj.io/v1alpha1", "Application")
        .await
        .unwrap();
    h.client
        .merge_patch(
            &rt,
            Some("argocd"),
            name,
            &json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
        )
        .await
        .unwrap();
}

async fn set_b(h: &Harness, name: &str, value: &str) {
    let rt = h.client.resolve("v1", "ConfigMap").await.unwrap();
    h.client
        .merge_patch(&rt, Some("default"), name, &json!({"data": {"b": value}}))
        .await
        .unwrap();
}

async fn data(h: &Harness, name: &str) -> Value {
    h.get("v1", "ConfigMap", Some("default"), name)
        .await
        .unwrap()["data"]
        .clone()
}

fn deployments(app: &Value) -> usize {
    app["status"]["history"].as_array().map_or(0, Vec::len)
}

/// Syncs and waits for the sync's history entry (timestamps have one-second resolution).
async fn sync_and_wait(h: &Harness, name: &str) -> Value {
    let before = deployments(&h.app(name).await);
    h.sync(name, false).await;
    h.wait_app(name, LONG, |a| {
        op_phase(a) == "Succeeded" && deployments(a) > before
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respect_ignore_differences_keeps_ignored_live_fields() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("r/cm.yaml", &cm("respected", "1", "1")),
            ("p/cm.yaml", &cm("plain", "1", "1")),
        ],
        &[],
    );
    let ignore = json!([{"kind": "ConfigMap", "jsonPointers": ["/data/b"]}]);
    let mut respected = h.application(
        "respected",
        "r",
        "default",
        json!({"syncOptions": ["RespectIgnoreDifferences=true"]}),
    );
    respected["spec"]["ignoreDifferences"] = ignore.clone();
    let mut plain = h.application("plain", "p", "default", json!({}));
    plain["spec"]["ignoreDifferences"] = ignore;
    h.apply(&respected).await;
    h.apply(&plain).await;
    for name in ["respected", "plain"] {
        h.wait_app(name, LONG, |a| sync_status(a) == "OutOfSync")
            .await;
        sync_and_wait(&h, name).await;
        // a change to the ignored field is no drift
        set_b(&h, name, "changed-in-cluster").await;
    }
    h.commit(
        &[
            ("r/cm.yaml", &cm("respected", "2", "2")),
            ("p/cm.yaml", &cm("plain", "2", "2")),
        ],
        &[],
    );
    for name in ["respected", "plain"] {
        refresh(&h, name).await;
        h.wait_app(name, LONG, |a| sync_status(a) == "OutOfSync")
            .await;
        sync_and_wait(&h, name).await;
    }
    let respected = data(&h, "respected").await;
    assert_eq!(respected["a"], "2");
    assert_eq!(respected["b"], "changed-in-cluster", "ignored field kept");
    let plain = data(&h, "plain").await;
    assert_eq!(plain["a"], "2");
    assert_eq!(
        plain["b"], "2",
        "without the option the desired value is applied"
    );
    h.wait_app("respected", LONG, |a| sync_status(a) == "Synced")
        .await;
    h.shutdown().await;
}
