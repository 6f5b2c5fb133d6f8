//! Sync options of one resource: the application's `syncPolicy.syncOptions` (and the operation's),
//! overridden by the resource's own `argocd.argoproj.io/sync-options` annotation.

use capstan_types::annotations::{SYNC_OPTIONS, split_list, sync_options as names};
use serde::Serialize;
use serde_json::Value;

/// A sync option string that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {error}")]
pub struct SyncOptionsError {
    /// Where the option came from (`spec.syncPolicy.syncOptions` or a resource).
    pub source_name: String,
    /// What is wrong.
    pub error: names::SyncOptionError,
}

/// Whether a resource may be pruned (or deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum PruneMode {
    /// Pruned when pruning is enabled (the default).
    #[default]
    Enabled,
    /// `Prune=false`: never pruned.
    Disabled,
    /// `Prune=confirm`: pruned only after confirmation.
    Confirm,
}

/// Propagation policy used when pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum PropagationPolicy {
    /// Delete dependents first (the default).
    #[default]
    Foreground,
    /// Delete dependents in the background.
    Background,
    /// Leave dependents.
    Orphan,
}

impl PropagationPolicy {
    /// The Kubernetes `propagationPolicy` value.
    pub fn as_kubernetes(self) -> &'static str {
        match self {
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

/// The effective sync options of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSyncOptions {
    /// `Prune=`.
    pub prune: PruneMode,
    /// `Delete=` (used when the application is deleted).
    pub delete: PruneMode,
    /// `Validate=false` turns validation off.
    pub validate: bool,
    /// `SkipDryRunOnMissingResource=true`.
    pub skip_dry_run_on_missing_resource: bool,
    /// `ApplyOutOfSyncOnly=true`.
    pub apply_out_of_sync_only: bool,
    /// `PrunePropagationPolicy=`.
    pub prune_propagation_policy: PropagationPolicy,
    /// `PruneLast=true`.
    pub prune_last: bool,
    /// `Replace=true` (takes precedence over server-side apply).
    pub replace: bool,
    /// `Force=true`.
    pub force: bool,
    /// `ServerSideApply=true|false`; `None` when unset (Capstan's default applies).
    pub server_side_apply: Option<bool>,
    /// `ClientSideApplyMigration=false` turns the migration off.
    pub client_side_apply_migration: bool,
    /// `FailOnSharedResource=true`.
    pub fail_on_shared_resource: bool,
    /// `RespectIgnoreDifferences=true`.
    pub respect_ignore_differences: bool,
    /// `CreateNamespace=true`.
    pub create_namespace: bool,
}

impl ResourceSyncOptions {
    /// Options with Argo CD's defaults (validation on, client-side-apply migration on).
    pub fn defaults() -> Self {
        ResourceSyncOptions {
            validate: true,
            client_side_apply_migration: true,
            ..Default::default()
        }
    }

    /// Applies one `Name=value` option.
    pub fn apply(&mut self, option: &str) -> Result<(), names::SyncOptionError> {
        let (name, value) = names::validate(option)?;
        let truthy = value == "true";
        let prune_mode = || match value.as_str() {
            "false" => PruneMode::Disabled,
            "confirm" => PruneMode::Confirm,
            _ => PruneMode::Enabled,
        };
        match name {
            names::PRUNE => self.prune = prune_mode(),
            names::DELETE => self.delete = prune_mode(),
            names::VALIDATE => self.validate = truthy,
            names::SKIP_DRY_RUN_ON_MISSING_RESOURCE => {
                self.skip_dry_run_on_missing_resource = truthy
            }
            names::APPLY_OUT_OF_SYNC_ONLY => self.apply_out_of_sync_only = truthy,
            names::PRUNE_PROPAGATION_POLICY => {
                self.prune_propagation_policy = match value.as_str() {
                    "background" => PropagationPolicy::Background,
                    "orphan" => PropagationPolicy::Orphan,
                    _ => PropagationPolicy::Foreground,
                }
            }
            names::PRUNE_LAST => self.prune_last = truthy,
            names::REPLACE => self.replace = truthy,
            names::FORCE => self.force = truthy,
            names::SERVER_SIDE_APPLY => self.server_side_apply = Some(truthy),
            names::CLIENT_SIDE_APPLY_MIGRATION => self.client_side_apply_migration = truthy,
            names::FAIL_ON_SHARED_RESOURCE => self.fail_on_shared_resource = truthy,
            names::RESPECT_IGNORE_DIFFERENCES => self.respect_ignore_differences = truthy,
            names::CREATE_NAMESPACE => self.create_namespace = truthy,
            _ => {}
        }
        Ok(())
    }

    /// Options for the application (`syncPolicy.syncOptions` then the operation's own).
    pub fn for_application<'a>(
        options: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, SyncOptionsError> {
        let mut result = ResourceSyncOptions::defaults();
        for option in options {
            result.apply(option).map_err(|error| SyncOptionsError {
                source_name: "spec.syncPolicy.syncOptions".to_string(),
                error,
            })?;
        }
        Ok(result)
    }

    /// The application's options overridden by the object's annotation. An invalid annotation is an
    /// error naming the resource.
    pub fn for_resource(app: &ResourceSyncOptions, obj: &Value) -> Result<Self, SyncOptionsError> {
        let mut result = app.clone();
        let annotation = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(SYNC_OPTIONS))
            .and_then(Value::as_str);
        if let Some(text) = annotation {
            for option in split_list(text) {
                result.apply(option).map_err(|error| SyncOptionsError {
                    source_name: format!(
                        "{} annotation {SYNC_OPTIONS}",
                        crate::ResourceKey::of(obj)
                    ),
                    error,
                })?;
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotation_overrides_application() {
        let app = ResourceSyncOptions::for_application([
            "Prune=false",
            "ServerSideApply=true",
            "CreateNamespace=true",
        ])
        .unwrap();
        assert_eq!(app.prune, PruneMode::Disabled);
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x",
            "annotations": {SYNC_OPTIONS: "Prune=true,ServerSideApply=false,PruneLast=true"}}});
        let res = ResourceSyncOptions::for_resource(&app, &obj).unwrap();
        assert_eq!(res.prune, PruneMode::Enabled);
        assert_eq!(res.server_side_apply, Some(false));
        assert!(res.prune_last && res.create_namespace && res.validate);
        let bad = json!({"kind": "ConfigMap", "metadata": {"name": "x", "annotations": {SYNC_OPTIONS: "Prune=never"}}});
        let err = ResourceSyncOptions::for_resource(&app, &bad).unwrap_err();
        assert!(err.to_string().contains("ConfigMap/x"), "{err}");
    }
}
