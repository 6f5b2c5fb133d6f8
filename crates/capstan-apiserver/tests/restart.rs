//! Durability: kill -9 a `capstan apiserver` process while clients write, restart it on the
//! same data directory, and check that every acknowledged write is there, resourceVersions
//! keep growing, and a watcher resuming from its last resourceVersion misses nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The `capstan` binary: `$CAPSTAN_BIN`, else `$CARGO_TARGET_DIR/debug/capstan` (built on demand).
fn capstan_bin() -> PathBuf {
    if let Ok(p) = std::env::var("CAPSTAN_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "capstan"])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo build runs");
    assert!(status.success(), "cargo build -p capstan failed");
    target.join("debug/capstan")
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &Path, dir: &Path) -> (Proc, String) {
    let kc = dir.join("kubeconfig");
    let _ = std::fs::remove_file(&kc);
    let child = Proc(
        Command::new(bin)
            .args(["apiserver", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .arg("--no-simulation")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("capstan apiserver starts"),
    );
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&kc)
            && let Some(line) = text.lines().find(|l| l.trim_start().starts_with("server:"))
        {
            let url = line
                .trim_start()
                .trim_start_matches("server:")
                .trim()
                .to_string();
            return (child, url);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not write its kubeconfig"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rv_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_no_acknowledged_write() {
    let bin = tokio::task::spawn_blocking(capstan_bin).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (mut proc1, url) = spawn(&bin, &dir);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let cms = format!("{url}/api/v1/namespaces/default/configmaps");
    let list0: Value = client.get(&cms).send().await.unwrap().json().await.unwrap();
    let start_rv = rv_of(&list0);

    // A watcher records every name it sees and the last resourceVersion.
    let watch_url = format!("{cms}?watch=true&resourceVersion={start_rv}");
    let watcher = tokio::spawn({
        let client = client.clone();
        async move {
            let mut seen = BTreeSet::new();
            let mut last = start_rv;
            let Ok(mut r) = client
                .get(&watch_url)
                .timeout(Duration::from_secs(60))
                .send()
                .await
            else {
                return (seen, last);
            };
            let mut buf = String::new();
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(i) = buf.find('\n') {
                    let line: String = buf.drain(..=i).collect();
                    if let Ok(ev) = serde_json::from_str::<Value>(line.trim()) {
                        seen.insert(
                            ev["object"]["metadata"]["name"]
                                .as_str()
                                .unwrap_or("")
                                .to_string(),
                        );
                        last = last.max(rv_of(&ev["object"]));
                    }
                }
            }
            (seen, last)
        }
    });

    // Writers: everything acknowledged with 201 must survive.
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = client.clone();
        let cms = cms.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000 {
                let name = format!("w{w}-{i}");
                let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": i.to_string()}});
                match client.post(&cms).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => acked.push(name),
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proc1.0.kill().unwrap(); // SIGKILL
    proc1.0.wait().unwrap();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    let (mut seen, last_seen) = watcher.await.unwrap();
    assert!(
        acked.len() > 20,
        "writers made progress before the kill ({} acknowledged)",
        acked.len()
    );

    let (_proc2, url2) = spawn(&bin, &dir);
    let cms2 = format!("{url2}/api/v1/namespaces/default/configmaps");
    let list: Value = client
        .get(&cms2)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: BTreeSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    for name in &acked {
        assert!(
            stored.contains(name),
            "acknowledged {name} lost after kill -9"
        );
    }
    let list_rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(list_rv >= last_seen);
    // Resume the watch from the last seen resourceVersion: the rest arrives, nothing is missing.
    let missing_before: usize = stored.iter().filter(|n| !seen.contains(*n)).count();
    let r = client
        .get(format!(
            "{cms2}?watch=true&resourceVersion={last_seen}&timeoutSeconds=2"
        ))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    for line in text.lines() {
        let ev: Value = serde_json::from_str(line).unwrap();
        assert_ne!(ev["type"], "ERROR", "{ev}");
        seen.insert(
            ev["object"]["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for name in &stored {
        assert!(
            seen.contains(name),
            "watcher missed {name} ({missing_before} were outstanding before resuming)"
        );
    }
    // New writes get larger resourceVersions.
    let created: Value = client
        .post(&cms2)
        .json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-restart"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rv_of(&created) > list_rv);
}
