//! Progress of one sync operation: per-resource results kept in `status.operationState`, and the
//! phase of a running hook read from its live object.

use capstan_sync::{Task, TaskKind};
use capstan_types::{
    HealthStatus, HookPhase, OperationState, ResourceResult, ResultCode, SyncOperationResult,
};
use serde_json::{Value, json};

use crate::controller::Inner;
use crate::refresh::patch_app;

/// Progress of one operation.
pub(crate) struct Progress {
    pub(crate) state: OperationState,
    pub(crate) results: Vec<ResourceResult>,
}

impl Progress {
    pub(crate) fn result_of(&self, task: &Task) -> Option<&ResourceResult> {
        let phase = task.phase;
        self.results.iter().find(|r| {
            r.kind == task.key.kind
                && r.namespace == task.key.namespace
                && (r.name == task.key.name || r.name.starts_with(&task.key.name))
                && r.sync_phase == Some(phase)
        })
    }

    pub(crate) fn record(
        &mut self,
        task: &Task,
        name: &str,
        status: ResultCode,
        message: String,
        hook_phase: Option<HookPhase>,
    ) {
        let version = task
            .target
            .as_ref()
            .or(task.live.as_ref())
            .and_then(|o| o.get("apiVersion"))
            .and_then(Value::as_str)
            .map(|v| v.rsplit('/').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        let hook_type = match &task.kind {
            TaskKind::Hook(info) => Some(info.hook_type),
            _ => None,
        };
        let result = ResourceResult {
            group: task.key.group.clone(),
            version,
            kind: task.key.kind.clone(),
            namespace: task.key.namespace.clone(),
            name: name.to_string(),
            status: Some(status),
            message: Some(message),
            hook_type,
            hook_phase,
            sync_phase: Some(task.phase),
            images: None,
            extra: Default::default(),
        };
        let existing = self.results.iter_mut().find(|r| {
            r.kind == result.kind
                && r.namespace == result.namespace
                && r.name == result.name
                && r.sync_phase == result.sync_phase
        });
        match existing {
            Some(r) => *r = result,
            None => self.results.push(result),
        }
    }

    pub(crate) fn snapshot(&self) -> OperationState {
        let mut state = self.state.clone();
        let sync_result = state
            .sync_result
            .get_or_insert_with(SyncOperationResult::default);
        sync_result.resources = Some(self.results.clone());
        state
    }
}

pub(crate) async fn write_state(
    inner: &Inner,
    name: &str,
    progress: &Progress,
) -> Result<(), String> {
    let state = serde_json::to_value(progress.snapshot()).map_err(|e| e.to_string())?;
    patch_app(inner, name, &json!({"status": {"operationState": state}})).await
}

pub(crate) fn hook_phase_of(
    obj: &Value,
    overrides: &capstan_health::HealthOverrides,
) -> (HookPhase, String) {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind == "Job" {
        let conditions = obj.pointer("/status/conditions").and_then(Value::as_array);
        for c in conditions.into_iter().flatten() {
            let is_true = c.get("status").and_then(Value::as_str) == Some("True");
            let message = c
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match c.get("type").and_then(Value::as_str) {
                Some("Complete") if is_true => return (HookPhase::Succeeded, message),
                Some("Failed") if is_true => return (HookPhase::Failed, message),
                _ => {}
            }
        }
        return (HookPhase::Running, String::new());
    }
    if kind == "Pod" {
        let message = obj
            .pointer("/status/message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        return match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => (HookPhase::Succeeded, message),
            Some("Failed") => (HookPhase::Failed, message),
            _ => (HookPhase::Running, message),
        };
    }
    match capstan_health::assess(obj, overrides) {
        None => (HookPhase::Succeeded, String::new()),
        Some(h) => match h.status {
            HealthStatus::Healthy => (HookPhase::Succeeded, h.message),
            HealthStatus::Degraded => (HookPhase::Failed, h.message),
            _ => (HookPhase::Running, h.message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_phases() {
        let overrides = capstan_health::HealthOverrides::default();
        let job = |cond: &str| json!({"kind": "Job", "status": {"conditions": [{"type": cond, "status": "True", "message": "m"}]}});
        assert_eq!(
            hook_phase_of(&job("Complete"), &overrides).0,
            HookPhase::Succeeded
        );
        assert_eq!(
            hook_phase_of(&job("Failed"), &overrides).0,
            HookPhase::Failed
        );
        assert_eq!(
            hook_phase_of(&json!({"kind": "Job", "status": {}}), &overrides).0,
            HookPhase::Running
        );
        assert_eq!(
            hook_phase_of(
                &json!({"kind": "Pod", "status": {"phase": "Failed"}}),
                &overrides
            )
            .0,
            HookPhase::Failed
        );
        assert_eq!(
            hook_phase_of(
                &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                &overrides
            )
            .0,
            HookPhase::Succeeded
        );
    }
}
