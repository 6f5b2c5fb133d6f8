//! `capstan app wait` follows the application over the server's event stream instead of polling:
//! while it waits, it makes no GET request besides the first read and the stream itself (the API
//! server's request counter says so), and it ends as soon as the change arrives.

mod common;

use std::time::{Duration, Instant};

use capstan_testkit::{Cli, Cluster};
use common::start_api_server;
use serde_json::{Value, json};

fn get_requests(server: &capstan_server::Running) -> u64 {
    server
        .state
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("argocd_api_requests_total{method=\"GET\",status=\"200\"} "))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_wait_follows_the_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("api"), Duration::from_millis(300)).await;
    let server = start_api_server(&cluster.client, None).await;
    let secret = cluster
        .get(
            "v1",
            "Secret",
            Some("argocd"),
            "argocd-initial-admin-secret",
        )
        .await
        .unwrap();
    let password = capstan_settings::secret_data(&secret).unwrap()["password"].clone();
    let url = server.url();
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    cluster
        .apply(&capstan_testkit::application(
            "guestbook",
            "https://example.com/repo.git",
            "guestbook",
            "default",
            json!({}),
        ))
        .await;

    let before = get_requests(&server);
    let address = server.addr.to_string();
    let child = Cli::new(env!("CARGO_BIN_EXE_capstan"), dir.path().join("config"))
        .command(&[
            "app",
            "wait",
            "guestbook",
            "--health",
            "--timeout",
            "60",
            "--server",
            &address,
            "--plaintext",
        ])
        .env("CAPSTAN_AUTH_TOKEN", &token)
        .spawn()
        .expect("capstan runs");
    // long enough for several polls, were it polling
    tokio::time::sleep(Duration::from_secs(4)).await;
    let waiting = get_requests(&server) - before;
    cluster
        .patch_app(
            "guestbook",
            &json!({"status": {"health": {"status": "Healthy"}, "sync": {"status": "Synced"}}}),
        )
        .await;
    let changed = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("app wait ends")
        .unwrap();
    let took = changed.elapsed();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // one read of the application and the stream; a poller would have read it every second
    assert!(waiting <= 2, "{waiting} GET requests while waiting");
    // generous for a loaded CI machine: the request count above is what tells a stream from polling
    assert!(
        took < Duration::from_secs(15),
        "took {took:?} after the change"
    );
    server.stop().await;
    cluster.apiserver.stop().await;
}
