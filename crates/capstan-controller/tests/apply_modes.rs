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

async fn set_b(h: &Harness, name: &str, value: &str) {
    h.merge_patch(
        "v1",
        "ConfigMap",
        Some("default"),
        name,
        &json!({"data": {"b": value}}),
    )
    .await;
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
        h.refresh_app(name).await;
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

async fn set_c(h: &Harness, name: &str) {
    h.merge_patch(
        "v1",
        "ConfigMap",
        Some("default"),
        name,
        &json!({"data": {"c": "set by someone else"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_and_replace() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("csa/cm.yaml", &cm("csa", "1", "1")),
            ("rep/cm.yaml", &cm("rep", "1", "1")),
        ],
        &[],
    );
    h.apply(&h.application(
        "csa",
        "csa",
        "default",
        json!({"syncOptions": ["ServerSideApply=false"]}),
    ))
    .await;
    h.apply(&h.application(
        "rep",
        "rep",
        "default",
        json!({"syncOptions": ["Replace=true"]}),
    ))
    .await;
    for name in ["csa", "rep"] {
        h.wait_app(name, LONG, |a| sync_status(a) == "OutOfSync")
            .await;
        sync_and_wait(&h, name).await;
    }
    // client-side apply: the last applied configuration is stored, no server-side apply entry
    let live = h
        .get("v1", "ConfigMap", Some("default"), "csa")
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(
        live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied-configuration"),
    )
    .unwrap();
    assert_eq!(stored["data"], json!({"a": "1", "b": "1"}));
    let applies = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["manager"] == "capstan-controller" && m["operation"] == "Apply")
        .count();
    assert_eq!(
        applies, 0,
        "client-side apply does not use server-side apply"
    );
    h.wait_app("csa", LONG, |a| sync_status(a) == "Synced")
        .await;
    for name in ["csa", "rep"] {
        set_c(&h, name).await;
    }
    // b removed from Git, a changed
    h.commit(
        &[
            (
                "csa/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"2\"\n",
            ),
            ("rep/cm.yaml", &cm("rep", "2", "1")),
        ],
        &[],
    );
    for name in ["csa", "rep"] {
        h.refresh_app(name).await;
        h.wait_app(name, LONG, |a| sync_status(a) == "OutOfSync")
            .await;
        sync_and_wait(&h, name).await;
    }
    // three-way: b (removed from Git) is deleted, c (another writer's) stays
    assert_eq!(
        data(&h, "csa").await,
        json!({"a": "2", "c": "set by someone else"})
    );
    // replace: the object is exactly what Git has
    assert_eq!(data(&h, "rep").await, json!({"a": "2", "b": "1"}));
    h.wait_app("csa", LONG, |a| sync_status(a) == "Synced")
        .await;
    h.shutdown().await;
}
