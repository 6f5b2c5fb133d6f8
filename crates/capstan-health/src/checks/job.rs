//! batch/v1 Job.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{list_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let (mut failed, mut complete, mut suspended) = (false, false, false);
    let (mut fail_message, mut message) = ("", "");
    for condition in list_at(obj, &["status", "conditions"]) {
        match str_at(condition, &["type"]) {
            "Failed" => {
                failed = true;
                complete = true;
                fail_message = str_at(condition, &["message"]);
            }
            "Complete" => {
                complete = true;
                message = str_at(condition, &["message"]);
            }
            "Suspended" => {
                complete = true;
                message = str_at(condition, &["message"]);
                if str_at(condition, &["status"]) == "True" {
                    suspended = true;
                }
            }
            _ => {}
        }
    }
    Ok(if !complete {
        HealthResult::new(HealthStatus::Progressing, message)
    } else if failed {
        HealthResult::new(HealthStatus::Degraded, fail_message)
    } else if suspended {
        // A suspended Job does not make its application unhealthy.
        HealthResult {
            aggregate_as: Some(HealthStatus::Healthy),
            ..HealthResult::new(HealthStatus::Suspended, message)
        }
    } else {
        HealthResult::new(HealthStatus::Healthy, message)
    })
}
