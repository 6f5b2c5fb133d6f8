//! Workload simulation: what the controller-manager, scheduler and kubelets would write, so
//! that health moves as on a real cluster. See README.md for the rules and the deliberate
//! failure triggers.

mod apps;
mod jobs;
mod misc;
mod pods;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::ApiResult;
use crate::meta;
use crate::ops::{Cluster, DeleteOptions, Sub, WriteOpts};
use crate::registry::ResourceType;
use crate::store::ObjKey;

/// Events older than this are deleted, as kube-apiserver's default `--event-ttl` does.
pub const EVENT_TTL: Duration = Duration::from_secs(3600);

/// Field manager of every simulated write.
pub const MANAGER: &str = "kube-controller-manager";

/// Simulation settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub enabled: bool,
    /// Delay before a created Pod becomes Ready (and before PVCs bind, Jobs complete, ...).
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
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "node.capstan.dev/simulated": "true"}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status (simulated)"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.32.0-capstan", "operatingSystem": "linux", "architecture": "amd64", "containerRuntimeVersion": "simulated://1.0"}
        }
    })
}

/// Kinds the simulator reconciles, by storage key.
const WATCHED: [&str; 9] = [
    "apps/deployments",
    "apps/replicasets",
    "apps/statefulsets",
    "apps/daemonsets",
    "/pods",
    "batch/jobs",
    "/persistentvolumeclaims",
    "/services",
    "networking.k8s.io/ingresses",
];

/// Shared state of reconcilers.
pub(crate) struct Sim {
    pub cluster: Arc<Cluster>,
    pub config: SimConfig,
    /// When a Pod was first seen pending (to time its start).
    pub pod_seen: std::sync::Mutex<HashMap<ObjKey, Instant>>,
}

/// Requeue requests returned by reconcilers.
pub(crate) type Requeue = Option<Duration>;

impl Sim {
    pub fn rt(&self, group: &str, version: &str, resource: &str) -> Option<Arc<ResourceType>> {
        self.cluster.registry.lookup(group, version, resource)
    }

    pub fn opts(&self) -> WriteOpts {
        WriteOpts {
            field_manager: Some(MANAGER.into()),
            ..Default::default()
        }
    }

    pub fn create(&self, rt: &ResourceType, ns: &str, obj: Value) -> ApiResult<Value> {
        match self.cluster.create(rt, ns, obj, &self.opts()) {
            Ok(o) => Ok(o.object),
            Err(e) if e.code == 409 || e.code == 403 || e.code == 404 => Ok(Value::Null),
            Err(e) => Err(e),
        }
    }

    pub fn set_status(&self, rt: &ResourceType, o: &Value, status: Value) -> ApiResult<()> {
        let sub = if rt.status { Sub::Status } else { Sub::Main };
        self.cluster
            .mutate(rt, meta::namespace(o), meta::name(o), sub, MANAGER, |v| {
                v["status"] = status
            })?;
        Ok(())
    }

    pub fn delete(&self, rt: &ResourceType, o: &Value) -> ApiResult<()> {
        match self.cluster.delete(
            rt,
            meta::namespace(o),
            meta::name(o),
            &DeleteOptions::default(),
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Objects of `rkey` in `ns` controlled by `owner_uid`.
    pub fn owned(&self, rkey: &str, ns: &str, owner_uid: &str) -> Vec<Arc<Value>> {
        let (objs, _) = self.cluster.store.list(rkey, Some(ns));
        objs.into_iter()
            .filter(|o| controller_uid(o) == Some(owner_uid))
            .collect()
    }
}

/// The uid of the controlling owner.
pub fn controller_uid(o: &Value) -> Option<&str> {
    o.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
}

/// An ownerReference to `o` (controller).
pub fn owner_ref(api_version: &str, kind: &str, o: &Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta::name(o), "uid": meta::uid(o), "controller": true, "blockOwnerDeletion": true})
}

/// A short stable hash, as a pod-template-hash looks.
pub fn short_hash(v: &Value) -> String {
    let s = v.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHA[((h >> (i * 6)) % ALPHA.len() as u64) as usize] as char)
        .collect()
}

/// Find the object for a key with its type.
fn load(cluster: &Cluster, key: &ObjKey) -> Option<(Arc<ResourceType>, Arc<Value>)> {
    let rt = cluster
        .registry
        .storage_types()
        .into_iter()
        .find(|t| t.store_key() == key.rkey)?;
    let o = cluster.store.get(key)?;
    Some((rt, o))
}

fn reconcile(sim: &Sim, key: &ObjKey) -> ApiResult<Requeue> {
    let Some((rt, o)) = load(&sim.cluster, key) else {
        if key.rkey == "/pods"
            && let Ok(mut seen) = sim.pod_seen.lock()
        {
            seen.remove(key);
        }
        return Ok(None);
    };
    if meta::deletion_timestamp(&o).is_some() {
        return Ok(None);
    }
    match key.rkey.as_str() {
        "apps/deployments" => apps::deployment(sim, &rt, &o),
        "apps/replicasets" => apps::replicaset(sim, &rt, &o),
        "apps/statefulsets" => apps::statefulset(sim, &rt, &o),
        "apps/daemonsets" => apps::daemonset(sim, &rt, &o),
        "/pods" => pods::pod(sim, &rt, key, &o),
        "batch/jobs" => jobs::job(sim, &rt, &o),
        "/persistentvolumeclaims" => misc::pvc(sim, &rt, &o),
        "/services" => misc::service(sim, &rt, &o),
        "networking.k8s.io/ingresses" => misc::ingress(sim, &rt, &o),
        _ => Ok(None),
    }
}

/// Keys to reconcile for a change: the object and its controlling owner.
fn keys_for(cluster: &Cluster, ev: &crate::store::Event) -> Vec<ObjKey> {
    let mut out = Vec::new();
    if WATCHED.contains(&ev.key.rkey.as_str()) {
        out.push(ev.key.clone());
    }
    // Only Pods and ReplicaSets have owners the simulation reconciles.
    if !matches!(ev.key.rkey.as_str(), "/pods" | "apps/replicasets") {
        return out;
    }
    let object = ev.object();
    if let Some(refs) = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
    {
        for r in refs
            .iter()
            .filter(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        {
            let (Some(av), Some(kind), Some(name)) = (
                r.get("apiVersion").and_then(Value::as_str),
                r.get("kind").and_then(Value::as_str),
                r.get("name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(rt) = cluster.registry.by_kind(av, kind) {
                let k = Cluster::key(&rt, &ev.key.ns, name);
                if WATCHED.contains(&k.rkey.as_str()) {
                    out.push(k);
                }
            }
        }
    }
    out
}

/// The simulation loop.
pub async fn run(cluster: Arc<Cluster>, config: SimConfig) {
    let mut rx = cluster.store.subscribe_all();
    let sim = Arc::new(Sim {
        cluster: cluster.clone(),
        config,
        pod_seen: Default::default(),
    });
    let mut queue: HashMap<ObjKey, Instant> = HashMap::new();
    let mut expiry = tokio::time::interval(Duration::from_secs(60));
    // Start by reconciling everything already stored (e.g. after a restart).
    for rkey in WATCHED {
        let (objs, _) = cluster.store.list(rkey, None);
        for o in objs {
            queue.insert(
                ObjKey::new(rkey, meta::namespace(&o), meta::name(&o)),
                Instant::now(),
            );
        }
    }
    loop {
        let next = queue.values().min().copied();
        let sleep_for = next
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = expiry.tick() => {
                let c = cluster.clone();
                let _ = tokio::task::spawn_blocking(move || misc::expire_events(&c, EVENT_TTL)).await;
            }
            msg = rx.recv() => match msg {
                Ok(ev) => {
                    for k in keys_for(&cluster, &ev) {
                        queue.entry(k).or_insert_with(Instant::now);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    for rkey in WATCHED {
                        let (objs, _) = cluster.store.list(rkey, None);
                        for o in objs {
                            queue.entry(ObjKey::new(rkey, meta::namespace(&o), meta::name(&o))).or_insert_with(Instant::now);
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(sleep_for) => {
                let now = Instant::now();
                let due: Vec<ObjKey> = queue.iter().filter(|(_, t)| **t <= now).map(|(k, _)| k.clone()).collect();
                for k in &due {
                    queue.remove(k);
                }
                let s = sim.clone();
                let results = tokio::task::spawn_blocking(move || {
                    due.into_iter().map(|k| { let r = reconcile(&s, &k); (k, r) }).collect::<Vec<_>>()
                }).await;
                let Ok(results) = results else { continue };
                for (k, r) in results {
                    match r {
                        Ok(Some(after)) => {
                            let at = Instant::now() + after;
                            let e = queue.entry(k).or_insert(at);
                            if *e > at { *e = at; }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(key = ?k, error = %e, "simulation step failed; retrying");
                            queue.entry(k).or_insert(Instant::now() + Duration::from_secs(1));
                        }
                    }
                }
            }
        }
    }
}

/// Record a core/v1 Event about `o`.
pub(crate) fn event(
    sim: &Sim,
    o: &Value,
    kind: &str,
    ty: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let Some(rt) = sim.rt("", "v1", "events") else {
        return;
    };
    let ns = meta::namespace(o);
    let ns = if ns.is_empty() { "default" } else { ns };
    let now = meta::now();
    let name = format!(
        "{}.{}",
        meta::name(o),
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let ev = json!({
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": kind, "namespace": meta::namespace(o), "name": meta::name(o), "uid": meta::uid(o), "apiVersion": o.get("apiVersion").cloned().unwrap_or(Value::Null), "resourceVersion": meta::resource_version(o)},
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": ty,
        "reportingComponent": component,
        "reportingInstance": ""
    });
    let _ = sim.create(&rt, ns, ev);
}
