//! The in-process repo server as the controller's manifest generator.

use std::sync::Arc;

use capstan_repo::{ManifestRequest, Refresh, RemoteRepoServer, RepoClient, RepoService};
use capstan_types::ApplicationSourceType;

use crate::manifests::{GenerateFuture, GenerateRequest, Generated, ManifestGenerator};

/// Renders through the repo server: a [`RepoService`] in this process, or one or more remote
/// `capstan repo-server` replicas.
pub struct RepoGenerator {
    servers: Vec<RepoClient>,
}

impl RepoGenerator {
    /// Uses a service in this process.
    pub fn new(service: Arc<RepoService>) -> Self {
        RepoGenerator {
            servers: vec![RepoClient::InProcess(service)],
        }
    }

    /// Uses a `capstan repo-server` at `base` (`http://host:8081`).
    pub fn remote(server: RemoteRepoServer) -> Self {
        Self::replicas(vec![server])
    }

    /// Uses several `capstan repo-server` replicas: each source goes to one replica chosen by its
    /// repository and path (so its caches stay warm there), and to the next one when that replica
    /// cannot be reached.
    pub fn replicas(servers: Vec<RemoteRepoServer>) -> Self {
        RepoGenerator {
            servers: servers
                .into_iter()
                .map(|s| RepoClient::Remote(Box::new(s)))
                .collect(),
        }
    }

    /// Generates with the preferred replica for the source, failing over to the others.
    async fn generate_one(
        &self,
        request: &ManifestRequest,
    ) -> Result<capstan_repo::ManifestResponse, String> {
        let key = format!(
            "{}|{}|{}",
            request.source.repo_url,
            request.source.path.as_deref().unwrap_or_default(),
            request.source.chart.as_deref().unwrap_or_default()
        );
        let count = self.servers.len().max(1);
        let start = preferred(&key, count);
        let mut failures = Vec::new();
        for i in 0..count {
            let Some(server) = self.servers.get((start + i) % count) else {
                break;
            };
            match server.generate(request).await {
                Ok(response) => return Ok(response),
                Err(capstan_repo::RenderError::Remote {
                    server,
                    kind,
                    message,
                }) if kind == "Unreachable" && count > 1 => {
                    tracing::warn!(%server, %message, "repo server unreachable; trying the next replica");
                    failures.push(format!("{server}: {message}"));
                }
                // messages are already free of credentials; redacting again costs little and
                // protects against a remote server that is not
                Err(err) => return Err(capstan_repo::git::url::redact_url(&err.to_string())),
            }
        }
        Err(capstan_repo::git::url::redact_url(&format!(
            "no repo server could be reached: {}",
            failures.join("; ")
        )))
    }
}

/// The replica a source prefers (FNV-1a of its key).
fn preferred(key: &str, count: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(hash % count.max(1) as u64).unwrap_or(0)
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
                let response = self.generate_one(&manifest_request).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_spread_over_replicas_stably() {
        let picks: Vec<usize> = (0..100)
            .map(|i| preferred(&format!("https://git/r|apps/app-{i}|"), 3))
            .collect();
        assert!(picks.iter().all(|p| *p < 3));
        for r in 0..3 {
            let n = picks.iter().filter(|p| **p == r).count();
            assert!(n > 15, "replica {r} got {n} of 100");
        }
        assert_eq!(preferred("same", 3), preferred("same", 3));
        assert_eq!(preferred("anything", 1), 0);
    }
}
