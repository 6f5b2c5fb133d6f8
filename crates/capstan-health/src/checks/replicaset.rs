//! apps/v1 ReplicaSet.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{condition, int_at, opt_int_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    if int_at(obj, &["metadata", "generation"]) > int_at(obj, &["status", "observedGeneration"]) {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        ));
    }
    if let Some(failure) = condition(obj, "ReplicaFailure")
        && str_at(failure, &["status"]) == "True"
    {
        return Ok(HealthResult::new(
            HealthStatus::Degraded,
            str_at(failure, &["message"]),
        ));
    }
    let available = int_at(obj, &["status", "availableReplicas"]);
    if let Some(desired) = opt_int_at(obj, &["spec", "replicas"])
        && available < desired
    {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {desired} new replicas are available..."
            ),
        ));
    }
    Ok(HealthResult::new(HealthStatus::Healthy, ""))
}
