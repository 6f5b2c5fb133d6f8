//! Benchmark of the embedded API server (not a test). Run with
//! `cargo run --release -p capstan-apiserver --example bench [-- --objects 100000]`.
//!
//! Measures, against an in-process server on loopback (HTTP through reqwest):
//! durable creates/s with 1 and 16 concurrent clients, watch delivery latency (p50/p99) with
//! 100 watchers, RSS with N ConfigMaps stored, and cold start time with N objects on disk.

use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::{Value, json};

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "bench"}}, "data": {"key": "value", "n": name}})
}

async fn creates(url: &str, clients: usize, per_client: usize, prefix: &str) -> f64 {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let u = format!("{url}/api/v1/namespaces/default/configmaps");
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let r = client
                    .post(&u)
                    .json(&cm(&format!("{prefix}-{c}-{i}")))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(r.status().as_u16(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn watch_latency(url: &str, watchers: usize, events: usize) -> (f64, f64) {
    let client = reqwest::Client::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let list: Value = client
        .get(format!("{url}/api/v1/namespaces/watch/configmaps"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let client = client.clone();
        let tx = tx.clone();
        let u = format!("{url}/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion={rv}");
        handles.push(tokio::spawn(async move {
            let mut r = client.get(u).send().await.expect("watch");
            let mut buf = String::new();
            while let Ok(Some(chunk)) = r.chunk().await {
                let now = Instant::now();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(i) = buf.find('\n') {
                    let line: String = buf.drain(..=i).collect();
                    if let Ok(ev) = serde_json::from_str::<Value>(line.trim()) {
                        let name = ev["object"]["metadata"]["name"]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        let _ = tx.send((name, now));
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = std::collections::HashMap::new();
    let u = format!("{url}/api/v1/namespaces/watch/configmaps");
    for i in 0..events {
        let name = format!("w{i}");
        let t = Instant::now();
        let r = client
            .post(&u)
            .json(&cm(&name))
            .send()
            .await
            .expect("create");
        assert_eq!(r.status().as_u16(), 201);
        sent.insert(name, t);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(tx);
    let mut lat = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lat.len() < watchers * events && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some((name, at))) => {
                if let Some(t) = sent.get(&name) {
                    lat.push(at.saturating_duration_since(*t).as_secs_f64() * 1000.0);
                }
            }
            _ => break,
        }
    }
    for h in handles {
        h.abort();
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  watch events received: {} of {}",
        lat.len(),
        watchers * events
    );
    (pct(&lat, 0.5), pct(&lat, 0.99))
}

fn rss_of(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Child mode: serve DIR, print the URL and the start time, run until killed.
async fn serve_child(dir: &str) {
    let mut config = capstan_apiserver::Config::new("127.0.0.1:0".parse().expect("addr"), dir);
    config.simulation.enabled = false;
    let start = Instant::now();
    let running = capstan_apiserver::start(config).await.expect("start");
    println!(
        "{} {:.3} {}",
        running.url(),
        start.elapsed().as_secs_f64(),
        running.cluster.store.object_count()
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
}

struct Server {
    child: std::process::Child,
    url: String,
    start_secs: f64,
    objects: usize,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_server(dir: &std::path::Path) -> Server {
    use std::io::BufRead;
    let exe = std::env::current_exe().expect("own path");
    let mut child = std::process::Command::new(exe)
        .arg("--serve")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("server child");
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    std::io::BufReader::new(out)
        .read_line(&mut line)
        .expect("url line");
    let mut parts = line.split_whitespace();
    let url = parts.next().unwrap_or_default().to_string();
    let start_secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let objects = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    Server {
        child,
        url,
        start_secs,
        objects,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if let Some(dir) = std::env::args().skip_while(|a| a != "--serve").nth(1) {
        serve_child(&dir).await;
        return;
    }
    let objects: usize = std::env::args()
        .skip_while(|a| a != "--objects")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = spawn_server(&data);
    let url = server.url.clone();
    println!("capstan-apiserver benchmark ({objects} objects; server in its own process)");

    let one = creates(&url, 1, 1000, "one").await;
    println!("  durable creates/s, 1 client:   {one:.0}");
    let sixteen = creates(&url, 16, 250, "sixteen").await;
    println!("  durable creates/s, 16 clients: {sixteen:.0}");

    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "watch"}});
    reqwest::Client::new()
        .post(format!("{url}/api/v1/namespaces"))
        .json(&ns)
        .send()
        .await
        .expect("ns");
    let (p50, p99) = watch_latency(&url, 100, 100).await;
    println!("  watch latency, 100 watchers: p50 {p50:.2} ms, p99 {p99:.2} ms");

    let have = 1000 + 16 * 250;
    let rest = objects.saturating_sub(have);
    let fill_start = Instant::now();
    if rest > 0 {
        let rate = creates(&url, 16, rest.div_ceil(16), "fill").await;
        println!(
            "  filled {rest} more ConfigMaps in {:.1} s ({rate:.0}/s)",
            fill_start.elapsed().as_secs_f64()
        );
    }
    println!(
        "  server RSS after the run: {:.0} MiB",
        rss_of(server.child.id())
    );
    drop(server); // SIGKILL: every acknowledged write is durable.

    let cold = spawn_server(&data);
    println!(
        "  cold start with {} objects on disk: {:.2} s",
        cold.objects, cold.start_secs
    );
    println!(
        "  server RSS after cold start: {:.0} MiB",
        rss_of(cold.child.id())
    );
    let started = Instant::now();
    let list: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/namespaces/default/configmaps", cold.url))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    println!(
        "  list of {} ConfigMaps: {:.2} s; server RSS after it: {:.0} MiB",
        list["items"].as_array().map_or(0, Vec::len),
        started.elapsed().as_secs_f64(),
        rss_of(cold.child.id())
    );
    drop(cold);
}
