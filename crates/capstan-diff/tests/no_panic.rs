//! Arbitrary JSON never panics the diff engine, the masking or the output.

use capstan_diff::mask::hide_secret_data;
use capstan_diff::output::resource_diff_json;
use capstan_diff::tracking::Tracking;
use capstan_diff::{DiffOptions, Differ, IgnoreDifferencesRule};
use proptest::prelude::*;
use serde_json::{Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[A-Za-z0-9:/._=-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "metadata",
                    "annotations",
                    "labels",
                    "data",
                    "stringData",
                    "spec",
                    "status",
                    "name",
                    "containers",
                    "ports",
                    "managedFields",
                    "fieldsV1",
                    "manager",
                    "f:spec",
                    "rules",
                    "aggregationRule",
                    "subsets",
                    "kubectl.kubernetes.io/last-applied-configuration",
                    "argocd.argoproj.io/tracking-id",
                    "finalizers",
                ]),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn with_kind(mut v: Value, api_version: &str, kind: &str) -> Value {
    if let Value::Object(map) = &mut v {
        map.insert("apiVersion".into(), json!(api_version));
        map.insert("kind".into(), json!(kind));
    }
    v
}

proptest! {
    #[test]
    fn diff_never_panics(
        desired in any_json(),
        live in any_json(),
        gvk in prop::sample::select(vec![("v1", "Secret"), ("v1", "Endpoints"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("apps/v1", "Deployment"), ("example.com/v1", "Thing")]),
        ssa in any::<bool>(),
    ) {
        let desired = with_kind(desired, gvk.0, gvk.1);
        let live = with_kind(live, gvk.0, gvk.1);
        let opts = DiffOptions {
            server_side_apply: ssa,
            ignore_differences: vec![IgnoreDifferencesRule {
                group: "*".into(), kind: "*".into(),
                json_pointers: vec!["/spec/containers/0".into(), "/metadata/labels/a~1b".into()],
                jq_path_expressions: vec![".spec.containers[]?.image".into()],
                managed_fields_managers: vec!["kube-controller-manager".into()],
                ..Default::default()
            }],
            ..DiffOptions::default()
        };
        let differ = Differ::new(opts).unwrap();
        if let Ok(r) = differ.diff(Some(&desired), Some(&live)) {
            let _ = resource_diff_json(Some(&desired), Some(&live), &r);
        }
        let _ = differ.is_modified(Some(&desired), Some(&live));
        let _ = differ.server_side_diff(Some(&desired), Some(&live), &live);
        let _ = hide_secret_data(Some(&desired), Some(&live));
        let _ = Tracking::default().app_instance(&live);
        let mut obj = desired.clone();
        let _ = Tracking::default().set_app_instance(&mut obj, "app");
    }
}
