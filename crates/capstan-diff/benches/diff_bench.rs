//! Comparisons per second for a typical Deployment (run with `cargo bench -p capstan-diff`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use capstan_diff::{DiffOptions, Differ, IgnoreDifferencesRule};
use serde_json::{Value, json};

fn manifest() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "app.kubernetes.io/instance": "shop"},
            "annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 8080, "name": "http"}],
                 "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                 "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}},
                {"name": "sidecar", "image": "envoy:1.30", "args": ["--config", "/etc/envoy.yaml"]}
            ], "volumes": [{"name": "config", "configMap": {"name": "web-config"}}]}}}
    })
}

fn live() -> Value {
    let mut live = manifest();
    let meta = live["metadata"].as_object_mut().unwrap();
    meta.insert("namespace".into(), json!("prod"));
    meta.insert("uid".into(), json!("8f1c5a8e-1111-2222-3333-444455556666"));
    meta.insert("resourceVersion".into(), json!("123456"));
    meta.insert("generation".into(), json!(7));
    meta.insert("creationTimestamp".into(), json!("2024-05-01T00:00:00Z"));
    meta.insert("managedFields".into(), json!([{"manager": "argocd-controller", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]));
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!(manifest().to_string());
    live["spec"]["revisionHistoryLimit"] = json!(10);
    live["spec"]["progressDeadlineSeconds"] = json!(600);
    live["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    for c in live["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
    {
        c["imagePullPolicy"] = json!("IfNotPresent");
        c["terminationMessagePath"] = json!("/dev/termination-log");
        c["terminationMessagePolicy"] = json!("File");
    }
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] =
        json!("1000m");
    live["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
    live["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    live["status"] = json!({"observedGeneration": 7, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 3,
        "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]});
    live
}

fn measure(name: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        black_box(f());
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        for _ in 0..1000 {
            black_box(f());
        }
        n += 1000;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("{name}: {per_sec:.0}/s ({:.2} us each)", 1e6 / per_sec);
}

fn main() {
    if std::env::var("PARTS").is_ok() {
        parts();
        return;
    }
    let (desired, live) = (manifest(), live());
    let plain = Differ::new(DiffOptions::default()).unwrap();
    assert!(
        !plain.diff(Some(&desired), Some(&live)).unwrap().modified,
        "benchmark objects must compare equal"
    );
    measure("diff Deployment, in sync (three-way, last-applied)", || {
        plain.diff(Some(&desired), Some(&live)).unwrap().modified
    });
    assert!(!plain.is_modified(Some(&desired), Some(&live)).unwrap());
    measure(
        "is_modified Deployment, in sync (three-way, last-applied)",
        || plain.is_modified(Some(&desired), Some(&live)).unwrap(),
    );
    let mut two_way = live.clone();
    two_way["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
    measure("is_modified Deployment, in sync (two-way)", || {
        plain.is_modified(Some(&desired), Some(&two_way)).unwrap()
    });

    let mut changed = desired.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    measure("diff Deployment, image changed", || {
        plain.diff(Some(&changed), Some(&live)).unwrap().modified
    });
    measure("is_modified Deployment, image changed", || {
        plain.is_modified(Some(&changed), Some(&live)).unwrap()
    });

    let with_rules = Differ::new(DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            json_pointers: vec!["/spec/replicas".into()],
            ..Default::default()
        }],
        ..DiffOptions::default()
    })
    .unwrap();
    measure("diff Deployment with a jsonPointers rule", || {
        with_rules
            .diff(Some(&desired), Some(&live))
            .unwrap()
            .modified
    });

    let with_jq = Differ::new(DiffOptions {
        ignore_differences: vec![IgnoreDifferencesRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            jq_path_expressions: vec![
                ".spec.template.spec.containers[] | select(.name == \"sidecar\") | .image".into(),
            ],
            ..Default::default()
        }],
        ..DiffOptions::default()
    })
    .unwrap();
    measure("diff Deployment with a jqPathExpressions rule", || {
        with_jq.diff(Some(&desired), Some(&live)).unwrap().modified
    });
}

fn parts() {
    let (desired, live) = (manifest(), live());
    let plain = Differ::new(DiffOptions::default()).unwrap();
    let la = live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap()
        .to_string();
    measure("part: parse last-applied", || {
        serde_json::from_str::<Value>(&la).is_ok()
    });
    measure("part: normalize live", || {
        plain.normalized(&live, Some(&live)).is_ok()
    });
    measure("part: normalize desired", || {
        plain.normalized(&desired, Some(&live)).is_ok()
    });
    measure("part: clone live", || live.clone().is_object());
    let l2 = live.clone();
    measure("part: compare live", || l2 == live);
}
