//! Capstan's repository server: a local cache of the Git repositories that hold manifests, and the
//! generation of Kubernetes objects from an application source (plain directory, Kustomize, Helm,
//! Jsonnet, config management plugins) as Argo CD's repo-server does it, with a manifest cache keyed
//! by commit.
//!
//! Use in-process:
//!
//! ```text
//! let service = RepoService::new(ServiceSettings::new(cache_dir), Arc::new(SecretCredentials {
//!     repositories, templates }))?;
//! let resp = service.generate(&ManifestRequest { source, app_name, namespace, kube_version,
//!     api_versions, ref_sources, manifest_generate_paths, refresh, .. }).await?;
//! // resp.manifests: objects in generation order; resp.revision: the commit; resp.cached
//! ```
//!
//! or through [`RepoClient`], which also talks to a separate `capstan repo-server`
//! ([`server::router`]).
//!
//! Modules: [`git`] (bare caches, revision resolution, checkouts, credentials), [`render`] (source
//! type detection and the renderers), [`cache`] (manifest cache in memory and redb), [`service`]
//! (request handling), [`confine`] (paths kept inside the checkout), [`objects`] (YAML streams to
//! objects), [`exec`] (external programs with a scrubbed environment and timeouts).

pub mod cache;
pub mod client;
pub mod confine;
pub mod error;
pub mod exec;
pub mod git;
pub mod objects;
pub mod render;
pub mod server;
pub mod service;

pub use client::{RemoteRepoServer, RepoClient};
pub use error::{GitError, ManifestProblem, Place, RenderError};
pub use service::{
    ManifestRequest, ManifestResponse, Refresh, RepoService, SecretCredentials, ServiceSettings,
};
