//! Where desired objects come from: the repo server, behind a trait so the controller runs with the
//! in-process repo server or a remote one.

use std::future::Future;
use std::pin::Pin;

use capstan_types::{ApplicationSource, ApplicationSourceType};
use serde_json::Value;

/// What the controller asks the repo server for.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// Application name.
    pub app_name: String,
    /// Namespace the Application lives in.
    pub app_namespace: String,
    /// Project of the application.
    pub project: String,
    /// The sources (one, or several with `spec.sources`).
    pub sources: Vec<ApplicationSource>,
    /// A revision to use instead of each source's targetRevision (a sync to a given revision).
    pub revision: Option<String>,
    /// Regenerate even if the commit is unchanged.
    pub hard_refresh: bool,
    /// Destination namespace (Helm's `--namespace`, Kustomize's namespace default).
    pub destination_namespace: String,
    /// Kubernetes version of the destination (for Helm's `--kube-version`).
    pub kube_version: String,
}

/// Rendered objects and what they were rendered from.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The objects.
    pub objects: Vec<Value>,
    /// The resolved revision (commit SHA) of the first source.
    pub revision: String,
    /// Detected source type of the first source.
    pub source_type: Option<ApplicationSourceType>,
}

/// A boxed future, so generators can be used as trait objects.
pub type GenerateFuture<'a> = Pin<Box<dyn Future<Output = Result<Generated, String>> + Send + 'a>>;

/// Renders an application's sources into objects. Errors are messages naming repository, revision,
/// path, file and line where known.
pub trait ManifestGenerator: Send + Sync + 'static {
    /// Renders the sources of a request.
    fn generate(&self, request: GenerateRequest) -> GenerateFuture<'_>;
}
