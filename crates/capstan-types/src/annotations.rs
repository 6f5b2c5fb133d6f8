//! Every annotation, label and finalizer key Argo CD uses, with the values it defines
//! (`docs/user-guide/annotations-and-labels.md`, `docs/user-guide/sync-options.md`).

/// API group of Argo CD's custom resources.
pub const GROUP: &str = "argoproj.io";
/// API version of Argo CD's custom resources.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of Argo CD's custom resources.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";

/// `<app>:<group>/<kind>:<namespace>/<name>`: which application manages a resource.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Default instance label used by label tracking.
pub const DEFAULT_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// The custom instance label Argo CD recommends for `application.instanceLabelKey`.
pub const ARGOCD_INSTANCE_LABEL: &str = "argocd.argoproj.io/instance";
/// Integer wave of a resource within its phase.
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Comma-separated hook types.
pub const HOOK: &str = "argocd.argoproj.io/hook";
/// Comma-separated hook delete policies.
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Comma-separated sync options of one resource.
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Comma-separated compare options of one resource.
pub const COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";
/// `normal` or `hard`: asks for a refresh of an Application.
pub const REFRESH: &str = "argocd.argoproj.io/refresh";
/// `;`-separated paths whose changes refresh the application (webhooks, monorepos).
pub const MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";
/// Skips reconciliation of an Application.
pub const SKIP_RECONCILE: &str = "argocd.argoproj.io/skip-reconcile";
/// Updates of the resource do not trigger a refresh.
pub const IGNORE_RESOURCE_UPDATES: &str = "argocd.argoproj.io/ignore-resource-updates";
/// The resource's health is not assessed.
pub const IGNORE_HEALTHCHECK: &str = "argocd.argoproj.io/ignore-healthcheck";
/// Restart policy of Pods is not considered in health.
pub const IGNORE_RESTART_POLICY: &str = "argocd.argoproj.io/ignore-restart-policy";
/// Confirms a deletion that needs confirmation (`Prune=confirm`, `Delete=confirm`).
pub const DELETION_APPROVED: &str = "argocd.argoproj.io/deletion-approved";
/// Prefix of deep-link annotations (`link.argocd.argoproj.io/<name>`).
pub const LINK_PREFIX: &str = "link.argocd.argoproj.io/";
/// Prefix of notification subscriptions (`notifications.argoproj.io/subscribe.<trigger>.<service>`).
pub const NOTIFICATIONS_SUBSCRIBE_PREFIX: &str = "notifications.argoproj.io/subscribe.";
/// Label that marks a Secret as a cluster, repository, repo-creds or scm-creds Secret.
pub const SECRET_TYPE: &str = "argocd.argoproj.io/secret-type";
/// Label placed on settings ConfigMaps and Secrets by Argo CD's install manifests.
pub const PART_OF: &str = "app.kubernetes.io/part-of";
/// kubectl's last applied configuration (client-side apply).
pub const LAST_APPLIED_CONFIGURATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Helm hook annotation mapped to Argo CD hooks when `argocd.argoproj.io/hook` is absent.
pub const HELM_HOOK: &str = "helm.sh/hook";
/// Helm hook weight, used as the wave when `argocd.argoproj.io/sync-wave` is absent.
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// Helm hook delete policy.
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";

/// Values of the `argocd.argoproj.io/secret-type` label.
pub mod secret_type {
    /// A cluster Secret.
    pub const CLUSTER: &str = "cluster";
    /// A repository Secret.
    pub const REPOSITORY: &str = "repository";
    /// A credential template matched by URL prefix.
    pub const REPO_CREDS: &str = "repo-creds";
    /// SCM provider credentials.
    pub const SCM_CREDS: &str = "scm-creds";
    /// Every value.
    pub const ALL: [&str; 4] = [CLUSTER, REPOSITORY, REPO_CREDS, SCM_CREDS];
}

/// Application finalizers (`docs/user-guide/app_deletion.md`).
pub mod finalizers {
    /// Cascading delete of the application's resources (foreground).
    pub const RESOURCES: &str = "resources-finalizer.argocd.argoproj.io";
    /// Cascading delete with foreground propagation.
    pub const RESOURCES_FOREGROUND: &str = "resources-finalizer.argocd.argoproj.io/foreground";
    /// Cascading delete with background propagation.
    pub const RESOURCES_BACKGROUND: &str = "resources-finalizer.argocd.argoproj.io/background";
    /// Runs PreDelete hooks before deletion.
    pub const PRE_DELETE: &str = "pre-delete-finalizer.argocd.argoproj.io";
    /// Runs PostDelete hooks after deletion.
    pub const POST_DELETE: &str = "post-delete-finalizer.argocd.argoproj.io";
}

/// Sync options: names and the values each accepts (`docs/user-guide/sync-options.md`).
pub mod sync_options {
    /// `Prune=false|confirm`.
    pub const PRUNE: &str = "Prune";
    /// `Delete=false|confirm`.
    pub const DELETE: &str = "Delete";
    /// `Validate=false`.
    pub const VALIDATE: &str = "Validate";
    /// `SkipDryRunOnMissingResource=true`.
    pub const SKIP_DRY_RUN_ON_MISSING_RESOURCE: &str = "SkipDryRunOnMissingResource";
    /// `ApplyOutOfSyncOnly=true`.
    pub const APPLY_OUT_OF_SYNC_ONLY: &str = "ApplyOutOfSyncOnly";
    /// `PrunePropagationPolicy=foreground|background|orphan`.
    pub const PRUNE_PROPAGATION_POLICY: &str = "PrunePropagationPolicy";
    /// `PruneLast=true`.
    pub const PRUNE_LAST: &str = "PruneLast";
    /// `Replace=true`.
    pub const REPLACE: &str = "Replace";
    /// `Force=true`.
    pub const FORCE: &str = "Force";
    /// `ServerSideApply=true|false`.
    pub const SERVER_SIDE_APPLY: &str = "ServerSideApply";
    /// `ClientSideApplyMigration=false`.
    pub const CLIENT_SIDE_APPLY_MIGRATION: &str = "ClientSideApplyMigration";
    /// `FailOnSharedResource=true`.
    pub const FAIL_ON_SHARED_RESOURCE: &str = "FailOnSharedResource";
    /// `RespectIgnoreDifferences=true`.
    pub const RESPECT_IGNORE_DIFFERENCES: &str = "RespectIgnoreDifferences";
    /// `CreateNamespace=true`.
    pub const CREATE_NAMESPACE: &str = "CreateNamespace";

    /// Every option with the values Argo CD accepts for it.
    pub const KNOWN: &[(&str, &[&str])] = &[
        (PRUNE, &["false", "confirm", "true"]),
        (DELETE, &["false", "confirm", "true"]),
        (VALIDATE, &["false", "true"]),
        (SKIP_DRY_RUN_ON_MISSING_RESOURCE, &["true", "false"]),
        (APPLY_OUT_OF_SYNC_ONLY, &["true", "false"]),
        (
            PRUNE_PROPAGATION_POLICY,
            &["foreground", "background", "orphan"],
        ),
        (PRUNE_LAST, &["true", "false"]),
        (REPLACE, &["true", "false"]),
        (FORCE, &["true", "false"]),
        (SERVER_SIDE_APPLY, &["true", "false"]),
        (CLIENT_SIDE_APPLY_MIGRATION, &["false", "true"]),
        (FAIL_ON_SHARED_RESOURCE, &["true", "false"]),
        (RESPECT_IGNORE_DIFFERENCES, &["true", "false"]),
        (CREATE_NAMESPACE, &["true", "false"]),
    ];

    /// Why a sync option string is not valid.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum SyncOptionError {
        /// Not of the form `Name=value`.
        #[error("sync option {0:?} is not of the form Name=value")]
        Malformed(String),
        /// The name is not a known sync option.
        #[error("unknown sync option {name:?}; known options: {known}")]
        UnknownName {
            /// The option name given.
            name: String,
            /// Known names, comma separated.
            known: String,
        },
        /// The value is not accepted for this option.
        #[error("sync option {name} does not accept {value:?}; expected one of: {expected}")]
        BadValue {
            /// The option name.
            name: String,
            /// The value given.
            value: String,
            /// Accepted values, comma separated.
            expected: String,
        },
    }

    /// Checks one `Name=value` sync option.
    pub fn validate(option: &str) -> Result<(&'static str, String), SyncOptionError> {
        let option = option.trim();
        let Some((name, value)) = option.split_once('=') else {
            return Err(SyncOptionError::Malformed(option.to_string()));
        };
        let Some((known_name, values)) = KNOWN.iter().find(|(n, _)| *n == name) else {
            return Err(SyncOptionError::UnknownName {
                name: name.to_string(),
                known: KNOWN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            });
        };
        if !values.contains(&value) {
            return Err(SyncOptionError::BadValue {
                name: name.to_string(),
                value: value.to_string(),
                expected: values.join(", "),
            });
        }
        Ok((known_name, value.to_string()))
    }
}

/// Compare options (`argocd.argoproj.io/compare-options`).
pub mod compare_options {
    /// The resource is not considered for the application's sync status.
    pub const IGNORE_EXTRANEOUS: &str = "IgnoreExtraneous";
    /// `ServerSideDiff=true|false`.
    pub const SERVER_SIDE_DIFF: &str = "ServerSideDiff";
    /// `IncludeMutationWebhook=true`.
    pub const INCLUDE_MUTATION_WEBHOOK: &str = "IncludeMutationWebhook";
}

/// Parses a comma-separated annotation value into trimmed, non-empty items.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_option_validation() {
        assert!(sync_options::validate("CreateNamespace=true").is_ok());
        assert!(sync_options::validate("PrunePropagationPolicy=orphan").is_ok());
        assert!(matches!(
            sync_options::validate("CreateNamespaces=true"),
            Err(sync_options::SyncOptionError::UnknownName { .. })
        ));
        assert!(matches!(
            sync_options::validate("Prune=maybe"),
            Err(sync_options::SyncOptionError::BadValue { .. })
        ));
        assert!(matches!(
            sync_options::validate("Prune"),
            Err(sync_options::SyncOptionError::Malformed(_))
        ));
        assert_eq!(split_list(" a, ,b,").collect::<Vec<_>>(), ["a", "b"]);
    }
}
