//! `capstan up` as a new user runs it: the demo application syncs, a commit deploys, a manual change is
//! reverted, a restart keeps everything, and deleting the application removes its resources.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_testkit::{
    Cli, GitRepo, KillOnDrop, free_port, health, kubectl, poll, poll_blocking, sync_status,
    up_command,
};
use serde_json::Value;

/// `capstan up`, killed when dropped; its standard output is piped (the admin password is there).
fn start(data: &Path, port: u16, api_port: u16) -> KillOnDrop {
    KillOnDrop::spawn(
        up_command(
            Path::new(env!("CARGO_BIN_EXE_capstan")),
            data,
            port,
            api_port,
        )
        .env("CAPSTAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null()),
        "capstan up",
    )
}

/// Stops `capstan up` with SIGTERM and asserts a clean exit within 30 s.
fn stop(child: &mut Child) {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    poll_blocking(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "capstan up exited with {status}");
                Ok(())
            }
            None => Err("capstan up did not stop within 30 s of SIGTERM".to_string()),
        },
    );
}

async fn client(kubeconfig: &Path) -> ClusterClient {
    poll(
        Duration::from_secs(60),
        Duration::from_millis(100),
        async || {
            if kubeconfig.exists() {
                Ok(())
            } else {
                Err("no kubeconfig written".to_string())
            }
        },
    )
    .await;
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
    poll(timeout, Duration::from_millis(200), async || {
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
            Ok(())
        } else {
            Err(format!(
                "timed out: {what}; app status: {}",
                app.map(|a| a["status"].to_string()).unwrap_or_default()
            ))
        }
    })
    .await;
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
        None,
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
    let capstan = Cli::new(env!("CARGO_BIN_EXE_capstan"), dir.path().join("config"))
        .home(dir.path())
        .log(None);
    let cli = |args: &[&str]| {
        let out = capstan.run_blocking(args);
        (out.success(), out.combined())
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
        None,
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
        None,
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
