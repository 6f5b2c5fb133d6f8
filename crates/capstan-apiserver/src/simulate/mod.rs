//! Workload simulation: what the controller-manager, scheduler and kubelets would write.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::ops::Cluster;

/// Simulation settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub enabled: bool,
    /// Delay before a created Pod becomes Ready (and other "becomes ready" steps).
    pub ready_delay: Duration,
    /// Number of simulated nodes (DaemonSets get one Pod per node).
    pub nodes: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ready_delay: Duration::from_millis(500),
            nodes: 1,
        }
    }
}

pub fn node_name(i: u32) -> String {
    format!("capstan-node-{i}")
}

pub fn node_object(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "capstan-simulated"}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "simulated node"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.32.0-capstan", "operatingSystem": "linux", "architecture": "amd64"}
        }
    })
}

pub async fn run(_cluster: Arc<Cluster>, _config: SimConfig) {}
