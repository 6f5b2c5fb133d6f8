//! The resource registry: built-in kinds plus kinds registered live by CustomResourceDefinitions.
//! One table drives discovery, OpenAPI, path resolution, scope, subresources and generation rules.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

mod builtin;

pub use builtin::builtin_types;

/// One served resource (a group/version/plural).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub kind: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `/status` subresource (writes to the main resource ignore `.status`).
    pub status: bool,
    /// Has a `/scale` subresource: (specReplicasPath, statusReplicasPath, labelSelectorPath) as dotted paths.
    pub scale: Option<ScalePaths>,
    /// `metadata.generation` is maintained.
    pub generation: bool,
    /// Custom resource (from a CRD): merge patch only, structural-schema validation.
    pub custom: Option<Arc<CustomInfo>>,
    /// Not the preferred version of its group (discovery still lists it).
    pub storage_version: bool,
}

/// CRD data a custom resource version needs at request time.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomInfo {
    pub schema: Option<Value>,
    pub printer_columns: Vec<Value>,
    pub crd_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

impl ResourceType {
    /// Storage key prefix: version independent (`apps/deployments`, `/configmaps`).
    pub fn store_key(&self) -> String {
        format!("{}/{}", self.group, self.resource)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_version(&self) -> String {
        self.api_version()
    }
}

/// The live registry. Cheap to read; rebuilt when CRDs change.
#[derive(Debug, Default)]
pub struct Registry {
    inner: RwLock<Arc<Vec<Arc<ResourceType>>>>,
}

impl Registry {
    pub fn new() -> Self {
        let reg = Self::default();
        reg.set_custom(Vec::new());
        reg
    }

    /// All served types, built-ins first.
    pub fn all(&self) -> Arc<Vec<Arc<ResourceType>>> {
        match self.inner.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replace the set of custom types (called whenever a CRD is written or deleted).
    pub fn set_custom(&self, custom: Vec<ResourceType>) {
        let mut all: Vec<Arc<ResourceType>> = builtin_types().into_iter().map(Arc::new).collect();
        all.extend(custom.into_iter().map(Arc::new));
        let all = Arc::new(all);
        match self.inner.write() {
            Ok(mut g) => *g = all,
            Err(p) => *p.into_inner() = all,
        }
    }

    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .iter()
            .find(|t| t.group == group && t.version == version && t.resource == resource)
            .cloned()
    }

    /// The first (preferred) type serving a group/kind, for ownerReference and event lookups.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let all = self.all();
        all.iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
            .or_else(|| {
                let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
                all.iter()
                    .find(|t| t.group == group && t.kind == kind)
                    .cloned()
            })
    }

    /// One type per storage key (the first version listed), for GC and namespace cleanup.
    pub fn storage_types(&self) -> Vec<Arc<ResourceType>> {
        let mut seen = BTreeMap::new();
        for t in self.all().iter() {
            seen.entry(t.store_key()).or_insert_with(|| t.clone());
        }
        seen.into_values().collect()
    }

    /// Group → versions (in first-seen order) for discovery.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.all().iter() {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, vs)) => {
                    if !vs.contains(&t.version) {
                        vs.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.all()
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }
}
