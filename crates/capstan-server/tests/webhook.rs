//! Webhooks over HTTP: a GitHub push with a valid signature refreshes only the applications whose
//! repository, revision and paths it touched; a bad signature, a malformed payload and an oversized
//! body are refused.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const SECRET: &str = "webhook-secret";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn app(name: &str, repo: &str, path: &str, revision: &str) -> Value {
    let mut a = capstan_testkit::application(name, repo, path, "default", json!({}));
    a["spec"]["source"]["targetRevision"] = json!(revision);
    a
}

async fn refreshed(h: &Harness, name: &str) -> bool {
    h.cluster.app(name).await["metadata"]["annotations"]["argocd.argoproj.io/refresh"] == "normal"
}

async fn send(h: &Harness, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut req = h
        .http
        .post(format!("{}/api/webhook", h.url))
        .header("x-github-event", "push")
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("x-hub-signature-256", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_push_refreshes_only_matching_apps() {
    let h = Harness::start(Options {
        secret: Some(json!({"webhook.github.secret": SECRET})),
        ..Options::default()
    })
    .await;
    let repo = "https://github.com/org/repo.git";
    h.cluster
        .apply(&app("match", repo, "guestbook", "main"))
        .await;
    h.cluster
        .apply(&app(
            "head",
            "git@github.com:org/repo.git",
            "guestbook",
            "HEAD",
        ))
        .await;
    h.cluster
        .apply(&app("other-path", repo, "other", "main"))
        .await;
    h.cluster
        .apply(&app("other-branch", repo, "guestbook", "dev"))
        .await;
    h.cluster
        .apply(&app(
            "other-repo",
            "https://github.com/org/else.git",
            "guestbook",
            "main",
        ))
        .await;
    let mut generated = app("annotated", repo, "apps/x", "main");
    generated["metadata"]["annotations"] =
        json!({"argocd.argoproj.io/manifest-generate-paths": "/guestbook"});
    h.cluster.apply(&generated).await;

    let payload = json!({
        "ref": "refs/heads/main",
        "repository": {"html_url": "https://github.com/org/repo", "clone_url": repo,
                       "ssh_url": "git@github.com:org/repo.git", "default_branch": "main"},
        "commits": [{"added": [], "modified": ["guestbook/deployment.yaml"], "removed": []}]
    });
    let body = serde_json::to_vec(&payload).unwrap();

    // wrong signature, missing signature: 401 and nothing refreshed
    let (s, v) = send(&h, &body, Some("sha256=0000".into())).await;
    assert_eq!(s, 401, "{v}");
    let (s, _) = send(&h, &body, None).await;
    assert_eq!(s, 401);
    assert!(!refreshed(&h, "match").await);

    let (s, v) = send(&h, &body, Some(sign(&body))).await;
    assert_eq!(s, 200, "{v}");
    let mut names: Vec<&str> = v["refreshed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["annotated", "head", "match"]);
    for name in ["match", "head", "annotated"] {
        assert!(refreshed(&h, name).await, "{name}");
    }
    for name in ["other-path", "other-branch", "other-repo"] {
        assert!(!refreshed(&h, name).await, "{name}");
    }

    // malformed payloads (correctly signed) are 400, never a crash
    for bad in [&b"{not json"[..], b"[]", br#"{"ref": 5}"#] {
        let (s, v) = send(&h, bad, Some(sign(bad))).await;
        assert_eq!(s, 400, "{v}");
    }
    // the body limit (64 KiB in the test harness)
    let big = vec![b' '; 200 * 1024];
    let (s, _) = send(&h, &big, Some(sign(&big))).await;
    assert_eq!(s, 413);
    // the server still answers
    let (s, _) = h.get("/api/version", "").await;
    assert_eq!(s, 200);
    h.shutdown().await;
}
