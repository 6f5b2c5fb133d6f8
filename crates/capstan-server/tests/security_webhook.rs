//! Attacks on `POST /api/webhook`, the one endpoint anyone on the network may call: malformed payloads
//! from every provider, deeply nested and oversized bodies, a flood of parallel junk. Each is refused
//! with a 4xx, refreshes nothing, and the server keeps answering. argocd-cm's
//! `webhook.maxPayloadSizeMB` lowers the size limit.

mod common;

use common::*;
use serde_json::{Value, json};

const PROVIDERS: &[(&str, &str)] = &[
    ("x-github-event", "push"),
    ("x-gitlab-event", "Push Hook"),
    ("x-gitlab-event", "Tag Push Hook"),
    ("x-event-key", "repo:push"),
    ("x-gitea-event", "push"),
    ("x-gogs-event", "push"),
];

fn malformed() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        &b""[..],
        b"not json",
        b"[]",
        b"null",
        b"\"push\"",
        b"{}",
        b"{\"ref\": 5}",
        b"{\"ref\": \"refs/heads/main\", \"repository\": \"https://github.com/org/repo\"}",
        b"{\"ref\": \"refs/heads/main\", \"repository\": {\"html_url\": 7}, \"commits\": {}}",
        b"{\"ref\": [\"main\"], \"project\": {\"web_url\": \"https://gitlab.com/org/repo\"}}",
        b"{\"repository\": {\"links\": {\"html\": {\"href\": \"https://bitbucket.org/org/repo\"}}},
            \"push\": {\"changes\": []}}",
        b"{\"repository\": {\"links\": {\"html\": {\"href\": null}}}, \"push\": {\"changes\": [{\"new\": null}]}}",
        b"{\"ref\": \"refs/heads/main\", \"repository\": {\"html_url\": \"https://github.com/org/repo\"},
            \"commits\": [{\"added\": {\"a\": 1}, \"modified\": \"x\", \"removed\": [null, 3, []]}]}",
        b"\xff\xfe\x00{\"ref\"",
        b"{\"ref\": \"\\ud800\"}",
        b"{\"ref\": 1e999999}",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    // nesting far beyond any JSON parser's recursion limit
    bodies.push(vec![b'['; 50_000]);
    bodies.push(format!("{}{}", "{\"a\":".repeat(8_000), "}".repeat(8_000)).into_bytes());
    bodies
}

async fn post(
    h: &Harness,
    header: (&str, &str),
    body: Vec<u8>,
) -> Result<(u16, Value), reqwest::Error> {
    let r = h
        .http
        .post(format!("{}/api/webhook", h.url))
        .header(header.0, header.1)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_from_every_provider_never_crash_or_refresh() {
    // no webhook secret configured: the most exposed setting, every payload reaches the parser
    let h = Harness::start(Options::default()).await;
    let app = capstan_testkit::application(
        "guestbook",
        "https://github.com/org/repo.git",
        "guestbook",
        "default",
        json!({}),
    );
    h.cluster.apply(&app).await;

    for provider in PROVIDERS {
        for body in malformed() {
            let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
            let (status, v) = post(&h, *provider, body)
                .await
                .unwrap_or_else(|e| panic!("{provider:?} {shown}: connection failed: {e}"));
            assert!(
                status == 400 || (status == 200 && v["refreshed"] == json!([])),
                "{provider:?} {shown}: {status} {v}"
            );
            if status == 400 {
                assert_eq!(v["code"], 3, "{provider:?} {shown}: {v}");
            }
        }
    }
    // an unknown provider is a 400 too
    let (status, _) = post(&h, ("x-unknown-event", "push"), b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(status, 400);

    // a flood of parallel junk: every request answered, none refreshes anything
    let mut tasks = Vec::new();
    for i in 0..300usize {
        let http = h.http.clone();
        let url = format!("{}/api/webhook", h.url);
        let (name, value) = PROVIDERS[i % PROVIDERS.len()];
        let body = malformed()[i % 16].clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header(name, value)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for t in tasks {
        let status = t.await.unwrap().expect("a junk webhook went unanswered");
        assert!(status == 400 || status == 200, "{status}");
    }
    let live = h.cluster.app("guestbook").await;
    assert!(
        live["metadata"]["annotations"]["argocd.argoproj.io/refresh"].is_null(),
        "junk refreshed an application: {}",
        live["metadata"]
    );
    let (s, _) = h.get("/api/version", "").await;
    assert_eq!(s, 200, "the server stopped answering");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payloads_are_refused_by_the_server_and_argocd_cm_limits() {
    let h = Harness::start(Options {
        webhook_max_body: Some(4 * 1024 * 1024),
        cm: Some(json!({"webhook.maxPayloadSizeMB": "1"})),
        ..Options::default()
    })
    .await;
    let push = |padding: usize| {
        serde_json::to_vec(&json!({
            "ref": "refs/heads/main",
            "repository": {"html_url": "https://github.com/org/other"},
            "padding": "x".repeat(padding),
        }))
        .unwrap()
    };
    // under argocd-cm's 1 MB: accepted
    let (status, v) = post(&h, PROVIDERS[0], push(512 * 1024)).await.unwrap();
    assert_eq!(status, 200, "{v}");
    // over argocd-cm's 1 MB, under the server's 4 MiB: refused by the argocd-cm limit
    let (status, v) = post(&h, PROVIDERS[0], push(2 * 1024 * 1024)).await.unwrap();
    assert_eq!(status, 413, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("webhook.maxPayloadSizeMB"),
        "{v}"
    );
    // over the server's own limit: refused before it is read whole
    let (status, _) = post(&h, PROVIDERS[1], vec![b' '; 4 * 1024 * 1024 + 200 * 1024])
        .await
        .unwrap();
    assert_eq!(status, 413);
    let (s, _) = h.get("/api/version", "").await;
    assert_eq!(s, 200);
    h.shutdown().await;
}
