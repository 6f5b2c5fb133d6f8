//! `capstan up` as a new user runs it: the demo application syncs, a commit deploys, a manual change is
//! reverted, a restart keeps everything, and deleting the application removes its resources.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_testkit::{GitRepo, health, sync_status};
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &Path, port: u16, api_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_capstan"))
        .args(["up", "--reconciliation", "2s"])
        .arg("--data-dir")
        .arg(data)
        .arg("--apiserver-listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{api_port}"))
        .env("CAPSTAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("capstan up starts")
}

fn stop(child: &mut Child) {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "capstan up exited with {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "capstan up did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn client(kubeconfig: &Path) -> ClusterClient {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "no kubeconfig written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ClusterClient::from_kubeconfig(kubeconfig, None, ConnectOptions::default())
        .await
        .unwrap()
}

async fn wait(
    c: &ClusterClient,
    what: &str,
    timeout: Duration,
    check: impl Fn(Option<&Value>, Option<&Value>) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let app = match c.resolve("argoproj.io/v1alpha1", "Application").await {
            Ok(rt) => c.get(&rt, Some("argocd"), "guestbook").await.ok().flatten(),
            Err(_) => None,
        };
        let deployment = match c.resolve("apps/v1", "Deployment").await {
            Ok(rt) => c
                .get(&rt, Some("guestbook"), "guestbook-ui")
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        if check(app.as_ref(), deployment.as_ref()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {what}; app status: {}",
            app.map(|a| a["status"].to_string()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn replicas(d: Option<&Value>) -> Option<i64> {
    d?.pointer("/spec/replicas")?.as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capstan_up_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let api_port = free_port();
    let started = Instant::now();
    let mut up = start(&data, port, api_port);
    // the first start prints the admin password once
    let stdout = up.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let kubeconfig = data.join("kubeconfig");
    let c = client(&kubeconfig).await;
    wait(
        &c,
        "demo Synced and Healthy",
        Duration::from_secs(90),
        |app, _| app.is_some_and(|a| sync_status(a) == "Synced" && health(a) == "Healthy"),
    )
    .await;
    eprintln!(
        "capstan up: demo application Healthy {:.1} s after start",
        started.elapsed().as_secs_f64()
    );
    let (ok, out) = kubectl(
        &kubeconfig,
        &["get", "deployment", "guestbook-ui", "-n", "guestbook"],
    );
    assert!(ok && out.contains("guestbook-ui"), "{out}");
    let password = rx
        .iter()
        .find_map(|line| {
            line.trim()
                .strip_prefix("admin password:")
                .map(|p| p.split_whitespace().next().unwrap_or_default().to_string())
        })
        .expect("the admin password is printed");
    // a new user logs in with it and sees the demo application
    let config_home = dir.path().join("config");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_capstan"))
            .args(args)
            .env("XDG_CONFIG_HOME", &config_home)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let server = format!("http://127.0.0.1:{api_port}");
    let (ok, out) = cli(&[
        "login",
        &server,
        "--username",
        "admin",
        "--password",
        &password,
    ]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["app", "list"]);
    assert!(
        ok && out.contains("guestbook") && out.contains("Synced"),
        "{out}"
    );

    // a commit to the demo repository is deployed (automated sync)
    let repo = GitRepo {
        path: data.join("demo-repo"),
    };
    let manifest = std::fs::read_to_string(repo.path.join("guestbook/guestbook-ui.yaml")).unwrap();
    repo.commit(
        &[(
            "guestbook/guestbook-ui.yaml",
            &manifest.replacen("replicas: 1", "replicas: 2", 1),
        )],
        &[],
    );
    wait(
        &c,
        "the commit deployed",
        Duration::from_secs(60),
        |app, d| replicas(d) == Some(2) && app.is_some_and(|a| sync_status(a) == "Synced"),
    )
    .await;

    // a manual change is reverted (selfHeal)
    let (ok, out) = kubectl(
        &kubeconfig,
        &[
            "scale",
            "deployment/guestbook-ui",
            "-n",
            "guestbook",
            "--replicas=4",
        ],
    );
    assert!(ok, "{out}");
    wait(
        &c,
        "self-heal reverted the scale",
        Duration::from_secs(60),
        |_, d| replicas(d) == Some(2),
    )
    .await;

    // stop and start again: everything is still there
    stop(&mut up);
    let mut up = start(&data, port, api_port);
    let c = client(&kubeconfig).await;
    wait(
        &c,
        "after restart, Synced and Healthy with its history",
        Duration::from_secs(90),
        |app, d| {
            app.is_some_and(|a| {
                sync_status(a) == "Synced"
                    && health(a) == "Healthy"
                    && a["status"]["history"]
                        .as_array()
                        .is_some_and(|h| h.len() >= 2)
            }) && replicas(d) == Some(2)
        },
    )
    .await;

    // deleting the application with its resources finalizer removes its resources
    let (ok, out) = kubectl(
        &kubeconfig,
        &[
            "delete",
            "application",
            "guestbook",
            "-n",
            "argocd",
            "--timeout=60s",
        ],
    );
    assert!(ok, "{out}");
    wait(
        &c,
        "resources deleted with the application",
        Duration::from_secs(60),
        |app, d| app.is_none() && d.is_none(),
    )
    .await;
    stop(&mut up);
}
