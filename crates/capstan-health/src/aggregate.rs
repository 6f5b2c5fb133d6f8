//! Application health: the worst health of the application's resources, with Argo CD's exclusions
//! (`controller/health.go` `setApplicationHealth`).

use capstan_types::HealthStatus;
use capstan_types::annotations::{HELM_HOOK, HOOK, IGNORE_HEALTHCHECK};
use serde::Serialize;
use serde_json::Value;

use crate::fields::{annotation, gvk};
use crate::{HealthOverrides, HealthResult, assess};

/// One resource of an application: the desired object (if rendered) and the live object (if it exists).
#[derive(Debug, Clone, Copy, Default)]
pub struct ManagedResource<'a> {
    /// The rendered (desired) object.
    pub target: Option<&'a Value>,
    /// The object in the cluster.
    pub live: Option<&'a Value>,
}

/// The application's health and each resource's health (parallel to the input; `None` where a
/// resource is skipped or has no health).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppHealth {
    /// The aggregated status.
    pub status: HealthStatus,
    /// Health per resource, in input order.
    pub resources: Vec<Option<HealthResult>>,
}

/// Aggregates as Argo CD does:
/// * resources whose target is a `Skip` hook, and live hooks, are skipped;
/// * a resource without a live object is `Missing`, shown per resource but not aggregated;
/// * a resource annotated `argocd.argoproj.io/ignore-healthcheck: "true"` gets no health and is left
///   out of the aggregate;
/// * a child Application that is Missing or Unknown does not affect its parent;
/// * a resource's `aggregate_as` (a suspended Job counts as Healthy) replaces its status;
/// * if the application has resources but none of them exists, it is `Missing`.
pub fn app_health(resources: &[ManagedResource<'_>], overrides: &HealthOverrides) -> AppHealth {
    let mut status = HealthStatus::Healthy;
    let mut per_resource = Vec::with_capacity(resources.len());
    let (mut contains_resources, mut contains_live) = (false, false);
    for resource in resources {
        if resource.target.is_none() && resource.live.is_none() {
            per_resource.push(None);
            continue;
        }
        if resource.target.is_some_and(is_skip_hook) || resource.live.is_some_and(is_hook) {
            per_resource.push(None);
            continue;
        }
        contains_resources = true;
        let Some(live) = resource.live else {
            per_resource.push(Some(HealthResult::new(HealthStatus::Missing, "")));
            continue;
        };
        contains_live = true;
        // Argo CD skips these before assessing: no health is recorded for the resource.
        if ignores_healthcheck(live) {
            per_resource.push(None);
            continue;
        }
        let health = assess(live, overrides);
        per_resource.push(health.clone());
        let Some(health) = health else { continue };
        let (group, _, kind) = gvk(live);
        if group == capstan_types::annotations::GROUP
            && kind == "Application"
            && matches!(health.status, HealthStatus::Missing | HealthStatus::Unknown)
        {
            continue;
        }
        let contributes = health.aggregate_as.unwrap_or(health.status);
        if contributes.is_worse_than(status) {
            status = contributes;
        }
    }
    if contains_resources && !contains_live && HealthStatus::Missing.is_worse_than(status) {
        status = HealthStatus::Missing;
    }
    AppHealth {
        status,
        resources: per_resource,
    }
}

/// `argocd.argoproj.io/ignore-healthcheck: "true"`.
pub(crate) fn ignores_healthcheck(obj: &Value) -> bool {
    annotation(obj, IGNORE_HEALTHCHECK) == Some("true")
}

fn hook_types(obj: &Value) -> Vec<String> {
    let raw = annotation(obj, HOOK)
        .or_else(|| annotation(obj, HELM_HOOK))
        .unwrap_or("");
    raw.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_hook(obj: &Value) -> bool {
    annotation(obj, HOOK).is_some() || annotation(obj, HELM_HOOK).is_some()
}

fn is_skip_hook(obj: &Value) -> bool {
    hook_types(obj).iter().any(|t| t == "Skip")
}

/// [`app_health`] for the Application `app_namespace/app_name`: a resource that is this Application
/// itself (an app that manages itself) does not affect its own health, as in Argo CD.
pub fn app_health_of(
    app_namespace: &str,
    app_name: &str,
    resources: &[ManagedResource<'_>],
    overrides: &HealthOverrides,
) -> AppHealth {
    let is_self = |obj: &Value| {
        let (group, _, kind) = gvk(obj);
        group == capstan_types::annotations::GROUP
            && kind == "Application"
            && obj.pointer("/metadata/name").and_then(Value::as_str) == Some(app_name)
            && obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                == app_namespace
    };
    let kept: Vec<ManagedResource<'_>> = resources
        .iter()
        .map(|r| {
            if r.live.is_some_and(is_self) {
                ManagedResource {
                    target: None,
                    live: None,
                }
            } else {
                *r
            }
        })
        .collect();
    app_health(&kept, overrides)
}
