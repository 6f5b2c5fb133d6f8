//! The in-process repo server as the controller's manifest generator.

use std::sync::Arc;

use capstan_repo::{ManifestRequest, Refresh, RemoteRepoServer, RepoClient, RepoService};
use capstan_types::ApplicationSourceType;

use crate::manifests::{GenerateFuture, GenerateRequest, Generated, ManifestGenerator};

/// Renders through the repo server: a [`RepoService`] in this process, or a remote
/// `capstan repo-server`.
pub struct RepoGenerator {
    service: RepoClient,
}

impl RepoGenerator {
    /// Uses a service in this process.
    pub fn new(service: Arc<RepoService>) -> Self {
        RepoGenerator {
            service: RepoClient::InProcess(service),
        }
    }

    /// Uses a `capstan repo-server` at `base` (`http://host:8081`).
    pub fn remote(server: RemoteRepoServer) -> Self {
        RepoGenerator {
            service: RepoClient::Remote(Box::new(server)),
        }
    }
}

impl ManifestGenerator for RepoGenerator {
    fn generate(&self, request: GenerateRequest) -> GenerateFuture<'_> {
        Box::pin(async move {
            let ref_sources: Vec<_> = request
                .sources
                .iter()
                .filter(|s| s.reference.is_some())
                .cloned()
                .collect();
            let mut objects = Vec::new();
            let mut revision = None;
            let mut source_type = None;
            for source in &request.sources {
                // a source that only provides `$ref` value files renders nothing itself
                if source.reference.is_some() && source.path.is_none() && source.chart.is_none() {
                    continue;
                }
                let mut source = source.clone();
                if let Some(rev) = &request.revision {
                    source.target_revision = Some(rev.clone());
                }
                let manifest_request = ManifestRequest {
                    source,
                    app_name: request.app_name.clone(),
                    namespace: request.destination_namespace.clone(),
                    project: request.project.clone(),
                    kube_version: Some(request.kube_version.clone()).filter(|v| !v.is_empty()),
                    api_versions: Vec::new(),
                    refresh: if request.hard_refresh {
                        Refresh::Hard
                    } else {
                        Refresh::Normal
                    },
                    ref_sources: ref_sources.clone(),
                    manifest_generate_paths: None,
                };
                let response = self
                    .service
                    .generate(&manifest_request)
                    .await
                    .map_err(|e| e.to_string())?;
                if revision.is_none() {
                    revision = Some(response.revision.clone());
                    source_type = response.source_type.parse::<ApplicationSourceType>().ok();
                }
                objects.extend(response.manifests);
            }
            Ok(Generated {
                objects,
                revision: revision.unwrap_or_default(),
                source_type,
            })
        })
    }
}
