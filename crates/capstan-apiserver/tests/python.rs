//! The Python `kubernetes` client (installed by scripts/install-test-deps) can create, list,
//! patch and watch, and gets the expected conflicts.

mod common;

use std::time::Duration;

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_kubernetes_client_flow() {
    let s = TestServer::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_flow.py");
    let child = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&s.url)
        .env("TMPDIR", s.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("python finishes")
        .unwrap();
    assert!(
        out.status.success(),
        "python client flow failed (the `kubernetes` package comes from scripts/install-test-deps):\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("python client flow OK"));
}
