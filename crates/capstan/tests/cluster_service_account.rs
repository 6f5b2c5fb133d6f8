//! `capstan cluster add --service-account`, `cluster rotate-auth` and the per-cluster cache
//! statistics, end to end: a destination `capstan apiserver` process serving TLS with token
//! authentication, the CLI installing the argocd-manager ServiceAccount there, an application
//! synced to it with the ServiceAccount's token, the controller's cluster information shown by
//! `cluster get/list`, and a rotation after which the old token is refused (401) and the new one
//! works.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use capstan_controller::{ClusterTimings, Controller, ControllerConfig};
use capstan_kube::{ClusterClient, ConnectOptions, KubeError};
use capstan_settings::{Cluster as ClusterSettings, ClusterConfig, TlsClientConfig};
use capstan_testkit::{
    Cli, Cluster, GitRepo, KillOnDrop, Output, application, health, poll, probe_config_map,
    sync_status, wait_probe,
};
use common::{repo_generator, start_api_server};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "dest-admin-token";

/// A `capstan apiserver` process, killed when dropped (also when an assertion fails).
struct ApiServerProcess {
    _process: KillOnDrop,
    kubeconfig: PathBuf,
    url: String,
}

/// Starts `capstan apiserver --tls --token` on a free port and waits for its kubeconfig.
async fn start_apiserver(dir: &std::path::Path) -> ApiServerProcess {
    let process = KillOnDrop::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_capstan"))
            .args([
                "apiserver",
                "--listen",
                "127.0.0.1:0",
                "--tls",
                "--token",
                ADMIN_TOKEN,
            ])
            .arg("--data-dir")
            .arg(dir)
            .env("CAPSTAN_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
        "capstan apiserver",
    );
    let kubeconfig = dir.join("kubeconfig");
    let url = poll(
        Duration::from_secs(30),
        Duration::from_millis(100),
        async || {
            let text = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
            text.lines()
                .find_map(|l| l.trim().strip_prefix("server: "))
                .map(str::to_string)
                .ok_or_else(|| "capstan apiserver wrote no kubeconfig".to_string())
        },
    )
    .await;
    ApiServerProcess {
        _process: process,
        kubeconfig,
        url,
    }
}

/// `capstan cluster add capstan --kubeconfig KUBECONFIG --name dest EXTRA...`, asserted to succeed.
async fn add_cluster(cli: &Cli, kubeconfig: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "cluster",
        "add",
        "capstan",
        "--kubeconfig",
        kubeconfig,
        "--name",
        "dest",
    ];
    args.extend_from_slice(extra);
    cli.succeeds(&args).await
}

/// A client for the destination with `token` and the CA.
fn client_with(server: &str, ca: &str, token: &str) -> ClusterClient {
    let cluster = ClusterSettings {
        name: "dest".into(),
        server: server.into(),
        config: ClusterConfig {
            bearer_token: Some(token.into()),
            tls_client_config: TlsClientConfig {
                ca_data: Some(ca.into()),
                ..TlsClientConfig::default()
            },
            ..ClusterConfig::default()
        },
        ..ClusterSettings::default()
    };
    ClusterClient::from_cluster(&cluster, ConnectOptions::default()).unwrap()
}

/// Lists namespaces with `client`: Ok, or the HTTP status of the refusal.
async fn list_namespaces(client: &ClusterClient) -> Result<usize, u16> {
    let rt = match client.resolve("v1", "Namespace").await {
        Ok(rt) => rt,
        Err(KubeError::Api { code, .. }) => return Err(code),
        Err(e) => {
            let text = e.to_string();
            return Err(if text.contains("401") || text.contains("Unauthorized") {
                401
            } else {
                panic!("unexpected error: {text}")
            });
        }
    };
    match client.list(&rt, None, None).await {
        Ok((items, _)) => Ok(items.len()),
        Err(KubeError::Api { code, .. }) => Err(code),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The config JSON of the destination's cluster Secret in the control plane.
async fn cluster_config(control: &Cluster) -> Value {
    let (secrets, _) = control
        .client
        .list(
            &control.client.resolve("v1", "Secret").await.unwrap(),
            Some("argocd"),
            Some("argocd.argoproj.io/secret-type=cluster"),
        )
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1, "one cluster Secret: {secrets:?}");
    let data = capstan_settings::secret_data(&secrets[0]).unwrap();
    serde_json::from_str(&data["config"]).unwrap()
}

async fn dest_secret(client: &ClusterClient, name: &str) -> Option<Value> {
    let rt = client.resolve("v1", "Secret").await.unwrap();
    client.get(&rt, Some("kube-system"), name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_cluster_add_rotate_and_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let control = Cluster::start(&dir.path().join("control"), Duration::from_millis(100)).await;
    let dest = start_apiserver(&dir.path().join("dest")).await;
    let server = dest.url.clone();
    // the kubeconfig's CA data (base64 PEM), as `cluster add` stores it
    let ca = std::fs::read_to_string(&dest.kubeconfig)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .expect("the TLS kubeconfig has CA data")
        .to_string();
    let admin = client_with(&server, &ca, ADMIN_TOKEN);

    let repo = GitRepo::init(&dir.path().join("repo"));
    repo.commit(&[("cm/probe.yaml", &probe_config_map("one"))], &[]);
    let generator = repo_generator(&dir.path().join("repo-server"));
    let api = start_api_server(&control.client, None).await;
    let controller = Controller::start(
        ControllerConfig {
            wave_delay: Duration::from_millis(200),
            poll_interval: Duration::from_millis(200),
            cluster_timings: ClusterTimings {
                probe_interval: Duration::from_millis(500),
                retry_delay: Duration::from_millis(500),
                info_interval: Duration::from_millis(500),
                ..ClusterTimings::default()
            },
            ..ControllerConfig::default()
        },
        control.client.clone(),
        generator,
    )
    .await
    .unwrap();

    let cli = Cli::new(env!("CARGO_BIN_EXE_capstan"), dir.path().join("config"))
        .timeout(Duration::from_secs(120));
    let password = cli
        .initial_admin_password(&control.apiserver.kubeconfig)
        .await;
    let address = api.url().trim_start_matches("http://").to_string();
    cli.login_admin(&address, &password).await;

    // cluster add --service-account: ServiceAccount, ClusterRole, binding and token Secret in the
    // destination; the cluster Secret holds the ServiceAccount's token and the kubeconfig's CA
    let dest_kubeconfig = dest.kubeconfig.display().to_string();
    let out = add_cluster(&cli, &dest_kubeconfig, &["--service-account", "-y"]).await;
    assert_eq!(out.stdout.trim(), format!("Cluster '{server}' added"));
    assert!(
        out.stderr
            .contains("Created bearer token secret \"argocd-manager-long-lived-token\""),
        "{}",
        out.stderr
    );
    for (api_version, kind, ns, name) in [
        (
            "v1",
            "ServiceAccount",
            Some("kube-system"),
            "argocd-manager",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "argocd-manager-role",
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            None,
            "argocd-manager-role-binding",
        ),
    ] {
        let rt = admin.resolve(api_version, kind).await.unwrap();
        let obj = admin.get(&rt, ns, name).await.unwrap();
        assert!(obj.is_some(), "{kind} {name} was not created");
    }
    let role = admin
        .get(
            &admin
                .resolve("rbac.authorization.k8s.io/v1", "ClusterRole")
                .await
                .unwrap(),
            None,
            "argocd-manager-role",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role["rules"][0]["verbs"], json!(["*"]));
    let secret = dest_secret(&admin, "argocd-manager-long-lived-token")
        .await
        .expect("token Secret");
    assert_eq!(secret["type"], "kubernetes.io/service-account-token");
    let first_token = capstan_settings::secret_data(&secret).unwrap()["token"].clone();
    let stored = cluster_config(&control).await;
    assert_eq!(stored["bearerToken"], first_token.as_str());
    assert_eq!(stored["tlsClientConfig"]["caData"], ca.as_str());
    assert_ne!(first_token, ADMIN_TOKEN);
    assert_eq!(
        list_namespaces(&client_with(&server, &ca, &first_token)).await,
        Ok(4),
        "the ServiceAccount token authenticates"
    );

    // an application to that cluster syncs through the ServiceAccount's token
    let mut app = application(
        "to-dest",
        &repo.url(),
        "cm",
        "default",
        json!({"automated": {"prune": true}}),
    );
    app["spec"]["destination"]["server"] = json!(server);
    control.apply(&app).await;
    control
        .wait_app("to-dest", Duration::from_secs(90), |a| {
            sync_status(a) == "Synced" && health(a) == "Healthy"
        })
        .await;
    let cm_rt = admin.resolve("v1", "ConfigMap").await.unwrap();
    let probe = admin.get(&cm_rt, Some("default"), "probe").await.unwrap();
    assert_eq!(probe.unwrap()["data"]["value"], "one");

    // the controller's cache statistics, through the API and the CLI
    let shown = poll(
        Duration::from_secs(30),
        Duration::from_millis(300),
        async || {
            let c: Value =
                serde_json::from_str(&cli.ok(&["cluster", "get", &server, "-o", "json"]).await)
                    .unwrap();
            if c.pointer("/info/applicationsCount") == Some(&json!(1)) {
                Ok(c)
            } else {
                Err(format!("no cluster statistics: {c}"))
            }
        },
    )
    .await;
    let info = &shown["info"];
    assert_eq!(info["connectionState"]["status"], "Successful", "{shown}");
    assert_eq!(info["serverVersion"], "v1.32.0-capstan", "{shown}");
    assert!(
        info["cacheInfo"]["resourcesCount"].as_u64().unwrap() > 0,
        "{shown}"
    );
    assert!(
        info["cacheInfo"]["apisCount"].as_u64().unwrap() > 10,
        "{shown}"
    );
    let synced = info["cacheInfo"]["lastCacheSyncTime"].as_str().unwrap();
    assert!(
        synced.len() == 20 && synced.as_bytes()[10] == b'T' && synced.ends_with('Z'),
        "an RFC 3339 time: {shown}"
    );
    let list: Value =
        serde_json::from_str(&cli.ok(&["cluster", "list", "-o", "json"]).await).unwrap();
    let in_cluster = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["server"] == "https://kubernetes.default.svc")
        .expect("in-cluster listed");
    assert!(
        in_cluster["info"]["cacheInfo"]["resourcesCount"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{in_cluster}"
    );
    let wide = cli.ok(&["cluster", "list", "-o", "wide"]).await;
    let header = wide.lines().next().unwrap();
    assert!(
        header.contains("APPS") && header.contains("RESOURCES") && header.contains("LAST SYNC"),
        "{wide}"
    );
    let row = wide
        .lines()
        .find(|l| l.starts_with(&server))
        .unwrap_or_else(|| panic!("{wide}"));
    assert!(row.contains("Successful") && row.contains(synced), "{wide}");

    // rotate-auth: a new token Secret, the cluster Secret updated, the old token refused
    let out = cli.ok(&["cluster", "rotate-auth", &server]).await;
    assert_eq!(out.trim(), format!("Cluster '{server}' rotated auth"));
    let rotated = cluster_config(&control).await;
    let new_token = rotated["bearerToken"].as_str().unwrap().to_string();
    assert_ne!(new_token, first_token);
    assert_eq!(rotated["tlsClientConfig"]["caData"], ca.as_str());
    assert!(
        dest_secret(&admin, "argocd-manager-long-lived-token")
            .await
            .is_none(),
        "the old token Secret is deleted"
    );
    assert_eq!(
        list_namespaces(&client_with(&server, &ca, &first_token)).await,
        Err(401),
        "the old token is refused"
    );
    assert_eq!(
        list_namespaces(&client_with(&server, &ca, &new_token)).await,
        Ok(4),
        "the new token works"
    );
    let sa = admin
        .get(
            &admin.resolve("v1", "ServiceAccount").await.unwrap(),
            Some("kube-system"),
            "argocd-manager",
        )
        .await
        .unwrap()
        .unwrap();
    let listed = sa["secrets"][0]["name"].as_str().unwrap();
    assert!(listed.starts_with("argocd-manager-long-lived-"), "{sa}");
    // the controller reconnects with the new token and keeps syncing
    repo.commit(&[("cm/probe.yaml", &probe_config_map("two"))], &[]);
    control.refresh_app("to-dest").await;
    wait_probe(
        &admin,
        "two",
        Duration::from_secs(60),
        "the new commit never arrived",
    )
    .await;

    // a named, existing ServiceAccount is used as it is (no RBAC installed), replacing the cluster
    let sa_rt = admin.resolve("v1", "ServiceAccount").await.unwrap();
    admin
        .create(
            &json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "deployer", "namespace": "kube-system"}}),
            false,
        )
        .await
        .unwrap();
    let out = add_cluster(
        &cli,
        &dest_kubeconfig,
        &["--service-account", "deployer", "--upsert"],
    )
    .await;
    assert!(!out.stderr.contains("ClusterRole"), "{}", out.stderr);
    let deployer = dest_secret(&admin, "deployer-long-lived-token")
        .await
        .expect("token Secret of the named ServiceAccount");
    let deployer_token = capstan_settings::secret_data(&deployer).unwrap()["token"].clone();
    assert_eq!(
        cluster_config(&control).await["bearerToken"],
        deployer_token.as_str()
    );
    assert!(
        admin
            .get(&sa_rt, Some("kube-system"), "deployer")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        list_namespaces(&client_with(&server, &ca, &deployer_token)).await,
        Ok(4)
    );

    // a cluster not added with a service account: a clear error
    let out = cli
        .run(&["cluster", "rotate-auth", "https://kubernetes.default.svc"])
        .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("does not use bearer token authentication"),
        "{}",
        out.stderr
    );

    api.stop().await;
    controller.shutdown().await;
    drop(dest);
    control.apiserver.stop().await;
}
