//! A kube-rs reflector (kube 5, plain HTTP) sees every change made to the server.

mod common;

use std::time::Duration;

use common::TestServer;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_reflector_sees_every_change() {
    let s = TestServer::start().await;
    let config = kube::Config::new(s.url.parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.groups().any(|g| g.name() == "apps"));

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "kr"}})).unwrap(),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kr");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "pre", "labels": {"app": "x"}}}))
            .unwrap(),
    )
    .await
    .unwrap();

    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream =
        reflector(writer, watcher(cms.clone(), watcher::Config::default())).applied_objects();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if item.is_err() {
                // The watcher retries by itself; keep consuming.
                continue;
            }
        }
    });
    reader.wait_until_ready().await.unwrap();

    for i in 0..20 {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}"), "labels": {"app": "x"}}, "data": {"i": i.to_string()}});
        cms.patch(
            &format!("c{i}"),
            &PatchParams::apply("kr-test").force(),
            &Patch::Apply(&cm),
        )
        .await
        .unwrap();
    }
    for i in 0..20 {
        cms.patch(
            &format!("c{i}"),
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"changed": "yes"}})),
        )
        .await
        .unwrap();
    }
    for i in 0..5 {
        cms.delete(&format!("c{i}"), &DeleteParams::default())
            .await
            .unwrap();
    }
    let listed = cms.list(&Default::default()).await.unwrap();
    let want: std::collections::BTreeMap<String, Option<String>> = listed
        .items
        .iter()
        .map(|c| {
            (
                c.metadata.name.clone().unwrap(),
                c.metadata.resource_version.clone(),
            )
        })
        .collect();
    assert_eq!(want.len(), 16);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got: std::collections::BTreeMap<String, Option<String>> = reader
            .state()
            .iter()
            .map(|c| {
                (
                    c.metadata.name.clone().unwrap(),
                    c.metadata.resource_version.clone(),
                )
            })
            .collect();
        if got == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "reflector state {got:?} never matched {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reader
            .state()
            .iter()
            .filter(|c| c.metadata.name.as_deref() != Some("pre"))
            .all(|c| c.data.as_ref().unwrap().get("changed").is_some())
    );
    task.abort();
}
