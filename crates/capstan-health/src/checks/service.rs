//! v1 Service: a LoadBalancer needs `status.loadBalancer.ingress`.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{list_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    if str_at(obj, &["spec", "type"]) == "LoadBalancer"
        && list_at(obj, &["status", "loadBalancer", "ingress"]).is_empty()
    {
        return Ok(HealthResult::new(HealthStatus::Progressing, ""));
    }
    Ok(HealthResult::new(HealthStatus::Healthy, ""))
}
