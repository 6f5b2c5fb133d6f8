//! Typed settings read from the Secrets and ConfigMaps Argo CD uses, with the same keys and defaults:
//! repository, repo-creds and cluster Secrets; `argocd-cm`; `argocd-rbac-cm`; `argocd-secret`;
//! `argocd-cmd-params-cm`; and a kubeconfig context as a cluster. Everything is resolved once into typed values; a bad value is an error that
//! names the object and the key.
//!
//! Secret material (passwords, keys, tokens) is held in [`Sensitive`], whose `Debug` and `Display` print
//! `<redacted>`, so it cannot reach a log by accident. Pure: no I/O.

mod argocd_cm;
mod argocd_secret;
mod cluster;
mod cmd_params;
mod error;
mod kubeconfig;
mod object;
mod rbac_cm;
mod repository;
mod sensitive;

pub use argocd_cm::{Account, AccountCapability, ArgoCdConfig, ResourceFilter, TrackingSettings};
pub use argocd_secret::ArgoCdSecret;
pub use cluster::{Cluster, ClusterConfig, IN_CLUSTER_NAME, IN_CLUSTER_SERVER, TlsClientConfig};
pub use cmd_params::CmdParams;
pub use error::SettingsError;
pub use kubeconfig::cluster_from_kubeconfig;
pub use object::{config_map_data, secret_data};
pub use rbac_cm::RbacConfig;
pub use repository::{RepoCreds, Repository, RepositoryType, credentials_for};
pub use sensitive::Sensitive;

/// Names of the settings objects, as in Argo CD's install manifests.
pub mod names {
    /// Main settings ConfigMap.
    pub const ARGOCD_CM: &str = "argocd-cm";
    /// RBAC ConfigMap.
    pub const ARGOCD_RBAC_CM: &str = "argocd-rbac-cm";
    /// Server secrets.
    pub const ARGOCD_SECRET: &str = "argocd-secret";
    /// Command parameters ConfigMap.
    pub const ARGOCD_CMD_PARAMS_CM: &str = "argocd-cmd-params-cm";
    /// Initial admin password Secret.
    pub const ARGOCD_INITIAL_ADMIN_SECRET: &str = "argocd-initial-admin-secret";
    /// Known hosts ConfigMap.
    pub const ARGOCD_SSH_KNOWN_HOSTS_CM: &str = "argocd-ssh-known-hosts-cm";
    /// TLS certificates ConfigMap.
    pub const ARGOCD_TLS_CERTS_CM: &str = "argocd-tls-certs-cm";
    /// Notifications ConfigMap.
    pub const ARGOCD_NOTIFICATIONS_CM: &str = "argocd-notifications-cm";
    /// Default control-plane namespace.
    pub const DEFAULT_NAMESPACE: &str = "argocd";
}
