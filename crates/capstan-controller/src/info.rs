//! Publishing each cluster's information for the API server, which keeps no state of its own:
//! connection status, server version and cache statistics (Argo CD's `ClusterInfo`:
//! `connectionState`, `serverVersion`, `cacheInfo{resourcesCount, apisCount, lastCacheSyncTime}`,
//! `applicationsCount`). Each is written to one ConfigMap per cluster in the control namespace
//! (labelled `capstan.dev/cluster-info`), only by the replica that owns the cluster, only when it
//! changed, at most every `info_interval`, and at least every minute (so a reader can tell fresh
//! information from that of a replica that died).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_kube::{ApplyOptions, DeleteOptions, ResourceType};
use serde_json::{Value, json};

use crate::controller::Inner;
use crate::registry::ClusterInfo;

/// Label of the ConfigMaps (value `"true"`).
pub const INFO_LABEL: &str = "capstan.dev/cluster-info";
/// Annotation with the cluster's server URL.
pub const SERVER_ANNOTATION: &str = "capstan.dev/cluster-server";
/// An unchanged cluster's information is written again after this long.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// The control cluster's version is read again after this long.
const VERSION_REFRESH: Duration = Duration::from_secs(300);

/// Argo CD's `ClusterInfo` JSON for one cluster.
pub fn info_json(info: &ClusterInfo) -> Value {
    let mut cache = json!({
        "resourcesCount": info.cached_objects,
        "apisCount": info.apis_count,
    });
    if let Some(t) = info.last_cache_sync {
        cache["lastCacheSyncTime"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    json!({
        "connectionState": {"status": info.status, "message": info.message},
        "serverVersion": info.server_version,
        "cacheInfo": cache,
        "applicationsCount": info.applications_count,
    })
}

/// The ConfigMap holding one cluster's information.
pub(crate) fn config_map(namespace: &str, replica: &str, info: &ClusterInfo) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut body = info_json(info);
    body["connectionState"]["attemptedAt"] = json!(now);
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": crate::leases::lease_name("capstan-cluster-info", &info.server),
            "namespace": namespace,
            "labels": {INFO_LABEL: "true"},
            "annotations": {SERVER_ANNOTATION: info.server},
        },
        "data": {
            "server": info.server,
            "info": body.to_string(),
            "replica": replica,
            "updatedAt": now,
        }
    })
}

/// Every cluster's information with its application count.
pub(crate) fn with_app_counts(inner: &Inner, mut infos: Vec<ClusterInfo>) -> Vec<ClusterInfo> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    if let Ok(apps) = inner.apps.read() {
        for app in apps.values() {
            if let Some(server) = inner.clusters.server_of(app) {
                *counts.entry(server).or_default() += 1;
            }
        }
    }
    for info in &mut infos {
        let server = info.server.trim_end_matches('/');
        info.applications_count = counts.get(server).copied().unwrap_or(0);
    }
    infos
}

struct Published {
    body: Value,
    at: Instant,
    name: String,
}

/// The publishing loop (until the controller stops).
pub(crate) async fn publish(inner: Arc<Inner>) {
    let interval = inner
        .config
        .cluster_timings
        .info_interval
        .max(Duration::from_millis(100));
    let replica = inner
        .config
        .sharding
        .as_ref()
        .map(|s| s.replica_id.clone())
        .unwrap_or_else(|| "capstan-controller".to_string());
    let mut rt: Option<ResourceType> = None;
    let mut published: HashMap<String, Published> = HashMap::new();
    let mut version_read: Option<Instant> = None;
    let options = ApplyOptions {
        force: true,
        field_manager: Some("capstan-controller".into()),
        ..ApplyOptions::default()
    };
    loop {
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        if version_read.is_none_or(|t| t.elapsed() > VERSION_REFRESH)
            && let Ok(v) = inner.clusters.control().server_version().await
        {
            inner.clusters.set_control_version(v);
            version_read = Some(Instant::now());
        }
        let configmaps = match &rt {
            Some(rt) => rt.clone(),
            None => match inner.control.resolve("v1", "ConfigMap").await {
                Ok(found) => {
                    rt = Some(found.clone());
                    found
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot publish cluster information");
                    continue;
                }
            },
        };
        let infos = with_app_counts(&inner, inner.clusters.info());
        let mut current = Vec::new();
        for info in infos {
            let server = info.server.trim_end_matches('/').to_string();
            if !inner.ownership.owns(&server) {
                continue;
            }
            current.push(server.clone());
            let body = info_json(&info);
            let fresh = published
                .get(&server)
                .is_some_and(|p| p.body == body && p.at.elapsed() < HEARTBEAT);
            if fresh {
                continue;
            }
            let cm = config_map(&inner.config.namespace, &replica, &info);
            match inner.control.apply(&cm, &options).await {
                Ok(_) => {
                    let name = cm["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    published.insert(
                        server,
                        Published {
                            body,
                            at: Instant::now(),
                            name,
                        },
                    );
                }
                Err(err) => tracing::warn!(%server, %err, "publishing cluster information failed"),
            }
        }
        // clusters removed (or handed to another replica): forget them; a removed cluster's
        // ConfigMap is deleted
        let known: Vec<String> = inner.clusters.slots().into_iter().map(|(s, _)| s).collect();
        let gone: Vec<String> = published
            .keys()
            .filter(|s| !current.contains(s))
            .cloned()
            .collect();
        for server in gone {
            let Some(p) = published.remove(&server) else {
                continue;
            };
            if !known.contains(&server) {
                let deleted = inner
                    .control
                    .delete(
                        &configmaps,
                        Some(&inner.config.namespace),
                        &p.name,
                        &DeleteOptions::default(),
                    )
                    .await;
                if let Err(err) = deleted {
                    tracing::debug!(%server, %err, "deleting the information of a removed cluster failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_cd_cluster_info_shape() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let info = ClusterInfo {
            server: "https://a:6443".into(),
            name: "a".into(),
            status: "Successful".into(),
            message: String::new(),
            server_version: "v1.32.0".into(),
            cached_objects: 42,
            apis_count: 7,
            last_cache_sync: Some(t),
            applications_count: 3,
        };
        assert_eq!(
            info_json(&info),
            json!({"connectionState": {"status": "Successful", "message": ""},
                   "serverVersion": "v1.32.0",
                   "cacheInfo": {"resourcesCount": 42, "apisCount": 7, "lastCacheSyncTime": "2026-01-02T03:04:05Z"},
                   "applicationsCount": 3})
        );
        let cm = config_map("argocd", "r1", &info);
        assert_eq!(cm["metadata"]["labels"][INFO_LABEL], "true");
        assert_eq!(
            cm["metadata"]["annotations"][SERVER_ANNOTATION],
            "https://a:6443"
        );
        let name = cm["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with("capstan-cluster-info-https---a-6443-") && name.len() <= 63,
            "{name}"
        );
        let stored: Value = serde_json::from_str(cm["data"]["info"].as_str().unwrap()).unwrap();
        assert_eq!(stored["cacheInfo"]["resourcesCount"], 42);
        assert!(stored["connectionState"]["attemptedAt"].is_string());
        let unsynced = ClusterInfo {
            last_cache_sync: None,
            ..info
        };
        assert!(
            info_json(&unsynced)["cacheInfo"]
                .get("lastCacheSyncTime")
                .is_none()
        );
    }
}
