//! The Kubernetes client layer used by the controller and the API server: one code path for the
//! embedded `capstan apiserver` and for any conformant cluster.
//!
//! Objects travel as `serde_json::Value` (the form the diff and health engines use). Kinds are
//! resolved through discovery and cached; a miss refreshes discovery once (a CRD may have just been
//! created). Errors say which cluster, resource and operation failed, never a credential.

mod connect;
mod discovery;
mod error;
mod ops;
mod throttle;
mod watch;

pub use connect::{ClusterClient, ConnectOptions, install_crypto_provider};
pub use discovery::ResourceType;
pub use error::KubeError;
pub use ops::{ApplyOptions, DeleteOptions, PatchOptions};
pub use watch::{WatchEvent, watch_resource};
