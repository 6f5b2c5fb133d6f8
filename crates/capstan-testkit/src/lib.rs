//! Test support shared by the integration and end-to-end tests: an in-process `capstan apiserver`
//! with Capstan's CRDs and the `argocd` namespace, local Git repositories, polling with a deadline
//! that reports the last state seen ([`poll`]), destination clusters and their Leases
//! ([`destinations`]), child processes killed on drop ([`process`]), and the `capstan` and `kubectl`
//! command lines ([`cli`]). Test code only: panics are the way it reports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cli;
pub mod destinations;
pub mod logs;
pub mod poll;
pub mod process;

pub use cli::{Cli, Output, kubectl};
pub use destinations::{
    cluster_lease_holders, cluster_secret, probe, probe_config_map, wait_probe,
};
pub use poll::{poll, poll_blocking};
pub use process::{KillOnDrop, free_port, start_controller, up_command};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use capstan_kube::{ApplyOptions, ClusterClient, ConnectOptions, DeleteOptions, ResourceType};
use serde_json::{Value, json};

/// The CRDs of `deploy/crds/`.
pub fn crd_objects() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    let mut out = Vec::new();
    for name in [
        "application-crd.yaml",
        "appproject-crd.yaml",
        "applicationset-crd.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("deploy/crds is readable");
        out.extend(
            capstan_yaml::parse_stream(&text)
                .expect("CRDs parse")
                .into_iter()
                .map(|d| d.value),
        );
    }
    out
}

/// An in-process apiserver with the CRDs installed and the `argocd` namespace created.
pub struct Cluster {
    /// The server.
    pub apiserver: capstan_apiserver::Running,
    /// A client for it.
    pub client: ClusterClient,
}

impl Cluster {
    /// Starts one under `data_dir`, with simulated workloads becoming ready after `ready_delay`.
    pub async fn start(data_dir: &Path, ready_delay: Duration) -> Cluster {
        let mut config =
            capstan_apiserver::Config::new("127.0.0.1:0".parse().unwrap(), data_dir.to_path_buf());
        config.simulation.ready_delay = ready_delay;
        let apiserver = capstan_apiserver::start(config)
            .await
            .expect("apiserver starts");
        let client =
            ClusterClient::from_kubeconfig(&apiserver.kubeconfig, None, ConnectOptions::default())
                .await
                .expect("client for the apiserver");
        for crd in crd_objects() {
            client
                .apply(
                    &crd,
                    &ApplyOptions {
                        force: true,
                        ..Default::default()
                    },
                )
                .await
                .expect("CRD applies");
        }
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}});
        client
            .apply(&ns, &ApplyOptions::default())
            .await
            .expect("namespace applies");
        let deadline = Instant::now() + Duration::from_secs(20);
        while client
            .resolve("argoproj.io/v1alpha1", "Application")
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "Application CRD not served");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Cluster { apiserver, client }
    }

    /// Applies an object with force, as the manager `test`.
    pub async fn apply(&self, obj: &Value) -> Value {
        let options = ApplyOptions {
            force: true,
            field_manager: Some("test".into()),
            ..Default::default()
        };
        self.client.apply(obj, &options).await.expect("apply")
    }

    /// The served resource type of a kind; panics when it is not served.
    async fn resource_type(&self, api_version: &str, kind: &str) -> ResourceType {
        self.client
            .resolve(api_version, kind)
            .await
            .unwrap_or_else(|e| panic!("{api_version} {kind} is served: {e}"))
    }

    /// Reads an object.
    pub async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let rt = self.resource_type(api_version, kind).await;
        self.client.get(&rt, namespace, name).await.expect("get")
    }

    /// Merge-patches an object.
    pub async fn merge_patch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) {
        let rt = self.resource_type(api_version, kind).await;
        self.client
            .merge_patch(&rt, namespace, name, patch)
            .await
            .expect("merge patch");
    }

    /// Merge-patches an Application in `argocd`.
    pub async fn patch_app(&self, name: &str, patch: &Value) {
        self.merge_patch(
            "argoproj.io/v1alpha1",
            "Application",
            Some("argocd"),
            name,
            patch,
        )
        .await;
    }

    /// Reads an Application of `argocd`.
    pub async fn app(&self, name: &str) -> Value {
        self.get("argoproj.io/v1alpha1", "Application", Some("argocd"), name)
            .await
            .expect("Application exists")
    }

    /// Asks for a normal refresh of an Application in `argocd` (its refresh annotation), as a
    /// webhook or the CLI would.
    pub async fn refresh_app(&self, name: &str) {
        let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
        self.patch_app(name, &patch).await;
    }

    /// Deletes an object with the default options.
    pub async fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
        let rt = self.resource_type(api_version, kind).await;
        self.client
            .delete(&rt, namespace, name, &DeleteOptions::default())
            .await
            .expect("delete");
    }

    /// Polls an Application until `check` holds; panics with its status after `timeout`.
    pub async fn wait_app(
        &self,
        name: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        poll(timeout, Duration::from_millis(100), async || {
            let app = self.app(name).await;
            if check(&app) {
                Ok(app)
            } else {
                Err(format!(
                    "timed out waiting on {name}: {}",
                    serde_json::to_string_pretty(&app["status"]).unwrap()
                ))
            }
        })
        .await
    }
}

/// A local Git repository with a `main` branch.
pub struct GitRepo {
    /// Its directory.
    pub path: PathBuf,
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl GitRepo {
    /// Creates an empty repository at `path`.
    pub fn init(path: &Path) -> GitRepo {
        std::fs::create_dir_all(path).unwrap();
        git(path, &["init", "-q", "-b", "main"]);
        GitRepo {
            path: path.to_path_buf(),
        }
    }

    /// `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Writes and removes files, commits, and returns the commit SHA.
    pub fn commit(&self, files: &[(&str, &str)], remove: &[&str]) -> String {
        for (path, content) in files {
            let full = self.path.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        for path in remove {
            std::fs::remove_file(self.path.join(path)).unwrap();
        }
        git(&self.path, &["add", "-A"]);
        git(
            &self.path,
            &["commit", "-q", "-m", "change", "--allow-empty"],
        );
        git(&self.path, &["rev-parse", "HEAD"])
    }
}

/// An Application of the default project in `argocd`, deploying `path` of `repo_url` to `namespace`.
pub fn application(
    name: &str,
    repo_url: &str,
    path: &str,
    namespace: &str,
    sync_policy: Value,
) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": path, "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": sync_policy,
        }
    })
}

/// `status.sync.status`.
pub fn sync_status(app: &Value) -> &str {
    app.pointer("/status/sync/status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `status.health.status`.
pub fn health(app: &Value) -> &str {
    app.pointer("/status/health/status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `status.operationState.phase`.
pub fn op_phase(app: &Value) -> &str {
    app.pointer("/status/operationState/phase")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A one-replica Deployment and its Service (Argo CD's guestbook example).
pub const GUESTBOOK: &str = include_str!("../../capstan/demo/guestbook-ui.yaml");
