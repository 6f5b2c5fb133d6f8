//! Conformance with gitops-engine's diff tests: every case of ../shared/corpora/argo-diff/expected.json.

use std::path::PathBuf;

use capstan_diff::{CompareOptions, DiffOptions, Differ};
use serde_json::{Value, json};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/argo-diff")
}

fn load(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(corpus().join(file)).unwrap()).unwrap()
}

/// The input files of a case ("x.json (+ description)" names the file first).
fn file_of(field: &Value) -> &str {
    field.as_str().unwrap().split_whitespace().next().unwrap()
}

/// The modifications the upstream tests make to the files before comparing.
fn adjust(test: &str, config: &mut Value, live: &mut Value) {
    match test {
        "TestThreeWayDiffExample2WithDifference" => {
            let labels = config["metadata"]["labels"].as_object_mut().unwrap();
            labels.insert("foo".into(), json!("bar"));
            labels.insert("chart".into(), json!("elasticsearch-1.7.1"));
            labels.remove("release");
        }
        "TestRedactedSecretData" => {
            for key in ["wordpress-password", "smtp-password"] {
                config["data"][key] = json!("++++++++");
                live["data"][key] = json!("++++++++++++");
            }
        }
        _ => {}
    }
}

fn options(case: &Value) -> DiffOptions {
    let ignore_aggregated_roles = case["options"].as_str() == Some("IgnoreAggregatedRoles(true)");
    DiffOptions {
        compare: CompareOptions {
            ignore_aggregated_roles,
            ..CompareOptions::default()
        },
        ..DiffOptions::default()
    }
}

#[test]
fn every_case_gives_the_expected_modified_flag() {
    let expected = load("expected.json");
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    let mut failures = Vec::new();
    for case in cases {
        let test = case["test"].as_str().unwrap();
        let mut config = load(file_of(&case["config"]));
        let mut live = load(file_of(&case["live"]));
        adjust(test, &mut config, &mut live);
        let differ = Differ::new(options(case)).unwrap();
        let result = differ.diff(Some(&config), Some(&live)).unwrap();
        let fast = differ.is_modified(Some(&config), Some(&live)).unwrap();
        if fast != result.modified {
            failures.push(format!(
                "{test}: is_modified={fast} disagrees with diff().modified={}",
                result.modified
            ));
        }
        if result.modified != case["modified"].as_bool().unwrap() {
            failures.push(format!(
                "{test}: expected modified={}, got {}\npredicted: {}\nlive:      {}",
                case["modified"], result.modified, result.predicted_live, result.normalized_live
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
