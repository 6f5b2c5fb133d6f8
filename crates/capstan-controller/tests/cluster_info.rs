//! Cluster information published for the API server by sharded controller replicas: each cluster's
//! `capstan-cluster-info` ConfigMap is written by the replica holding that cluster's Lease, carries
//! Argo CD's ClusterInfo (connection state, version, cache statistics), and is deleted when the
//! cluster is removed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use capstan_controller::sharding::Algorithm;
use capstan_controller::{
    ClusterTimings, Controller, ControllerConfig, RepoGenerator, ShardingConfig,
};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_testkit::{Cluster, cluster_lease_holders, poll};
use serde_json::Value;

/// Server -> (writer replica, ClusterInfo) of every published ConfigMap.
async fn published(control: &Cluster) -> BTreeMap<String, (String, Value)> {
    let rt = control.client.resolve("v1", "ConfigMap").await.unwrap();
    let (items, _) = control
        .client
        .list(&rt, Some("argocd"), Some("capstan.dev/cluster-info=true"))
        .await
        .unwrap();
    items
        .iter()
        .filter_map(|cm| {
            let data = cm.get("data")?;
            let info: Value = serde_json::from_str(data.get("info")?.as_str()?).ok()?;
            Some((
                data.get("server")?.as_str()?.to_string(),
                (data.get("replica")?.as_str()?.to_string(), info),
            ))
        })
        .collect()
}

async fn replica(control: &Cluster, id: &str, cache: &std::path::Path) -> Controller {
    let service = RepoService::new(
        ServiceSettings::new(cache.to_path_buf()),
        Arc::new(SecretCredentials::default()),
    )
    .unwrap();
    Controller::start(
        ControllerConfig {
            status_processors: 2,
            cluster_timings: ClusterTimings {
                probe_interval: Duration::from_millis(300),
                retry_delay: Duration::from_millis(300),
                info_interval: Duration::from_millis(300),
                ..ClusterTimings::default()
            },
            sharding: Some(ShardingConfig {
                replica_id: id.into(),
                algorithm: Algorithm::RoundRobin,
                lease_duration: Duration::from_secs(3),
            }),
            ..ControllerConfig::default()
        },
        control.client.clone(),
        Arc::new(RepoGenerator::new(Arc::new(service))),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owning_replicas_publish_cluster_information() {
    let dir = tempfile::tempdir().unwrap();
    let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(100)).await;
    let destinations = control.add_destinations(dir.path(), 2).await;
    let a = replica(&control, "replica-a", &dir.path().join("cache-a")).await;
    let b = replica(&control, "replica-b", &dir.path().join("cache-b")).await;

    // every cluster's information, written by the replica holding its Lease
    let servers: Vec<String> = destinations
        .iter()
        .map(|d| d.url())
        .chain(["https://kubernetes.default.svc".to_string()])
        .collect();
    poll(
        Duration::from_secs(60),
        Duration::from_millis(200),
        async || {
            let (info, held) = (
                published(&control).await,
                cluster_lease_holders(&control).await,
            );
            let complete = servers.iter().all(|s| {
                info.get(s).is_some_and(|(writer, i)| {
                    held.get(s) == Some(writer)
                        && i["connectionState"]["status"] == "Successful"
                        && i["cacheInfo"]["resourcesCount"]
                            .as_u64()
                            .is_some_and(|n| n > 0)
                        && i["cacheInfo"]["apisCount"].as_u64().is_some_and(|n| n > 0)
                        && i["cacheInfo"]["lastCacheSyncTime"].is_string()
                        && i["serverVersion"] == "v1.32.0-capstan"
                })
            });
            // once the clusters are split between the replicas, each publishes its own
            let split =
                held.values().any(|h| h == "replica-a") && held.values().any(|h| h == "replica-b");
            if complete && split {
                Ok(())
            } else {
                Err(format!(
                    "cluster information incomplete: {info:?} (leases {held:?})"
                ))
            }
        },
    )
    .await;

    // a removed cluster's information is deleted
    control
        .delete("v1", "Secret", Some("argocd"), "dest-0")
        .await;
    let removed = destinations[0].url();
    poll(
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || {
            let info = published(&control).await;
            if !info.contains_key(&removed) && info.contains_key(&destinations[1].url()) {
                Ok(())
            } else {
                Err(format!("the removed cluster's information stays: {info:?}"))
            }
        },
    )
    .await;

    a.shutdown().await;
    b.shutdown().await;
    for d in destinations {
        d.stop().await;
    }
    control.apiserver.stop().await;
}
