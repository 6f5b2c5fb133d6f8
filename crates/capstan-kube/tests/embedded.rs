//! The client layer against the embedded apiserver: discovery, apply, get, list, merge patch,
//! watch and delete, as the controller uses them.

use std::time::Duration;

use capstan_kube::{ApplyOptions, ClusterClient, ConnectOptions, DeleteOptions, WatchEvent};
use futures::StreamExt;
use serde_json::json;

async fn start() -> (capstan_apiserver::Running, ClusterClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config =
        capstan_apiserver::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().to_path_buf());
    let running = capstan_apiserver::start(config).await.unwrap();
    let client =
        ClusterClient::from_kubeconfig(&running.kubeconfig, None, ConnectOptions::default())
            .await
            .unwrap();
    (running, client, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_get_list_patch_watch_delete() {
    let (running, client, _dir) = start().await;
    assert!(client.server_version().await.unwrap().starts_with('v'));
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default", "labels": {"app": "x"}}, "data": {"a": "1"}});
    let applied = client.apply(&cm, &ApplyOptions::default()).await.unwrap();
    assert_eq!(applied["data"]["a"], "1");
    let managers: Vec<&str> = applied["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["capstan-controller"]);

    let rt = client.resolve("v1", "ConfigMap").await.unwrap();
    assert!(rt.namespaced);
    assert_eq!(rt.plural, "configmaps");
    let got = client
        .get(&rt, Some("default"), "cm")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got["kind"], "ConfigMap");
    assert!(
        client
            .get(&rt, Some("default"), "missing")
            .await
            .unwrap()
            .is_none()
    );

    let (items, rv) = client.list(&rt, None, Some("app=x")).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["apiVersion"], "v1");
    assert!(!rv.is_empty());

    let mut watch = Box::pin(capstan_kube::watch_resource(
        &client,
        rt.clone(),
        Some("default"),
        None,
    ));
    // the initial list
    let mut listed = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Listed(_) => listed += 1,
            WatchEvent::ListDone => break,
            _ => {}
        }
    }
    assert_eq!(listed, 1);

    client
        .merge_patch(&rt, Some("default"), "cm", &json!({"data": {"b": "2"}}))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Applied(obj) => assert_eq!(obj["data"]["b"], "2"),
        other => panic!("expected an update, got {other:?}"),
    }

    client
        .delete(&rt, Some("default"), "cm", &DeleteOptions::default())
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(event, WatchEvent::Deleted(_)), "{event:?}");
    // deleting what is gone is fine
    client
        .delete(&rt, Some("default"), "cm", &DeleteOptions::default())
        .await
        .unwrap();

    let err = client
        .resolve("example.com/v1", "Widget")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not serve example.com/v1 Widget"),
        "{err}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_limited_to_the_configured_rate() {
    let (running, _, _dir) = start().await;
    let limited = ClusterClient::from_kubeconfig(
        &running.kubeconfig,
        None,
        ConnectOptions {
            qps: 10.0,
            burst: 2,
            ..ConnectOptions::default()
        },
    )
    .await
    .unwrap();
    let rt = limited.resolve("v1", "Namespace").await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..12 {
        limited.get(&rt, None, "default").await.unwrap();
    }
    // 2 at once, then 10 more at 10 per second: at least about one second, whatever the machine
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(950),
        "12 requests at 10 QPS with a burst of 2 took only {took:?}"
    );
    running.stop().await;
}
