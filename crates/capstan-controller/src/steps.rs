//! Executing a sync plan one (phase, wave) step at a time: applies, prunes and hooks, each step
//! starting only when the previous one is healthy; the server-side dry run before anything changes.
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_kube::{ApplyOptions, DeleteOptions};
use capstan_sync::{ResourceKey, SyncStep, Task, TaskKind};
use capstan_types::{HealthStatus, HookDeletePolicy, HookPhase, OperationPhase, ResultCode};
use serde_json::Value;

use crate::clusters::ClusterState;
use crate::controller::Inner;
use crate::progress::{Progress, hook_phase_of, write_state};

pub(crate) fn live_of(cluster: &ClusterState, key: &ResourceKey) -> Option<Arc<Value>> {
    cluster.cache.read().ok().and_then(|c| c.get(key))
}

/// Why an operation stopped early.
pub(crate) enum Stop {
    /// Failed; retried when the operation's retry strategy allows.
    Failed(String),
    /// Failed for good (a retry cannot be scheduled).
    Final(String),
    /// Terminated by the user.
    Terminated,
    /// Held by a sync window; the operation stays Running and goes on later.
    Held(String),
}

pub(crate) async fn execute_task(
    inner: &Inner,
    cluster: &ClusterState,
    task: &Task,
    progress: &mut Progress,
    dry_run: bool,
) -> Result<(), String> {
    let client = &cluster.client;
    match &task.kind {
        TaskKind::Apply => {
            let Some(target) = &task.target else {
                return Ok(());
            };
            let created = task.live.is_none();
            let outcome = if task.options.replace && !created {
                let mut obj = target.clone();
                if let Some(rv) = task
                    .live
                    .as_ref()
                    .and_then(|l| l.pointer("/metadata/resourceVersion"))
                    .cloned()
                {
                    obj["metadata"]["resourceVersion"] = rv;
                }
                client.replace(&obj, dry_run).await
            } else if task.options.server_side_apply == Some(false) {
                crate::client_apply::apply(
                    cluster,
                    target,
                    task.live.as_ref(),
                    dry_run,
                    &inner.config.field_manager,
                )
                .await
            } else {
                client
                    .apply(
                        target,
                        &ApplyOptions {
                            force: true,
                            dry_run,
                            field_manager: Some(inner.config.field_manager.clone()),
                        },
                    )
                    .await
            };
            match outcome {
                Ok(_) => {
                    let verb = if created { "created" } else { "configured" };
                    progress.record(
                        task,
                        &task.key.name,
                        ResultCode::Synced,
                        format!("{}/{} {verb}", task.key.kind.to_lowercase(), task.key.name),
                        None,
                    );
                    Ok(())
                }
                Err(err) => {
                    progress.record(
                        task,
                        &task.key.name,
                        ResultCode::SyncFailed,
                        err.to_string(),
                        None,
                    );
                    Err(format!("{}: {err}", task.key))
                }
            }
        }
        TaskKind::Prune => {
            let Some(live) = &task.live else {
                return Ok(());
            };
            let result = async {
                let (rt, ns, name) = client.locate(live).await?;
                let propagation = Some(
                    task.options
                        .prune_propagation_policy
                        .as_kubernetes()
                        .to_string(),
                );
                client
                    .delete(
                        &rt,
                        ns.as_deref(),
                        &name,
                        &DeleteOptions {
                            propagation,
                            dry_run,
                        },
                    )
                    .await
            }
            .await;
            match result {
                Ok(()) => {
                    progress.record(
                        task,
                        &task.key.name,
                        ResultCode::Pruned,
                        "pruned".to_string(),
                        None,
                    );
                    Ok(())
                }
                Err(err) => {
                    progress.record(
                        task,
                        &task.key.name,
                        ResultCode::SyncFailed,
                        err.to_string(),
                        None,
                    );
                    Err(format!("{}: {err}", task.key))
                }
            }
        }
        TaskKind::PruneSkipped(reason) => {
            progress.record(
                task,
                &task.key.name,
                ResultCode::PruneSkipped,
                reason.clone(),
                None,
            );
            Ok(())
        }
        TaskKind::Hook(info) => {
            if let Some(done) = progress.result_of(task)
                && done.hook_phase.is_some()
            {
                // resumed: the hook was created before the restart
                return Ok(());
            }
            let Some(target) = &task.target else {
                return Ok(());
            };
            if dry_run {
                progress.record(
                    task,
                    &task.key.name,
                    ResultCode::Synced,
                    "hook skipped (dry run)".into(),
                    Some(HookPhase::Succeeded),
                );
                return Ok(());
            }
            let has_name = target
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if has_name
                && info
                    .delete_policies
                    .contains(&HookDeletePolicy::BeforeHookCreation)
            {
                delete_and_wait(inner, cluster, target).await?;
            }
            match client.create(target, false).await {
                Ok(created) => {
                    let name = created
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or(&task.key.name)
                        .to_string();
                    progress.record(
                        task,
                        &name,
                        ResultCode::Synced,
                        format!("{}/{name} created", task.key.kind.to_lowercase()),
                        Some(HookPhase::Running),
                    );
                    Ok(())
                }
                Err(err) => {
                    progress.record(
                        task,
                        &task.key.name,
                        ResultCode::SyncFailed,
                        err.to_string(),
                        Some(HookPhase::Failed),
                    );
                    Err(format!("hook {}: {err}", task.key))
                }
            }
        }
    }
}

pub(crate) async fn delete_and_wait(
    inner: &Inner,
    cluster: &ClusterState,
    obj: &Value,
) -> Result<(), String> {
    let client = &cluster.client;
    let (rt, ns, name) = client.locate(obj).await.map_err(|e| e.to_string())?;
    let options = DeleteOptions {
        propagation: Some("Foreground".into()),
        dry_run: false,
    };
    client
        .delete(&rt, ns.as_deref(), &name, &options)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .get(&rt, ns.as_deref(), &name)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        if Instant::now() > deadline {
            return Err(format!("{} {name} was not deleted within 60 s", rt.kind));
        }
        tokio::time::sleep(inner.config.poll_interval).await;
    }
    Ok(())
}

pub(crate) fn terminated(inner: &Inner, name: &str, started_at: &str) -> bool {
    match crate::operation::current(inner, name) {
        None => true,
        Some(app) => {
            let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
            app.operation.is_none()
                || state.is_some_and(|s| {
                    s.phase == OperationPhase::Terminating && s.started_at == started_at
                })
        }
    }
}

/// Waits until every task of a step is done: applied resources healthy (or without health), hooks
/// finished. A failed hook fails the step.
pub(crate) async fn wait_step(
    inner: &Inner,
    cluster: &ClusterState,
    name: &str,
    step: &SyncStep,
    progress: &mut Progress,
    dry_run: bool,
    health_gate: bool,
) -> Result<(), Stop> {
    if dry_run {
        return Ok(());
    }
    let overrides = inner
        .settings
        .read()
        .map(|s| s.health.clone())
        .unwrap_or_default();
    let client = &cluster.client;
    loop {
        if terminated(inner, name, &progress.state.started_at) {
            return Err(Stop::Terminated);
        }
        let mut pending = false;
        for task in &step.tasks {
            match &task.kind {
                // after the last step nothing waits on these resources: as Argo CD, the operation
                // ends once they are applied, and health is the application's to report
                TaskKind::Apply if !health_gate => {}
                TaskKind::Apply => match live_of(cluster, &task.key) {
                    None => pending = true,
                    Some(live) => {
                        if let Some(health) = capstan_health::assess(&live, &overrides)
                            && matches!(
                                health.status,
                                HealthStatus::Progressing | HealthStatus::Missing
                            )
                        {
                            pending = true;
                        }
                    }
                },
                TaskKind::Prune => {
                    if live_of(cluster, &task.key).is_some() {
                        pending = true;
                    }
                }
                TaskKind::PruneSkipped(_) => {}
                TaskKind::Hook(_) => {
                    let Some(result) = progress.result_of(task).cloned() else {
                        continue;
                    };
                    if result.hook_phase != Some(HookPhase::Running) {
                        continue;
                    }
                    let Some(target) = &task.target else { continue };
                    let mut probe = target.clone();
                    probe["metadata"]["name"] = Value::String(result.name.clone());
                    let live = match client.locate(&probe).await {
                        Ok((rt, ns, n)) => client.get(&rt, ns.as_deref(), &n).await.ok().flatten(),
                        Err(_) => None,
                    };
                    let Some(live) = live else {
                        pending = true;
                        continue;
                    };
                    let (phase, message) = hook_phase_of(&live, &overrides);
                    match phase {
                        HookPhase::Succeeded => {
                            progress.record(
                                task,
                                &result.name,
                                ResultCode::Synced,
                                if message.is_empty() {
                                    "hook succeeded".into()
                                } else {
                                    message
                                },
                                Some(HookPhase::Succeeded),
                            );
                        }
                        HookPhase::Failed => {
                            let why = if message.is_empty() {
                                "failed".to_string()
                            } else {
                                message
                            };
                            progress.record(
                                task,
                                &result.name,
                                ResultCode::SyncFailed,
                                why.clone(),
                                Some(HookPhase::Failed),
                            );
                            return Err(Stop::Failed(format!(
                                "{} hook {}/{} failed: {why}",
                                task.phase, task.key.kind, result.name
                            )));
                        }
                        _ => pending = true,
                    }
                }
            }
        }
        if !pending {
            return Ok(());
        }
        tokio::time::sleep(inner.config.poll_interval).await;
    }
}

pub(crate) async fn run_steps(
    inner: &Inner,
    cluster: &ClusterState,
    name: &str,
    steps: &[SyncStep],
    progress: &mut Progress,
    dry_run: bool,
    held: &(dyn Fn() -> Option<String> + Sync),
) -> Result<(), Stop> {
    for (i, step) in steps.iter().enumerate() {
        if i > 0 && !dry_run {
            tokio::time::sleep(inner.config.wave_delay).await;
            // a sync window that opened meanwhile holds the rest of the operation
            if let Some(message) = held() {
                return Err(Stop::Held(message));
            }
        }
        let mut failure = None;
        for task in &step.tasks {
            if let Err(message) = execute_task(inner, cluster, task, progress, dry_run).await {
                failure.get_or_insert(message);
            }
        }
        let _ = write_state(inner, name, progress).await;
        if let Some(message) = failure {
            return Err(Stop::Failed(message));
        }
        let last = i + 1 == steps.len();
        let waited = wait_step(inner, cluster, name, step, progress, dry_run, !last).await;
        let _ = write_state(inner, name, progress).await;
        waited?;
    }
    Ok(())
}

/// A server-side dry run of every apply before anything changes, as Argo CD does: an invalid object
/// fails the sync while the cluster is untouched. Kinds the cluster does not serve yet are skipped
/// when a CRD of this sync defines them or the resource says `SkipDryRunOnMissingResource=true`.
pub(crate) async fn dry_run_all(
    inner: &Inner,
    cluster: &ClusterState,
    plan: &capstan_sync::SyncPlan,
    progress: &mut Progress,
) -> Result<(), String> {
    let crd_kinds: Vec<(String, String)> = plan
        .tasks()
        .filter_map(|t| {
            let spec = t.target.as_ref()?.get("spec")?;
            if t.key.kind != "CustomResourceDefinition" {
                return None;
            }
            Some((
                spec.get("group")?.as_str()?.to_string(),
                spec.pointer("/names/kind")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let mut problems = Vec::new();
    for task in plan.tasks() {
        let (TaskKind::Apply, Some(target)) = (&task.kind, &task.target) else {
            continue;
        };
        let options = ApplyOptions {
            force: true,
            dry_run: true,
            field_manager: Some(inner.config.field_manager.clone()),
        };
        let outcome = if task.options.server_side_apply == Some(false) {
            crate::client_apply::apply(
                cluster,
                target,
                task.live.as_ref(),
                true,
                &inner.config.field_manager,
            )
            .await
        } else {
            cluster.client.apply(target, &options).await
        };
        match outcome {
            Ok(_) => {}
            Err(capstan_kube::KubeError::UnknownKind { .. })
                if task.options.skip_dry_run_on_missing_resource
                    || crd_kinds
                        .iter()
                        .any(|(g, k)| *g == task.key.group && *k == task.key.kind) => {}
            Err(err) => {
                progress.record(
                    task,
                    &task.key.name,
                    ResultCode::SyncFailed,
                    err.to_string(),
                    None,
                );
                problems.push(format!("{}: {err}", task.key));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "one or more objects failed to apply (dry run): {}",
            problems.join("; ")
        ))
    }
}

pub(crate) async fn delete_hooks(
    cluster: &ClusterState,
    progress: &Progress,
    policy: HookDeletePolicy,
    plan: &capstan_sync::SyncPlan,
) {
    for task in plan
        .steps
        .iter()
        .chain(plan.sync_fail.iter())
        .flat_map(|s| s.tasks.iter())
    {
        let TaskKind::Hook(info) = &task.kind else {
            continue;
        };
        if !info.delete_policies.contains(&policy) {
            continue;
        }
        let Some(result) = progress.result_of(task) else {
            continue;
        };
        let wanted = match policy {
            HookDeletePolicy::HookSucceeded => Some(HookPhase::Succeeded),
            HookDeletePolicy::HookFailed => Some(HookPhase::Failed),
            HookDeletePolicy::BeforeHookCreation => continue,
        };
        if result.hook_phase != wanted {
            continue;
        }
        let Some(target) = &task.target else { continue };
        let mut obj = target.clone();
        obj["metadata"]["name"] = Value::String(result.name.clone());
        let client = &cluster.client;
        if let Ok((rt, ns, n)) = client.locate(&obj).await {
            let options = DeleteOptions {
                propagation: Some("Background".into()),
                dry_run: false,
            };
            if let Err(err) = client.delete(&rt, ns.as_deref(), &n, &options).await {
                tracing::warn!(hook = %n, %err, "deleting a hook failed");
            }
        }
    }
}
