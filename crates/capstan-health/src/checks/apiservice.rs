//! apiregistration.k8s.io APIService (v1, v1beta1).

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{condition, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let Some(available) = condition(obj, "Available") else {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Waiting to be processed",
        ));
    };
    let message = format!(
        "{}: {}",
        str_at(available, &["reason"]),
        str_at(available, &["message"])
    );
    let status = if str_at(available, &["status"]) == "True" {
        HealthStatus::Healthy
    } else {
        HealthStatus::Progressing
    };
    Ok(HealthResult::new(status, message))
}
