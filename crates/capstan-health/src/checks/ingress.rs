//! Ingress (extensions and networking.k8s.io, any version): needs `status.loadBalancer.ingress`.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::list_at;

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let status = if list_at(obj, &["status", "loadBalancer", "ingress"]).is_empty() {
        HealthStatus::Progressing
    } else {
        HealthStatus::Healthy
    };
    Ok(HealthResult::new(status, ""))
}
