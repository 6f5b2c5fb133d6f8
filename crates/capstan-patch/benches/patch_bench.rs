//! Operations per second of the patch functions on a typical Deployment and ConfigMap (run with
//! `cargo bench -p capstan-patch`). The API server calls `ssa::record_update` on every write
//! and `ssa::apply` on every server-side apply, so these bound its write throughput.

use std::hint::black_box;
use std::time::{Duration, Instant};

use capstan_patch::ssa::{self, ApplyRequest};
use capstan_patch::{apply_strategic_merge_patch, three_way_strategic_patch};
use serde_json::{Value, json};

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web", "tier": "frontend"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": image, "ports": [{"containerPort": 8080, "name": "http"}],
                 "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                 "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                {"name": "sidecar", "image": "envoy:1.30", "args": ["--config", "/etc/envoy.yaml"]}
            ], "volumes": [{"name": "config", "configMap": {"name": "web-config"}}]}}}
    })
}

fn configmap(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": format!("cm-{i}"), "namespace": "bench", "labels": {"app": "bench"}},
           "data": {"key": format!("value-{i}"), "other": "x"}})
}

fn bench(name: &str, mut f: impl FnMut()) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(700) {
        f();
        n += 1;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("{name:<48} {per_sec:>12.0} ops/s");
}

fn main() {
    let now = "2026-01-01T00:00:00Z";
    let req = ApplyRequest {
        manager: "kubectl",
        force: false,
        api_version: "apps/v1",
        kind: "Deployment",
        now,
        subresource: None,
    };
    let live = ssa::apply(None, &deployment("nginx:1.27"), &req).expect("apply");
    let changed = deployment("nginx:1.28");

    bench("ssa::record_update (ConfigMap create)", || {
        let cm = configmap(7);
        black_box(ssa::record_update(
            None,
            &cm,
            "kubectl-create",
            "v1",
            "ConfigMap",
            now,
            None,
        ));
    });
    bench("ssa::record_update (Deployment update)", || {
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(4);
        black_box(ssa::record_update(
            Some(&live),
            &new,
            "kubectl-scale",
            "apps/v1",
            "Deployment",
            now,
            None,
        ));
    });
    bench("ssa::apply (Deployment, no change)", || {
        black_box(ssa::apply(Some(&live), &deployment("nginx:1.27"), &req).expect("apply"));
    });
    bench("ssa::apply (Deployment, image change)", || {
        black_box(ssa::apply(Some(&live), &changed, &req).expect("apply"));
    });
    let patch = three_way_strategic_patch(
        Some(&deployment("nginx:1.27")),
        &changed,
        &live,
        "apps/v1",
        "Deployment",
    )
    .expect("patch");
    bench("three_way_strategic_patch (Deployment)", || {
        black_box(
            three_way_strategic_patch(
                Some(&deployment("nginx:1.27")),
                &changed,
                &live,
                "apps/v1",
                "Deployment",
            )
            .expect("patch"),
        );
    });
    bench("apply_strategic_merge_patch (Deployment)", || {
        black_box(
            apply_strategic_merge_patch(&live, &patch, "apps/v1", "Deployment").expect("apply"),
        );
    });
}
