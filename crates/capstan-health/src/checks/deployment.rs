//! apps/v1 Deployment (kubectl rollout status logic, as gitops-engine).

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{bool_at, condition, int_at, opt_int_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    if bool_at(obj, &["spec", "paused"]) {
        return Ok(HealthResult::new(
            HealthStatus::Suspended,
            "Deployment is paused",
        ));
    }
    if int_at(obj, &["metadata", "generation"]) > int_at(obj, &["status", "observedGeneration"]) {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        ));
    }
    if condition(obj, "Progressing")
        .is_some_and(|c| str_at(c, &["reason"]) == "ProgressDeadlineExceeded")
    {
        let name = str_at(obj, &["metadata", "name"]);
        return Ok(HealthResult::new(
            HealthStatus::Degraded,
            format!("Deployment {name:?} exceeded its progress deadline"),
        ));
    }
    let updated = int_at(obj, &["status", "updatedReplicas"]);
    let replicas = int_at(obj, &["status", "replicas"]);
    let available = int_at(obj, &["status", "availableReplicas"]);
    if let Some(desired) = opt_int_at(obj, &["spec", "replicas"])
        && updated < desired
    {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {desired} new replicas have been updated..."
            ),
        ));
    }
    if replicas > updated {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        ));
    }
    if available < updated {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        ));
    }
    Ok(HealthResult::new(HealthStatus::Healthy, ""))
}
