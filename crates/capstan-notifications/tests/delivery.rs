//! The notifications controller against an in-process apiserver, with real receivers on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use capstan_notifications::metrics::{DELIVERIES, FAILED_ATTEMPTS, TRIGGER_EVAL};
use capstan_notifications::state::{NOTIFIED_ANNOTATION, read_notified};
use serde_json::{Value, json};
use support::*;

const WAIT: Duration = Duration::from_secs(20);

/// Catalog triggers with templates that add a webhook section for the `hook` webhook.
fn webhook_config(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("service.webhook.hook", format!("url: {url}\nheaders:\n- name: Content-Type\n  value: application/json\nbasicAuth:\n  username: capstan\n  password: $hook-password\n")),
        (
            "template.app-sync-succeeded",
            "message: synced\nwebhook:\n  hook:\n    method: POST\n    path: /sync\n    body: |\n      {\"app\": \"{{.app.metadata.name}}\", \"revision\": \"{{.app.status.sync.revision}}\"}\n".to_string(),
        ),
        (
            "template.app-health-degraded",
            "message: degraded\nwebhook:\n  hook:\n    method: POST\n    path: /degraded\n    body: |\n      {\"app\": \"{{.app.metadata.name}}\", \"health\": \"{{.app.status.health.status}}\"}\n".to_string(),
        ),
    ]
}

fn subscribe(pairs: &[(&str, &str)]) -> Value {
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(trigger_service, recipients)| {
            (
                format!("notifications.argoproj.io/subscribe.{trigger_service}"),
                Value::String(recipients.to_string()),
            )
        })
        .collect();
    Value::Object(map)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_once_on_sync_and_on_degraded_and_not_again_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start("ok", 0).await;
    let cluster = cluster(
        dir.path(),
        &webhook_config(&hook.url()),
        &[("hook-password", "s3cret-pw")],
    )
    .await;
    app(
        &cluster,
        "guestbook",
        subscribe(&[
            ("on-sync-succeeded.hook", ""),
            ("on-health-degraded.hook", ""),
        ]),
    )
    .await;
    let controller = Running::start(&cluster).await;

    set_status(&cluster, "guestbook", "Running", "Progressing", "r1").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        hook.got().is_empty(),
        "nothing while the sync runs: {:?}",
        hook.got()
    );

    set_status(&cluster, "guestbook", "Succeeded", "Healthy", "r1").await;
    let got = hook.wait_for(1, WAIT).await;
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/sync");
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body, json!({"app": "guestbook", "revision": "r1"}));
    assert_eq!(got[0].headers["content-type"], "application/json");
    // basic auth with the password from argocd-notifications-secret
    assert_eq!(
        got[0].headers["authorization"],
        "Basic Y2Fwc3RhbjpzM2NyZXQtcHc="
    );

    set_status(&cluster, "guestbook", "Succeeded", "Degraded", "r1").await;
    let got = hook.wait_for(2, WAIT).await;
    assert_eq!(got[1].path, "/degraded");
    assert_eq!(
        serde_json::from_str::<Value>(&got[1].body).unwrap(),
        json!({"app": "guestbook", "health": "Degraded"})
    );

    // the record is written to the Application
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let app = cluster.app("guestbook").await;
        if read_notified(&app).len() == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "record not written: {:?}",
            app["metadata"]["annotations"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // more changes that do not change the conditions send nothing
    cluster
        .patch_app(
            "guestbook",
            &json!({"metadata": {"labels": {"touched": "1"}}}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.got().len(), 2);
    assert_eq!(
        controller.metrics.sum(DELIVERIES, &[("succeeded", "true")]),
        2
    );
    controller.stop().await;

    // a new controller reads the record: nothing is sent again
    let controller = Running::start(&cluster).await;
    cluster
        .patch_app(
            "guestbook",
            &json!({"metadata": {"labels": {"touched": "2"}}}),
        )
        .await;
    // wait until the new controller has evaluated the Application (with both conditions true)
    let m = controller.metrics.clone();
    let evaluated = wait_until(WAIT, || {
        (m.sum(
            TRIGGER_EVAL,
            &[("name", "on-sync-succeeded"), ("triggered", "true")],
        ) >= 1
            && m.sum(
                TRIGGER_EVAL,
                &[("name", "on-health-degraded"), ("triggered", "true")],
            ) >= 1)
            .then_some(())
    })
    .await;
    assert!(evaluated.is_some(), "{}", m.render());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hook.got().len(), 2, "{:#?}", hook.got());
    assert_eq!(controller.metrics.sum(DELIVERIES, &[]), 0);

    // a new sync after a Running phase is a new event
    set_status(&cluster, "guestbook", "Running", "Degraded", "r2").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_status(&cluster, "guestbook", "Succeeded", "Degraded", "r2").await;
    let got = hook.wait_for(3, WAIT).await;
    assert_eq!(
        serde_json::from_str::<Value>(&got[2].body).unwrap(),
        json!({"app": "guestbook", "revision": "r2"})
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hook.got().len(), 3);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_endpoint_receives_the_catalog_message() {
    let dir = tempfile::tempdir().unwrap();
    let slack = Receiver::start(r#"{"ok": true}"#, 0).await;
    let cm = vec![
        (
            "service.slack",
            format!(
                "token: $slack-token\napiURL: {}/api/\nusername: capstan\n",
                slack.url()
            ),
        ),
        ("context", "argocdUrl: https://cd.example.com".to_string()),
        // a webhook the catalog template has no section for: a bare GET, as Argo CD sends
        ("service.webhook.bare", format!("url: {}/bare", slack.url())),
    ];
    let cluster = cluster(dir.path(), &cm, &[("slack-token", "xoxb-test-token")]).await;
    app(
        &cluster,
        "shop",
        subscribe(&[
            ("on-sync-succeeded.slack", "deploys"),
            ("on-sync-succeeded.bare", ""),
        ]),
    )
    .await;
    let controller = Running::start(&cluster).await;
    set_status(&cluster, "shop", "Succeeded", "Healthy", "abc123").await;
    let got = slack.wait_for(2, WAIT).await;
    let bare = got
        .iter()
        .find(|r| r.path == "/bare")
        .expect("bare webhook request");
    assert_eq!((bare.method.as_str(), bare.body.as_str()), ("GET", ""));
    let posted = got.iter().find(|r| r.path != "/bare").unwrap();
    assert_eq!(posted.path, "/api/chat.postMessage");
    assert_eq!(posted.headers["authorization"], "Bearer xoxb-test-token");
    let body: Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(body["channel"], "deploys");
    assert_eq!(body["username"], "capstan");
    assert_eq!(
        body["text"],
        ":white_check_mark: Application shop has been successfully synced at 2026-01-01T10:00:05Z.\nSync operation details are available at: https://cd.example.com/applications/shop?operation=true .\n"
    );
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["title"], "shop");
    assert_eq!(
        attachment["title_link"],
        "https://cd.example.com/applications/shop"
    );
    assert_eq!(attachment["color"], "#18be52");
    assert_eq!(attachment["fields"][0]["value"], "Synced");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slack.got().len(), 2);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_on_sync_failed_has_the_catalog_subject_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = Smtp::start().await;
    let cm = vec![(
        "service.email",
        format!("host: 127.0.0.1\nport: {}\nfrom: $email-from\n", smtp.port),
    )];
    let cluster = cluster(dir.path(), &cm, &[("email-from", "capstan@example.com")]).await;
    app(
        &cluster,
        "billing",
        subscribe(&[("on-sync-failed.email", "team@example.com")]),
    )
    .await;
    let controller = Running::start(&cluster).await;
    set_status(&cluster, "billing", "Failed", "Degraded", "r9").await;
    let mail = smtp.next(WAIT).await;
    assert_eq!(mail["from"], "capstan@example.com");
    assert_eq!(mail["to"], json!(["team@example.com"]));
    assert_eq!(mail["subject"], "Failed to sync application billing.");
    assert_eq!(
        // SMTP framing may add a line end after the body
        mail["body"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end(),
        "  The sync operation of application billing has failed at 2026-01-01T10:00:05Z with the following error: one or more objects failed to apply\nSync operation details are available at: https://localhost:4000/applications/billing?operation=true ."
    );
    controller.stop().await;
    smtp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receivers_are_retried_and_counted_without_blocking_others() {
    let logs = captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let flaky = Receiver::start("ok", 2).await;
    let healthy = Receiver::start("ok", 0).await;
    let body = "message: m\nwebhook:\n  down:\n    method: POST\n    body: x\n  flaky:\n    method: POST\n    body: x\n  healthy:\n    method: POST\n    body: '{{.app.metadata.name}}'\n";
    let cm = vec![
        (
            "service.webhook.down",
            format!("url: http://127.0.0.1:{}/$down-token", closed_port()),
        ),
        ("service.webhook.flaky", format!("url: {}", flaky.url())),
        ("service.webhook.healthy", format!("url: {}", healthy.url())),
        ("template.app-sync-succeeded", body.to_string()),
    ];
    let cluster = cluster(dir.path(), &cm, &[("down-token", "tok-123456")]).await;
    app(
        &cluster,
        "a-down",
        subscribe(&[("on-sync-succeeded.down", "")]),
    )
    .await;
    app(
        &cluster,
        "b-flaky",
        subscribe(&[("on-sync-succeeded.flaky", "")]),
    )
    .await;
    app(
        &cluster,
        "c-healthy",
        subscribe(&[("on-sync-succeeded.healthy", "")]),
    )
    .await;
    let controller = Running::start(&cluster).await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let metrics_addr = capstan_notifications::metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        controller.metrics.clone(),
        cancel.clone(),
    )
    .await
    .unwrap();
    for name in ["a-down", "b-flaky", "c-healthy"] {
        set_status(&cluster, name, "Succeeded", "Healthy", "r1").await;
    }
    // the healthy receiver is served while the others are being retried
    let got = healthy.wait_for(1, WAIT).await;
    assert_eq!(got[0].body, "c-healthy");
    // the flaky one answers 503 twice, then 200: three attempts, one success
    flaky.wait_for(3, WAIT).await;
    let m = &controller.metrics;
    let done = wait_until(WAIT, || {
        (m.sum(DELIVERIES, &[("exported_service", "down")]) == 1
            && m.sum(DELIVERIES, &[("exported_service", "flaky")]) == 1)
            .then_some(())
    })
    .await;
    assert!(done.is_some(), "{}", m.render());
    assert_eq!(
        m.sum(
            DELIVERIES,
            &[("exported_service", "flaky"), ("succeeded", "true")]
        ),
        1
    );
    assert_eq!(m.sum(FAILED_ATTEMPTS, &[("exported_service", "flaky")]), 2);
    assert_eq!(
        m.sum(
            DELIVERIES,
            &[("exported_service", "down"), ("succeeded", "false")]
        ),
        1
    );
    assert_eq!(m.sum(FAILED_ATTEMPTS, &[("exported_service", "down")]), 3);
    // visible on the metrics endpoint
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"argocd_notifications_deliveries_total{exported_service="down",succeeded="false",trigger="on-sync-succeeded"} 1"#),
        "{text}"
    );
    // the failed one is not recorded as sent (the next change tries again); the others are
    let down = cluster.app("a-down").await;
    assert!(
        down["metadata"]["annotations"]
            .get(NOTIFIED_ANNOTATION)
            .is_none()
    );
    cluster
        .patch_app("a-down", &json!({"metadata": {"labels": {"again": "1"}}}))
        .await;
    let again = wait_until(WAIT, || {
        (m.sum(DELIVERIES, &[("exported_service", "down")]) >= 2).then_some(())
    })
    .await;
    assert!(again.is_some(), "{}", m.render());
    // the failure is logged, the secret in the webhook's URL is not
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("notification failed"), "{text}");
    assert!(text.contains("service=down"), "{text}");
    assert!(!text.contains("tok-123456"), "{text}");
    cancel.cancel();
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_reported_by_key_and_the_rest_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start("ok", 0).await;
    let mut cm = webhook_config(&hook.url());
    cm.push((
        "trigger.on-broken",
        "- when: app.status.sync.status == \n  send: [app-created]".into(),
    ));
    cm.push((
        "template.bad-template",
        "message: '{{if .app.metadata.name}}never closed'".into(),
    ));
    cm.push(("service.carrier-pigeon", "coop: roof".into()));
    let cluster = cluster(dir.path(), &cm, &[("hook-password", "pw")]).await;
    app(
        &cluster,
        "guestbook",
        subscribe(&[
            ("on-sync-succeeded.hook", ""),
            ("on-broken.hook", ""),
            ("on-sync-succeeded.carrier-pigeon", ""),
        ]),
    )
    .await;
    let controller = Running::start(&cluster).await;
    let problems = wait_until(WAIT, || {
        let p = controller.metrics.config_problems();
        (!p.is_empty()).then_some(p)
    })
    .await
    .expect("problems reported at load");
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "service.carrier-pigeon",
            "template.bad-template",
            "trigger.on-broken"
        ]
    );
    assert!(problems[0].message.contains("unknown service type"));
    assert!(
        controller
            .metrics
            .render()
            .contains(r#"capstan_notifications_config_problem{key="trigger.on-broken"} 1"#)
    );
    set_status(&cluster, "guestbook", "Succeeded", "Healthy", "r1").await;
    let got = hook.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/sync");
    // the subscription to the unknown service fails visibly (again on each change of the
    // Application, as in Argo CD)
    let m = &controller.metrics;
    let failed = wait_until(WAIT, || {
        (m.sum(
            DELIVERIES,
            &[
                ("exported_service", "carrier-pigeon"),
                ("succeeded", "false"),
            ],
        ) >= 1)
            .then_some(())
    })
    .await;
    assert!(failed.is_some(), "{}", m.render());
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_and_github_after_the_configmap_changes_at_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start("1", 0).await;
    // no services yet: the Application's subscriptions cannot be delivered
    let cluster = cluster(dir.path(), &[], &[("gh-token", "ghp_testtoken")]).await;
    app(
        &cluster,
        "api",
        subscribe(&[
            ("on-sync-succeeded.teams", "ops"),
            ("on-commit-status.github", ""),
        ]),
    )
    .await;
    set_status(&cluster, "api", "Succeeded", "Healthy", "0123abcd").await;
    let controller = Running::start(&cluster).await;
    let m = &controller.metrics;
    let failed = wait_until(WAIT, || {
        (m.sum(
            DELIVERIES,
            &[("exported_service", "teams"), ("succeeded", "false")],
        ) >= 1)
            .then_some(())
    })
    .await;
    assert!(failed.is_some(), "{}", m.render());
    assert!(receiver.got().is_empty());

    let url = receiver.url();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"},
    "data": {
        "service.teams": format!("recipientUrls:\n  ops: {url}/teams\n"),
        "service.github": format!("apiURL: {url}/gh\ntoken: $gh-token\n"),
        "trigger.on-commit-status": "- when: app.status.operationState.phase in ['Succeeded']\n  send: [github-commit-status]\n",
        "template.github-commit-status": "message: Application {{.app.metadata.name}} synced\ngithub:\n  status:\n    state: success\n    label: continuous-delivery/{{.app.metadata.name}}\n    targetURL: '{{.context.argocdUrl}}/applications/{{.app.metadata.name}}'\n",
    }});
    cluster.apply(&cm).await;
    let got = receiver.wait_for(2, WAIT).await;
    let teams = got
        .iter()
        .find(|r| r.path == "/teams")
        .expect("teams message");
    let card: Value = serde_json::from_str(&teams.body).unwrap();
    assert_eq!(card["@type"], "MessageCard");
    assert_eq!(
        card["title"],
        "Application api has been successfully synced"
    );
    assert_eq!(card["themeColor"], "#000080");
    assert_eq!(
        card["sections"][0]["facts"][0],
        json!({"name": "Sync Status", "value": "Synced"})
    );
    assert_eq!(
        card["potentialAction"][1]["targets"][0]["uri"],
        "https://github.com/argoproj/argocd-example-apps"
    );
    let gh = got
        .iter()
        .find(|r| r.path.starts_with("/gh/"))
        .expect("commit status");
    assert_eq!(
        gh.path,
        "/gh/repos/argoproj/argocd-example-apps/statuses/0123abcd"
    );
    assert_eq!(gh.headers["authorization"], "Bearer ghp_testtoken");
    let status: Value = serde_json::from_str(&gh.body).unwrap();
    assert_eq!(
        status,
        json!({"state": "success", "description": "Application api synced",
            "target_url": "https://localhost:4000/applications/api", "context": "continuous-delivery/api"})
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 2);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_over_starttls_and_implicit_tls_with_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let mut starttls = Smtp::start_secure("starttls", dir.path()).await;
    let mut implicit = Smtp::start_secure("tls", dir.path()).await;
    let settings = |port: u16, tls: &str| {
        format!(
            "host: 127.0.0.1\nport: {port}\nfrom: cd@example.com\nusername: $smtp-user\npassword: $smtp-password\ninsecure_skip_verify: true\ntls: {tls}\n"
        )
    };
    let cm = vec![
        (
            "service.email.starttls",
            settings(starttls.port, "starttls"),
        ),
        ("service.email.implicit", settings(implicit.port, "tls")),
    ];
    let cluster = cluster(
        &dir.path().join("api"),
        &cm,
        &[("smtp-user", "mailer"), ("smtp-password", "smtp-s3cret")],
    )
    .await;
    app(
        &cluster,
        "payments",
        subscribe(&[
            ("on-sync-succeeded.starttls", "a@example.com"),
            ("on-sync-succeeded.implicit", "b@example.com"),
        ]),
    )
    .await;
    let controller = Running::start(&cluster).await;
    set_status(&cluster, "payments", "Succeeded", "Healthy", "r1").await;
    for (server, to) in [
        (&mut starttls, "a@example.com"),
        (&mut implicit, "b@example.com"),
    ] {
        let mail = server.next(WAIT).await;
        assert_eq!(mail["to"], json!([to]));
        assert_eq!(
            mail["subject"],
            "Application payments has been successfully synced."
        );
        assert_eq!(mail["tls"], true, "{mail}");
        assert_eq!(mail["login"], "mailer", "{mail}");
    }
    controller.stop().await;
    starttls.stop().await;
    implicit.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_annotations_and_configmap_subscriptions_with_selectors() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start("ok", 0).await;
    let mut cm = webhook_config(&hook.url());
    cm.push((
        "subscriptions",
        "- recipients: [hook]\n  triggers: [on-health-degraded]\n  selector: tier=web\n".into(),
    ));
    let cluster = cluster(dir.path(), &cm, &[("hook-password", "pw")]).await;
    cluster
        .apply(
            &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "team", "namespace": "argocd", "annotations": {
                "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ""}},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}}),
        )
        .await;
    app(&cluster, "web", json!({})).await;
    cluster
        .patch_app(
            "web",
            &json!({"metadata": {"labels": {"tier": "web"}}, "spec": {"project": "team"}}),
        )
        .await;
    app(&cluster, "db", json!({})).await;
    cluster
        .patch_app("db", &json!({"metadata": {"labels": {"tier": "db"}}}))
        .await;
    let controller = Running::start(&cluster).await;
    for name in ["web", "db"] {
        set_status(&cluster, name, "Succeeded", "Degraded", "r1").await;
    }
    let got = hook.wait_for(2, WAIT).await;
    let mut seen: Vec<(String, Value)> = got
        .iter()
        .map(|r| (r.path.clone(), serde_json::from_str(&r.body).unwrap()))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            (
                "/degraded".to_string(),
                json!({"app": "web", "health": "Degraded"})
            ),
            ("/sync".to_string(), json!({"app": "web", "revision": "r1"})),
        ]
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        hook.got().len(),
        2,
        "the db Application is not subscribed: {:#?}",
        hook.got()
    );
    controller.stop().await;
}
