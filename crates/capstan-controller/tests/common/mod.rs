//! Test harness: an embedded apiserver with Capstan's CRDs, a local Git repository, the in-process
//! repo server and a controller, all started by the test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_controller::{Controller, ControllerConfig, RepoGenerator};
use capstan_kube::{ApplyOptions, ClusterClient, ConnectOptions};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use serde_json::{Value, json};

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub apiserver: Option<capstan_apiserver::Running>,
    pub client: ClusterClient,
    pub controller: Option<Controller>,
    pub repo: PathBuf,
}

fn git(repo: &Path, args: &[&str]) {
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
}

pub fn crd_objects() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    let mut out = Vec::new();
    for name in [
        "application-crd.yaml",
        "appproject-crd.yaml",
        "applicationset-crd.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        out.extend(
            capstan_yaml::parse_stream(&text)
                .unwrap()
                .into_iter()
                .map(|d| d.value),
        );
    }
    out
}

impl Harness {
    /// Starts the apiserver (simulation on, fast), installs the CRDs and the argocd namespace, creates
    /// an empty Git repository, and starts a controller.
    pub async fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            capstan_apiserver::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("api"));
        config.simulation.ready_delay = Duration::from_millis(300);
        let apiserver = capstan_apiserver::start(config).await.unwrap();
        let client =
            ClusterClient::from_kubeconfig(&apiserver.kubeconfig, None, ConnectOptions::default())
                .await
                .unwrap();
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
                .unwrap();
        }
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}});
        client.apply(&ns, &ApplyOptions::default()).await.unwrap();
        // the Application kind is served once its CRD is established
        let deadline = Instant::now() + Duration::from_secs(20);
        while client
            .resolve("argoproj.io/v1alpha1", "Application")
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "Application CRD not served");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        let mut harness = Harness {
            dir,
            apiserver: Some(apiserver),
            client,
            controller: None,
            repo,
        };
        harness.start_controller().await;
        harness
    }

    pub async fn start_controller(&mut self) {
        let service = RepoService::new(
            ServiceSettings::new(self.dir.path().join("repo-server")),
            Arc::new(SecretCredentials::default()),
        )
        .unwrap();
        let config = ControllerConfig {
            wave_delay: Duration::from_millis(300),
            poll_interval: Duration::from_millis(100),
            self_heal_backoff: (Duration::from_millis(500), 2, Duration::from_secs(5)),
            status_processors: 4,
            ..ControllerConfig::default()
        };
        let generator = Arc::new(RepoGenerator::new(Arc::new(service)));
        self.controller = Some(
            Controller::start(config, self.client.clone(), generator)
                .await
                .unwrap(),
        );
    }

    pub fn repo_url(&self) -> String {
        format!("file://{}", self.repo.display())
    }

    /// Writes files into the repository and commits them; returns the commit.
    pub fn commit(&self, files: &[(&str, &str)], remove: &[&str]) -> String {
        for (path, content) in files {
            let full = self.repo.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        for path in remove {
            std::fs::remove_file(self.repo.join(path)).unwrap();
        }
        git(&self.repo, &["add", "-A"]);
        git(
            &self.repo,
            &["commit", "-q", "-m", "change", "--allow-empty"],
        );
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&self.repo)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn application(
        &self,
        name: &str,
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
                "source": {"repoURL": self.repo_url(), "path": path, "targetRevision": "main"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                "syncPolicy": sync_policy,
            }
        })
    }

    pub async fn apply(&self, obj: &Value) -> Value {
        self.client
            .apply(
                obj,
                &ApplyOptions {
                    force: true,
                    field_manager: Some("test".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    pub async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let rt = self.client.resolve(api_version, kind).await.unwrap();
        self.client.get(&rt, namespace, name).await.unwrap()
    }

    pub async fn app(&self, name: &str) -> Value {
        self.get("argoproj.io/v1alpha1", "Application", Some("argocd"), name)
            .await
            .unwrap()
    }

    /// Asks for a sync the way the API does: by setting `operation`.
    pub async fn sync(&self, name: &str, prune: bool) {
        let rt = self
            .client
            .resolve("argoproj.io/v1alpha1", "Application")
            .await
            .unwrap();
        let patch =
            json!({"operation": {"sync": {"prune": prune}, "initiatedBy": {"username": "test"}}});
        self.client
            .merge_patch(&rt, Some("argocd"), name, &patch)
            .await
            .unwrap();
    }

    /// Polls the Application until `check` is true (or panics after `timeout` with the last state).
    pub async fn wait_app(
        &self,
        name: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let app = self.app(name).await;
            if check(&app) {
                return app;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting on {name}: {}",
                    serde_json::to_string_pretty(&app["status"]).unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(c) = self.controller.take() {
            c.shutdown().await;
        }
        if let Some(a) = self.apiserver.take() {
            a.stop().await;
        }
    }
}

pub fn sync_status(app: &Value) -> &str {
    app.pointer("/status/sync/status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn health(app: &Value) -> &str {
    app.pointer("/status/health/status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn op_phase(app: &Value) -> &str {
    app.pointer("/status/operationState/phase")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub const GUESTBOOK: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook-ui
spec:
  replicas: 1
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app: guestbook-ui
  template:
    metadata:
      labels:
        app: guestbook-ui
    spec:
      containers:
      - image: gcr.io/heptio-images/ks-guestbook-demo:0.2
        name: guestbook-ui
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: guestbook-ui
spec:
  ports:
  - port: 80
    targetPort: 80
  selector:
    app: guestbook-ui
"#;
