//! argoproj.io Workflow (Argo Workflows), any version: only `status.phase` and `status.message` count.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::str_at;

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let message = str_at(obj, &["status", "message"]);
    let status = match str_at(obj, &["status", "phase"]) {
        "" | "Pending" | "Running" => HealthStatus::Progressing,
        "Succeeded" => HealthStatus::Healthy,
        "Failed" | "Error" => HealthStatus::Degraded,
        _ => HealthStatus::Unknown,
    };
    Ok(HealthResult::new(status, message))
}
