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

fn resource<'a>(app: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    app["status"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
}

async fn scale(h: &Harness, replicas: i64) {
    h.merge_patch(
        "apps/v1",
        "Deployment",
        Some("default"),
        "guestbook-ui",
        &json!({"spec": {"replicas": replicas}}),
    )
    .await;
}

async fn replicas(h: &Harness) -> i64 {
    let d = h
        .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
        .await
        .unwrap();
    d["spec"]["replicas"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_and_reverted_only_with_self_heal() {
    let h = Harness::start().await;
    h.commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    // manual sync policy: drift stays
    h.create_out_of_sync("guestbook", "guestbook", "default", LONG)
        .await;
    h.sync("guestbook", false).await;
    h.wait_app("guestbook", LONG, |a| {
        sync_status(a) == "Synced" && op_phase(a) == "Succeeded"
    })
    .await;
    scale(&h, 3).await;
    let app = h
        .wait_app("guestbook", LONG, |a| sync_status(a) == "OutOfSync")
        .await;
    assert_eq!(
        resource(&app, "Deployment", "guestbook-ui").unwrap()["status"],
        "OutOfSync"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(replicas(&h).await, 3, "without selfHeal the drift stays");
    assert_eq!(sync_status(&h.app("guestbook").await), "OutOfSync");

    // turn on automated sync with self-heal: the drift is reverted
    let mut app = h.application(
        "guestbook",
        "guestbook",
        "default",
        json!({"automated": {"selfHeal": true}}),
    );
    app["metadata"]["annotations"] = json!({});
    h.apply(&app).await;
    h.wait_app("guestbook", LONG, |a| sync_status(a) == "Synced")
        .await;
    assert_eq!(replicas(&h).await, 1);
    // and again, after another manual change
    let attempts = |a: &Value| {
        a["status"]["operationState"]["operation"]["sync"]["autoHealAttemptsCount"].as_i64()
    };
    let before = attempts(&h.app("guestbook").await).unwrap_or(0);
    scale(&h, 5).await;
    let app = h
        .wait_app("guestbook", LONG, |a| {
            sync_status(a) == "Synced" && attempts(a).unwrap_or(0) > before
        })
        .await;
    assert_eq!(replicas(&h).await, 1);
    assert_eq!(
        app["status"]["operationState"]["operation"]["initiatedBy"]["automated"],
        true
    );
    // a self-heal syncs only what drifted, as Argo CD does
    let selected = app["status"]["operationState"]["operation"]["sync"]["resources"]
        .as_array()
        .expect("self-heal selects resources");
    assert_eq!(selected.len(), 1, "{selected:?}");
    assert_eq!(selected[0]["kind"], "Deployment");
    assert_eq!(selected[0]["name"], "guestbook-ui");
    h.shutdown().await;
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  a: \"1\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_resources_require_pruning_and_are_pruned_only_with_prune() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("app/a.yaml", &CM.replace("NAME", "a")),
            ("app/b.yaml", &CM.replace("NAME", "b")),
        ],
        &[],
    );
    h.create_out_of_sync("cms", "app", "default", LONG).await;
    h.sync("cms", false).await;
    h.wait_app("cms", LONG, |a| {
        sync_status(a) == "Synced" && op_phase(a) == "Succeeded"
    })
    .await;
    h.commit(&[], &["app/b.yaml"]);
    // the periodic refresh is 120 s: ask for a refresh like a webhook or the CLI would
    h.refresh_app("cms").await;
    // the refresh annotation is removed once handled (another refresh may show the commit first)
    let app = h
        .wait_app("cms", LONG, |a| {
            resource(a, "ConfigMap", "b").is_some_and(|r| r["requiresPruning"] == true)
                && a["metadata"]["annotations"]
                    .get("argocd.argoproj.io/refresh")
                    .is_none()
        })
        .await;
    assert_eq!(sync_status(&app), "OutOfSync");

    h.sync("cms", false).await;
    let app = h
        .wait_app("cms", LONG, |a| {
            op_phase(a) == "Succeeded"
                && a["status"]["operationState"]["syncResult"]["resources"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x["status"] == "PruneSkipped"))
        })
        .await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "b")
            .await
            .is_some(),
        "not pruned without prune"
    );
    assert_eq!(sync_status(&app), "OutOfSync");

    h.sync("cms", true).await;
    h.wait_app("cms", LONG, |a| {
        sync_status(a) == "Synced" && op_phase(a) == "Succeeded"
    })
    .await;
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "b")
            .await
            .is_none(),
        "pruned with prune"
    );
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "a")
            .await
            .is_some()
    );
    h.shutdown().await;
}

fn waved(kind: &str, name: &str, wave: i32) -> String {
    match kind {
        "ConfigMap" => format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\ndata:\n  a: b\n"
        ),
        _ => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.27\n"
        ),
    }
}

fn hook_job(name: &str, hook: &str, fail: bool) -> String {
    let annotation = if fail {
        "\n    simulate.capstan.dev/fail: \"true\""
    } else {
        ""
    };
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {hook}{annotation}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox:1.36\n        command: [\"true\"]\n"
    )
}

fn created_at(obj: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(obj["metadata"]["creationTimestamp"].as_str().unwrap())
        .unwrap()
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_and_hooks_run_in_order() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("w/a.yaml", &waved("ConfigMap", "wave-minus-1", -1)),
            ("w/b.yaml", &waved("Deployment", "wave-0", 0)),
            ("w/c.yaml", &waved("Deployment", "wave-1", 1)),
            ("w/d.yaml", &waved("ConfigMap", "wave-2", 2)),
            ("w/pre.yaml", &hook_job("pre", "PreSync", false)),
            ("w/post.yaml", &hook_job("post", "PostSync", false)),
        ],
        &[],
    );
    h.create_out_of_sync("waves", "w", "default", LONG).await;
    h.sync("waves", false).await;
    let app = h
        .wait_app("waves", LONG, |a| op_phase(a) == "Succeeded")
        .await;
    assert_eq!(sync_status(&app), "Synced", "{}", app["status"]);
    assert_eq!(health(&app), "Healthy");
    let get = |kind: &'static str, api: &'static str, name: &'static str| {
        let h = &h;
        async move { h.get(api, kind, Some("default"), name).await.unwrap() }
    };
    let pre = get("Job", "batch/v1", "pre").await;
    let m1 = get("ConfigMap", "v1", "wave-minus-1").await;
    let w0 = get("Deployment", "apps/v1", "wave-0").await;
    let w1 = get("Deployment", "apps/v1", "wave-1").await;
    let w2 = get("ConfigMap", "v1", "wave-2").await;
    let post = get("Job", "batch/v1", "post").await;
    // creation timestamps have one-second resolution; each step waits for the previous to be healthy
    // (the simulated Deployments take 300 ms) plus the wave delay, so the order is strict or equal
    let times = [
        created_at(&pre),
        created_at(&m1),
        created_at(&w0),
        created_at(&w1),
        created_at(&w2),
        created_at(&post),
    ];
    for pair in times.windows(2) {
        assert!(pair[0] <= pair[1], "{times:?}");
    }
    // the Deployment of wave 0 was available before wave 1 was created: its Available condition's time
    // is not after wave 1's creation
    let available = w0["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Available")
        .unwrap()["lastTransitionTime"]
        .as_str()
        .unwrap()
        .to_string();
    let available: chrono::DateTime<chrono::Utc> = chrono::DateTime::parse_from_rfc3339(&available)
        .unwrap()
        .into();
    assert!(
        available <= created_at(&w1),
        "wave 1 started before wave 0 was healthy"
    );
    // the sync result lists the hooks with their phases
    let results = app["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    let pre_result = results.iter().find(|r| r["name"] == "pre").unwrap();
    assert_eq!(pre_result["hookType"], "PreSync");
    assert_eq!(pre_result["hookPhase"], "Succeeded");
    let post_result = results.iter().find(|r| r["name"] == "post").unwrap();
    assert_eq!(post_result["syncPhase"], "PostSync");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_presync_hook_stops_the_sync_and_runs_syncfail_hooks() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("f/pre.yaml", &hook_job("migrate", "PreSync", true)),
            ("f/cleanup.yaml", &hook_job("on-failure", "SyncFail", false)),
            ("f/cm.yaml", &CM.replace("NAME", "never")),
        ],
        &[],
    );
    h.create_out_of_sync("failing", "f", "default", LONG).await;
    h.sync("failing", false).await;
    let app = h
        .wait_app("failing", LONG, |a| op_phase(a) == "Failed")
        .await;
    let message = app["status"]["operationState"]["message"].as_str().unwrap();
    assert!(
        message.contains("PreSync hook Job/migrate failed"),
        "{message}"
    );
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "never")
            .await
            .is_none(),
        "the Sync phase never ran"
    );
    let results = app["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    let fail_hook = results
        .iter()
        .find(|r| r["name"] == "on-failure")
        .expect("SyncFail hook ran");
    assert_eq!(fail_hook["hookType"], "SyncFail");
    assert!(
        h.get("batch/v1", "Job", Some("default"), "on-failure")
            .await
            .is_some()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_workload_makes_the_application_degraded() {
    let h = Harness::start().await;
    let broken = GUESTBOOK
        .replace(
            "gcr.io/heptio-images/ks-guestbook-demo:0.2",
            "capstan.invalid/guestbook:0.2",
        )
        .replace(
            "  revisionHistoryLimit: 3\n",
            "  revisionHistoryLimit: 3\n  progressDeadlineSeconds: 2\n",
        );
    h.commit(&[("broken/app.yaml", &broken)], &[]);
    h.apply(&h.application("broken", "broken", "default", json!({"automated": {}})))
        .await;
    let app = h
        .wait_app("broken", LONG, |a| health(a) == "Degraded")
        .await;
    let deployment = resource(&app, "Deployment", "guestbook-ui").unwrap();
    assert_eq!(deployment["health"]["status"], "Degraded");
    assert!(
        deployment["health"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("progress deadline"),
        "{deployment}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_is_a_comparison_error_and_other_apps_keep_working() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("bad/ok.yaml", &CM.replace("NAME", "fine")),
            (
                "bad/broken.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1, 2\n",
            ),
            ("good/cm.yaml", &CM.replace("NAME", "good")),
        ],
        &[],
    );
    h.apply(&h.application("bad", "bad", "default", json!({"automated": {}})))
        .await;
    h.apply(&h.application("good", "good", "default", json!({"automated": {}})))
        .await;
    let bad = h
        .wait_app("bad", LONG, |a| a["status"]["conditions"].is_array())
        .await;
    let condition = &bad["status"]["conditions"][0];
    assert_eq!(condition["type"], "ComparisonError");
    let message = condition["message"].as_str().unwrap();
    assert!(
        message.contains("broken.yaml") && message.contains(":7:"),
        "{message}"
    );
    assert_eq!(sync_status(&bad), "Unknown");
    h.wait_app("good", LONG, |a| {
        sync_status(a) == "Synced" && health(a) == "Healthy"
    })
    .await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_object_fails_the_dry_run_and_nothing_is_applied() {
    let h = Harness::start().await;
    h.commit(
        &[
            ("d/ok.yaml", &CM.replace("NAME", "valid")),
            ("d/bad.yaml", &CM.replace("NAME", "Not_A_Valid_Name")),
        ],
        &[],
    );
    h.create_out_of_sync("dry", "d", "default", LONG).await;
    h.sync("dry", false).await;
    let app = h.wait_app("dry", LONG, |a| op_phase(a) == "Failed").await;
    let message = app["status"]["operationState"]["message"].as_str().unwrap();
    assert!(
        message.contains("dry run") && message.contains("Not_A_Valid_Name"),
        "{message}"
    );
    assert!(
        h.get("v1", "ConfigMap", Some("default"), "valid")
            .await
            .is_none(),
        "nothing applied"
    );
    h.shutdown().await;
}
