//! Argo CD's server-side diff cases (shared/corpora/argo-diff/ssd-*): each has a config, a
//! live object with managedFields, and what a server-side dry-run apply by
//! `argocd-controller` returned. Applying the config to the live object must reproduce the
//! parts of the prediction that server-side apply decides (fields, pruning, the applier's
//! fieldsV1). Parts produced by mutating webhooks or controllers in the recorded clusters are
//! not compared.

use std::path::PathBuf;

use capstan_patch::ssa::{self, ApplyRequest};
use pretty_assertions::assert_eq;
use serde_json::Value;

const NOW: &str = "2026-01-01T00:00:00Z";

fn corpus(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/argo-diff")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    if name.ends_with(".json") {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    } else {
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// Applies `<case>-config.yaml` to `<case>-live.yaml` as argocd-controller.
fn run(case: &str) -> (Value, Value) {
    run_files(
        &format!("{case}-config.yaml"),
        &format!("{case}-live.yaml"),
        &format!("{case}-predicted-live.json"),
    )
}

fn run_files(config: &str, live: &str, predicted: &str) -> (Value, Value) {
    let case = config;
    let config = corpus(config);
    let live = corpus(live);
    let predicted = corpus(predicted);
    let api_version = config["apiVersion"]
        .as_str()
        .expect("apiVersion")
        .to_string();
    let kind = config["kind"].as_str().expect("kind").to_string();
    let req = ApplyRequest {
        manager: "argocd-controller",
        force: false,
        api_version: &api_version,
        kind: &kind,
        now: NOW,
        subresource: None,
    };
    let got = ssa::apply(Some(&live), &config, &req).unwrap_or_else(|e| panic!("{case}: {e}"));
    (got, predicted)
}

fn apply_entry(obj: &Value) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|e| e["manager"] == "argocd-controller" && e["operation"] == "Apply")
        })
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn configmap_key_no_longer_applied_is_pruned() {
    let (got, predicted) = run("ssd-configmap");
    assert_eq!(got["data"], predicted["data"]);
    assert_eq!(apply_entry(&got), apply_entry(&predicted));
}

#[test]
fn service_label_no_longer_applied_is_pruned() {
    let (got, predicted) = run_files(
        "ssd-svc-no-label-config.yaml",
        "ssd-svc-label-live.yaml",
        "ssd-svc-no-label-predicted-live.json",
    );
    assert_eq!(got["metadata"]["labels"], predicted["metadata"]["labels"]);
    assert_eq!(got["spec"], predicted["spec"]);
    assert_eq!(apply_entry(&got), apply_entry(&predicted));
}

#[test]
fn service_ports_keyed_by_port_and_defaulted_protocol() {
    let (got, predicted) = run("ssd-service");
    assert_eq!(got["spec"], predicted["spec"]);
    // The recorded cluster had a webhook take over the labels; the spec part is ours.
    assert_eq!(
        apply_entry(&got)["f:spec"],
        apply_entry(&predicted)["f:spec"]
    );
}

#[test]
fn deployment_with_composite_port_keys() {
    let (got, predicted) = run("ssd-deploy-composite-key");
    assert_eq!(apply_entry(&got), apply_entry(&predicted));
    let ports = |v: &Value, i: usize| {
        v["spec"]["template"]["spec"]["containers"][i]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| (p["containerPort"].clone(), p["name"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ports(&got, 0), ports(&predicted, 0));
    assert_eq!(ports(&got, 1), ports(&predicted, 1));
}

#[test]
fn deployment_with_a_container_added_by_client_side_apply() {
    let (got, predicted) = run("ssd-deploy-with-manual-apply");
    assert_eq!(apply_entry(&got), apply_entry(&predicted));
    let containers = &got["spec"]["template"]["spec"]["containers"];
    let names: Vec<&str> = containers
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["main-container", "idle"],
        "the idle container is kept"
    );
    assert_eq!(
        containers[0]["ports"],
        predicted["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .map(|ps| {
                // The recorded server defaulted protocol; we do not default.
                Value::Array(
                    ps.iter()
                        .map(|p| {
                            let mut p = p.clone();
                            if p["containerPort"] == 40 {
                                p.as_object_mut().expect("port").remove("protocol");
                            }
                            p
                        })
                        .collect(),
                )
            })
            .expect("ports")
    );
    // Every other manager keeps exactly what it had.
    for m in ["kubectl-client-side-apply", "kube-controller-manager"] {
        assert_eq!(
            ssa::managed_paths(&got, m),
            ssa::managed_paths(&predicted, m),
            "{m}"
        );
    }
}

#[test]
fn deployment_with_nested_lists_gains_the_new_items() {
    let (got, predicted) = run("ssd-deploy-nested");
    let c = |v: &Value, f: &str| v["spec"]["template"]["spec"]["containers"][0][f].clone();
    assert_eq!(c(&got, "env"), c(&predicted, "env"));
    let names = |v: &Value| {
        c(v, "ports")
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| p["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&got), names(&predicted));
    // This fixture's managedFields were written by hand (they lack fields the config sets);
    // the entries for env items and port items must still match.
    let entry = apply_entry(&got);
    let want = apply_entry(&predicted);
    let container = |e: &Value| {
        e["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"main-container\"}"]
            .clone()
    };
    for k in ["k:{\"name\":\"ENV_VAR1\"}", "k:{\"name\":\"ENV_VAR2\"}"] {
        assert_eq!(
            container(&entry)["f:env"][k],
            container(&want)["f:env"][k],
            "{k}"
        );
    }
    assert_eq!(
        container(&entry)["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"],
        container(&want)["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]
    );
}
