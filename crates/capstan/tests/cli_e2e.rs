//! The client commands as a new user runs them, against `capstan server`'s API (started in this
//! process on the embedded apiserver, with the controller and the repo server): log in with the
//! initial admin password, add a repository, create an application, sync it with --wait, look at
//! it, change Git and see `app diff` exit 1, roll back, delete with cascade. Also bad input.

mod common;

use std::sync::Arc;
use std::time::Duration;

use capstan_controller::{Controller, ControllerConfig, ManifestGenerator};
use capstan_testkit::{Cli, Cluster, GUESTBOOK, GitRepo};
use common::{repo_generator, start_api_server};
use serde_json::Value;

fn replicas(n: u32) -> String {
    GUESTBOOK.replace("replicas: 1", &format!("replicas: {n}"))
}

async fn deployment(cluster: &Cluster) -> Option<Value> {
    cluster
        .get("apps/v1", "Deployment", Some("default"), "guestbook-ui")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_session_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&dir.path().join("api"), Duration::from_millis(300)).await;
    let repo = GitRepo::init(&dir.path().join("repo"));
    repo.commit(&[("guestbook/guestbook-ui.yaml", &replicas(1))], &[]);
    let generator = repo_generator(&dir.path().join("repo-server"));
    let dyn_generator: Arc<dyn ManifestGenerator> = generator.clone();
    let server = start_api_server(&cluster.client, Some(dyn_generator)).await;
    let controller = Controller::start(
        ControllerConfig {
            wave_delay: Duration::from_millis(300),
            poll_interval: Duration::from_millis(200),
            ..ControllerConfig::default()
        },
        cluster.client.clone(),
        generator,
    )
    .await
    .unwrap();
    let address = server.url().trim_start_matches("http://").to_string();
    let cli = Cli::new(env!("CARGO_BIN_EXE_capstan"), dir.path().join("config"));

    // before logging in: one line telling what to do
    let err = cli.fails(&["app", "list"], 2).await;
    assert_eq!(err, "error: not logged in: run `capstan login SERVER`");

    // log in with the initial admin password
    let password = cli
        .initial_admin_password(&cluster.apiserver.kubeconfig)
        .await;
    let err = cli
        .fails(
            &["login", &address, "--plaintext", "--password", "wrong"],
            2,
        )
        .await;
    assert!(
        err.contains("Invalid username or password") || err.contains("invalid"),
        "{err}"
    );
    let out = cli.login_admin(&address, &password).await;
    assert!(out.contains("'admin' logged in successfully"), "{out}");
    let config = dir.path().join("config/capstan/config");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&config).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let version: Value = serde_json::from_str(&cli.ok(&["version", "-o", "json"]).await).unwrap();
    assert!(
        version["server"]["Version"]
            .as_str()
            .unwrap()
            .contains("capstan")
    );

    // add the repository
    let url = repo.url();
    cli.ok(&["repo", "add", &url]).await;
    let repos: Value =
        serde_json::from_str(&cli.ok(&["repo", "list", "-o", "json"]).await).unwrap();
    assert_eq!(repos[0]["repo"], url.as_str());

    // create and sync
    cli.ok(&[
        "app",
        "create",
        "guestbook",
        "--repo",
        &url,
        "--path",
        "guestbook",
        "--revision",
        "main",
        "--dest-server",
        "https://kubernetes.default.svc",
        "--dest-namespace",
        "default",
    ])
    .await;
    let names = cli.ok(&["app", "list", "-o", "name"]).await;
    assert_eq!(names.trim(), "argocd/guestbook");
    let out = cli
        .ok(&["app", "sync", "guestbook", "--wait", "--timeout", "120"])
        .await;
    assert!(out.contains("Health Status:      Healthy"), "{out}");
    assert!(deployment(&cluster).await.is_some());

    // look at it
    let app: Value =
        serde_json::from_str(&cli.ok(&["app", "get", "guestbook", "-o", "json"]).await).unwrap();
    assert_eq!(app["status"]["sync"]["status"], "Synced");
    assert_eq!(app["status"]["health"]["status"], "Healthy");
    let table = cli.ok(&["app", "get", "guestbook"]).await;
    assert!(
        table.contains("apps   Deployment  default    guestbook-ui  Synced"),
        "{table}"
    );
    let resources = cli.ok(&["app", "resources", "guestbook"]).await;
    assert!(
        resources
            .lines()
            .any(|l| l.contains("Deployment") && l.contains("guestbook-ui")),
        "{resources}"
    );
    let history = cli.ok(&["app", "history", "guestbook"]).await;
    assert_eq!(history.lines().count(), 2, "{history}");
    cli.ok(&["app", "diff", "guestbook"]).await;

    // a change in Git: app diff exits 1 (server comparison, a local directory, a revision)
    repo.commit(&[("guestbook/guestbook-ui.yaml", &replicas(3))], &[]);
    let out = cli
        .run(&["app", "diff", "guestbook", "--hard-refresh"])
        .await;
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout
            .contains("===== apps/Deployment default/guestbook-ui"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("replicas: 3"), "{}", out.stdout);
    let local = repo.path.join("guestbook").display().to_string();
    let out = cli
        .run(&["app", "diff", "guestbook", "--local", &local])
        .await;
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("replicas: 3"), "{}", out.stdout);
    let out = cli
        .run(&["app", "diff", "guestbook", "--revision", "main"])
        .await;
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );

    // deploy it, then roll back to the first deployment
    cli.ok(&["app", "sync", "guestbook", "--timeout", "120"])
        .await;
    assert_eq!(deployment(&cluster).await.unwrap()["spec"]["replicas"], 3);
    let history = cli.ok(&["app", "history", "guestbook", "-o", "json"]).await;
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2);
    cli.ok(&["app", "rollback", "guestbook", "--timeout", "120"])
        .await;
    assert_eq!(deployment(&cluster).await.unwrap()["spec"]["replicas"], 1);

    // bad input: one line, non-zero exit
    let err = cli.fails(&["app", "get", "nope"], 2).await;
    assert!(err.contains("nope"), "{err}");
    let bad = dir.path().join("app.yaml");
    std::fs::write(
        &bad,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: x\nspec:\n  destination: 7\n",
    )
    .unwrap();
    let err = cli
        .fails(&["app", "create", "-f", bad.to_str().unwrap()], 2)
        .await;
    assert!(
        err.starts_with(&format!("error: {}:6:", bad.display())),
        "{err}"
    );
    let err = cli.fails(&["app", "list", "-o", "bogus"], 2).await;
    assert!(err.contains("invalid value 'bogus'"), "{err}");
    let err = cli
        .fails(&["app", "sync", "guestbook", "--resource", "Deployment"], 2)
        .await;
    assert!(err.contains("GROUP:KIND:NAME"), "{err}");

    // delete with cascade and wait until it is gone
    cli.ok(&[
        "app",
        "delete",
        "guestbook",
        "-y",
        "--wait",
        "--timeout",
        "120",
    ])
    .await;
    assert!(
        deployment(&cluster).await.is_none(),
        "cascade deletes the Deployment"
    );
    let list = cli.ok(&["app", "list", "-o", "json"]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap(),
        serde_json::json!([])
    );

    cli.ok(&["logout"]).await;
    cli.fails(&["app", "list"], 2).await;

    server.stop().await;
    controller.shutdown().await;
}
