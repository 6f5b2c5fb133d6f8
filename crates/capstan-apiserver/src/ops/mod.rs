//! The object operations behind every request: create, update, patch, delete, with the
//! semantics of a kube-apiserver (resourceVersion checks, generation, status subresources,
//! finalizers, defaulting, validation, dry-run). Used by the HTTP layer, GC and simulation.

mod crd;
mod delete;
mod scale;
mod write;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Notify;

pub use crd::custom_types;
pub use delete::{DeleteOptions, Propagation, parse_propagation};
pub use scale::scale_of;

use crate::error::{ApiError, ApiResult};
use crate::registry::{Registry, ResourceType};
use crate::store::{ObjKey, Store, StoreError};

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e.to_string())
    }
}

/// How unknown fields are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    Main,
    Status,
    Scale,
}

/// Options common to writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub validation: FieldValidation,
}

/// The patch content types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply { force: bool },
}

/// A successful write.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

/// The cluster state and its operations.
pub struct Cluster {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    /// Woken after deletions so that garbage collection runs.
    pub gc_wake: Arc<Notify>,
}

pub const CRD_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";
pub const NS_KEY: &str = "/namespaces";

impl Cluster {
    pub fn new(store: Arc<Store>) -> Self {
        let cluster = Self {
            store,
            registry: Arc::new(Registry::new()),
            gc_wake: Arc::new(Notify::new()),
        };
        cluster.refresh_crds();
        cluster
    }

    pub fn key(rt: &ResourceType, ns: &str, name: &str) -> ObjKey {
        ObjKey::new(rt.store_key(), if rt.namespaced { ns } else { "" }, name)
    }

    /// Rebuild the custom part of the registry from the stored CRDs.
    pub fn refresh_crds(&self) {
        let (crds, _) = self.store.list(CRD_KEY, None);
        self.registry.set_custom(custom_types(&crds));
    }

    /// GET one object, presented at the requested version.
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
        let obj = self
            .store
            .get(&Self::key(rt, ns, name))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.resource, name))?;
        Ok(present(rt, &obj))
    }

    /// Ensure the namespace of a namespaced write exists and is not terminating.
    fn check_namespace(
        &self,
        txn: &crate::store::Txn<'_>,
        ns: &str,
        creating: bool,
    ) -> ApiResult<()> {
        let nsobj = txn
            .get(&ObjKey::new(NS_KEY, "", ns))
            .ok_or_else(|| ApiError::not_found("", "namespaces", ns))?;
        if creating && crate::meta::deletion_timestamp(&nsobj).is_some() {
            return Err(ApiError::forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ))
            .with_details("", "namespaces", ns));
        }
        Ok(())
    }
}

/// The stored object as served for `rt`'s version.
pub fn present(rt: &ResourceType, obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    // Keep apiVersion/kind first, as Kubernetes serialises them.
    reorder_type_meta(o)
}

fn reorder_type_meta(o: Value) -> Value {
    match o {
        Value::Object(mut m) => {
            let mut out = serde_json::Map::new();
            for k in ["apiVersion", "kind", "metadata"] {
                if let Some(v) = m.remove(k) {
                    out.insert(k.to_string(), v);
                }
            }
            out.extend(m);
            Value::Object(out)
        }
        other => other,
    }
}

/// `generateName` suffix: five characters from Kubernetes' alphabet.
pub fn random_suffix() -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let u = uuid::Uuid::new_v4();
    u.as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHA[usize::from(*b) % ALPHA.len()] as char)
        .collect()
}
