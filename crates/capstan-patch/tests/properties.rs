//! Property tests: patch laws, idempotence of server-side apply, and no panics on arbitrary
//! input.

use capstan_patch::ssa::{self, ApplyRequest};
use capstan_patch::{
    apply_json_patch, apply_merge_patch, apply_strategic_merge_patch, create_merge_patch,
    three_way_strategic_patch, two_way_strategic_patch,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KINDS: &[(&str, &str)] = &[
    ("apps/v1", "Deployment"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("batch/v1", "CronJob"),
    ("example.com/v1", "Widget"),
];

/// Keys and strings that hit the interesting code paths (directives, merge keys, fieldsV1).
const VOCAB: &[&str] = &[
    "metadata",
    "spec",
    "template",
    "containers",
    "initContainers",
    "env",
    "name",
    "value",
    "ports",
    "containerPort",
    "protocol",
    "port",
    "finalizers",
    "ownerReferences",
    "uid",
    "labels",
    "annotations",
    "selector",
    "status",
    "strategy",
    "type",
    "volumes",
    "jobTemplate",
    "managedFields",
    "fieldsV1",
    "manager",
    "operation",
    "Apply",
    "Update",
    "f:spec",
    "f:metadata",
    "k:{\"name\":\"a\"}",
    "v:\"x\"",
    "i:0",
    ".",
    "$patch",
    "delete",
    "replace",
    "merge",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/env",
    "$setElementOrder/finalizers",
    "$deleteFromPrimitiveList/finalizers",
    "op",
    "path",
    "from",
    "add",
    "remove",
    "move",
    "copy",
    "test",
    "/spec",
    "/metadata/labels",
    "/spec/containers/0",
    "/-",
    "-",
    "0",
    "",
    "~",
    "/a~1b",
    "TCP",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(VOCAB).prop_map(str::to_string),
        1 => "[a-z]{1,4}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(|n| json!(n)),
        (-1e3f64..1e3).prop_map(|f| json!(f)),
        key().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), arb_json()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>()))
}

fn kind() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(KINDS)
}

fn strip_object_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_object_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A Deployment-like object with unique merge keys, for laws that need well-formed lists.
fn arb_deployment() -> impl Strategy<Value = Value> {
    let env = prop::collection::btree_map("[A-D]", "[a-c]{1,2}", 0..4);
    let container = (env, "[a-c]{1,3}", prop::option::of(1i64..3));
    let containers = prop::collection::btree_map("[p-s]", container, 1..4);
    let labels = prop::collection::btree_map("[a-c]", "[x-z]", 0..3);
    let finalizers = prop::collection::btree_set("[f-h]", 0..3);
    (
        containers,
        labels,
        finalizers,
        prop::option::of(0i64..5),
        any::<bool>(),
    )
        .prop_map(|(containers, labels, finalizers, replicas, reverse)| {
            let mut cs: Vec<Value> = containers
                .into_iter()
                .map(|(name, (env, image, port))| {
                    let mut c = json!({"name": name, "image": image});
                    if !env.is_empty() {
                        c["env"] = Value::Array(
                            env.into_iter()
                                .map(|(n, v)| json!({"name": n, "value": v}))
                                .collect(),
                        );
                    }
                    if let Some(p) = port {
                        c["ports"] = json!([{"containerPort": 8000 + p, "name": "p"}]);
                    }
                    c
                })
                .collect();
            if reverse {
                cs.reverse();
            }
            let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {"template": {"spec": {"containers": cs}}}});
            if !labels.is_empty() {
                d["metadata"]["labels"] = json!(labels);
            }
            if !finalizers.is_empty() {
                d["metadata"]["finalizers"] = json!(finalizers);
            }
            if let Some(r) = replicas {
                d["spec"]["replicas"] = json!(r);
            }
            d
        })
}

fn req<'a>(
    manager: &'a str,
    now: &'a str,
    api_version: &'a str,
    kind: &'a str,
) -> ApplyRequest<'a> {
    ApplyRequest {
        manager,
        force: false,
        api_version,
        kind,
        now,
        subresource: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn merge_patch_of_the_diff_gives_the_target(a in arb_json(), b in arb_json()) {
        let b = strip_object_nulls(&b);
        let patch = create_merge_patch(&a, &b);
        prop_assert_eq!(apply_merge_patch(&a, &patch), b);
    }

    #[test]
    fn merge_patch_is_idempotent(a in arb_json(), p in arb_json()) {
        let once = apply_merge_patch(&a, &p);
        prop_assert_eq!(apply_merge_patch(&once, &p), once.clone());
    }

    #[test]
    fn strategic_empty_patch_is_identity(doc in arb_object(), (av, k) in kind()) {
        let got = apply_strategic_merge_patch(&doc, &json!({}), av, k).expect("empty patch applies");
        prop_assert_eq!(got, doc);
    }

    #[test]
    fn strategic_two_way_patch_gives_the_target(a in arb_deployment(), b in arb_deployment()) {
        let patch = two_way_strategic_patch(&a, &b, "apps/v1", "Deployment").expect("diff");
        let got = apply_strategic_merge_patch(&a, &patch, "apps/v1", "Deployment").expect("apply");
        prop_assert_eq!(got, b);
    }

    #[test]
    fn kubectl_three_way_patch_reaches_the_new_config(a in arb_deployment(), b in arb_deployment()) {
        // Live = the first config plus a server-side field; the patch must bring every field of
        // the new config in and drop what the first config had and the new one has not.
        let mut live = a.clone();
        live["status"] = json!({"replicas": 1});
        let patch = three_way_strategic_patch(Some(&a), &b, &live, "apps/v1", "Deployment").expect("diff");
        let got = apply_strategic_merge_patch(&live, &patch, "apps/v1", "Deployment").expect("apply");
        let mut want = b.clone();
        want["status"] = json!({"replicas": 1});
        prop_assert_eq!(got, want);
    }

    #[test]
    fn ssa_apply_twice_is_a_no_op(cfg in arb_deployment(), cfg0 in arb_deployment()) {
        let r0 = req("other", "2026-01-01T00:00:00Z", "apps/v1", "Deployment");
        let live0 = ssa::apply(None, &cfg0, &r0).expect("create");
        let r1 = req("kubectl", "2026-01-01T00:01:00Z", "apps/v1", "Deployment");
        let first = match ssa::apply(Some(&live0), &cfg, &r1) {
            Ok(v) => v,
            Err(_) => ssa::apply(Some(&live0), &cfg, &ApplyRequest { force: true, ..r1 }).expect("forced"),
        };
        let r2 = req("kubectl", "2026-01-01T00:02:00Z", "apps/v1", "Deployment");
        let second = ssa::apply(Some(&first), &cfg, &r2).expect("re-apply never conflicts");
        prop_assert_eq!(second, first);
    }

    #[test]
    fn ssa_apply_twice_is_a_no_op_for_arbitrary_custom_resources(cfg in arb_object()) {
        let r1 = req("m", "2026-01-01T00:01:00Z", "example.com/v1", "Widget");
        if let Ok(first) = ssa::apply(None, &cfg, &r1) {
            let r2 = req("m", "2026-01-01T00:02:00Z", "example.com/v1", "Widget");
            let second = ssa::apply(Some(&first), &cfg, &r2).expect("re-apply");
            prop_assert_eq!(second, first);
        }
    }

    #[test]
    fn nothing_panics_on_arbitrary_input(a in arb_json(), b in arb_json(), c in arb_json(), (av, k) in kind(), force in any::<bool>()) {
        let _ = apply_json_patch(&a, &b);
        let _ = apply_merge_patch(&a, &b);
        let _ = apply_strategic_merge_patch(&a, &b, av, k);
        let _ = three_way_strategic_patch(Some(&a), &b, &c, av, k);
        let _ = three_way_strategic_patch(None, &b, &c, av, k);
        let _ = two_way_strategic_patch(&a, &b, av, k);
        let r = ApplyRequest { force, ..req("m", "2026-01-01T00:00:00Z", av, k) };
        let _ = ssa::apply(Some(&a), &b, &r);
        let _ = ssa::apply(None, &b, &r);
        let _ = ssa::record_update(Some(&a), &b, "m", av, k, "2026-01-01T00:00:00Z", None);
        let _ = ssa::record_update(None, &b, "m", av, k, "2026-01-01T00:00:00Z", Some("status"));
        let _ = ssa::managed_paths(&a, "m");
    }

    #[test]
    fn nothing_panics_on_structured_patches(doc in arb_object(), ops in prop::collection::vec(arb_object(), 0..4), (av, k) in kind()) {
        // JSON patches made of operation-shaped objects, strategic patches made of objects with
        // directive keys, and managedFields made of vocabulary keys.
        let _ = apply_json_patch(&doc, &Value::Array(ops.clone()));
        for p in &ops {
            let _ = apply_strategic_merge_patch(&doc, p, av, k);
            let mut with_mf = doc.clone();
            if let Some(m) = with_mf.as_object_mut() {
                m.insert("metadata".into(), json!({"managedFields": [
                    {"manager": "x", "operation": "Update", "apiVersion": av, "fieldsV1": p}]}));
            }
            let r = req("m", "2026-01-01T00:00:00Z", av, k);
            let _ = ssa::apply(Some(&with_mf), &doc, &r);
            let _ = ssa::record_update(Some(&with_mf), &doc, "m", av, k, "2026-01-01T00:00:00Z", None);
            let _ = ssa::managed_paths(&with_mf, "x");
        }
    }
}
