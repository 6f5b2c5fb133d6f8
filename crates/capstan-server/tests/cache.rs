//! The Application cache behind list, get and the streams: it follows changes made by anyone (not
//! only through this server), filters and RBAC still apply, a read after a write through the API sees
//! the write, and a deleted Application is gone at once. Also the connection state of repositories
//! and clusters, tested with their credentials.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

const POLICY: &str = "p, alice, applications, get, team/*, allow\n";

async fn names(h: &Harness, query: &str, token: &str) -> Vec<String> {
    let (s, v) = h.get(&format!("/api/v1/applications{query}"), token).await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

async fn eventually(h: &Harness, query: &str, token: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = names(h, query, token).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{query}: {got:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads SSE messages until one satisfies `pred`.
async fn wait_message(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf[..end].to_string();
            buf.drain(..end + 2);
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .collect();
            if data.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(data.trim()).unwrap();
            if pred(&v) {
                return v;
            }
        }
        let chunk = tokio::time::timeout_at(deadline.into(), body.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_get_and_stream_follow_the_cluster() {
    let h = Harness::start(Options {
        rbac: Some(json!({"policy.csv": POLICY})),
        cm: Some(json!({"accounts.alice": "login"})),
        ..Options::default()
    })
    .await;
    let admin = h.admin_token().await;
    h.set_password(&admin, "alice", "alice-password-1").await;
    let alice = h.token_of("alice", "alice-password-1").await;
    for name in ["team"] {
        h.cluster
            .apply(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                "metadata": {"name": name, "namespace": "argocd"},
                "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}}))
            .await;
    }

    // created directly in the cluster (as kubectl or the controller would): the cache follows
    let mut b = h.application("b-app", "team", "guestbook", "default");
    b["metadata"]["labels"] = json!({"tier": "web"});
    h.cluster.apply(&b).await;
    h.cluster
        .apply(&h.application("a-app", "default", "guestbook", "default"))
        .await;
    eventually(&h, "", &admin, &["a-app", "b-app"]).await;

    // filters, label selectors and RBAC on the cached list
    assert_eq!(names(&h, "?projects=team", &admin).await, ["b-app"]);
    assert_eq!(names(&h, "?selector=tier%3Dweb", &admin).await, ["b-app"]);
    assert_eq!(
        names(&h, "?selector=tier+notin+(web)", &admin).await,
        ["a-app"]
    );
    assert_eq!(names(&h, "?name=a-app", &admin).await, ["a-app"]);
    assert_eq!(
        names(&h, "?repo=https://elsewhere.example/x.git", &admin).await,
        Vec::<String>::new()
    );
    let (s, v) = h
        .get("/api/v1/applications?selector=tier+in+web", &admin)
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("invalid label selector"),
        "{v}"
    );
    assert_eq!(names(&h, "", &alice).await, ["b-app"]);
    let (s, _) = h.get("/api/v1/applications/a-app", &alice).await;
    assert_eq!(s, 403);
    let (s, list) = h.get("/api/v1/applications", &admin).await;
    assert_eq!(s, 200);
    assert!(
        list["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|rv| !rv.is_empty())
    );

    // a stream sees changes made in the cluster
    let resp = h
        .http
        .get(format!(
            "{}/api/v1/stream/applications?projects=team",
            h.url
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let first = wait_message(&mut body, &mut buf, |_| true).await;
    assert_eq!(first["result"]["type"], "ADDED");
    assert_eq!(first["result"]["application"]["metadata"]["name"], "b-app");
    h.cluster
        .patch_app("b-app", &json!({"metadata": {"labels": {"tier": "db"}}}))
        .await;
    let modified = wait_message(&mut body, &mut buf, |v| v["result"]["type"] == "MODIFIED").await;
    assert_eq!(
        modified["result"]["application"]["metadata"]["labels"]["tier"],
        "db"
    );

    // a write through the API is read back at once, from any endpoint
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &admin,
            h.application("c-app", "team", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, got) = h.get("/api/v1/applications/c-app", &admin).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        names(&h, "?projects=team", &admin).await,
        ["b-app", "c-app"]
    );
    let added = wait_message(&mut body, &mut buf, |v| {
        v["result"]["application"]["metadata"]["name"] == "c-app"
    })
    .await;
    assert_eq!(added["result"]["type"], "ADDED");
    let (s, v) = h
        .call(
            Method::DELETE,
            "/api/v1/applications/c-app?cascade=false",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = h.get("/api/v1/applications/c-app", &admin).await;
    assert_eq!(s, 404);
    assert_eq!(names(&h, "?projects=team", &admin).await, ["b-app"]);
    let deleted = wait_message(&mut body, &mut buf, |v| v["result"]["type"] == "DELETED").await;
    assert_eq!(
        deleted["result"]["application"]["metadata"]["name"],
        "c-app"
    );

    // deleted in the cluster by someone else
    let rt = h
        .cluster
        .client
        .resolve("argoproj.io/v1alpha1", "Application")
        .await
        .unwrap();
    h.cluster
        .client
        .delete(&rt, Some("argocd"), "a-app", &Default::default())
        .await
        .unwrap();
    eventually(&h, "", &admin, &["b-app"]).await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_and_clusters_report_their_connection() {
    let h = Harness::start(Options::default()).await;
    h.repo
        .commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    let admin = h.admin_token().await;

    let (s, repo) = h
        .post(
            "/api/v1/repositories",
            &admin,
            json!({"repo": h.repo.url(), "type": "git"}),
        )
        .await;
    assert_eq!(s, 200, "{repo}");
    assert_eq!(repo["connectionState"]["status"], "Successful", "{repo}");
    assert!(repo["connectionState"]["attemptedAt"].as_str().is_some());
    // a repository that is not there, with a password that must not leak into the message
    let missing = format!("{}-missing", h.repo.url());
    let (s, bad) = h
        .post(
            "/api/v1/repositories",
            &admin,
            json!({"repo": missing, "username": "u", "password": "hunter2-secret"}),
        )
        .await;
    assert_eq!(s, 200, "{bad}");
    assert_eq!(bad["connectionState"]["status"], "Failed", "{bad}");
    assert!(
        !bad["connectionState"]["message"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let (s, list) = h.get("/api/v1/repositories", &admin).await;
    assert_eq!(s, 200);
    let states: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["repo"].as_str().unwrap(),
                r["connectionState"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        states.contains(&(h.repo.url().as_str(), "Successful")),
        "{states:?}"
    );
    assert!(states.contains(&(missing.as_str(), "Failed")), "{states:?}");
    assert!(!list.to_string().contains("hunter2-secret"), "{list}");
    // the repository appears later: a forced refresh tests again, a plain read reuses the result
    std::fs::create_dir_all(missing.trim_start_matches("file://")).unwrap();
    capstan_testkit::GitRepo::init(std::path::Path::new(missing.trim_start_matches("file://")))
        .commit(&[("a.yaml", "a: 1\n")], &[]);
    let path = format!("/api/v1/repositories/{}", urlencode(&missing));
    let (_, again) = h.get(&path, &admin).await;
    assert_eq!(again["connectionState"]["status"], "Failed", "{again}");
    let (_, again) = h.get(&format!("{path}?forceRefresh=true"), &admin).await;
    assert_eq!(again["connectionState"]["status"], "Successful", "{again}");

    // a Helm repository: its index.yaml is read with the credentials
    let helm = helm_repo().await;
    let (s, v) = h
        .post(
            "/api/v1/repositories",
            &admin,
            json!({"repo": helm, "type": "helm", "name": "charts", "username": "helm", "password": "helm-pass"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connectionState"]["status"], "Successful", "{v}");
    let (s, v) = h
        .post(
            "/api/v1/repositories?upsert=true",
            &admin,
            json!({"repo": helm, "type": "helm", "name": "charts", "username": "helm", "password": "wrong-pass"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connectionState"]["status"], "Failed", "{v}");
    assert!(
        v["connectionState"]["message"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{v}"
    );
    assert!(!v.to_string().contains("wrong-pass"), "{v}");

    // clusters: the in-cluster destination, the embedded apiserver by URL, and one that is down
    let server = h.cluster.client.server().to_string();
    let (s, v) = h
        .post(
            "/api/v1/clusters",
            &admin,
            json!({"server": server, "name": "embedded",
                   "config": {"bearerToken": "cluster-token-secret", "tlsClientConfig": {"insecure": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connectionState"]["status"], "Successful", "{v}");
    assert!(
        v["serverVersion"].as_str().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
    let (s, v) = h
        .post(
            "/api/v1/clusters",
            &admin,
            json!({"server": "https://127.0.0.1:1", "name": "down",
                   "config": {"bearerToken": "cluster-token-secret", "tlsClientConfig": {"insecure": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connectionState"]["status"], "Failed", "{v}");
    assert!(
        v["connectionState"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:1"),
        "{v}"
    );
    let (s, list) = h.get("/api/v1/clusters", &admin).await;
    assert_eq!(s, 200);
    let mut states: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["info"]["connectionState"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    states.sort();
    assert_eq!(
        states,
        [
            ("down", "Failed"),
            ("embedded", "Successful"),
            ("in-cluster", "Successful")
        ]
    );
    assert!(!list.to_string().contains("cluster-token-secret"));
    h.shutdown().await;
}

/// A Helm chart repository on loopback: `/charts/index.yaml` for user `helm`, password `helm-pass`.
async fn helm_repo() -> String {
    let app = axum::Router::new().route(
        "/charts/index.yaml",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            if auth == "Basic aGVsbTpoZWxtLXBhc3M=" {
                (axum::http::StatusCode::OK, "apiVersion: v1\nentries: {}\n")
            } else {
                (axum::http::StatusCode::UNAUTHORIZED, "")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/charts")
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
