//! Enumerations with Argo CD's exact string values (gitops-engine `pkg/health`, `pkg/sync/common`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Error for a string that is not one of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {expected}")]
pub struct UnknownValue {
    /// Which enumeration.
    pub what: &'static str,
    /// The value that was given.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// All values, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact string Argo CD uses.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

string_enum!(
    /// Health of a resource or an application.
    HealthStatus, "health status" {
        /// The resource is healthy.
        Healthy => "Healthy",
        /// The resource is still progressing towards healthy.
        Progressing => "Progressing",
        /// The resource has failed or cannot become healthy.
        Degraded => "Degraded",
        /// The resource is paused or suspended (e.g. a paused Deployment or a suspended CronJob).
        Suspended => "Suspended",
        /// The resource is missing from the cluster.
        Missing => "Missing",
        /// Health could not be assessed.
        Unknown => "Unknown",
    }
);

impl HealthStatus {
    /// Argo CD's order from most healthy to least healthy:
    /// Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
    pub const ORDER: [HealthStatus; 6] = [
        HealthStatus::Healthy,
        HealthStatus::Suspended,
        HealthStatus::Progressing,
        HealthStatus::Missing,
        HealthStatus::Degraded,
        HealthStatus::Unknown,
    ];

    /// Position in [`HealthStatus::ORDER`]; larger is worse.
    pub fn severity(self) -> usize {
        match self {
            HealthStatus::Healthy => 0,
            HealthStatus::Suspended => 1,
            HealthStatus::Progressing => 2,
            HealthStatus::Missing => 3,
            HealthStatus::Degraded => 4,
            HealthStatus::Unknown => 5,
        }
    }

    /// True when `self` is less healthy than `other`.
    pub fn is_worse_than(self, other: HealthStatus) -> bool {
        self.severity() > other.severity()
    }

    /// The least healthy of the given statuses, or `Healthy` for none.
    pub fn worst(statuses: impl IntoIterator<Item = HealthStatus>) -> HealthStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(HealthStatus::Healthy)
    }
}

string_enum!(
    /// Whether live state matches the desired state.
    SyncStatusCode, "sync status" {
        /// Live state matches Git.
        Synced => "Synced",
        /// Live state differs from Git.
        OutOfSync => "OutOfSync",
        /// The comparison could not be made.
        Unknown => "Unknown",
    }
);

string_enum!(
    /// Phase of an operation (sync).
    OperationPhase, "operation phase" {
        /// The operation is running.
        Running => "Running",
        /// The operation is being terminated.
        Terminating => "Terminating",
        /// The operation failed (a resource or hook failed).
        Failed => "Failed",
        /// The operation could not run (an error outside the resources).
        Error => "Error",
        /// The operation succeeded.
        Succeeded => "Succeeded",
    }
);

impl OperationPhase {
    /// True for Failed, Error and Succeeded.
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            OperationPhase::Failed | OperationPhase::Error | OperationPhase::Succeeded
        )
    }
}

string_enum!(
    /// Result of syncing one resource.
    ResultCode, "resource result code" {
        /// The resource was applied.
        Synced => "Synced",
        /// Applying the resource failed.
        SyncFailed => "SyncFailed",
        /// The resource was deleted because it is no longer in Git.
        Pruned => "Pruned",
        /// Pruning was skipped (prune disabled or `Prune=false`).
        PruneSkipped => "PruneSkipped",
    }
);

string_enum!(
    /// Phase of a sync in which a task runs.
    SyncPhase, "sync phase" {
        /// Before the main sync.
        PreSync => "PreSync",
        /// The main sync.
        Sync => "Sync",
        /// After every resource of the sync is healthy.
        PostSync => "PostSync",
        /// When the sync failed.
        SyncFail => "SyncFail",
    }
);

impl SyncPhase {
    /// The phase part of the ordering key: PreSync (-1) < Sync (0) < PostSync (1) < SyncFail (2).
    pub fn order(self) -> i32 {
        match self {
            SyncPhase::PreSync => -1,
            SyncPhase::Sync => 0,
            SyncPhase::PostSync => 1,
            SyncPhase::SyncFail => 2,
        }
    }
}

string_enum!(
    /// Hook types from the `argocd.argoproj.io/hook` annotation.
    HookType, "hook type" {
        /// Runs before the sync.
        PreSync => "PreSync",
        /// Runs with the sync.
        Sync => "Sync",
        /// Runs after a successful sync.
        PostSync => "PostSync",
        /// Runs when the sync fails.
        SyncFail => "SyncFail",
        /// The resource is never applied.
        Skip => "Skip",
        /// Runs before the application is deleted.
        PreDelete => "PreDelete",
        /// Runs after the application's resources are deleted.
        PostDelete => "PostDelete",
    }
);

impl HookType {
    /// The sync phase of a hook type, when it runs during a sync.
    pub fn sync_phase(self) -> Option<SyncPhase> {
        match self {
            HookType::PreSync => Some(SyncPhase::PreSync),
            HookType::Sync => Some(SyncPhase::Sync),
            HookType::PostSync => Some(SyncPhase::PostSync),
            HookType::SyncFail => Some(SyncPhase::SyncFail),
            HookType::Skip | HookType::PreDelete | HookType::PostDelete => None,
        }
    }

    /// Argo CD's mapping of a Helm hook (`helm.sh/hook`) to a hook type; other Helm hooks are ignored.
    pub fn from_helm(helm_hook: &str) -> Option<HookType> {
        match helm_hook.trim() {
            "pre-install" | "pre-upgrade" => Some(HookType::PreSync),
            "post-install" | "post-upgrade" => Some(HookType::PostSync),
            _ => None,
        }
    }
}

string_enum!(
    /// Hook delete policies from `argocd.argoproj.io/hook-delete-policy`.
    HookDeletePolicy, "hook delete policy" {
        /// Delete the hook after it succeeded.
        HookSucceeded => "HookSucceeded",
        /// Delete the hook after it failed.
        HookFailed => "HookFailed",
        /// Delete the previous hook before creating a new one (the default).
        BeforeHookCreation => "BeforeHookCreation",
    }
);

impl HookDeletePolicy {
    /// Argo CD's mapping of Helm's `helm.sh/hook-delete-policy` values.
    pub fn from_helm(policy: &str) -> Option<HookDeletePolicy> {
        match policy.trim() {
            "before-hook-creation" => Some(HookDeletePolicy::BeforeHookCreation),
            "hook-succeeded" => Some(HookDeletePolicy::HookSucceeded),
            "hook-failed" => Some(HookDeletePolicy::HookFailed),
            _ => None,
        }
    }
}

string_enum!(
    /// Phase of a hook's execution, as reported in a sync result.
    HookPhase, "hook phase" {
        /// Created and running.
        Running => "Running",
        /// Finished successfully.
        Succeeded => "Succeeded",
        /// Finished unsuccessfully.
        Failed => "Failed",
        /// Could not run.
        Error => "Error",
        /// Being terminated.
        Terminating => "Terminating",
        /// Not started yet.
        Pending => "Pending",
    }
);

string_enum!(
    /// Types of application conditions.
    ApplicationConditionType, "condition type" {
        /// The application spec is invalid.
        InvalidSpecError => "InvalidSpecError",
        /// Desired and live state could not be compared (e.g. manifest generation failed).
        ComparisonError => "ComparisonError",
        /// A sync failed.
        SyncError => "SyncError",
        /// Deleting the application or its resources failed.
        DeletionError => "DeletionError",
        /// An unknown error.
        UnknownError => "UnknownError",
        /// A resource is managed by more than one application.
        SharedResourceWarning => "SharedResourceWarning",
        /// A resource appears more than once in the desired state.
        RepeatedResourceWarning => "RepeatedResourceWarning",
        /// A resource is excluded by resource.exclusions.
        ExcludedResourceWarning => "ExcludedResourceWarning",
        /// The namespace has resources no application manages.
        OrphanedResourceWarning => "OrphanedResourceWarning",
    }
);

impl ApplicationConditionType {
    /// True for the `*Error` condition types.
    pub fn is_error(self) -> bool {
        self.as_str().ends_with("Error")
    }
}

string_enum!(
    /// Kind of refresh requested with `argocd.argoproj.io/refresh`.
    RefreshType, "refresh type" {
        /// Compare again, using cached manifests when the commit is unchanged.
        Normal => "normal",
        /// Compare again and regenerate manifests.
        Hard => "hard",
    }
);

string_enum!(
    /// Kinds of sync windows.
    SyncWindowKind, "sync window kind" {
        /// Syncs are allowed only inside the window.
        Allow => "allow",
        /// Syncs are denied inside the window.
        Deny => "deny",
    }
);

string_enum!(
    /// How Argo CD records that it manages a resource (`application.resourceTrackingMethod`).
    TrackingMethod, "resource tracking method" {
        /// The `argocd.argoproj.io/tracking-id` annotation (the default since v3.0).
        Annotation => "annotation",
        /// The instance label (`application.instanceLabelKey`).
        Label => "label",
        /// Both the annotation and the label.
        AnnotationAndLabel => "annotation+label",
    }
);

#[expect(
    clippy::derivable_impls,
    reason = "the enum is declared by string_enum!"
)]
impl Default for TrackingMethod {
    fn default() -> Self {
        TrackingMethod::Annotation
    }
}

string_enum!(
    /// Source types detected or declared for an application source.
    ApplicationSourceType, "source type" {
        /// A Helm chart.
        Helm => "Helm",
        /// A Kustomize directory.
        Kustomize => "Kustomize",
        /// Plain YAML/JSON or Jsonnet files.
        Directory => "Directory",
        /// A config management plugin.
        Plugin => "Plugin",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_order_matches_argo() {
        let mut all: Vec<HealthStatus> = HealthStatus::ALL.to_vec();
        all.sort_by_key(|s| s.severity());
        assert_eq!(all, HealthStatus::ORDER.to_vec());
        assert_eq!(
            HealthStatus::worst([
                HealthStatus::Healthy,
                HealthStatus::Missing,
                HealthStatus::Suspended
            ]),
            HealthStatus::Missing
        );
        assert!(HealthStatus::Unknown.is_worse_than(HealthStatus::Degraded));
        assert_eq!(HealthStatus::worst([]), HealthStatus::Healthy);
    }

    #[test]
    fn strings_round_trip() {
        for s in SyncPhase::ALL {
            assert_eq!(s.as_str().parse::<SyncPhase>(), Ok(*s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(
            "annotation+label".parse::<TrackingMethod>(),
            Ok(TrackingMethod::AnnotationAndLabel)
        );
        let err = "Sideways".parse::<HealthStatus>().unwrap_err();
        assert!(err.to_string().contains("Healthy, Progressing"), "{err}");
    }

    #[test]
    fn helm_hook_mapping() {
        assert_eq!(HookType::from_helm("pre-upgrade"), Some(HookType::PreSync));
        assert_eq!(
            HookType::from_helm("post-install"),
            Some(HookType::PostSync)
        );
        assert_eq!(HookType::from_helm("test"), None);
        assert_eq!(
            HookDeletePolicy::from_helm("hook-succeeded"),
            Some(HookDeletePolicy::HookSucceeded)
        );
    }
}
