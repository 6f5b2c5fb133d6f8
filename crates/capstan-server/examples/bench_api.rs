//! Measurements of the API server for docs/benchmarks.md (not a test): list latency with 10,000
//! Applications, login throughput, and 100 concurrent SSE watchers receiving one update.
//!
//! `cargo run --release -p capstan-server --example bench_api -- [apps] [watchers]`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use capstan_server::{Listen, ServerConfig};
use futures::StreamExt;
use serde_json::{Value, json};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let apps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let watchers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let cluster =
        capstan_testkit::Cluster::start(&dir.path().join("api"), Duration::from_millis(100)).await;
    let rt = cluster
        .client
        .resolve("argoproj.io/v1alpha1", "Application")
        .await
        .unwrap();
    let started = Instant::now();
    let names: Vec<usize> = (0..apps).collect();
    futures::stream::iter(names)
        .for_each_concurrent(64, |i| {
            let client = cluster.client.clone();
            async move {
                let app = capstan_testkit::application(
                    &format!("app-{i:05}"),
                    "https://github.com/argoproj/argocd-example-apps.git",
                    "guestbook",
                    "default",
                    json!({}),
                );
                client.create(&app, false).await.unwrap();
            }
        })
        .await;
    eprintln!("created {apps} applications in {:?}", started.elapsed());
    let server = capstan_server::start(
        Listen {
            api: "127.0.0.1:0".parse().unwrap(),
            metrics: None,
            tls: None,
        },
        cluster.client.clone(),
        ServerConfig::default(),
        None,
    )
    .await
    .unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
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

    // login throughput (bcrypt cost 10 dominates)
    let n = 20;
    let started = Instant::now();
    let mut token = String::new();
    for _ in 0..n {
        let r: Value = http
            .post(format!("{url}/api/v1/session"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token = r["token"].as_str().unwrap().to_string();
    }
    let login_rate = n as f64 / started.elapsed().as_secs_f64();

    // list latency
    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let r: Value = http
            .get(format!("{url}/api/v1/applications"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(r["items"].as_array().unwrap().len(), apps);
    }
    times.sort();

    // SSE fan-out: watchers of one application see one change
    let mut streams = Vec::new();
    for _ in 0..watchers {
        let r = http
            .get(format!("{url}/api/v1/stream/applications?name=app-00000"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        streams.push(r.bytes_stream());
    }
    // wait for the initial ADDED on every stream
    for s in &mut streams {
        let _ = tokio::time::timeout(Duration::from_secs(120), s.next())
            .await
            .unwrap();
    }
    let changed = Instant::now();
    cluster
        .client
        .merge_patch(
            &rt,
            Some("argocd"),
            "app-00000",
            &json!({"metadata": {"labels": {"bench": "1"}}}),
        )
        .await
        .unwrap();
    let mut arrivals = Vec::new();
    for s in &mut streams {
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(60), s.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if String::from_utf8_lossy(&chunk).contains("MODIFIED") {
                arrivals.push(changed.elapsed());
                break;
            }
        }
    }
    arrivals.sort();
    println!("applications: {apps}");
    println!(
        "GET /api/v1/applications: p50 {:?}, p99 {:?}, max {:?} (30 requests)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().unwrap()
    );
    println!("login: {login_rate:.1} logins/s (sequential, bcrypt cost 10)");
    println!(
        "{watchers} SSE watchers: update seen by all within {:?} (p50 {:?})",
        arrivals.last().unwrap(),
        percentile(&arrivals, 0.5)
    );
    server.stop().await;
    cluster.apiserver.stop().await;
}
