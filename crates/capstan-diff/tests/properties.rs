//! Property: an object read back from an API server (server metadata, status, defaulted fields,
//! equivalent quantity notation added) compares equal to its manifest; changing a desired value is
//! always a difference.

use capstan_diff::{DiffOptions, Differ, diff};
use proptest::prelude::*;
use serde_json::{Value, json};

fn label_map() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    prop::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..4)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// (manifest notation, server notation) of the same quantity.
fn quantity() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        (1u32..64).prop_map(|n| (json!(format!("{n}Gi")), json!(format!("{}Mi", n * 1024)))),
        (1u32..8).prop_map(|n| (json!(n), json!(format!("{}m", n * 1000)))),
        (1u32..9).prop_map(|n| (json!(format!("0.{n}")), json!(format!("{}m", n * 100)))),
        (1u32..4000).prop_map(|n| (json!(format!("{n}m")), json!(format!("{n}m")))),
    ]
}

fn manifest_and_live() -> impl Strategy<Value = (Value, Value)> {
    (label_map(), label_map(), 0u32..10, "[a-z]{1,10}", quantity(), quantity(), any::<bool>())
        .prop_map(|(labels, extra_labels, replicas, image, (cpu_m, cpu_s), (mem_m, mem_s), with_env)| {
            let mut container = json!({"name": "main", "image": image, "resources": {"requests": {"cpu": cpu_m, "memory": mem_m}}});
            if with_env {
                container["env"] = json!([{"name": "X", "value": "1"}]);
            }
            let manifest = json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "app", "labels": labels},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "app"}},
                    "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [container.clone()]}}}
            });
            let mut live = manifest.clone();
            let meta = live["metadata"].as_object_mut().unwrap();
            meta.insert("namespace".into(), json!("default"));
            meta.insert("uid".into(), json!("8f1c"));
            meta.insert("resourceVersion".into(), json!("77"));
            meta.insert("generation".into(), json!(2));
            meta.insert("creationTimestamp".into(), json!("2024-05-01T00:00:00Z"));
            let mut all_labels = extra_labels;
            all_labels.extend(manifest["metadata"]["labels"].as_object().unwrap().clone());
            meta.insert("labels".into(), Value::Object(all_labels));
            live["spec"]["revisionHistoryLimit"] = json!(10);
            live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
            let c = &mut live["spec"]["template"]["spec"]["containers"][0];
            c["imagePullPolicy"] = json!("IfNotPresent");
            c["terminationMessagePath"] = json!("/dev/termination-log");
            c["resources"]["requests"]["cpu"] = cpu_s;
            c["resources"]["requests"]["memory"] = mem_s;
            live["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
            live["status"] = json!({"replicas": replicas, "observedGeneration": 2});
            (manifest, live)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn read_back_objects_compare_synced((manifest, live) in manifest_and_live()) {
        let r = diff(Some(&manifest), Some(&live), &DiffOptions::default()).unwrap();
        prop_assert!(!r.modified, "predicted {}\nlive {}", r.predicted_live, r.normalized_live);
        prop_assert!(!Differ::new(DiffOptions::default()).unwrap().is_modified(Some(&manifest), Some(&live)).unwrap());
    }

    #[test]
    fn changed_desired_values_are_differences((manifest, live) in manifest_and_live(), which in 0usize..3) {
        let mut desired = manifest.clone();
        match which {
            0 => desired["spec"]["replicas"] = json!(manifest["spec"]["replicas"].as_u64().unwrap() + 1),
            1 => desired["spec"]["template"]["spec"]["containers"][0]["image"] = json!("changed-image"),
            _ => desired["metadata"]["labels"]["new-label-key"] = json!("v"),
        }
        let r = diff(Some(&desired), Some(&live), &DiffOptions::default()).unwrap();
        prop_assert!(r.modified);
        prop_assert!(Differ::new(DiffOptions::default()).unwrap().is_modified(Some(&desired), Some(&live)).unwrap());
    }
}

/// Small JSON trees with keys from a tiny alphabet (so desired, live and last-applied overlap),
/// lists of named items, quantities and ports.
fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..4).prop_map(|n| json!(n)),
        prop::sample::select(vec!["", "a", "80", "1Gi", "1024Mi", "1", "1000m"])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "port", "requests", "cpu", "name"]),
                inner.clone(),
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(vec!["x", "y", "z"]), inner), 0..3)
                .prop_map(|items| {
                    Value::Array(
                        items
                            .into_iter()
                            .map(|(n, v)| json!({"name": n, "v": v}))
                            .collect(),
                    )
                }),
        ]
    })
}

fn object(api_version: &'static str) -> impl Strategy<Value = Value> {
    (tree(), tree(), prop::option::of(tree())).prop_map(move |(spec, labels, status)| {
        let mut obj = json!({"apiVersion": api_version, "kind": "Thing", "metadata": {"name": "t", "labels": labels}, "spec": spec});
        if let Some(status) = status {
            obj["status"] = status;
        }
        obj
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fast_path_agrees_with_full_comparison(
        api_version in prop::sample::select(vec!["example.com/v1", "apps/v1"]),
        seeds in (object("example.com/v1"), object("example.com/v1"), prop::option::of(object("example.com/v1"))),
    ) {
        let (mut desired, mut live, mut applied) = seeds;
        for obj in std::iter::once(&mut desired).chain(std::iter::once(&mut live)).chain(applied.as_mut()) {
            obj["apiVersion"] = json!(api_version);
        }
        if let Some(applied) = applied {
            live["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/last-applied-configuration": applied.to_string()});
        }
        let differ = Differ::new(DiffOptions::default()).unwrap();
        let full = differ.diff(Some(&desired), Some(&live)).unwrap().modified;
        let fast = differ.is_modified(Some(&desired), Some(&live)).unwrap();
        prop_assert_eq!(full, fast, "desired {}\nlive {}", desired, live);
        // an object always compares equal to itself
        prop_assert!(!differ.is_modified(Some(&live), Some(&live)).unwrap() || live.pointer("/metadata/annotations").is_some());
    }
}
