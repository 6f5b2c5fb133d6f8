//! apps/v1 StatefulSet.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{at, int_at, opt_int_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let observed = int_at(obj, &["status", "observedGeneration"]);
    if observed == 0 || int_at(obj, &["metadata", "generation"]) > observed {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            "Waiting for statefulset spec update to be observed...",
        ));
    }
    let desired = opt_int_at(obj, &["spec", "replicas"]);
    let ready = int_at(obj, &["status", "readyReplicas"]);
    let updated = int_at(obj, &["status", "updatedReplicas"]);
    if let Some(desired) = desired
        && ready < desired
    {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!("Waiting for {} pods to be ready...", desired - ready),
        ));
    }
    let strategy = str_at(obj, &["spec", "updateStrategy", "type"]);
    let rolling = at(obj, &["spec", "updateStrategy", "rollingUpdate"]).filter(|v| !v.is_null());
    if strategy == "RollingUpdate"
        && let Some(rolling) = rolling
    {
        if let (Some(desired), Some(partition)) = (desired, opt_int_at(rolling, &["partition"]))
            && updated < desired - partition
        {
            return Ok(HealthResult::new(
                HealthStatus::Progressing,
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                    desired - partition
                ),
            ));
        }
        return Ok(HealthResult::new(
            HealthStatus::Healthy,
            format!("partitioned roll out complete: {updated} new pods have been updated..."),
        ));
    }
    if strategy == "OnDelete" {
        return Ok(HealthResult::new(
            HealthStatus::Healthy,
            format!("statefulset has {ready} ready pods"),
        ));
    }
    let update_revision = str_at(obj, &["status", "updateRevision"]);
    let current_revision = str_at(obj, &["status", "currentRevision"]);
    if update_revision != current_revision {
        return Ok(HealthResult::new(
            HealthStatus::Progressing,
            format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}..."
            ),
        ));
    }
    let current = int_at(obj, &["status", "currentReplicas"]);
    Ok(HealthResult::new(
        HealthStatus::Healthy,
        format!(
            "statefulset rolling update complete {current} pods at revision {current_revision}..."
        ),
    ))
}
