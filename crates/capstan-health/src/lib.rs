//! Argo CD compatible health assessment.
//!
//! * [`assess`] gives the health of one live object: a resource being deleted is `Progressing`
//!   ("Pending deletion"); a Lua check configured in [`HealthOverrides`] wins over the built-in check;
//!   otherwise the built-in check of the kind (see [`builtin::BUILTIN_CHECKS`]: gitops-engine's Go
//!   checks, plus CronJob, CustomResourceDefinition and PodDisruptionBudget, which Argo CD ships as
//!   bundled Lua scripts) runs; kinds without a check have no health (`None`).
//! * [`app_health`] aggregates an application's resources with Argo CD's rules (worst status in the
//!   order Healthy < Suspended < Progressing < Missing < Degraded < Unknown; hooks, ignored resources
//!   and missing resources do not count; an application whose resources are all missing is Missing).
//! * [`assess_all`] is the offline `capstan admin health FILE` entry point.

pub mod builtin;
mod checks;
mod fields;

mod aggregate;
mod overrides;

use capstan_types::HealthStatus;
use serde::Serialize;
use serde_json::Value;

pub use aggregate::{AppHealth, ManagedResource, app_health, app_health_of};
pub use overrides::{HEALTH_KEY_PREFIX, HealthOverrides, OverrideError};

/// The health of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthResult {
    /// Health status.
    pub status: HealthStatus,
    /// Human-readable detail (may be empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The status this resource contributes to its application's health, when different from `status`
    /// (a suspended Job counts as Healthy).
    #[serde(rename = "aggregateAs", skip_serializing_if = "Option::is_none")]
    pub aggregate_as: Option<HealthStatus>,
}

impl HealthResult {
    /// A result with a status and a message.
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Self {
        HealthResult {
            status,
            message: message.into(),
            aggregate_as: None,
        }
    }
}

/// The finalizer Argo CD puts on hooks; a hook being deleted keeps its real health.
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// The health of a live object, or `None` when neither an override nor a built-in check applies.
/// (The `ignore-healthcheck` annotation is honoured by [`app_health`] and [`assess_all`], not here:
/// hooks are assessed regardless of it, as in Argo CD.)
pub fn assess(obj: &Value, overrides: &HealthOverrides) -> Option<HealthResult> {
    let metadata = obj.get("metadata");
    let deleting = metadata
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|t| !t.is_null());
    if deleting && !has_hook_finalizer(obj) {
        return Some(HealthResult::new(
            HealthStatus::Progressing,
            "Pending deletion",
        ));
    }
    let (group, version, kind) = fields::gvk(obj);
    if let Some(result) = overrides.assess(group, kind, obj) {
        return Some(result);
    }
    let check = builtin::lookup(group, kind)?;
    Some(match check(version, obj) {
        Ok(result) => result,
        Err(message) => HealthResult::new(HealthStatus::Unknown, message),
    })
}

fn has_hook_finalizer(obj: &Value) -> bool {
    fields::str_list(obj, &["metadata", "finalizers"])
        .iter()
        .any(|f| f == HOOK_FINALIZER)
}

/// Health of one object of a file, for `capstan admin health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectHealth {
    /// API group (empty for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped or unset).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The health, or `None` when the kind has no health check.
    pub health: Option<HealthResult>,
}

/// Assesses every object (the `capstan admin health FILE` command); objects annotated
/// `argocd.argoproj.io/ignore-healthcheck: "true"` have no health.
pub fn assess_all<'a>(
    objects: impl IntoIterator<Item = &'a Value>,
    overrides: &HealthOverrides,
) -> Vec<ObjectHealth> {
    objects
        .into_iter()
        .map(|obj| {
            let (group, _, kind) = fields::gvk(obj);
            ObjectHealth {
                group: group.to_string(),
                kind: kind.to_string(),
                namespace: fields::str_at(obj, &["metadata", "namespace"]).to_string(),
                name: fields::str_at(obj, &["metadata", "name"]).to_string(),
                health: if aggregate::ignores_healthcheck(obj) {
                    None
                } else {
                    assess(obj, overrides)
                },
            }
        })
        .collect()
}
