//! Server-side applied resources (gitops-engine TestStructuredMergeDiff cases over the smd-* corpus
//! files): fields Capstan's manager applied before and the desired state dropped are differences.

use std::path::PathBuf;

use capstan_diff::{DiffOptions, DiffResult, Differ};
use serde_json::Value;

fn load(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/argo-diff")
        .join(file);
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn smd(config: &str, live: &str) -> DiffResult {
    let opts = DiffOptions {
        server_side_apply: true,
        ..DiffOptions::default()
    };
    let differ = Differ::new(opts).unwrap();
    let (config, live) = (load(config), load(live));
    let result = differ.diff(Some(&config), Some(&live)).unwrap();
    assert_eq!(
        differ.is_modified(Some(&config), Some(&live)).unwrap(),
        result.modified
    );
    result
}

fn ports(result: &DiffResult) -> usize {
    result.predicted_live["spec"]["ports"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn service_with_changed_fields_is_modified() {
    assert!(smd("smd-service-config.yaml", "smd-service-live.yaml").modified);
}

#[test]
fn list_entries_are_removed() {
    let r = smd("smd-service-config-2-ports.yaml", "smd-service-live.yaml");
    assert!(r.modified);
    assert_eq!(ports(&r), 2);
}

#[test]
fn previously_applied_fields_missing_from_desired_are_removed() {
    let r = smd("smd-service-config.yaml", "smd-service-live-with-type.yaml");
    assert!(r.modified);
    assert_ne!(
        r.predicted_live["spec"]["type"], "LoadBalancer",
        "{}",
        r.predicted_live["spec"]
    );
}

#[test]
fn service_with_multiple_ports() {
    let r = smd("smd-service-config-ports.yaml", "smd-service-live.yaml");
    assert!(r.modified);
    assert_eq!(ports(&r), 5);
}

#[test]
fn deployment_defaults_are_not_differences() {
    let r = smd("smd-deploy-config.yaml", "smd-deploy-live.yaml");
    assert!(
        !r.modified,
        "predicted {}\nlive {}",
        r.predicted_live, r.normalized_live
    );
}
