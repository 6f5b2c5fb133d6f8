//! A new user's session against the API server over HTTP: log in as admin with the initial
//! password, add a repository and an application, sync it, read its status and resource tree, and
//! watch it change over Server-Sent Events.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_logs_in_creates_syncs_and_watches() {
    let h = Harness::start(Options {
        controller: true,
        ..Options::default()
    })
    .await;
    h.repo
        .commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);

    // public endpoints
    let (s, v) = h.get("/api/version", "").await;
    assert_eq!(s, 200);
    assert!(v["Version"].as_str().unwrap().starts_with("v3."));
    let (s, _) = h.get("/api/v1/settings", "").await;
    assert_eq!(s, 200);
    // everything else needs a session
    let (s, v) = h.get("/api/v1/applications", "").await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["code"], 16);

    let token = h.admin_token().await;
    // `curl -d '{...}'` sends the JSON as a form; it is read as JSON all the same
    let pw = h.initial_password().await;
    let r = h
        .http
        .post(format!("{}/api/v1/session", h.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(json!({"username": "admin", "password": pw}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .post(format!("{}/api/v1/session", h.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body"),
        "{v}"
    );
    let (s, v) = h.get("/api/v1/session/userinfo", &token).await;
    assert_eq!((s, &v["username"]), (200, &json!("admin")));

    // repository with a password that must never come back
    let (s, repo) = h
        .post(
            "/api/v1/repositories",
            &token,
            json!({"repo": h.repo.url(), "type": "git", "username": "git", "password": "hunter2-secret"}),
        )
        .await;
    assert_eq!(s, 200, "{repo}");
    assert_eq!(repo["repo"], h.repo.url());
    let (s, list) = h.get("/api/v1/repositories", &token).await;
    assert_eq!(s, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    for body in [&repo, &list] {
        let text = body.to_string();
        assert!(!text.contains("hunter2-secret"), "password leaked: {text}");
        assert!(
            !text.contains("\"password\""),
            "password field returned: {text}"
        );
    }
    // the Secret is labelled as Argo CD does
    let secrets = h
        .cluster
        .client
        .list(
            &h.cluster.client.resolve("v1", "Secret").await.unwrap(),
            Some("argocd"),
            Some("argocd.argoproj.io/secret-type=repository"),
        )
        .await
        .unwrap()
        .0;
    assert_eq!(secrets.len(), 1);

    // open the watch before creating the application
    let stream = h
        .http
        .get(format!(
            "{}/api/v1/stream/applications?name=guestbook",
            h.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = stream.bytes_stream();

    let (s, app) = h
        .post(
            "/api/v1/applications",
            &token,
            h.application("guestbook", "default", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 200, "{app}");
    // creating the same spec again is accepted, a different spec without upsert is refused
    let (s, _) = h
        .post(
            "/api/v1/applications",
            &token,
            h.application("guestbook", "default", "guestbook", "default"),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = h
        .post(
            "/api/v1/applications",
            &token,
            h.application("guestbook", "default", "other", "default"),
        )
        .await;
    assert_eq!(s, 400, "{v}");

    // wait for OutOfSync, then sync
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, app) = h.get("/api/v1/applications/guestbook", &token).await;
        if sync_status(&app) == "OutOfSync" {
            break;
        }
        assert!(Instant::now() < deadline, "never OutOfSync: {app}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, v) = h
        .post(
            "/api/v1/applications/guestbook/sync",
            &token,
            json!({"prune": false}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["operation"]["initiatedBy"]["username"], "admin");
    let app = loop {
        let (_, app) = h.get("/api/v1/applications/guestbook", &token).await;
        if sync_status(&app) == "Synced"
            && health(&app) == "Healthy"
            && op_phase(&app) == "Succeeded"
        {
            break app;
        }
        assert!(Instant::now() < deadline, "never synced: {}", app["status"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(app["status"]["history"].as_array().unwrap().len(), 1);

    // the list filters
    let (_, list) = h.get("/api/v1/applications?projects=default", &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = h.get("/api/v1/applications?projects=other", &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (_, list) = h
        .get(
            &format!("/api/v1/applications?repo={}", h.repo.url()),
            &token,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // resource tree: Deployment, Service, and the Deployment's ReplicaSet and Pod
    let (s, tree) = h
        .get("/api/v1/applications/guestbook/resource-tree", &token)
        .await;
    assert_eq!(s, 200, "{tree}");
    let kinds: Vec<&str> = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"Deployment") && kinds.contains(&"Service"),
        "{kinds:?}"
    );
    let rs = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "ReplicaSet")
        .unwrap_or_else(|| panic!("no ReplicaSet in {tree}"));
    assert_eq!(rs["parentRefs"][0]["kind"], "Deployment");

    // managed resources and manifests
    let (s, managed) = h
        .get("/api/v1/applications/guestbook/managed-resources", &token)
        .await;
    assert_eq!(s, 200, "{managed}");
    let items = managed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{managed}");
    assert!(
        items
            .iter()
            .all(|i| i["liveState"] != "null" && i["targetState"] != "null")
    );
    let (s, manifests) = h
        .get("/api/v1/applications/guestbook/manifests", &token)
        .await;
    assert_eq!(s, 200, "{manifests}");
    assert_eq!(manifests["manifests"].as_array().unwrap().len(), 2);

    // the per-application resource tree stream starts with the current tree
    let tree_stream = h
        .http
        .get(format!(
            "{}/api/v1/stream/applications/guestbook/resource-tree",
            h.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(tree_stream.status(), 200);
    let first = first_message(tree_stream.bytes_stream()).await;
    assert!(
        first["result"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "Pod"),
        "{first}"
    );

    // PATCH adds a label; the selector filter sees it
    let (s, v) = h
        .call(
            Method::PATCH,
            "/api/v1/applications/guestbook",
            &token,
            Some(json!({"patch": r#"{"metadata":{"labels":{"team":"a"}}}"#, "patchType": "merge"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["metadata"]["labels"]["team"], "a");
    let (_, list) = h
        .get("/api/v1/applications?selector=team%3Da", &token)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = h
        .get("/api/v1/applications?selector=team%3Db", &token)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // a patch may not move the application to a destination its project forbids
    let (s, v) = h
        .call(
            Method::PATCH,
            "/api/v1/applications/guestbook",
            &token,
            Some(json!({"patch": r#"[{"op":"replace","path":"/spec/project","value":"missing"}]"#, "patchType": "json"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");

    // nothing runs: terminate is refused; rollback to the first deployment runs a sync
    let (s, v) = h
        .call(
            Method::DELETE,
            "/api/v1/applications/guestbook/operation",
            &token,
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let history_id = app["status"]["history"][0]["id"].clone();
    let (s, v) = h
        .post(
            "/api/v1/applications/guestbook/rollback",
            &token,
            json!({"id": history_id}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["operation"]["sync"]["revision"],
        app["status"]["history"][0]["revision"]
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, a) = h.get("/api/v1/applications/guestbook", &token).await;
        if a["status"]["history"].as_array().map(Vec::len) == Some(2) && op_phase(&a) == "Succeeded"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rollback never ran: {}",
            a["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // the stream saw the application appear and change
    let mut events: Vec<Value> = Vec::new();
    let mut buf = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events
        .iter()
        .any(|e| sync_status(&e["result"]["application"]) == "Synced")
    {
        let chunk = tokio::time::timeout_at(deadline.into(), body.next())
            .await
            .expect("stream events in time")
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let message: String = buf.drain(..end + 2).collect();
            for line in message.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    events.push(serde_json::from_str(data.trim()).unwrap());
                }
            }
        }
    }
    assert_eq!(events[0]["result"]["type"], "ADDED");
    assert_eq!(
        events[0]["result"]["application"]["metadata"]["name"],
        "guestbook"
    );
    assert!(
        events
            .iter()
            .skip(1)
            .any(|e| e["result"]["type"] == "MODIFIED")
    );

    // delete without cascade removes the application and leaves the resources
    let (s, _) = h
        .call(
            Method::DELETE,
            "/api/v1/applications/guestbook?cascade=false",
            &token,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, _) = h.get("/api/v1/applications/guestbook", &token).await;
        if s == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "application not deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        h.cluster
            .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
            .await
            .is_some()
    );
    // metrics were counted
    let metrics = reqwest::get(format!(
        "http://{}/metrics",
        h.server.as_ref().unwrap().metrics_addr.unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        metrics.contains("argocd_login_request_total{status=\"success\"} 2"),
        "{metrics}"
    );
    h.shutdown().await;
}

/// The first `data:` message of an SSE body.
async fn first_message(
    body: impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
) -> Value {
    let mut body = body;
    let mut buf = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let chunk = tokio::time::timeout_at(deadline.into(), body.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(end) = buf.find("\n\n") {
            let data: String = buf[..end]
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .collect();
            return serde_json::from_str(data.trim()).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_describes_the_routes() {
    let h = Harness::start(Options::default()).await;
    let (s, doc) = h.get("/swagger.json", "").await;
    assert_eq!(s, 200);
    assert_eq!(doc["swagger"], "2.0");
    let token = h.admin_token().await;
    // every documented GET without path parameters is routed (answers something other than 404/405)
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path.contains('{') || ops.get("get").is_none() || path.contains("/stream/") {
            continue;
        }
        let (s, v) = h.get(path, &token).await;
        assert!(s == 200, "{path}: {s} {v}");
    }
    h.shutdown().await;
}
