//! Orphaned-resource warnings of a project, on the embedded apiserver.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

fn conditions(app: &Value) -> Vec<(String, String)> {
    app["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untracked_resources_in_the_namespace_are_reported_when_the_project_warns() {
    let h = Harness::start().await;
    h.commit(
        &[(
            "o/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: managed\ndata:\n  a: \"1\"\n",
        )],
        &[],
    );
    h.apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "orphans"}}))
        .await;
    for name in ["stray-1", "stray-2", "keep-me"] {
        h.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "orphans"}}))
            .await;
    }
    h.apply(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "watched", "namespace": "argocd"},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
            "orphanedResources": {"warn": true, "ignore": [{"kind": "ConfigMap", "name": "keep-*"}]}}}))
    .await;
    let mut app = h.application("o", "o", "orphans", json!({"automated": {}}));
    app["spec"]["project"] = json!("watched");
    h.apply(&app).await;
    let app = h
        .wait_app("o", LONG, |a| {
            sync_status(a) == "Synced"
                && conditions(a)
                    .iter()
                    .any(|(t, _)| t == "OrphanedResourceWarning")
        })
        .await;
    let (_, message) = conditions(&app)
        .into_iter()
        .find(|(t, _)| t == "OrphanedResourceWarning")
        .unwrap();
    assert_eq!(message, "Application has 2 orphaned resources");
    // the managed ConfigMap is not counted; removing a stray one lowers the count
    h.delete("v1", "ConfigMap", Some("orphans"), "stray-2")
        .await;
    h.refresh_app("o").await;
    h.wait_app("o", LONG, |a| {
        conditions(a).iter().any(|(t, m)| {
            t == "OrphanedResourceWarning" && m == "Application has 1 orphaned resources"
        })
    })
    .await;
    // warn: false keeps the check but drops the condition
    h.apply(
        &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "watched", "namespace": "argocd"},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
            "orphanedResources": {"warn": false}}}),
    )
    .await;
    h.wait_app("o", LONG, |a| {
        !conditions(a)
            .iter()
            .any(|(t, _)| t == "OrphanedResourceWarning")
    })
    .await;
    h.shutdown().await;
}
