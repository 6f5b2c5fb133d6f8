//! PersistentVolumeClaims bind; LoadBalancer Services and Ingresses get an address.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Requeue, Sim, event};
use crate::error::ApiResult;
use crate::meta;
use crate::registry::ResourceType;
use crate::store::ObjKey;

pub fn pvc(sim: &Sim, rt: &ResourceType, c: &Value) -> ApiResult<Requeue> {
    if c.pointer("/status/phase").and_then(Value::as_str) == Some("Bound") {
        return Ok(None);
    }
    let key = ObjKey::new("/persistentvolumeclaims", meta::namespace(c), meta::name(c));
    let seen = sim
        .pod_seen
        .lock()
        .ok()
        .map(|mut s| *s.entry(key.clone()).or_insert_with(Instant::now))
        .unwrap_or_else(Instant::now);
    let delay = sim.config.ready_delay;
    if seen.elapsed() < delay {
        return Ok(Some(
            delay
                .saturating_sub(seen.elapsed())
                .max(Duration::from_millis(10)),
        ));
    }
    if let Ok(mut s) = sim.pod_seen.lock() {
        s.remove(&key);
    }
    let volume = format!("pvc-{}", meta::uid(c));
    let storage = c
        .pointer("/spec/resources/requests/storage")
        .cloned()
        .unwrap_or(json!("1Gi"));
    let modes = c
        .pointer("/spec/accessModes")
        .cloned()
        .unwrap_or(json!(["ReadWriteOnce"]));
    sim.cluster.mutate(
        rt,
        meta::namespace(c),
        meta::name(c),
        crate::ops::Sub::Main,
        super::MANAGER,
        |v| {
            if v.pointer("/spec/volumeName").is_none() {
                v["spec"]["volumeName"] = json!(volume);
            }
        },
    )?;
    if let Some(fresh) = sim.cluster.store.get(&key) {
        sim.set_status(
            rt,
            &fresh,
            json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}}),
        )?;
    }
    event(
        sim,
        c,
        "PersistentVolumeClaim",
        "Normal",
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume {volume} (simulated)"),
        "persistentvolume-controller",
    );
    Ok(None)
}

fn address(o: &Value) -> String {
    let h = super::short_hash(&json!(meta::uid(o)));
    let b = h.as_bytes();
    format!("172.18.255.{}", (b[0] % 200) + 10)
}

pub fn service(sim: &Sim, rt: &ResourceType, s: &Value) -> ApiResult<Requeue> {
    let is_lb = s.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
    let has = s
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if is_lb && !has {
        sim.set_status(
            rt,
            s,
            json!({"loadBalancer": {"ingress": [{"ip": address(s), "ipMode": "VIP"}]}}),
        )?;
        event(
            sim,
            s,
            "Service",
            "Normal",
            "EnsuredLoadBalancer",
            "Ensured load balancer (simulated)",
            "service-controller",
        );
    } else if !is_lb && has {
        sim.set_status(rt, s, json!({"loadBalancer": {}}))?;
    }
    Ok(None)
}

pub fn ingress(sim: &Sim, rt: &ResourceType, i: &Value) -> ApiResult<Requeue> {
    let has = i
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has {
        sim.set_status(
            rt,
            i,
            json!({"loadBalancer": {"ingress": [{"ip": address(i)}]}}),
        )?;
    }
    Ok(None)
}

/// Delete core/v1 Events whose last timestamp is older than `ttl`.
pub fn expire_events(cluster: &crate::ops::Cluster, ttl: Duration) {
    let Some(rt) = cluster.registry.lookup("", "v1", "events") else {
        return;
    };
    let (events, _) = cluster.store.list(&rt.store_key(), None);
    let now = chrono::Utc::now();
    for e in events {
        let ts = ["lastTimestamp", "eventTime", "firstTimestamp"]
            .iter()
            .find_map(|k| e.get(*k).and_then(Value::as_str))
            .or_else(|| {
                e.pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
            })
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        let Some(ts) = ts else { continue };
        let age = (now - ts.with_timezone(&chrono::Utc))
            .to_std()
            .unwrap_or_default();
        if age > ttl {
            let _ = cluster.delete(
                &rt,
                meta::namespace(&e),
                meta::name(&e),
                &crate::ops::DeleteOptions::default(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::ops::{Cluster, WriteOpts};

    #[test]
    fn old_events_expire() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::new(Arc::new(crate::store::Store::open(dir.path()).unwrap()));
        let opts = WriteOpts::default();
        let ns = cluster.registry.lookup("", "v1", "namespaces").unwrap();
        cluster
            .create(&ns, "", json!({"metadata": {"name": "default"}}), &opts)
            .unwrap();
        let ev = cluster.registry.lookup("", "v1", "events").unwrap();
        let old = (chrono::Utc::now() - chrono::Duration::hours(2))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        cluster
            .create(
                &ev,
                "default",
                json!({"metadata": {"name": "old"}, "lastTimestamp": old, "involvedObject": {}}),
                &opts,
            )
            .unwrap();
        cluster.create(&ev, "default", json!({"metadata": {"name": "new"}, "lastTimestamp": meta::now(), "involvedObject": {}}), &opts).unwrap();
        expire_events(&cluster, Duration::from_secs(3600));
        let (left, _) = cluster.store.list(&ev.store_key(), None);
        let names: Vec<&str> = left.iter().map(|e| meta::name(e)).collect();
        assert_eq!(names, vec!["new"]);
    }
}
