//! policy PodDisruptionBudget: the behaviour of Argo CD's bundled `policy/PodDisruptionBudget/health.lua`,
//! in Rust.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{list_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let mut result = HealthResult::new(HealthStatus::Progressing, "Waiting for status");
    for condition in list_at(obj, &["status", "conditions"]) {
        let reason = str_at(condition, &["reason"]);
        let message = format!("PodDisruptionBudget has {reason}");
        // InsufficientPods can be intended (e.g. a single replica), so it is not Degraded.
        if str_at(condition, &["status"]) == "False" && reason != "InsufficientPods" {
            return Ok(HealthResult::new(HealthStatus::Degraded, message));
        }
        result = HealthResult::new(HealthStatus::Healthy, message);
    }
    Ok(result)
}
