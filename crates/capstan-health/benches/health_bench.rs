//! Health assessments per second (run with `cargo bench -p capstan-health`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use capstan_health::{HealthOverrides, assess};
use serde_json::json;

fn measure(name: &str, iterations_per_round: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        for _ in 0..iterations_per_round {
            black_box(f());
        }
        n += iterations_per_round;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("{name}: {per_sec:.0}/s ({:.2} us each)", 1e6 / per_sec);
}

fn main() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod", "generation": 7},
        "spec": {"replicas": 3}, "status": {"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"}, "spec": {"restartPolicy": "Always"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "web", "ready": true, "state": {"running": {}}}]}});
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}});
    let none = HealthOverrides::new();
    for obj in [&deployment, &pod, &service] {
        assert!(assess(obj, &none).is_some());
    }
    measure("built-in Deployment", 10_000, || {
        assess(&deployment, &none).is_some()
    });
    measure("built-in Pod", 10_000, || assess(&pod, &none).is_some());
    measure("built-in Service", 10_000, || {
        assess(&service, &none).is_some()
    });

    let mut data = BTreeMap::new();
    data.insert(
        "resource.customizations.health.apps_Deployment".to_string(),
        "hs = {}\nif obj.status ~= nil and obj.status.readyReplicas == obj.spec.replicas then\n  hs.status = 'Healthy'\nelse\n  hs.status = 'Progressing'\nend\nreturn hs\n".to_string(),
    );
    let lua = HealthOverrides::from_config_map_data(&data).unwrap();
    measure(
        "Lua override Deployment (fresh sandbox per run)",
        100,
        || assess(&deployment, &lua).is_some(),
    );
}
