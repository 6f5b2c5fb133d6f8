//! Capstan's repository server: a local cache of the Git repositories that hold manifests, and the
//! generation of Kubernetes objects from an application source (plain directory, Kustomize, Helm,
//! Jsonnet, config management plugins) as Argo CD's repo-server does it, with a manifest cache keyed
//! by commit.

pub mod error;
pub mod exec;
pub mod git;

pub use error::{GitError, ManifestProblem, Place, RenderError};
pub mod cache;
pub mod client;
pub mod confine;
pub mod objects;
pub mod render;
pub mod server;
pub mod service;

pub use client::{RemoteRepoServer, RepoClient};
pub use service::{
    ManifestRequest, ManifestResponse, Refresh, RepoService, SecretCredentials, ServiceSettings,
};
