//! Controller replicas sharing clusters through coordination.k8s.io Leases, with Kubernetes as the
//! only coordinator. Each replica renews a replica Lease (its announcement); the live replicas,
//! sorted, give every replica its shard index, and the sharding algorithm gives every cluster a
//! shard. A replica works on a cluster only while it holds that cluster's Lease: it takes a Lease
//! only when it is free or expired, renews it every third of the lease duration, stops acting on it
//! well before it could expire, and releases it when the cluster belongs to another replica. When a
//! replica dies, its Leases expire and the others take its clusters over.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use capstan_kube::{ClusterClient, KubeError, ResourceType};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::sharding::{Algorithm, ClusterSlot, assign};

/// Sharding settings of one replica.
#[derive(Debug, Clone)]
pub struct ShardingConfig {
    /// This replica's identity (the pod name on Kubernetes).
    pub replica_id: String,
    /// How clusters are placed on shards.
    pub algorithm: Algorithm,
    /// Lease duration: a dead replica's clusters move within about this time.
    pub lease_duration: Duration,
}

const LABEL: &str = "capstan.dev/controller-lease";

/// What this replica may work on now.
#[derive(Default)]
pub(crate) struct Ownership {
    /// Sharding enabled: without it this replica owns everything.
    enabled: bool,
    /// Server URL -> until when this replica may act on it.
    owned: RwLock<HashMap<String, Instant>>,
    /// Index of this replica among the live ones (index 0 handles applications without a cluster).
    first: RwLock<bool>,
}

impl Ownership {
    pub(crate) fn everything() -> Arc<Ownership> {
        Arc::new(Ownership::default())
    }

    pub(crate) fn sharded() -> Arc<Ownership> {
        Arc::new(Ownership {
            enabled: true,
            ..Ownership::default()
        })
    }

    /// True when this replica may refresh and sync applications of `server`.
    pub(crate) fn owns(&self, server: &str) -> bool {
        if !self.enabled {
            return true;
        }
        self.owned
            .read()
            .ok()
            .and_then(|o| o.get(server).copied())
            .is_some_and(|until| until > Instant::now())
    }

    /// True when this replica reports on applications whose destination resolves to no cluster.
    pub(crate) fn owns_unplaced(&self) -> bool {
        !self.enabled || self.first.read().map(|f| *f).unwrap_or(false)
    }

    /// Servers owned now.
    pub(crate) fn owned_servers(&self) -> Vec<String> {
        let now = Instant::now();
        self.owned
            .read()
            .map(|o| {
                o.iter()
                    .filter(|(_, until)| **until > now)
                    .map(|(s, _)| s.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) fn lease_name(prefix: &str, key: &str) -> String {
    let cleaned: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let hash = crate::sharding::fnv1a(key);
    // one DNS label (at most 63 characters): a readable part and a hash that keeps names distinct
    let room = 63usize.saturating_sub(prefix.len() + 10);
    let short: String = cleaned.trim_matches('-').chars().take(room).collect();
    let short = short.trim_matches('-');
    if short.is_empty() {
        format!("{prefix}-{hash:08x}")
    } else {
        format!("{prefix}-{short}-{hash:08x}")
    }
}

fn micro_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The holder of a Lease and whether it is still valid at `now`.
pub(crate) fn holder(lease: &Value, now: DateTime<Utc>) -> Option<String> {
    let spec = lease.get("spec")?;
    let who = spec.get("holderIdentity")?.as_str()?;
    if who.is_empty() {
        return None;
    }
    let renewed = spec
        .get("renewTime")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    let seconds = spec.get("leaseDurationSeconds").and_then(Value::as_i64)?;
    (renewed + chrono::Duration::seconds(seconds) > now).then(|| who.to_string())
}

fn lease_object(
    name: &str,
    namespace: &str,
    kind_label: &str,
    holder: &str,
    duration: Duration,
    previous: Option<&Value>,
    server: Option<&str>,
) -> Value {
    let now = micro_time(Utc::now());
    let previous_holder = previous
        .and_then(|p| p.pointer("/spec/holderIdentity"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let transitions = previous
        .and_then(|p| p.pointer("/spec/leaseTransitions"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
        + i64::from(previous_holder != holder && !holder.is_empty());
    let acquire = if previous_holder == holder {
        previous
            .and_then(|p| p.pointer("/spec/acquireTime"))
            .cloned()
            .unwrap_or_else(|| json!(now))
    } else {
        json!(now)
    };
    let mut obj = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL: kind_label}},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration.as_secs().max(1),
            "acquireTime": acquire,
            "renewTime": now,
            "leaseTransitions": transitions,
        }
    });
    if let Some(server) = server {
        obj["metadata"]["annotations"] = json!({"capstan.dev/cluster-server": server});
    }
    if let Some(rv) = previous.and_then(|p| p.pointer("/metadata/resourceVersion")) {
        obj["metadata"]["resourceVersion"] = rv.clone();
    }
    obj
}

/// Writes a Lease: create when there is none, otherwise replace (with the resourceVersion read, so a
/// concurrent writer makes this fail with a conflict instead of both succeeding).
async fn write_lease(
    client: &ClusterClient,
    desired: &Value,
    existed: bool,
) -> Result<(), KubeError> {
    if existed {
        client.replace(desired, false).await.map(|_| ())
    } else {
        client.create(desired, false).await.map(|_| ())
    }
}

/// The coordination loop of one replica.
pub(crate) struct Coordinator {
    pub(crate) config: ShardingConfig,
    pub(crate) control: ClusterClient,
    pub(crate) namespace: String,
    pub(crate) ownership: Arc<Ownership>,
    pub(crate) clusters: Arc<crate::registry::ClusterRegistry>,
    pub(crate) events: mpsc::UnboundedSender<String>,
    pub(crate) cancel: CancellationToken,
}

impl Coordinator {
    pub(crate) async fn run(self) {
        let rt = match self
            .control
            .resolve("coordination.k8s.io/v1", "Lease")
            .await
        {
            Ok(rt) => rt,
            Err(err) => {
                tracing::error!(%err, "Leases are not served; sharding cannot work");
                return;
            }
        };
        let interval = (self.config.lease_duration / 3).max(Duration::from_millis(200));
        loop {
            if let Err(err) = self.round(&rt).await {
                tracing::warn!(%err, "shard coordination round failed");
            }
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
        // leave cleanly: give up every Lease so the others need not wait for expiry
        self.release_all(&rt).await;
    }

    async fn release_all(&self, rt: &ResourceType) {
        if let Ok(mut owned) = self.ownership.owned.write() {
            owned.clear();
        }
        let Ok((leases, _)) = self
            .control
            .list(rt, Some(&self.namespace), Some(LABEL))
            .await
        else {
            return;
        };
        for lease in leases {
            let mine = lease
                .pointer("/spec/holderIdentity")
                .and_then(Value::as_str)
                == Some(self.config.replica_id.as_str());
            if !mine {
                continue;
            }
            let name = lease
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let label = lease
                .pointer(&format!("/metadata/labels/{}", LABEL.replace('/', "~1")))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let released = lease_object(
                name,
                &self.namespace,
                label,
                "",
                self.config.lease_duration,
                Some(&lease),
                None,
            );
            let _ = self.control.replace(&released, false).await;
        }
    }

    async fn round(&self, rt: &ResourceType) -> Result<(), KubeError> {
        let me = self.config.replica_id.as_str();
        let duration = self.config.lease_duration;
        // 1. announce this replica
        let own_name = lease_name("capstan-replica", me);
        let previous = self
            .control
            .get(rt, Some(&self.namespace), &own_name)
            .await?;
        let announce = lease_object(
            &own_name,
            &self.namespace,
            "replica",
            me,
            duration,
            previous.as_ref(),
            None,
        );
        write_lease(&self.control, &announce, previous.is_some()).await?;
        // 2. the live replicas and the leases of clusters
        let now = Utc::now();
        let (leases, _) = self
            .control
            .list(rt, Some(&self.namespace), Some(LABEL))
            .await?;
        let label_of = |l: &Value| {
            l.pointer(&format!("/metadata/labels/{}", LABEL.replace('/', "~1")))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut replicas: Vec<String> = leases
            .iter()
            .filter(|l| label_of(l).as_deref() == Some("replica"))
            .filter_map(|l| holder(l, now))
            .collect();
        if !replicas.iter().any(|r| r == me) {
            replicas.push(me.to_string());
        }
        replicas.sort();
        replicas.dedup();
        let index = replicas.iter().position(|r| r == me).unwrap_or(0);
        if let Ok(mut first) = self.ownership.first.write() {
            *first = index == 0;
        }
        let by_name: BTreeMap<String, Value> = leases
            .into_iter()
            .filter(|l| label_of(l).as_deref() == Some("cluster"))
            .filter_map(|l| {
                let name = l.pointer("/metadata/name")?.as_str()?.to_string();
                Some((name, l))
            })
            .collect();
        // 3. place the clusters, then take, renew or release their leases
        let slots = self.clusters.slots();
        let placement = assign(
            self.config.algorithm,
            &slots
                .iter()
                .map(|(_, s)| s.clone())
                .collect::<Vec<ClusterSlot>>(),
            u32::try_from(replicas.len()).unwrap_or(1),
        );
        let mut changed = Vec::new();
        for (server, slot) in &slots {
            let wanted = placement.get(&slot.id).copied() == u32::try_from(index).ok();
            let name = lease_name("capstan-cluster", server);
            let current = by_name.get(&name);
            let held_by = current.and_then(|l| holder(l, now));
            let before = self.ownership.owns(server);
            let acquired = if wanted {
                match held_by.as_deref() {
                    Some(h) if h != me => false,
                    _ => {
                        let desired = lease_object(
                            &name,
                            &self.namespace,
                            "cluster",
                            me,
                            duration,
                            current,
                            Some(server),
                        );
                        match write_lease(&self.control, &desired, current.is_some()).await {
                            Ok(()) => true,
                            Err(err) if err.is_conflict() => {
                                tracing::debug!(%server, %err, "cluster lease taken by another replica");
                                false
                            }
                            Err(err) => {
                                tracing::warn!(%server, %err, "writing the cluster lease failed");
                                false
                            }
                        }
                    }
                }
            } else {
                false
            };
            if acquired {
                // act only for two thirds of the lease, so a replica that stops renewing stops
                // acting before anyone else may take the lease
                let until = Instant::now() + duration * 2 / 3;
                if let Ok(mut owned) = self.ownership.owned.write() {
                    owned.insert(server.clone(), until);
                }
            } else {
                if let Ok(mut owned) = self.ownership.owned.write() {
                    owned.remove(server);
                }
                if held_by.as_deref() == Some(me) {
                    let released = lease_object(
                        &name,
                        &self.namespace,
                        "cluster",
                        "",
                        duration,
                        current,
                        Some(server),
                    );
                    if let Err(err) = self.control.replace(&released, false).await {
                        tracing::debug!(%server, %err, "releasing a cluster lease failed");
                    }
                }
            }
            if before != acquired {
                tracing::info!(replica = me, %server, owned = acquired, "cluster ownership changed");
                changed.push(server.clone());
            }
        }
        for server in changed {
            let _ = self.events.send(server);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_is_valid_only_until_expiry() {
        let now = Utc::now();
        let lease = |renewed: DateTime<Utc>, who: &str| {
            json!({"spec": {"holderIdentity": who, "leaseDurationSeconds": 10,
                "renewTime": micro_time(renewed)}})
        };
        assert_eq!(
            holder(&lease(now - chrono::Duration::seconds(3), "a"), now),
            Some("a".to_string())
        );
        assert_eq!(
            holder(&lease(now - chrono::Duration::seconds(11), "a"), now),
            None
        );
        assert_eq!(holder(&lease(now, ""), now), None);
        assert_eq!(holder(&json!({"spec": {}}), now), None);
    }

    #[test]
    fn lease_names_are_valid_and_distinct() {
        let a = lease_name("capstan-cluster", "https://10.0.0.1:6443");
        let b = lease_name("capstan-cluster", "https://10.0.0.2:6443");
        assert_ne!(a, b);
        assert!(a.len() <= 63, "{a}");
        let long = lease_name("capstan-cluster", "https://kubernetes.default.svc");
        assert!(long.len() <= 63, "{long}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn transitions_count_changes_of_holder() {
        let first = lease_object(
            "l",
            "argocd",
            "cluster",
            "a",
            Duration::from_secs(9),
            None,
            None,
        );
        assert_eq!(first["spec"]["leaseTransitions"], 1);
        let renewed = lease_object(
            "l",
            "argocd",
            "cluster",
            "a",
            Duration::from_secs(9),
            Some(&first),
            None,
        );
        assert_eq!(renewed["spec"]["leaseTransitions"], 1);
        assert_eq!(renewed["spec"]["acquireTime"], first["spec"]["acquireTime"]);
        let taken = lease_object(
            "l",
            "argocd",
            "cluster",
            "b",
            Duration::from_secs(9),
            Some(&renewed),
            None,
        );
        assert_eq!(taken["spec"]["leaseTransitions"], 2);
    }

    #[test]
    fn ownership_without_sharding_is_total() {
        let all = Ownership::everything();
        assert!(all.owns("https://anything"));
        assert!(all.owns_unplaced());
        let sharded = Ownership::sharded();
        assert!(!sharded.owns("https://anything"));
        sharded
            .owned
            .write()
            .unwrap()
            .insert("https://a".into(), Instant::now() + Duration::from_secs(5));
        sharded
            .owned
            .write()
            .unwrap()
            .insert("https://b".into(), Instant::now() - Duration::from_secs(1));
        assert!(sharded.owns("https://a"));
        assert!(!sharded.owns("https://b"));
        assert_eq!(sharded.owned_servers(), vec!["https://a".to_string()]);
    }
}
