//! v1 Pod.

use capstan_types::HealthStatus;
use capstan_types::annotations::{HELM_HOOK, HOOK, IGNORE_RESTART_POLICY};
use serde_json::Value;

use crate::HealthResult;
use crate::fields::{annotation, at, int_at, list_at, str_at};

pub(crate) fn check(obj: &Value) -> Result<HealthResult, String> {
    let policy = effective_restart_policy(obj);
    let container_statuses = list_at(obj, &["status", "containerStatuses"]);
    let pod_message = str_at(obj, &["status", "message"]);

    // Waiting errors make long-running pods Degraded; not hooks (restartPolicy OnFailure/Never), which
    // would otherwise fail a sync prematurely.
    if policy == "Always" {
        let messages: Vec<&str> = container_statuses
            .iter()
            .filter_map(|cs| at(cs, &["state", "waiting"]))
            .filter(|waiting| {
                let reason = str_at(waiting, &["reason"]);
                reason.starts_with("Err")
                    || reason.ends_with("Error")
                    || reason.ends_with("BackOff")
            })
            .map(|waiting| str_at(waiting, &["message"]))
            .collect();
        if !messages.is_empty() {
            return Ok(HealthResult::new(
                HealthStatus::Degraded,
                messages.join(", "),
            ));
        }
    }

    Ok(match str_at(obj, &["status", "phase"]) {
        "Pending" => HealthResult::new(HealthStatus::Progressing, pod_message),
        "Succeeded" => HealthResult::new(HealthStatus::Healthy, pod_message),
        "Failed" => {
            if !pod_message.is_empty() {
                return Ok(HealthResult::new(HealthStatus::Degraded, pod_message));
            }
            let init = list_at(obj, &["status", "initContainerStatuses"]);
            let message = init
                .iter()
                .chain(container_statuses)
                .map(fail_message)
                .find(|m| !m.is_empty())
                .unwrap_or_default();
            HealthResult::new(HealthStatus::Degraded, message)
        }
        "Running" => match policy {
            "Always" => {
                if is_ready(obj) {
                    HealthResult::new(HealthStatus::Healthy, pod_message)
                } else if container_statuses
                    .iter()
                    .any(|cs| at(cs, &["lastState", "terminated"]).is_some_and(|t| !t.is_null()))
                {
                    HealthResult::new(HealthStatus::Degraded, pod_message)
                } else {
                    HealthResult::new(HealthStatus::Progressing, pod_message)
                }
            }
            // Finite pods (typically hooks) are Progressing while running.
            "OnFailure" | "Never" => HealthResult::new(HealthStatus::Progressing, pod_message),
            _ => HealthResult::new(HealthStatus::Unknown, pod_message),
        },
        _ => HealthResult::new(HealthStatus::Unknown, pod_message),
    })
}

/// `spec.restartPolicy` (the API default `Always` when unset); a non-hook pod annotated
/// `argocd.argoproj.io/ignore-restart-policy: "true"` is assessed as `Always`.
fn effective_restart_policy(obj: &Value) -> &str {
    let policy = match str_at(obj, &["spec", "restartPolicy"]) {
        "" => "Always",
        other => other,
    };
    let is_hook = annotation(obj, HOOK).is_some() || annotation(obj, HELM_HOOK).is_some();
    if annotation(obj, IGNORE_RESTART_POLICY) == Some("true") && !is_hook {
        "Always"
    } else {
        policy
    }
}

fn is_ready(obj: &Value) -> bool {
    list_at(obj, &["status", "conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True")
}

fn fail_message(container_status: &Value) -> String {
    let Some(terminated) = at(container_status, &["state", "terminated"]).filter(|t| !t.is_null())
    else {
        return String::new();
    };
    let message = str_at(terminated, &["message"]);
    if !message.is_empty() {
        return message.to_string();
    }
    if str_at(terminated, &["reason"]) == "OOMKilled" {
        return "OOMKilled".to_string();
    }
    let exit_code = int_at(terminated, &["exitCode"]);
    if exit_code != 0 {
        return format!(
            "container {:?} failed with exit code {exit_code}",
            str_at(container_status, &["name"])
        );
    }
    String::new()
}
