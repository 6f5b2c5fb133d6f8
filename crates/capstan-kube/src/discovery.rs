//! Resolving apiVersion + kind to a served resource (plural name, scope), cached per cluster.

use std::collections::HashMap;

use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};

use crate::connect::ClusterClient;
use crate::error::KubeError;

/// A served resource type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name (the URL segment).
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

impl ResourceType {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub(crate) fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    types: HashMap<(String, String), ResourceType>,
}

/// Splits an apiVersion into group and version.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

impl ClusterClient {
    /// Resolves `apiVersion` and `kind` to the served resource, asking the server on a cache miss.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ResourceType, KubeError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.discovery.read().await.types.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = split_api_version(api_version);
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let unknown = || KubeError::UnknownKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        };
        let (resource, caps) = match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok(found) => found,
            Err(kube::Error::Api(status)) if status.code == 404 => return Err(unknown()),
            Err(kube::Error::Discovery(_)) => return Err(unknown()),
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    format!("discovery of {api_version} {kind}"),
                    &self.server,
                ));
            }
        };
        let found = ResourceType {
            group: resource.group,
            version: resource.version,
            kind: resource.kind,
            plural: resource.plural,
            namespaced: caps.scope == Scope::Namespaced,
        };
        self.discovery
            .write()
            .await
            .types
            .insert(key, found.clone());
        Ok(found)
    }

    /// Forgets what discovery found (after CRDs change).
    pub async fn forget_discovery(&self) {
        self.discovery.write().await.types.clear();
    }
}

impl ClusterClient {
    /// Every resource type the server serves with list and watch (the preferred version of each
    /// group), for caching the cluster's live state. Fills the discovery cache as a side effect.
    pub async fn watchable_types(&self) -> Result<Vec<ResourceType>, KubeError> {
        let discovery = match kube::Discovery::new(self.client.clone())
            .run_aggregated()
            .await
        {
            Ok(d) => d,
            Err(_) => kube::Discovery::new(self.client.clone())
                .run()
                .await
                .map_err(|e| KubeError::from_kube(e, "API discovery", &self.server))?,
        };
        let mut types = Vec::new();
        let mut cache = self.discovery.write().await;
        for group in discovery.groups() {
            for (resource, caps) in group.recommended_resources() {
                let rt = ResourceType {
                    group: resource.group.clone(),
                    version: resource.version.clone(),
                    kind: resource.kind.clone(),
                    plural: resource.plural.clone(),
                    namespaced: caps.scope == Scope::Namespaced,
                };
                cache
                    .types
                    .insert((rt.api_version(), rt.kind.clone()), rt.clone());
                if caps.supports_operation(kube::discovery::verbs::LIST)
                    && caps.supports_operation(kube::discovery::verbs::WATCH)
                {
                    types.push(rt);
                }
            }
        }
        Ok(types)
    }
}
