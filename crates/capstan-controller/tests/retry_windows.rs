//! Retries of failed syncs and sync windows, on the embedded apiserver with a real Git repository.

mod common;

use std::time::Duration;

use capstan_testkit::poll;
use common::*;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  a: \"1\"\n";

fn message(app: &Value) -> &str {
    app.pointer("/status/operationState/message")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn retry_count(app: &Value) -> i64 {
    app.pointer("/status/operationState/retryCount")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

async fn sync_with_retry(h: &Harness, name: &str, retry: Value) {
    h.patch_app(
        name,
        &json!({"operation": {"sync": {}, "initiatedBy": {"username": "test"}, "retry": retry}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_is_retried_with_backoff_and_succeeds_once_the_cause_is_gone() {
    let h = Harness::start().await;
    h.commit(&[("late/cm.yaml", &CM.replace("NAME", "late-cm"))], &[]);
    // the destination namespace does not exist yet: the sync fails
    h.create_out_of_sync("late", "late", "late", LONG).await;
    sync_with_retry(
        &h,
        "late",
        json!({"limit": 3, "backoff": {"duration": "2s", "factor": 2, "maxDuration": "10s"}}),
    )
    .await;
    let app = h
        .wait_app("late", LONG, |a| {
            message(a).contains("Retrying attempt #1 at")
        })
        .await;
    assert_eq!(
        op_phase(&app),
        "Running",
        "a pending retry keeps the operation running"
    );
    assert_eq!(retry_count(&app), 1);
    assert!(app["status"]["operationState"]["finishedAt"].is_string());
    assert!(
        !app["operation"].is_null(),
        "the operation stays until it ends"
    );
    // the cause goes away before the retry
    h.apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "late"}}))
        .await;
    let app = h
        .wait_app("late", LONG, |a| op_phase(a) == "Succeeded")
        .await;
    assert!(
        retry_count(&app) >= 1,
        "{}",
        app["status"]["operationState"]
    );
    assert!(
        h.get("v1", "ConfigMap", Some("late"), "late-cm")
            .await
            .is_some()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_the_limit_and_auto_sync_does_not_try_the_revision_again() {
    let h = Harness::start().await;
    let commit = h.commit(&[("never/cm.yaml", &CM.replace("NAME", "x"))], &[]);
    // manual sync, one retry
    h.create_out_of_sync("manual", "never", "missing-ns", LONG)
        .await;
    sync_with_retry(
        &h,
        "manual",
        json!({"limit": 1, "backoff": {"duration": "1s"}}),
    )
    .await;
    let app = h
        .wait_app("manual", LONG, |a| op_phase(a) == "Failed")
        .await;
    assert!(
        message(&app).ends_with("(retried 1 times)."),
        "{}",
        message(&app)
    );
    assert_eq!(retry_count(&app), 1);

    // automated sync with one retry: after the failed attempts, no new operation for that commit
    h.apply(&h.application(
        "auto",
        "never",
        "missing-ns-too",
        json!({"automated": {}, "retry": {"limit": 1, "backoff": {"duration": "1s"}}}),
    ))
    .await;
    let app = h
        .wait_app("auto", LONG, |a| {
            a["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "SyncError"))
        })
        .await;
    assert_eq!(op_phase(&app), "Failed");
    assert_eq!(
        app["status"]["operationState"]["operation"]["initiatedBy"]["automated"],
        true
    );
    let condition = app["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "SyncError")
        .unwrap();
    let text = condition["message"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("Failed sync attempt to {commit}: ")),
        "{text}"
    );
    let started = app["status"]["operationState"]["startedAt"].clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = h.app("auto").await;
    assert!(later["operation"].is_null(), "no new automated sync");
    assert_eq!(later["status"]["operationState"]["startedAt"], started);
    h.shutdown().await;
}

fn windowed_project(windows: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "windowed", "namespace": "argocd"},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
            "syncWindows": windows}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_window_holds_automated_syncs_and_lets_manual_ones_through_with_manual_sync() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("auto/cm.yaml", &CM.replace("NAME", "auto-cm")),
            ("manual/cm.yaml", &CM.replace("NAME", "manual-cm")),
        ],
        &[],
    );
    // a deny window that is always open, with manual syncs allowed
    h.apply(&windowed_project(
        json!([{"kind": "deny", "schedule": "* * * * *",
        "duration": "1h", "applications": ["*"], "manualSync": true}]),
    ))
    .await;
    let in_project = |mut app: Value| {
        app["spec"]["project"] = json!("windowed");
        app
    };
    h.apply(&in_project(h.application(
        "auto",
        "auto",
        "default",
        json!({"automated": {}}),
    )))
    .await;
    h.apply(&in_project(h.application(
        "manual",
        "manual",
        "default",
        json!({}),
    )))
    .await;
    let app = h
        .wait_app("auto", LONG, |a| {
            message(a) == "Sync operation blocked by sync window"
        })
        .await;
    assert_eq!(op_phase(&app), "Running");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "auto-cm")
            .await
            .is_none(),
        "nothing applied while the window denies"
    );
    // a manual sync passes: the window allows manual syncs
    h.wait_app("manual", LONG, |a| sync_status(a) == "OutOfSync")
        .await;
    h.sync("manual", false).await;
    h.wait_app("manual", LONG, |a| op_phase(a) == "Succeeded")
        .await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "manual-cm")
            .await
            .is_some()
    );
    // the window goes away: the held automated sync runs
    h.apply(&windowed_project(json!([]))).await;
    h.wait_app("auto", LONG, |a| {
        op_phase(a) == "Succeeded" && sync_status(a) == "Synced"
    })
    .await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_allow_window_blocks_manual_syncs_without_manual_sync() {
    let h = Harness::start().await;
    h.commit(&[("m/cm.yaml", &CM.replace("NAME", "m-cm"))], &[]);
    // an allow window on 29 February at 03:00 for one minute: practically never open
    h.apply(&windowed_project(
        json!([{"kind": "allow", "schedule": "0 3 29 2 *",
        "duration": "1m", "namespaces": ["default"]}]),
    ))
    .await;
    let mut app = h.application("m", "m", "default", json!({}));
    app["spec"]["project"] = json!("windowed");
    h.apply(&app).await;
    h.wait_app("m", LONG, |a| sync_status(a) == "OutOfSync")
        .await;
    h.sync("m", false).await;
    let app = h
        .wait_app("m", LONG, |a| {
            message(a) == "Sync operation blocked by sync window"
        })
        .await;
    assert_eq!(op_phase(&app), "Running");
    // terminating a held operation ends it
    h.patch_app(
        "m",
        &json!({"status": {"operationState": {"phase": "Terminating"}}}),
    )
    .await;
    let app = h.wait_app("m", LONG, |a| op_phase(a) == "Failed").await;
    assert_eq!(message(&app), "Operation terminated");
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "m-cm")
            .await
            .is_none()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_opens_during_a_sync_holds_the_remaining_waves() {
    let h = Harness::start().await;
    let gate = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: gate\n  annotations:\n    argocd.argoproj.io/hook: Sync\nspec:\n  suspend: true\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox:1.36\n        command: [\"true\"]\n";
    let after = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\ndata:\n  a: \"1\"\n";
    h.commit(&[("mid/gate.yaml", gate), ("mid/after.yaml", after)], &[]);
    h.apply(&windowed_project(json!([]))).await;
    let mut app = h.application("mid", "mid", "default", json!({}));
    app["spec"]["project"] = json!("windowed");
    h.apply(&app).await;
    h.wait_app("mid", LONG, |a| sync_status(a) == "OutOfSync")
        .await;
    h.sync("mid", false).await;
    // the Sync hook of wave 0 waits (a suspended Job)
    poll(LONG, Duration::from_millis(100), async || {
        match h.get("batch/v1", "Job", Some("default"), "gate").await {
            Some(_) => Ok(()),
            None => Err("the hook never started".to_string()),
        }
    })
    .await;
    // a deny window opens, then the hook finishes
    h.apply(&windowed_project(
        json!([{"kind": "deny", "schedule": "* * * * *",
        "duration": "1h", "applications": ["*"]}]),
    ))
    .await;
    // (the controller sees the project through its watch)
    tokio::time::sleep(Duration::from_secs(1)).await;
    h.merge_patch(
        "batch/v1",
        "Job",
        Some("default"),
        "gate",
        &json!({"spec": {"suspend": false}}),
    )
    .await;
    let app = h
        .wait_app("mid", LONG, |a| {
            message(a) == "Sync operation blocked by sync window"
        })
        .await;
    assert_eq!(op_phase(&app), "Running");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "after")
            .await
            .is_none(),
        "wave 1 is held"
    );
    // the window goes away: the operation goes on from where it stopped
    h.apply(&windowed_project(json!([]))).await;
    let app = h
        .wait_app("mid", LONG, |a| op_phase(a) == "Succeeded")
        .await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "after")
            .await
            .is_some()
    );
    let gate_results = app["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "gate")
        .count();
    assert_eq!(gate_results, 1, "the hook ran once");
    h.shutdown().await;
}
