//! Notifications driven by the real application controller: auto-sync of a local Git repository
//! into the in-process apiserver, a webhook receiver on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use capstan_controller::{Controller, ControllerConfig, RepoGenerator};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_testkit::{GUESTBOOK, GitRepo};
use serde_json::{Value, json};
use support::*;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_notification_per_sync_from_the_application_controller() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start("ok", 0).await;
    let cm = vec![
        ("service.webhook.hook", format!("url: {}", hook.url())),
        (
            "template.app-sync-succeeded",
            "message: synced\nwebhook:\n  hook:\n    method: POST\n    path: /sync\n    body: '{{.app.metadata.name}} {{.app.status.operationState.syncResult.revision}}'\n".to_string(),
        ),
        (
            "template.app-deployed",
            "message: deployed\nwebhook:\n  hook:\n    method: POST\n    path: /deployed\n    body: '{{.app.metadata.name}} {{.app.status.sync.revision}}'\n".to_string(),
        ),
    ];
    let cluster = cluster(&dir.path().join("api"), &cm, &[]).await;
    let repo = GitRepo::init(&dir.path().join("repo"));
    let first = repo.commit(&[("guestbook/app.yaml", GUESTBOOK)], &[]);

    let service = RepoService::new(
        ServiceSettings::new(dir.path().join("repo-server")),
        Arc::new(SecretCredentials::default()),
    )
    .unwrap();
    let config = ControllerConfig {
        poll_interval: Duration::from_millis(200),
        status_processors: 2,
        ..ControllerConfig::default()
    };
    let controller = Controller::start(
        config,
        cluster.client.clone(),
        Arc::new(RepoGenerator::new(Arc::new(service))),
    )
    .await
    .unwrap();
    let notifications = Running::start(&cluster).await;

    let mut application = capstan_testkit::application(
        "guestbook",
        &repo.url(),
        "guestbook",
        "default",
        json!({"automated": {}, "syncOptions": ["CreateNamespace=true"]}),
    );
    application["metadata"]["annotations"] = json!({
        "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": "",
        "notifications.argoproj.io/subscribe.on-deployed.hook": "",
    });
    cluster.apply(&application).await;

    let got = hook.wait_for(2, WAIT).await;
    let mut paths: Vec<(String, String)> = got
        .iter()
        .map(|r| (r.path.clone(), r.body.clone()))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("/deployed".to_string(), format!("guestbook {first}")),
            ("/sync".to_string(), format!("guestbook {first}")),
        ]
    );

    // a new commit: auto-sync runs again, one more of each
    let second = repo.commit(
        &[(
            "guestbook/extra.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n",
        )],
        &[],
    );
    cluster
        .patch_app(
            "guestbook",
            &json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
        )
        .await;
    let got = hook.wait_for(4, WAIT).await;
    let later: Vec<String> = got[2..]
        .iter()
        .map(|r| format!("{} {}", r.path, r.body))
        .collect();
    assert!(
        later.contains(&format!("/sync guestbook {second}")),
        "{later:?}"
    );
    assert!(
        later.contains(&format!("/deployed guestbook {second}")),
        "{later:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hook.got().len(), 4, "{:#?}", hook.got());
    let app: Value = cluster.app("guestbook").await;
    assert_eq!(capstan_testkit::sync_status(&app), "Synced");

    notifications.stop().await;
    controller.shutdown().await;
}
