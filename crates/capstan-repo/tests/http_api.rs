//! The repo-server HTTP API (`capstan repo-server`): POST /api/v1/manifests and GET /healthz.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let (_, content) = raw.split_once("\r\n\r\n").unwrap();
    (status, content.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_over_http() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: over-http\n",
    );
    let commit = work.commit("one");
    let service = Arc::new(service(&tmp.path().join("cache")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        axum::serve(listener, capstan_repo::server::router(service))
            .await
            .unwrap();
    });
    let repo = work.dir.display().to_string();
    // the typed client
    let client = capstan_repo::RepoClient::Remote(Box::new(capstan_repo::RemoteRepoServer::new(
        format!("http://127.0.0.1:{port}"),
        std::time::Duration::from_secs(30),
    )));
    let via_client = client
        .generate(&request(json!({"repoURL": repo, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&via_client.manifests), ["ConfigMap/over-http"]);
    let err = client
        .generate(&request(json!({"repoURL": repo, "path": "nope"})))
        .await
        .unwrap_err();
    match &err {
        capstan_repo::RenderError::Remote { kind, message, .. } => {
            assert_eq!(kind, "MissingPath");
            assert!(message.contains("\"nope\" does not exist"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let result = tokio::task::spawn_blocking(move || {
        let health = http(port, "GET", "/healthz", None);
        let ok = http(
            port,
            "POST",
            "/api/v1/manifests",
            Some(&json!({"source": {"repoURL": repo, "path": "app"}, "appName": "a", "namespace": "n"})),
        );
        let missing = http(
            port,
            "POST",
            "/api/v1/manifests",
            Some(&json!({"source": {"repoURL": repo, "path": "nope"}})),
        );
        let bad = http(port, "POST", "/api/v1/manifests", Some(&json!({"source": 5})));
        (health, ok, missing, bad)
    })
    .await
    .unwrap();
    server.abort();
    let (health, ok, missing, bad) = result;
    assert_eq!(health, (200, "ok".to_string()));
    assert_eq!(ok.0, 200, "{}", ok.1);
    let body: Value = serde_json::from_str(&ok.1).unwrap();
    assert_eq!(body["revision"], json!(commit));
    assert_eq!(body["sourceType"], json!("Directory"));
    assert_eq!(body["manifests"][0]["metadata"]["name"], json!("over-http"));
    assert_eq!(missing.0, 404);
    let err: Value = serde_json::from_str(&missing.1).unwrap();
    assert_eq!(err["kind"], json!("MissingPath"));
    assert!(err["error"].as_str().unwrap().contains("\"nope\""));
    assert_eq!(bad.0, 422, "{}", bad.1);
}
