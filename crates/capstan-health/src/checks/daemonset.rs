//! apps/v1 DaemonSet.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{int_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    if int_at(obj, &["metadata", "generation"]) > int_at(obj, &["status", "observedGeneration"]) {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        ));
    }
    let updated = int_at(obj, &["status", "updatedNumberScheduled"]);
    let desired = int_at(obj, &["status", "desiredNumberScheduled"]);
    let available = int_at(obj, &["status", "numberAvailable"]);
    if str_at(obj, &["spec", "updateStrategy", "type"]) == "OnDelete" {
        return Ok(HealthResult::new(
            HealthStatus::Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        ));
    }
    let name = str_at(obj, &["metadata", "name"]);
    if updated < desired {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
            ),
        ));
    }
    if available < desired {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
            ),
        ));
    }
    Ok(HealthResult::new(HealthStatus::Healthy, ""))
}
