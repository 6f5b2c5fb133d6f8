//! Deletion of an application with its resources and its PostDelete hooks, on the embedded
//! apiserver.

mod common;

use std::time::Duration;

use capstan_testkit::poll;
use common::*;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

fn post_delete_job(name: &str, policy: Option<&str>) -> String {
    delete_hook_job(name, "PostDelete", policy)
}

fn delete_hook_job(name: &str, hook: &str, policy: Option<&str>) -> String {
    let policy = policy
        .map(|p| format!("\n    argocd.argoproj.io/hook-delete-policy: {p}"))
        .unwrap_or_default();
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {hook}{policy}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox:1.36\n        command: [\"true\"]\n"
    )
}

fn finalizers(app: &Value) -> Vec<String> {
    app["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

async fn wait_gone(h: &Harness, api: &str, kind: &str, ns: &str, name: &str) {
    poll(LONG, Duration::from_millis(200), async || {
        match h.get(api, kind, Some(ns), name).await {
            None => Ok(()),
            Some(_) => Err(format!("{kind} {name} still exists")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_delete_hooks_run_after_the_resources_are_deleted() {
    let h = Harness::start().await;
    h.commit(
        &[
            (
                "pd/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-cm\ndata:\n  a: \"1\"\n",
            ),
            ("pd/kept.yaml", &post_delete_job("post-kept", None)),
            (
                "pd/cleaned.yaml",
                &post_delete_job("post-cleaned", Some("HookSucceeded")),
            ),
        ],
        &[],
    );
    let mut app = h.application("pd", "pd", "default", json!({"automated": {}}));
    app["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    h.apply(&app).await;
    // synced; the PostDelete finalizers are added because the source has PostDelete hooks
    let app = h
        .wait_app("pd", LONG, |a| {
            sync_status(a) == "Synced"
                && finalizers(a)
                    .iter()
                    .any(|f| f == "post-delete-finalizer.argocd.argoproj.io/cleanup")
        })
        .await;
    assert!(
        finalizers(&app)
            .iter()
            .any(|f| f == "post-delete-finalizer.argocd.argoproj.io")
    );
    assert!(
        h.get("batch/v1", "Job", Some("default"), "post-kept")
            .await
            .is_none(),
        "PostDelete hooks do not run at sync"
    );
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "app-cm")
            .await
            .is_some()
    );
    // delete the application
    h.delete("argoproj.io/v1alpha1", "Application", Some("argocd"), "pd")
        .await;
    wait_gone(&h, "argoproj.io/v1alpha1", "Application", "argocd", "pd").await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "app-cm")
            .await
            .is_none(),
        "resources deleted"
    );
    // the hook ran to completion; the one with HookSucceeded was cleaned up
    let kept = h
        .get("batch/v1", "Job", Some("default"), "post-kept")
        .await
        .expect("the PostDelete hook ran");
    let complete = kept["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Complete" && c["status"] == "True");
    assert!(complete, "{}", kept["status"]);
    wait_gone(&h, "batch/v1", "Job", "default", "post-cleaned").await;
    h.shutdown().await;
}

fn created_at(obj: &Value) -> String {
    obj["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_delete_hooks_run_before_the_resources_are_deleted() {
    let h = Harness::start().await;
    h.commit(
        &[
            (
                "pre/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: still-here\ndata:\n  a: \"1\"\n",
            ),
            ("pre/hook.yaml", &delete_hook_job("pre-hook", "PreDelete", None)),
        ],
        &[],
    );
    let mut app = h.application("pre", "pre", "default", json!({"automated": {}}));
    app["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    h.apply(&app).await;
    let app = h
        .wait_app("pre", LONG, |a| {
            sync_status(a) == "Synced"
                && finalizers(a)
                    .iter()
                    .any(|f| f == "pre-delete-finalizer.argocd.argoproj.io")
        })
        .await;
    assert!(
        !finalizers(&app)
            .iter()
            .any(|f| f.starts_with("post-delete-finalizer")),
        "no PostDelete hooks, no PostDelete finalizer"
    );
    assert!(
        h.get("batch/v1", "Job", Some("default"), "pre-hook")
            .await
            .is_none(),
        "PreDelete hooks do not run at sync"
    );
    h.delete("argoproj.io/v1alpha1", "Application", Some("argocd"), "pre")
        .await;
    // the hook runs while the application's resources still exist
    let hook = poll(LONG, Duration::from_millis(100), async || {
        h.get("batch/v1", "Job", Some("default"), "pre-hook")
            .await
            .ok_or_else(|| "the PreDelete hook never ran".to_string())
    })
    .await;
    assert!(!created_at(&hook).is_empty());
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "still-here")
            .await
            .is_some(),
        "resources are deleted only after the PreDelete hooks"
    );
    wait_gone(&h, "argoproj.io/v1alpha1", "Application", "argocd", "pre").await;
    wait_gone(&h, "v1", "ConfigMap", "default", "still-here").await;
    h.shutdown().await;
}
