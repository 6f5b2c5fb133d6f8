//! autoscaling HorizontalPodAutoscaler: v1 reads the conditions annotation, v2/v2beta1/v2beta2 the
//! status conditions.

use capstan_types::HealthStatus;
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{annotation, gvk, list_at, str_at};

/// Annotation that carries the conditions of autoscaling/v1 objects.
const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";

/// Condition type/reason pairs that mean the autoscaler cannot work.
const DEGRADED: &[(&str, &str)] = &[
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "FailedGetContainerResourceMetric"),
    ("ScalingActive", "FailedGetPodsMetric"),
    ("ScalingActive", "FailedGetObjectMetric"),
    ("ScalingActive", "FailedGetExternalMetric"),
    ("ScalingActive", "InvalidSelector"),
];

fn waiting() -> HealthResult {
    HealthResult::new(HealthStatus::Progressing, "Waiting to Autoscale")
}

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let (_, version, _) = gvk(obj);
    if version == "v1" {
        let Some(raw) = annotation(obj, CONDITIONS_ANNOTATION) else {
            return Ok(waiting());
        };
        let conditions: Vec<Value> = serde_json::from_str(raw)
            .map_err(|e| format!("failed to convert conditions annotation to typed: {e}"))?;
        return Ok(check_conditions(&conditions));
    }
    Ok(check_conditions(list_at(obj, &["status", "conditions"])))
}

/// Any degraded condition wins; then `AbleToScale`/`ScalingLimited` True means Healthy.
fn check_conditions(conditions: &[Value]) -> HealthResult {
    let field = |c: &'_ Value, name: &str| str_at(c, &[name]).to_string();
    if let Some(c) = conditions.iter().find(|c| {
        DEGRADED
            .iter()
            .any(|(t, r)| field(c, "type") == *t && field(c, "reason") == *r)
    }) {
        return HealthResult::new(HealthStatus::Degraded, field(c, "message"));
    }
    if let Some(c) = conditions.iter().find(|c| {
        matches!(str_at(c, &["type"]), "AbleToScale" | "ScalingLimited")
            && str_at(c, &["status"]) == "True"
    }) {
        return HealthResult::new(HealthStatus::Healthy, field(c, "message"));
    }
    waiting()
}
