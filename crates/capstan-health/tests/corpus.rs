//! Conformance with gitops-engine's health tests: every file of ../shared/corpora/argo-health.

use std::path::PathBuf;

use capstan_health::{HealthOverrides, assess};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/argo-health")
}

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(corpus_dir().join(file)).unwrap();
    // statefulset-ondelete.yaml repeats `updateStrategy`; Go's YAML loader keeps the last value.
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
    serde_saphyr::from_str_with_options(&text, options).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_corpus_case_has_the_expected_status_and_message() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus_dir().join("expected.json")).unwrap())
            .unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 53, "corpus has {} cases", cases.len());
    let overrides = HealthOverrides::new();
    let mut failures = Vec::new();
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let obj = load(file);
        let got = assess(&obj, &overrides);
        let got_status = got.as_ref().map(|h| h.status.as_str());
        if got_status != case["status"].as_str() {
            failures.push(format!(
                "{file}: expected {:?}, got {got:?}",
                case["status"]
            ));
        }
    }
    for (path, message) in expected["messages"].as_object().unwrap() {
        let file = path.rsplit('/').next().unwrap();
        let got = assess(&load(file), &overrides).unwrap();
        if got.message != message.as_str().unwrap() {
            failures.push(format!(
                "{file}: expected message {message}, got {:?}",
                got.message
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_file_is_listed() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus_dir().join("expected.json")).unwrap())
            .unwrap();
    let listed: Vec<&str> = expected["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".yaml") {
            assert!(listed.contains(&name.as_str()), "{name} has no expectation");
        }
    }
}
