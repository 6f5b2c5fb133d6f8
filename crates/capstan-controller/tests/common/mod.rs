//! Harness: an embedded apiserver with Capstan's CRDs, a local Git repository, the in-process repo
//! server and a controller, all started by the test (the pieces come from capstan-testkit). The
//! harness dereferences to its [`Cluster`], for reading, applying, patching and waiting.

#![allow(dead_code, unused_imports)]

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use capstan_controller::{Controller, ControllerConfig, RepoGenerator};
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_testkit::{Cluster, GitRepo};
pub use capstan_testkit::{GUESTBOOK, health, op_phase, sync_status};
use serde_json::{Value, json};

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub cluster: Cluster,
    pub controller: Option<Controller>,
    pub repo: GitRepo,
}

impl Harness {
    pub async fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::start(&dir.path().join("api"), Duration::from_millis(300)).await;
        let repo = GitRepo::init(&dir.path().join("repo"));
        let mut harness = Harness {
            dir,
            cluster,
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
            Controller::start(config, self.cluster.client.clone(), generator)
                .await
                .unwrap(),
        );
    }

    pub fn commit(&self, files: &[(&str, &str)], remove: &[&str]) -> String {
        self.repo.commit(files, remove)
    }

    pub fn application(
        &self,
        name: &str,
        path: &str,
        namespace: &str,
        sync_policy: Value,
    ) -> Value {
        capstan_testkit::application(name, &self.repo.url(), path, namespace, sync_policy)
    }

    /// Creates the Application `name` deploying `path` to `namespace` without a sync policy, and
    /// waits (up to `timeout`) until it is compared and OutOfSync.
    pub async fn create_out_of_sync(
        &self,
        name: &str,
        path: &str,
        namespace: &str,
        timeout: Duration,
    ) {
        self.apply(&self.application(name, path, namespace, json!({})))
            .await;
        self.wait_app(name, timeout, |a| sync_status(a) == "OutOfSync")
            .await;
    }

    /// Asks for a sync the way the API does: by setting `operation`.
    pub async fn sync(&self, name: &str, prune: bool) {
        let patch =
            json!({"operation": {"sync": {"prune": prune}, "initiatedBy": {"username": "test"}}});
        self.cluster.patch_app(name, &patch).await;
    }

    pub async fn shutdown(mut self) {
        if let Some(c) = self.controller.take() {
            c.shutdown().await;
        }
        self.cluster.apiserver.stop().await;
    }
}

impl Deref for Harness {
    type Target = Cluster;

    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}
