//! batch CronJob: the behaviour of Argo CD's bundled `batch/CronJob/health.lua`, in Rust.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{at, bool_at, list_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    if bool_at(obj, &["spec", "suspend"]) {
        return Ok(HealthResult::new(
            HealthStatus::Suspended,
            "CronJob is Suspended",
        ));
    }
    if at(obj, &["status"]).is_none_or(Value::is_null) {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Waiting for CronJob",
        ));
    }
    let last_schedule = str_at(obj, &["status", "lastScheduleTime"]);
    if last_schedule.is_empty() {
        return Ok(HealthResult::new(
            HealthStatus::Healthy,
            "CronJob has not been scheduled yet",
        ));
    }
    let last_success = str_at(obj, &["status", "lastSuccessfulTime"]);
    if last_success.is_empty() {
        return Ok(HealthResult::new(
            HealthStatus::Healthy,
            "The Cronjob never completed succesfully. It may not be healthy",
        ));
    }
    if !list_at(obj, &["status", "active"]).is_empty() {
        return Ok(HealthResult::new(
            HealthStatus::Healthy,
            "The job is running. Its last execution may not have been successful",
        ));
    }
    // RFC 3339 timestamps in the same form compare chronologically as strings.
    if last_success < last_schedule {
        return Ok(HealthResult::new(
            HealthStatus::Degraded,
            "CronJob has not completed its last execution successfully",
        ));
    }
    Ok(HealthResult::new(
        HealthStatus::Healthy,
        "CronJob has completed its last execution successfully",
    ))
}
