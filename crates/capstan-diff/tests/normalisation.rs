//! No false differences for server-filled fields, and real differences still detected.

use capstan_diff::{
    CompareOptions, DiffOptions, Differ, IgnoreDifferencesRule, StatusFieldMode, diff,
};
use serde_json::{Value, json};

fn deployment_manifest() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web", "image": "nginx:1.27",
                        "ports": [{"containerPort": "8080"}],
                        "resources": {"requests": {"cpu": "0.5", "memory": "1Gi"}, "limits": {"cpu": 1}},
                        "env": [{"name": "A", "value": "1"}]
                    }],
                    "volumes": [],
                    "hostNetwork": false
                }
            }
        }
    })
}

/// What the API server returns for the manifest: defaults, server metadata, status, other notations.
fn deployment_live() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "labels": {"app": "web"},
            "uid": "0b1c", "resourceVersion": "42", "generation": 3, "creationTimestamp": "2024-01-01T00:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:status": {}}}]
        },
        "spec": {
            "replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "500m", "memory": "1024Mi"}, "limits": {"cpu": "1000m"}},
                        "env": [{"name": "A", "value": "1"}],
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
                    }],
                    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                    "securityContext": {}, "terminationGracePeriodSeconds": 30
                }
            }
        },
        "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": 2}
    })
}

/// The modified flag, checking that the fast path agrees with the full comparison.
fn modified(desired: &Value, live: &Value) -> bool {
    let full = diff(Some(desired), Some(live), &DiffOptions::default())
        .unwrap()
        .modified;
    let fast = Differ::new(DiffOptions::default())
        .unwrap()
        .is_modified(Some(desired), Some(live))
        .unwrap();
    assert_eq!(
        full, fast,
        "fast path disagrees for\ndesired {desired}\nlive {live}"
    );
    full
}

#[test]
fn defaults_server_metadata_status_and_notations_are_not_differences() {
    let r = diff(
        Some(&deployment_manifest()),
        Some(&deployment_live()),
        &DiffOptions::default(),
    )
    .unwrap();
    assert!(
        !r.modified,
        "predicted {}\nlive {}",
        r.predicted_live, r.normalized_live
    );
    assert!(r.normalized_live.pointer("/metadata/uid").is_none());
    assert!(r.normalized_live.get("status").is_none());
}

#[test]
fn real_changes_are_differences() {
    let live = deployment_live();
    let edits: Vec<(&str, Value)> = vec![
        ("/spec/replicas", json!(3)),
        (
            "/spec/template/spec/containers/0/image",
            json!("nginx:1.28"),
        ),
        (
            "/spec/template/spec/containers/0/resources/requests/cpu",
            json!("600m"),
        ),
        (
            "/spec/template/spec/containers/0/resources/requests/memory",
            json!("1G"),
        ),
        (
            "/spec/template/spec/containers/0/ports/0/containerPort",
            json!(8081),
        ),
        ("/spec/template/spec/containers/0/env/0/value", json!("2")),
        ("/spec/template/spec/hostNetwork", json!(true)),
        ("/metadata/labels/app", json!("other")),
    ];
    for (pointer, value) in edits {
        let mut desired = deployment_manifest();
        *desired.pointer_mut(pointer).unwrap() = value;
        assert!(modified(&desired, &live), "{pointer}");
    }
    let mut desired = deployment_manifest();
    desired["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "busybox"}));
    assert!(modified(&desired, &live), "added container");
}

#[test]
fn fields_removed_from_the_manifest_follow_last_applied() {
    let mut live = deployment_live();
    live["metadata"]["labels"]["team"] = json!("a");
    // Set by someone else: not a difference.
    assert!(!modified(&deployment_manifest(), &live));
    // Applied by us before (in last-applied-configuration) and now gone from the manifest: a difference.
    let mut applied = deployment_manifest();
    applied["metadata"]["labels"]["team"] = json!("a");
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!(applied.to_string());
    assert!(modified(&deployment_manifest(), &live));
    // Garbage last-applied falls back to a two-way diff.
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!("{not json");
    assert!(!modified(&deployment_manifest(), &live));
}

#[test]
fn fields_removed_from_the_manifest_follow_managed_fields_for_server_side_apply() {
    let mut live = deployment_live();
    live["metadata"]["labels"]["team"] = json!("a");
    live["metadata"]["labels"]["other"] = json!("b");
    live["metadata"]["managedFields"] = json!([
        {"manager": "argocd-controller", "operation": "Apply",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}, "f:team": {}}}}},
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:other": {}}}}}
    ]);
    let ssa = DiffOptions {
        server_side_apply: true,
        ..DiffOptions::default()
    };
    let r = diff(Some(&deployment_manifest()), Some(&live), &ssa).unwrap();
    assert!(r.modified);
    assert!(r.predicted_live.pointer("/metadata/labels/team").is_none());
    assert_eq!(r.predicted_live["metadata"]["labels"]["other"], "b");
    // The sync-options annotation switches it on as well.
    let mut desired = deployment_manifest();
    desired["metadata"]["annotations"] =
        json!({"argocd.argoproj.io/sync-options": "ServerSideApply=true"});
    assert!(modified(&desired, &live));
    // Without server-side apply the extra label is someone else's.
    assert!(!modified(&deployment_manifest(), &live));
}

#[test]
fn secret_string_data_matches_base64_data() {
    let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
        "stringData": {"password": "hunter2"}});
    let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"}, "type": "Opaque",
        "data": {"password": "aHVudGVyMg=="}});
    assert!(!modified(&desired, &live));
    let changed = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter3"}});
    assert!(modified(&changed, &live));
}

#[test]
fn int_or_string_service_ports() {
    let desired = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": "80", "targetPort": "8080"}], "selector": {"app": "a"}}});
    let live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"clusterIP": "10.0.0.1", "type": "ClusterIP", "sessionAffinity": "None",
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], "selector": {"app": "a"}}});
    assert!(!modified(&desired, &live));
    let named = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}], "selector": {"app": "a"}}});
    assert!(modified(&named, &live));
}

#[test]
fn finalizers_added_by_controllers_and_reordered_containers() {
    let desired = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p", "finalizers": []},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let live = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p", "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}, "volumeMode": "Filesystem"}});
    assert!(!modified(&desired, &live));

    let mut desired = deployment_manifest();
    let mut live = deployment_live();
    let second = json!({"name": "side", "image": "busybox"});
    desired["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .insert(0, second.clone());
    live["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(second);
    assert!(modified(&desired, &live), "containers in a different order");
}

#[test]
fn status_is_compared_only_when_configured() {
    let desired = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"a": 1}, "status": {"phase": "Ready"}});
    let live = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"a": 1}, "status": {"phase": "Pending"}});
    assert!(!modified(&desired, &live));
    let off = DiffOptions {
        compare: CompareOptions {
            ignore_resource_status_field: StatusFieldMode::Off,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(diff(Some(&desired), Some(&live), &off).unwrap().modified);
    let crd_only = DiffOptions {
        compare: CompareOptions {
            ignore_resource_status_field: StatusFieldMode::Crd,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(
        diff(Some(&desired), Some(&live), &crd_only)
            .unwrap()
            .modified
    );
    // CRDs keep a zero value that the API server would not drop for custom resources
    let crd_desired = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"a": 1, "enabled": false}});
    assert!(modified(&crd_desired, &live));
}

#[test]
fn missing_objects() {
    let d = deployment_manifest();
    let r = diff(Some(&d), None, &DiffOptions::default()).unwrap();
    assert!(r.modified);
    assert_eq!(r.normalized_live, Value::Null);
    let r = diff(None, Some(&d), &DiffOptions::default()).unwrap();
    assert!(!r.modified);
    assert!(diff(None, None, &DiffOptions::default()).is_err());
}

fn rule(group: &str, kind: &str) -> IgnoreDifferencesRule {
    IgnoreDifferencesRule {
        group: group.into(),
        kind: kind.into(),
        ..Default::default()
    }
}

#[test]
fn ignore_differences_json_pointers_jq_and_managers() {
    let mut desired = deployment_manifest();
    desired["spec"]["replicas"] = json!(5);
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:9");
    let live = deployment_live();
    assert!(modified(&desired, &live));

    let pointer_only = DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            json_pointers: vec!["/spec/replicas".into()],
            ..rule("apps", "Deployment")
        }],
        ..Default::default()
    };
    assert!(
        diff(Some(&desired), Some(&live), &pointer_only)
            .unwrap()
            .modified,
        "image still differs"
    );

    let both = DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            json_pointers: vec!["/spec/replicas".into()],
            jq_path_expressions: vec![
                ".spec.template.spec.containers[] | select(.name == \"web\") | .image".into(),
            ],
            ..rule("apps", "*")
        }],
        ..Default::default()
    };
    assert!(!diff(Some(&desired), Some(&live), &both).unwrap().modified);

    // name must match when given
    let other_name = DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            name: "other".into(),
            json_pointers: vec!["/spec".into()],
            ..rule("apps", "Deployment")
        }],
        ..Default::default()
    };
    assert!(
        diff(Some(&desired), Some(&live), &other_name)
            .unwrap()
            .modified
    );

    // managedFieldsManagers: replicas owned by an autoscaler are not compared
    let mut desired = deployment_manifest();
    desired["spec"]["replicas"] = json!(5);
    let mut live = deployment_live();
    live["metadata"]["managedFields"] = json!([{"manager": "hpa-controller", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
    let managers = DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            managed_fields_managers: vec!["hpa-controller".into()],
            ..rule("apps", "Deployment")
        }],
        ..Default::default()
    };
    assert!(
        !diff(Some(&desired), Some(&live), &managers)
            .unwrap()
            .modified
    );
    assert!(modified(&desired, &live));
}

#[test]
fn invalid_rules_are_errors_naming_the_rule() {
    let bad_jq = DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            jq_path_expressions: vec![".spec[".into()],
            ..rule("*", "*")
        }],
        ..Default::default()
    };
    let err = Differ::new(bad_jq).unwrap_err();
    assert!(err.to_string().contains(".spec["), "{err}");
    let bad_pointer = DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            json_pointers: vec!["spec".into()],
            ..rule("*", "*")
        }],
        ..Default::default()
    };
    assert!(
        Differ::new(bad_pointer)
            .unwrap_err()
            .to_string()
            .contains("\"spec\"")
    );
}

#[test]
fn null_fields_in_built_in_manifests_are_unset_fields() {
    // Helm charts often render `strategy: null` or `resources: null`; the API server defaults them.
    let mut desired = deployment_manifest();
    desired["spec"]["strategy"] = Value::Null;
    desired["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = Value::Null;
    assert!(!modified(&desired, &deployment_live()));
    // in a custom resource a null removes the field
    let cr_desired = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"a": null}});
    let cr_live = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"a": 1}});
    assert!(modified(&cr_desired, &cr_live));
}
