//! Many clusters: a control-plane apiserver and two destination apiservers registered with cluster
//! Secrets (one plain HTTP, one HTTPS with a bearer token and caData). Applications land in their own
//! cluster; a stopped cluster shows its error while the others keep syncing, and recovers without a
//! restart; a removed cluster Secret turns its applications into a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use capstan_controller::{ClusterTimings, Controller, ControllerConfig, RepoGenerator};
use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_testkit::{Cluster, GitRepo, health, poll, probe_config_map, sync_status};
use serde_json::{Value, json};

const TOKEN: &str = "west-token-0123456789";

async fn destination(dir: &Path, addr: SocketAddr, tls: bool) -> capstan_apiserver::Running {
    let mut config = capstan_apiserver::Config::new(addr, dir.to_path_buf());
    if tls {
        config.tls = true;
        config.token = Some(TOKEN.to_string());
    }
    capstan_apiserver::start(config)
        .await
        .expect("destination apiserver starts")
}

async fn client_of(running: &capstan_apiserver::Running) -> ClusterClient {
    ClusterClient::from_kubeconfig(&running.kubeconfig, None, ConnectOptions::default())
        .await
        .unwrap()
}

/// The cluster Secret `cluster-NAME` of the cluster `name`.
fn cluster_secret(name: &str, server: &str, config: Value) -> Value {
    capstan_testkit::cluster_secret(&format!("cluster-{name}"), name, server, &config)
}

async fn probe_value(client: &ClusterClient) -> Option<(String, String)> {
    let rt = client.resolve("v1", "ConfigMap").await.unwrap();
    let cm = client.get(&rt, Some("default"), "probe").await.ok()??;
    let value = cm.pointer("/data/value")?.as_str()?.to_string();
    let owner = cm
        .pointer("/metadata/labels/app.kubernetes.io~1instance")
        .or_else(|| cm.pointer("/metadata/annotations/argocd.argoproj.io~1tracking-id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((value, owner))
}

async fn wait_probe(client: &ClusterClient, value: &str, owner: &str) {
    poll(
        Duration::from_secs(30),
        Duration::from_millis(100),
        async || {
            let seen = probe_value(client).await;
            if let Some((v, o)) = &seen
                && v == value
                && o.starts_with(owner)
            {
                return Ok(());
            }
            Err(format!(
                "{}: expected probe={value} owned by {owner}, saw {seen:?}",
                client.server()
            ))
        },
    )
    .await;
}

fn conditions(app: &Value) -> String {
    app.pointer("/status/conditions")
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn synced_healthy(app: &Value) -> bool {
    sync_status(app) == "Synced" && health(app) == "Healthy"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn applications_deploy_to_their_clusters_and_survive_a_cluster_outage() {
    let dir = tempfile::tempdir().unwrap();
    let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(200)).await;
    let east_dir = dir.path().join("east");
    let east = destination(&east_dir, "127.0.0.1:0".parse().unwrap(), false).await;
    let east_addr = east.addr;
    let west = destination(
        &dir.path().join("west"),
        "127.0.0.1:0".parse().unwrap(),
        true,
    )
    .await;
    let east_client = client_of(&east).await;
    let west_client = client_of(&west).await;

    let repo = GitRepo::init(&dir.path().join("repo"));
    repo.commit(&[("cm/probe.yaml", &probe_config_map("one"))], &[]);

    // east: plain HTTP, no credentials; west: HTTPS, bearer token, CA from its certificate
    control
        .apply(&cluster_secret("east", &east.url(), json!({})))
        .await;
    let ca = std::fs::read(dir.path().join("west/tls.crt")).unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(ca);
    control
        .apply(&cluster_secret(
            "west",
            &west.url(),
            json!({"bearerToken": TOKEN, "tlsClientConfig": {"insecure": false, "caData": ca}}),
        ))
        .await;

    let service = RepoService::new(
        ServiceSettings::new(dir.path().join("repo-server")),
        Arc::new(SecretCredentials::default()),
    )
    .unwrap();
    let config = ControllerConfig {
        wave_delay: Duration::from_millis(200),
        poll_interval: Duration::from_millis(100),
        status_processors: 4,
        cluster_timings: ClusterTimings {
            probe_interval: Duration::from_millis(300),
            connect_timeout: Duration::from_secs(20),
            retry_delay: Duration::from_millis(300),
            ..ClusterTimings::default()
        },
        ..ControllerConfig::default()
    };
    let controller = Controller::start(
        config,
        control.client.clone(),
        Arc::new(RepoGenerator::new(Arc::new(service))),
    )
    .await
    .unwrap();

    let auto = json!({"automated": {"prune": true, "selfHeal": true}});
    let mut east_app =
        capstan_testkit::application("to-east", &repo.url(), "cm", "default", auto.clone());
    east_app["spec"]["destination"] = json!({"server": east.url(), "namespace": "default"});
    let mut west_app =
        capstan_testkit::application("to-west", &repo.url(), "cm", "default", auto.clone());
    west_app["spec"]["destination"] = json!({"name": "west", "namespace": "default"});
    let local_app = capstan_testkit::application("to-local", &repo.url(), "cm", "default", auto);
    for app in [&east_app, &west_app, &local_app] {
        control.apply(app).await;
    }
    for name in ["to-east", "to-west", "to-local"] {
        control
            .wait_app(name, Duration::from_secs(60), synced_healthy)
            .await;
    }
    // each application's ConfigMap is in its own cluster, tracked by it
    wait_probe(&east_client, "one", "to-east").await;
    wait_probe(&west_client, "one", "to-west").await;
    wait_probe(&control.client, "one", "to-local").await;

    let info = controller.clusters();
    let west_info = info.iter().find(|c| c.name == "west").expect("west listed");
    assert_eq!(west_info.status, "Successful", "{info:?}");
    assert!(!west_info.server_version.is_empty(), "{info:?}");

    // east goes down: its application says so; the others keep syncing a new commit
    east.stop().await;
    let down = control
        .wait_app("to-east", Duration::from_secs(30), |a| {
            conditions(a).contains("failed to sync cluster")
        })
        .await;
    assert!(
        conditions(&down).contains(&east_addr.to_string()),
        "{}",
        conditions(&down)
    );
    repo.commit(&[("cm/probe.yaml", &probe_config_map("two"))], &[]);
    for name in ["to-west", "to-local", "to-east"] {
        control.refresh_app(name).await;
    }
    wait_probe(&west_client, "two", "to-west").await;
    wait_probe(&control.client, "two", "to-local").await;
    assert!(
        controller
            .clusters()
            .iter()
            .any(|c| c.name == "east" && c.status == "Failed"),
        "{:?}",
        controller.clusters()
    );

    // east comes back on the same address: its application recovers without a restart
    let east = destination(&east_dir, east_addr, false).await;
    let east_client = client_of(&east).await;
    wait_probe(&east_client, "two", "to-east").await;
    control
        .wait_app("to-east", Duration::from_secs(30), |a| {
            synced_healthy(a) && conditions(a).is_empty()
        })
        .await;

    // the west cluster Secret is removed: a clear error on its application
    control
        .delete("v1", "Secret", Some("argocd"), "cluster-west")
        .await;
    let gone = control
        .wait_app("to-west", Duration::from_secs(30), |a| {
            conditions(a).contains("there are no clusters with this name: west")
        })
        .await;
    assert!(
        conditions(&gone).contains("InvalidSpecError"),
        "{}",
        conditions(&gone)
    );
    // the others are untouched
    assert!(synced_healthy(&control.app("to-local").await));

    controller.shutdown().await;
    east.stop().await;
    west.stop().await;
    control.apiserver.stop().await;
}
