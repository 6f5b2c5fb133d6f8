//! The in-process parts of a control plane that the binary's end-to-end tests start beside a
//! capstan-testkit cluster: `capstan server`'s API and the in-process repo server. They live here
//! rather than in capstan-testkit because the server, the controller and the repo server use
//! capstan-testkit for their own tests.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use capstan_controller::{ManifestGenerator, RepoGenerator};
use capstan_kube::ClusterClient;
use capstan_repo::{RepoService, SecretCredentials, ServiceSettings};
use capstan_server::{Listen, ServerConfig};

/// `capstan server`'s API on a free loopback port (plain HTTP, no metrics listener), serving the
/// `argocd` namespace of `client`'s cluster, rendering through `generator` when one is given.
pub async fn start_api_server(
    client: &ClusterClient,
    generator: Option<Arc<dyn ManifestGenerator>>,
) -> capstan_server::Running {
    capstan_server::start(
        Listen {
            api: "127.0.0.1:0".parse().unwrap(),
            metrics: None,
            tls: None,
        },
        client.clone(),
        ServerConfig {
            namespace: "argocd".into(),
            ..ServerConfig::default()
        },
        generator,
    )
    .await
    .expect("API server starts")
}

/// The in-process repo server, without repository credentials, caching under `cache`.
pub fn repo_generator(cache: &Path) -> Arc<RepoGenerator> {
    let service = RepoService::new(
        ServiceSettings::new(cache.to_path_buf()),
        Arc::new(SecretCredentials::default()),
    )
    .unwrap();
    Arc::new(RepoGenerator::new(Arc::new(service)))
}
