//! The application controller: watches Applications and AppProjects, keeps each cluster's live state
//! in a cache fed by watches, compares what Git renders with what runs, writes status only when it
//! changed, and runs sync operations in Argo CD's order (phases, waves, hooks, prune).
//!
//! The pure parts (cache, comparison, status building, auto-sync decisions) are plain functions tested
//! as such; the loops around them only move data.

mod autosync;
pub mod cache;
mod client_apply;
mod clusters;
pub mod compare;
mod controller;
mod credentials;
mod deletion;
mod error;
pub mod exclusions;
pub mod info;
mod leases;
mod manifests;
mod operation;
mod orphaned;
mod prepare;
mod progress;
mod projects;
pub use projects::{check_resource, check_resource_namespace};
mod queue;
mod refresh;
mod registry;
mod repo;
mod respect;
mod retry;
mod settings;
pub mod sharding;
pub mod status;
mod steps;
pub mod windows;

pub use controller::Controller;
pub use credentials::SecretCredentialStore;
pub use error::ControllerError;
pub use leases::ShardingConfig;
pub use manifests::{GenerateFuture, GenerateRequest, Generated, ManifestGenerator};
pub use registry::{ClusterInfo, ClusterTimings};
pub use repo::RepoGenerator;
pub use settings::{ControllerConfig, RuntimeSettings};

/// The in-cluster destination, as Argo CD names it.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
