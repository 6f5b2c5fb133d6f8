//! Lua overrides configured as in argocd-cm, deletion, and application-level aggregation.

use std::collections::BTreeMap;

use capstan_health::{HealthOverrides, ManagedResource, app_health, assess, assess_all};
use capstan_types::HealthStatus;
use serde_json::{Value, json};

fn deployment(ready: bool) -> Value {
    let available = if ready { 2 } else { 1 };
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns", "generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": available}})
}

fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn deployment_messages_follow_gitops_engine() {
    let h = assess(&deployment(false), &HealthOverrides::new()).unwrap();
    assert_eq!(h.status, HealthStatus::Progressing);
    assert_eq!(
        h.message,
        "Waiting for rollout to finish: 1 of 2 updated replicas are available..."
    );
    assert_eq!(
        assess(&deployment(true), &HealthOverrides::new())
            .unwrap()
            .status,
        HealthStatus::Healthy
    );
}

#[test]
fn deletion_timestamp_is_pending_deletion_unless_hook_finalizer() {
    let mut obj = deployment(true);
    obj["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    let h = assess(&obj, &HealthOverrides::new()).unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (HealthStatus::Progressing, "Pending deletion")
    );
    obj["metadata"]["finalizers"] = json!(["argocd.argoproj.io/hook-finalizer"]);
    assert_eq!(
        assess(&obj, &HealthOverrides::new()).unwrap().status,
        HealthStatus::Healthy
    );
}

#[test]
fn unknown_kind_has_no_health_and_unsupported_version_is_unknown() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert_eq!(assess(&cm, &HealthOverrides::new()), None);
    let mut old = deployment(true);
    old["apiVersion"] = json!("apps/v1beta2");
    let h = assess(&old, &HealthOverrides::new()).unwrap();
    assert_eq!(h.status, HealthStatus::Unknown);
    assert_eq!(
        h.message,
        "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment"
    );
}

#[test]
fn config_map_health_key_overrides_builtin_check() {
    let data = config(&[(
        "resource.customizations.health.apps_Deployment",
        "hs = {}\nhs.status = 'Degraded'\nhs.message = 'replicas=' .. obj.spec.replicas\nreturn hs\n",
    )]);
    let overrides = HealthOverrides::from_config_map_data(&data).unwrap();
    let h = assess(&deployment(true), &overrides).unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (HealthStatus::Degraded, "replicas=2")
    );
}

#[test]
fn core_group_key_and_legacy_wildcards() {
    let data = config(&[
        (
            "resource.customizations.health.ConfigMap",
            "return {status = 'Suspended'}",
        ),
        (
            "resource.customizations",
            "\"*.crossplane.io/*\":\n  health.lua: |\n    return {status = 'Healthy', message = obj.kind}\n\
             ec2.aws.crossplane.io/Instance:\n  health.lua: |\n    return {status = 'Progressing'}\n",
        ),
    ]);
    let overrides = HealthOverrides::from_config_map_data(&data).unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
    assert_eq!(
        assess(&cm, &overrides).unwrap().status,
        HealthStatus::Suspended
    );
    let bucket = json!({"apiVersion": "s3.aws.crossplane.io/v1", "kind": "Bucket"});
    let h = assess(&bucket, &overrides).unwrap();
    assert_eq!(
        (h.status, h.message.as_str()),
        (HealthStatus::Healthy, "Bucket")
    );
    // the exact key wins over the wildcard
    let instance = json!({"apiVersion": "ec2.aws.crossplane.io/v1", "kind": "Instance"});
    assert_eq!(
        assess(&instance, &overrides).unwrap().status,
        HealthStatus::Progressing
    );
    let other = json!({"apiVersion": "example.com/v1", "kind": "Bucket"});
    assert_eq!(assess(&other, &overrides), None);
}

#[test]
fn failing_scripts_give_unknown_with_the_error() {
    let data = config(&[
        (
            "resource.customizations.health.example.com_Loop",
            "while true do end",
        ),
        (
            "resource.customizations.health.example.com_Exec",
            "os.execute('id') return {status='Healthy'}",
        ),
    ]);
    let overrides = HealthOverrides::from_config_map_data(&data).unwrap();
    let started = std::time::Instant::now();
    let h = assess(
        &json!({"apiVersion": "example.com/v1", "kind": "Loop"}),
        &overrides,
    )
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_millis(1500));
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("time limit"), "{}", h.message);
    let h = assess(
        &json!({"apiVersion": "example.com/v1", "kind": "Exec"}),
        &overrides,
    )
    .unwrap();
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("os.execute is refused"), "{}", h.message);
}

#[test]
fn malformed_keys_are_errors_naming_the_key() {
    let err = HealthOverrides::from_config_map_data(&config(&[(
        "resource.customizations.health.a_b_c",
        "x",
    )]))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("resource.customizations.health.a_b_c"),
        "{err}"
    );
    let err = HealthOverrides::from_config_map_data(&config(&[(
        "resource.customizations",
        "[not a map",
    )]))
    .unwrap_err();
    assert!(err.to_string().contains("resource.customizations"), "{err}");
}

fn pod(name: &str, phase: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations},
        "spec": {"restartPolicy": "Always"}, "status": {"phase": phase}})
}

fn r(live: &Value) -> ManagedResource<'_> {
    ManagedResource {
        target: None,
        live: Some(live),
    }
}
fn both(v: &Value) -> ManagedResource<'_> {
    ManagedResource {
        target: Some(v),
        live: Some(v),
    }
}
fn missing(v: &Value) -> ManagedResource<'_> {
    ManagedResource {
        target: Some(v),
        live: None,
    }
}

#[test]
fn application_health_is_the_worst_with_argo_exclusions() {
    let o = HealthOverrides::new();
    let healthy = deployment(true);
    let progressing = deployment(false);
    let failed = pod("p", "Failed", json!({}));
    let ignored_failed = pod(
        "i",
        "Failed",
        json!({"argocd.argoproj.io/ignore-healthcheck": "true"}),
    );
    let hook_failed = pod(
        "h",
        "Failed",
        json!({"argocd.argoproj.io/hook": "PostSync"}),
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});

    assert_eq!(
        app_health(&[r(&healthy), r(&cm)], &o).status,
        HealthStatus::Healthy
    );
    assert_eq!(
        app_health(&[r(&healthy), r(&progressing)], &o).status,
        HealthStatus::Progressing
    );
    assert_eq!(
        app_health(&[both(&progressing), r(&failed)], &o).status,
        HealthStatus::Degraded
    );
    // ignore-healthcheck resources and hooks have no health and are left out of the aggregate
    let app = app_health(&[r(&healthy), r(&ignored_failed), r(&hook_failed)], &o);
    assert_eq!(app.status, HealthStatus::Healthy);
    assert_eq!(app.resources[1], None);
    assert_eq!(app.resources[2], None);
    assert_eq!(assess_all([&ignored_failed], &o)[0].health, None);
    assert_eq!(
        assess(&ignored_failed, &o).unwrap().status,
        HealthStatus::Degraded
    );
    // a missing resource is shown as Missing but does not make the app Missing ...
    let app = app_health(&[r(&healthy), missing(&cm)], &o);
    assert_eq!(app.status, HealthStatus::Healthy);
    assert_eq!(
        app.resources[1].as_ref().unwrap().status,
        HealthStatus::Missing
    );
    // ... unless nothing exists at all
    assert_eq!(
        app_health(&[missing(&cm), missing(&healthy)], &o).status,
        HealthStatus::Missing
    );
    assert_eq!(app_health(&[], &o).status, HealthStatus::Healthy);
}

#[test]
fn suspended_job_counts_as_healthy_in_the_application() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "status": {"conditions": [{"type": "Suspended", "status": "True", "message": "Job suspended"}]}});
    let app = app_health(
        &[ManagedResource {
            target: None,
            live: Some(&job),
        }],
        &HealthOverrides::new(),
    );
    assert_eq!(app.status, HealthStatus::Healthy);
    assert_eq!(
        app.resources[0].as_ref().unwrap().status,
        HealthStatus::Suspended
    );
}

#[test]
fn assess_all_reports_identity_and_serialises() {
    let objs = [
        deployment(true),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    ];
    let all = assess_all(objs.iter(), &HealthOverrides::new());
    assert_eq!(all.len(), 2);
    assert_eq!(
        (
            all[0].group.as_str(),
            all[0].kind.as_str(),
            all[0].namespace.as_str()
        ),
        ("apps", "Deployment", "ns")
    );
    assert_eq!(all[1].health, None);
    let text = serde_json::to_value(&all).unwrap();
    assert_eq!(text[0]["health"], json!({"status": "Healthy"}));
}

#[test]
fn from_config_map_object_and_thread_safety() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"},
        "data": {"resource.customizations.health.ConfigMap": "return {status = 'Degraded'}", "url": "https://cd"}});
    let overrides = HealthOverrides::from_config_map(&cm).unwrap();
    assert_eq!(
        assess(
            &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            &overrides
        )
        .unwrap()
        .status,
        HealthStatus::Degraded
    );
    let not_cm = json!({"apiVersion": "v1", "kind": "Secret", "data": {}});
    assert!(
        HealthOverrides::from_config_map(&not_cm)
            .unwrap_err()
            .to_string()
            .contains("Secret")
    );
    fn send_sync<T: Send + Sync>() {}
    send_sync::<HealthOverrides>();
}

#[test]
fn an_app_managing_itself_does_not_affect_its_own_health() {
    use capstan_health::app_health_of;
    let me = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "root", "namespace": "argocd"}});
    let degraded_pod = pod("p", "Failed", json!({}));
    let app_script = HealthOverrides::from_config_map_data(&config(&[(
        "resource.customizations.health.argoproj.io_Application",
        "return {status = 'Degraded'}",
    )]))
    .unwrap();
    let resources = [r(&me)];
    assert_eq!(
        app_health(&resources, &app_script).status,
        HealthStatus::Degraded
    );
    let own = app_health_of("argocd", "root", &resources, &app_script);
    assert_eq!(own.status, HealthStatus::Healthy);
    assert_eq!(own.resources, [None]);
    assert_eq!(
        app_health_of("argocd", "other", &resources, &app_script).status,
        HealthStatus::Degraded
    );
    assert_eq!(
        app_health_of("argocd", "root", &[r(&me), r(&degraded_pod)], &app_script).status,
        HealthStatus::Degraded
    );
}
