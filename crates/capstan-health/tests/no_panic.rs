//! Arbitrary JSON never panics the health engine.

use capstan_health::{HealthOverrides, ManagedResource, app_health, assess};
use proptest::prelude::*;
use serde_json::{Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[A-Za-z0-9:/._-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "status",
                    "spec",
                    "metadata",
                    "conditions",
                    "type",
                    "reason",
                    "message",
                    "replicas",
                    "phase",
                    "annotations",
                    "deletionTimestamp",
                    "containerStatuses",
                    "state",
                    "waiting",
                    "loadBalancer",
                    "ingress",
                ]),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

proptest! {
    #[test]
    fn assess_never_panics(
        body in any_json(),
        api_version in prop::sample::select(vec!["v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2",
            "apiregistration.k8s.io/v1", "networking.k8s.io/v1", "argoproj.io/v1alpha1", "apiextensions.k8s.io/v1"]),
        kind in prop::sample::select(vec!["Pod", "Service", "PersistentVolumeClaim", "Deployment", "StatefulSet", "DaemonSet",
            "ReplicaSet", "Job", "CronJob", "HorizontalPodAutoscaler", "APIService", "Ingress", "Workflow", "CustomResourceDefinition"]),
    ) {
        let mut obj = body;
        if let Value::Object(map) = &mut obj {
            map.insert("apiVersion".into(), json!(api_version));
            map.insert("kind".into(), json!(kind));
        }
        let overrides = HealthOverrides::new();
        let _ = assess(&obj, &overrides);
        let _ = app_health(&[ManagedResource { target: Some(&obj), live: Some(&obj) }], &overrides);
    }
}
