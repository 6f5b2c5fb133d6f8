//! apiextensions.k8s.io CustomResourceDefinition: the behaviour of Argo CD's bundled
//! `apiextensions.k8s.io/CustomResourceDefinition/health.lua`, in Rust.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{list_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let conditions = list_at(obj, &["status", "conditions"]);
    if conditions.is_empty() {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Status conditions not found",
        ));
    }
    let (mut established, mut terminating, mut names_rejected, mut violations) =
        (false, false, false, false);
    let mut message = "";
    for c in conditions {
        let is_true = str_at(c, &["status"]) == "True";
        let flag = match (str_at(c, &["type"]), is_true) {
            ("Terminating", true) => &mut terminating,
            ("NamesAccepted", false) => &mut names_rejected,
            ("Established", true) => &mut established,
            ("NonStructuralSchema", true) => &mut violations,
            _ => continue,
        };
        *flag = true;
        message = str_at(c, &["message"]);
    }
    Ok(if terminating {
        HealthResult::new(
            HealthStatus::Progressing,
            format!("CRD is terminating: {message}"),
        )
    } else if names_rejected {
        HealthResult::new(
            HealthStatus::Degraded,
            format!("CRD names have not been accepted: {message}"),
        )
    } else if !established {
        HealthResult::new(HealthStatus::Degraded, "CRD is not established")
    } else if violations {
        HealthResult::new(
            HealthStatus::Degraded,
            format!("Schema violations found: {message}"),
        )
    } else {
        HealthResult::new(HealthStatus::Healthy, "CRD is healthy")
    })
}
