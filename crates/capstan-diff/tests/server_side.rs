//! Server-side diff over the ssd-*/smd-deploy2 corpus files, with the assertions of gitops-engine's
//! TestServerSideDiff.

use std::path::PathBuf;

use capstan_diff::{DiffOptions, Differ};
use serde_json::Value;

fn load(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/argo-diff")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    if file.ends_with(".json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_saphyr::from_str(&text).unwrap()
    }
}

fn ssd(
    config: &str,
    live: &str,
    predicted: &str,
    include_mutation_webhook: bool,
) -> capstan_diff::DiffResult {
    let opts = DiffOptions {
        server_side_diff: true,
        include_mutation_webhook,
        ..DiffOptions::default()
    };
    Differ::new(opts)
        .unwrap()
        .server_side_diff(Some(&load(config)), Some(&load(live)), &load(predicted))
        .unwrap()
}

#[test]
fn mutation_webhook_changes_are_ignored_by_default() {
    let r = ssd(
        "ssd-service-config.yaml",
        "ssd-service-live.yaml",
        "ssd-service-predicted-live.json",
        false,
    );
    assert!(r.modified);
    assert_eq!(r.predicted_live["spec"]["internalTrafficPolicy"], "Cluster");
    assert_eq!(
        r.normalized_live["spec"]["internalTrafficPolicy"],
        "Cluster"
    );
    assert!(
        r.predicted_live.pointer("/metadata/labels/event").is_none(),
        "{}",
        r.predicted_live
    );
}

#[test]
fn mutation_webhook_changes_are_included_on_request() {
    let r = ssd(
        "ssd-service-config.yaml",
        "ssd-service-live.yaml",
        "ssd-service-predicted-live.json",
        true,
    );
    assert!(r.modified);
    assert!(r.predicted_live.pointer("/metadata/labels/event").is_some());
}

#[test]
fn removed_field_with_webhook_undone() {
    let r = ssd(
        "smd-deploy2-config.yaml",
        "smd-deploy2-live.yaml",
        "smd-deploy2-predicted-live.json",
        false,
    );
    assert!(r.modified);
    let containers = r
        .predicted_live
        .pointer("/spec/template/spec/containers")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["resources"]["requests"]["cpu"], "500m");
    assert_eq!(containers[0]["resources"]["requests"]["memory"], "512Mi");
}

#[test]
fn nested_ports_and_env() {
    let r = ssd(
        "ssd-deploy-nested-config.yaml",
        "ssd-deploy-nested-live.yaml",
        "ssd-deploy-nested-predicted-live.json",
        false,
    );
    assert!(r.modified);
    let c = &r.predicted_live["spec"]["template"]["spec"]["containers"][0];
    let ports: Vec<i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [80, 443]);
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["ENV_VAR1", "ENV_VAR2"]);
    assert_eq!(
        r.normalized_live["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn extra_container_port_from_manual_apply() {
    let r = ssd(
        "ssd-deploy-with-manual-apply-config.yaml",
        "ssd-deploy-with-manual-apply-live.yaml",
        "ssd-deploy-with-manual-apply-predicted-live.json",
        false,
    );
    assert!(r.modified);
    let c = &r.predicted_live["spec"]["template"]["spec"]["containers"][0];
    let ports: Vec<i64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [80, 40]);
}

#[test]
fn identical_dry_run_result_is_in_sync() {
    let live = load("ssd-service-live.yaml");
    let opts = DiffOptions {
        server_side_diff: true,
        ..DiffOptions::default()
    };
    let r = Differ::new(opts)
        .unwrap()
        .server_side_diff(Some(&load("ssd-service-config.yaml")), Some(&live), &live)
        .unwrap();
    assert!(!r.modified);
}

#[test]
fn compare_options_annotation_selects_server_side_diff_and_webhook_handling() {
    let differ = Differ::new(DiffOptions::default()).unwrap();
    let mut config = load("ssd-service-config.yaml");
    let live = load("ssd-service-live.yaml");
    let predicted = load("ssd-service-predicted-live.json");
    assert!(!differ.wants_server_side_diff(Some(&config)));
    // without the annotation the three-way comparison runs (predicted_live unused): in sync
    assert!(
        !differ
            .diff_resource(Some(&config), Some(&live), Some(&predicted))
            .unwrap()
            .modified
    );
    config["metadata"]["annotations"] =
        serde_json::json!({"argocd.argoproj.io/compare-options": "ServerSideDiff=true"});
    assert!(differ.wants_server_side_diff(Some(&config)));
    let r = differ
        .diff_resource(Some(&config), Some(&live), Some(&predicted))
        .unwrap();
    assert!(r.modified);
    assert!(r.predicted_live.pointer("/metadata/labels/event").is_none());
    config["metadata"]["annotations"] = serde_json::json!({"argocd.argoproj.io/compare-options": "ServerSideDiff=true,IncludeMutationWebhook=true"});
    let r = differ
        .diff_resource(Some(&config), Some(&live), Some(&predicted))
        .unwrap();
    assert!(r.predicted_live.pointer("/metadata/labels/event").is_some());
    let ssd = Differ::new(DiffOptions {
        server_side_diff: true,
        ..DiffOptions::default()
    })
    .unwrap();
    config["metadata"]["annotations"] =
        serde_json::json!({"argocd.argoproj.io/compare-options": "ServerSideDiff=false"});
    assert!(!ssd.wants_server_side_diff(Some(&config)));
}
