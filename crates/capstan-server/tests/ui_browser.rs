//! The web UI in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright for
//! Python, both installed by `scripts/install-test-deps`. The script
//! `crates/capstan-ui/tests/e2e/ui_e2e.py` logs in, creates an application from the form, syncs it
//! and watches its tile turn Synced/Healthy without reloading, opens the tree and a resource's diff
//! after a commit, rolls back, deletes, and checks that a read-only user sees Sync disabled and gets
//! the 403 message when forcing it; it also drives the graph view and grouping, the repository
//! "Test connection", the project role and sync window forms and the Kustomize parameter form, and
//! opens an application full of planted markup and `javascript:`/`data:` links to check that
//! nothing runs (issue #13). Screenshots of the list, the tree, the graph and the diff are written
//! to `<target dir>/ui-e2e/`.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{GUESTBOOK, Harness, Options};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("ui-e2e")
}

fn script() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../capstan-ui/tests/e2e/ui_e2e.py"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_in_headless_chromium() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/install-test-deps (apt package chromium)"
    );
    let probe = std::process::Command::new("python3")
        .args(["-c", "import playwright.sync_api"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "Python playwright is missing: run scripts/install-test-deps"
    );

    let h = Harness::start(Options {
        controller: true,
        cm: Some(json!({"accounts.viewer": "login", "statusbadge.enabled": "true"})),
        rbac: Some(json!({"policy.csv": "g, viewer, role:readonly\n"})),
        ..Options::default()
    })
    .await;
    h.repo
        .commit(&[("guestbook/guestbook-ui.yaml", GUESTBOOK)], &[]);
    let admin = h.admin_token().await;
    h.set_password(&admin, "viewer", "viewer-password-1").await;

    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts).unwrap();
    let child = tokio::process::Command::new("python3")
        .arg(script())
        .env("CAPSTAN_URL", &h.url)
        .env("ADMIN_PASSWORD", h.initial_password().await)
        .env("VIEWER_PASSWORD", "viewer-password-1")
        .env("REPO_URL", h.repo.url())
        .env("REPO_DIR", &h.repo.path)
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", CHROMIUM)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let out = tokio::time::timeout(Duration::from_secs(480), child.wait_with_output())
        .await
        .expect("the browser test finishes within 8 minutes")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser test failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
    for shot in ["list.png", "tree.png", "graph.png", "diff.png"] {
        let len = std::fs::metadata(artifacts.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "screenshot {shot} written");
    }
    println!("screenshots in {}", artifacts.display());
    h.shutdown().await;
}
