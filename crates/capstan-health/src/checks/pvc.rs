//! v1 PersistentVolumeClaim.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{annotation, str_at};

/// Annotation set while a volume is being provisioned.
const STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    Ok(match str_at(obj, &["status", "phase"]) {
        "Lost" => HealthResult::new(HealthStatus::Degraded, ""),
        "Pending" if annotation(obj, STORAGE_PROVISIONER).is_some() => {
            HealthResult::new(HealthStatus::Progressing, "Provisioning volume")
        }
        // Pending without a provisioner: waiting for a consumer (WaitForFirstConsumer).
        "Pending" => HealthResult::new(HealthStatus::Healthy, "Waiting for consumer"),
        "Bound" => HealthResult::new(HealthStatus::Healthy, ""),
        _ => HealthResult::new(HealthStatus::Unknown, ""),
    })
}
