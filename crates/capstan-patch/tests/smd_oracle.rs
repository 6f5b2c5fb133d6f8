//! Server-side apply differential test against sigs.k8s.io/structured-merge-diff: every case in
//! fixtures/smd-ssa.json is a sequence of applies (managers "a" and "b", some forced) and
//! updates (manager "u") that the library behind Kubernetes' managedFields replayed (see
//! fixtures/gen_ssa_corpus.py and fixtures/smd-oracle/). After every step the object, each
//! manager's fieldsV1 (byte for byte) and the conflicts must be the same.

use capstan_patch::ssa::{self, ApplyError, ApplyRequest};
use serde_json::Value;

fn strip_managed_fields(v: &Value) -> Value {
    let mut out = v.clone();
    if let Some(obj) = out.as_object_mut() {
        let empty = match obj.get_mut("metadata").and_then(Value::as_object_mut) {
            Some(meta) => {
                meta.shift_remove("managedFields");
                meta.is_empty()
            }
            None => false,
        };
        if empty {
            obj.shift_remove("metadata");
        }
    }
    out
}

fn fields_by_manager(obj: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = obj["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or_default().to_string(),
                        serde_json::to_string(&e["fieldsV1"]).expect("json"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn server_side_apply_matches_structured_merge_diff() {
    let corpus: Value =
        serde_json::from_str(include_str!("fixtures/smd-ssa.json")).expect("corpus is JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    let results = corpus["results"].as_array().expect("results");
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut steps_checked = 0;
    let mut conflicts_checked = 0;
    for (ci, (case, expected)) in cases.iter().zip(results).enumerate() {
        let mut live: Option<Value> = None;
        let steps = case["steps"].as_array().expect("steps");
        for (si, (step, want)) in steps
            .iter()
            .zip(expected.as_array().expect("results"))
            .enumerate()
        {
            assert!(
                want["error"].is_null(),
                "case {ci} step {si}: oracle error {}",
                want["error"]
            );
            let manager = step["manager"].as_str().expect("manager");
            let now = format!("2026-01-01T00:{ci:02}:{si:02}Z");
            let obj = &step["obj"];
            let want_conflicts: Vec<(String, String)> = want["conflicts"]
                .as_array()
                .map(|cs| {
                    let mut v: Vec<_> = cs
                        .iter()
                        .map(|c| {
                            (
                                c["manager"].as_str().unwrap_or_default().to_string(),
                                c["field"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect();
                    v.sort();
                    v
                })
                .unwrap_or_default();
            if step["op"] == "apply" {
                let req = ApplyRequest {
                    manager,
                    force: step["force"].as_bool().unwrap_or(false),
                    api_version: "apps/v1",
                    kind: "Deployment",
                    now: &now,
                    subresource: None,
                };
                match ssa::apply(live.as_ref(), obj, &req) {
                    Ok(v) => {
                        if !want_conflicts.is_empty() {
                            failures.push(format!("case {ci} step {si}: expected conflicts {want_conflicts:?}, applied"));
                        }
                        live = Some(v);
                    }
                    Err(ApplyError::Conflicts(cs)) => {
                        conflicts_checked += 1;
                        let mut got: Vec<_> =
                            cs.into_iter().map(|c| (c.manager, c.field)).collect();
                        got.sort();
                        if got != want_conflicts {
                            failures.push(format!(
                                "case {ci} step {si}: conflicts {got:?}, want {want_conflicts:?}"
                            ));
                        }
                    }
                    Err(e) => failures.push(format!("case {ci} step {si}: {e}")),
                }
            } else {
                live = Some(ssa::record_update(
                    live.as_ref(),
                    obj,
                    manager,
                    "apps/v1",
                    "Deployment",
                    &now,
                    None,
                ));
            }
            let Some(current) = &live else { continue };
            steps_checked += 1;
            if normalize(&strip_managed_fields(current)) != normalize(&want["obj"]) {
                failures.push(format!(
                    "case {ci} step {si}: object\n  got  {}\n  want {}",
                    strip_managed_fields(current),
                    want["obj"]
                ));
                break;
            }
            let mut want_fields: Vec<(String, String)> = want["managers"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), serde_json::to_string(v).expect("json")))
                        .collect()
                })
                .unwrap_or_default();
            want_fields.sort();
            let got_fields = fields_by_manager(current);
            if got_fields != want_fields {
                failures.push(format!("case {ci} step {si}: managedFields\n  got  {got_fields:?}\n  want {want_fields:?}"));
                break;
            }
        }
    }
    assert!(steps_checked > 600, "{steps_checked} steps checked");
    assert!(
        conflicts_checked > 50,
        "{conflicts_checked} conflicts checked"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Sorts associative lists and sets by their keys and drops empty fields: the oracle is
/// structured-merge-diff v4.1.2 (Debian's), whose merge does not yet keep the order of list
/// items that Kubernetes 1.32's version keeps, and which leaves `null` where pruning emptied a
/// list or object (the API server's typed decoding then drops the list or makes the object
/// `{}`; we remove emptied lists and keep emptied objects as `{}`). Ownership (fieldsV1) is
/// still compared byte for byte.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Null => Value::Object(serde_json::Map::new()),
        Value::Object(m) => Value::Object(
            m.iter()
                // What pruning emptied is `null` there; here an emptied list is removed and an
                // emptied object stays `{}`: compare all three as absent.
                .filter(|(_, v)| !is_empty(v))
                .map(|(k, v)| {
                    let mut v = normalize(v);
                    if let (true, Value::Array(items)) = (k == "finalizers", &mut v) {
                        items.sort_by_key(ToString::to_string);
                    }
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(normalize).collect();
            if items.iter().all(|i| {
                ["name", "containerPort", "uid", "type"]
                    .iter()
                    .any(|k| i.get(k).is_some())
            }) {
                items.sort_by_key(|i| {
                    format!(
                        "{}/{}/{}/{}",
                        i["uid"], i["type"], i["name"], i["containerPort"]
                    )
                });
            }
            Value::Array(items)
        }
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_empty),
        _ => false,
    }
}
