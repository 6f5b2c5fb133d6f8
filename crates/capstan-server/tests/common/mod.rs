//! Harness: an embedded apiserver with the CRDs, a local Git repository, the in-process repo server,
//! a controller, and the API server under test, all started by the test; an HTTP client that talks
//! to the API server as a user would.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use capstan_controller::{Controller, ControllerConfig, ManifestGenerator, RepoGenerator};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_server::auth::ratelimit::Limits;
use capstan_server::{Listen, Running, ServerConfig};
use capstan_testkit::{Cluster, GitRepo};
#[allow(unused_imports)]
pub use capstan_testkit::{GUESTBOOK, health, op_phase, sync_status};
use serde_json::{Value, json};

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub cluster: Cluster,
    pub repo: GitRepo,
    pub server: Option<Running>,
    pub controller: Option<Controller>,
    pub http: reqwest::Client,
    pub url: String,
}

pub struct Options {
    pub controller: bool,
    pub limits: Limits,
    pub rbac: Option<Value>,
    pub cm: Option<Value>,
    /// Keys of argocd-secret written before the server starts (plain strings).
    pub secret: Option<Value>,
    /// The server's own webhook body limit (64 KiB unless set).
    pub webhook_max_body: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            controller: false,
            limits: Limits {
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(400),
                ..Limits::default()
            },
            rbac: None,
            cm: None,
            secret: None,
            webhook_max_body: None,
        }
    }
}

pub fn config_map(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "argocd"}, "data": data})
}

impl Harness {
    pub async fn start(options: Options) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::start(&dir.path().join("api"), Duration::from_millis(300)).await;
        let repo = GitRepo::init(&dir.path().join("repo"));
        if let Some(rbac) = &options.rbac {
            cluster
                .apply(&config_map("argocd-rbac-cm", rbac.clone()))
                .await;
        }
        if let Some(cm) = &options.cm {
            cluster.apply(&config_map("argocd-cm", cm.clone())).await;
        }
        if let Some(data) = &options.secret {
            cluster
                .apply(&json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "argocd-secret", "namespace": "argocd"},
                    "stringData": data}))
                .await;
        }
        let service = RepoService::new(
            ServiceSettings::new(dir.path().join("repo-server")),
            Arc::new(SecretCredentials::default()),
        )
        .unwrap();
        let generator = Arc::new(RepoGenerator::new(Arc::new(service)));
        let dyn_generator: Arc<dyn ManifestGenerator> = generator.clone();
        let server = capstan_server::start(
            Listen {
                api: "127.0.0.1:0".parse().unwrap(),
                metrics: Some("127.0.0.1:0".parse().unwrap()),
                tls: None,
            },
            cluster.client.clone(),
            ServerConfig {
                namespace: "argocd".into(),
                login_limits: options.limits.clone(),
                webhook_max_body: options.webhook_max_body.unwrap_or(64 * 1024),
            },
            Some(dyn_generator),
        )
        .await
        .expect("API server starts");
        let controller = if options.controller {
            let config = ControllerConfig {
                wave_delay: Duration::from_millis(300),
                poll_interval: Duration::from_millis(100),
                status_processors: 4,
                ..ControllerConfig::default()
            };
            Some(
                Controller::start(config, cluster.client.clone(), generator)
                    .await
                    .unwrap(),
            )
        } else {
            None
        };
        let url = server.url();
        Harness {
            dir,
            cluster,
            repo,
            server: Some(server),
            controller,
            http: reqwest::Client::new(),
            url,
        }
    }

    /// The initial admin password, read from the Secret as `capstan admin initial-password` does.
    pub async fn initial_password(&self) -> String {
        let secret = self
            .cluster
            .get(
                "v1",
                "Secret",
                Some("argocd"),
                "argocd-initial-admin-secret",
            )
            .await
            .expect("initial admin secret exists");
        capstan_settings::secret_data(&secret).unwrap()["password"].clone()
    }

    pub async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/session", self.url))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_token(&self) -> String {
        let pw = self.initial_password().await;
        let r = self.login("admin", &pw).await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub fn application(&self, name: &str, project: &str, path: &str, namespace: &str) -> Value {
        let mut app =
            capstan_testkit::application(name, &self.repo.url(), path, namespace, json!({}));
        app["spec"]["project"] = json!(project);
        app
    }

    /// Writes one key of argocd-secret.
    pub async fn patch_secret(&self, key: &str, value: &str) {
        let rt = self.cluster.client.resolve("v1", "Secret").await.unwrap();
        self.cluster
            .client
            .merge_patch(
                &rt,
                Some("argocd"),
                "argocd-secret",
                &json!({"stringData": {key: value}}),
            )
            .await
            .unwrap();
    }

    /// Sets a local account's password through the API (as admin).
    pub async fn set_password(&self, admin_token: &str, name: &str, password: &str) {
        let admin_pw = self.initial_password().await;
        let (s, v) = self
            .call(
                reqwest::Method::PUT,
                "/api/v1/account/password",
                admin_token,
                Some(json!({"name": name, "currentPassword": admin_pw, "newPassword": password})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }

    pub async fn token_of(&self, user: &str, password: &str) -> String {
        let r = self.login(user, password).await;
        assert_eq!(r.status(), 200, "login of {user}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        if let Some(c) = self.controller.take() {
            c.shutdown().await;
        }
        self.cluster.apiserver.stop().await;
    }
}
