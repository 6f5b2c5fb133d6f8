//! The three-way patch against real `kubectl apply`: every case in
//! fixtures/three-way-kubectl.json holds the last applied configuration, the live object, the
//! new configuration and the strategic merge patch kubectl v1.32 sent for it (recorded by
//! fixtures/gen_three_way_corpus.py). We must compute the same patch, and applying it to the
//! live object must give what applying kubectl's patch gives.

use capstan_patch::{apply_strategic_merge_patch, three_way_strategic_patch};
use serde_json::{Value, json};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[test]
fn three_way_patch_matches_kubectl_apply() {
    let corpus: Value =
        serde_json::from_str(include_str!("fixtures/three-way-kubectl.json")).expect("JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 200);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let want = &case["patch"];
        // kubectl's "modified" is the new configuration carrying itself in the annotation.
        let annotation = want["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .or_else(|| case["current"]["metadata"]["annotations"][LAST_APPLIED].as_str())
            .expect("annotation");
        let mut modified = case["modified"].clone();
        modified["metadata"]["annotations"] = json!({ LAST_APPLIED: annotation });
        let av = case["original"]["apiVersion"].as_str().expect("apiVersion");
        let kind = case["original"]["kind"].as_str().expect("kind");
        let got = three_way_strategic_patch(
            Some(&case["original"]),
            &modified,
            &case["current"],
            av,
            kind,
        )
        .expect("patch");
        if &got != want {
            failures.push(format!("case {i}:\n  got  {got}\n  want {want}"));
            continue;
        }
        let a = apply_strategic_merge_patch(&case["current"], want, av, kind)
            .expect("kubectl's patch applies");
        let b = apply_strategic_merge_patch(&case["current"], &got, av, kind)
            .expect("our patch applies");
        assert_eq!(a, b, "case {i}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
