//! Property: an object read back from an API server (server metadata, status, defaulted fields,
//! equivalent quantity notation added) compares equal to its manifest; changing a desired value is
//! always a difference.

use capstan_diff::{DiffOptions, diff};
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
    }
}
