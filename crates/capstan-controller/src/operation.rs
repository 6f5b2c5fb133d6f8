//! Running sync operations: the plan from `capstan-sync` executed one (phase, wave) step at a time,
//! each step starting only when the previous one is healthy; hooks created and awaited; SyncFail
//! hooks on failure; progress kept in `status.operationState` so a restarted controller resumes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_kube::{ApplyOptions, DeleteOptions};
use capstan_sync::{
    PlanInput, PlanItem, ResourceKey, ResourceSyncOptions, SyncStep, Task, TaskKind,
};
use capstan_types::annotations::finalizers;
use capstan_types::{
    Application, HealthStatus, HookDeletePolicy, HookPhase, Operation, OperationPhase,
    OperationState, ResourceResult, ResultCode, RevisionHistory, SyncOperationResult,
};
use serde_json::{Value, json};

use crate::controller::Inner;
use crate::refresh::{compare_app, desired, instance_of, now_rfc3339, patch_app};

/// Starts the application's operation unless it already runs.
pub(crate) fn start(inner: Arc<Inner>, name: &str) {
    let fresh = inner
        .running_ops
        .lock()
        .map(|mut ops| ops.insert(name.to_string()))
        .unwrap_or(false);
    if !fresh {
        return;
    }
    let name = name.to_string();
    tokio::spawn(async move {
        let permit = inner.op_slots.clone().acquire_owned().await;
        if permit.is_ok() {
            run(&inner, &name).await;
        }
        if let Ok(mut ops) = inner.running_ops.lock() {
            ops.remove(&name);
        }
        inner.refresh_queue.add(&name);
    });
}

fn current(inner: &Inner, name: &str) -> Option<Application> {
    inner.apps.read().ok().and_then(|a| a.get(name).cloned())
}

async fn fresh(inner: &Inner, name: &str) -> Option<Application> {
    let rt = inner
        .control
        .resolve(capstan_types::annotations::API_VERSION, "Application")
        .await
        .ok()?;
    let obj = inner
        .control
        .get(&rt, Some(&inner.config.namespace), name)
        .await
        .ok()??;
    let app: Application = capstan_types::decode(&obj).ok()?;
    if let Ok(mut apps) = inner.apps.write() {
        apps.insert(name.to_string(), app.clone());
    }
    Some(app)
}

/// Progress of one operation.
struct Progress {
    state: OperationState,
    results: Vec<ResourceResult>,
}

impl Progress {
    fn result_of(&self, task: &Task) -> Option<&ResourceResult> {
        let phase = task.phase;
        self.results.iter().find(|r| {
            r.kind == task.key.kind
                && r.namespace == task.key.namespace
                && (r.name == task.key.name || r.name.starts_with(&task.key.name))
                && r.sync_phase == Some(phase)
        })
    }

    fn record(
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

    fn snapshot(&self) -> OperationState {
        let mut state = self.state.clone();
        let sync_result = state
            .sync_result
            .get_or_insert_with(SyncOperationResult::default);
        sync_result.resources = Some(self.results.clone());
        state
    }
}

async fn write_state(inner: &Inner, name: &str, progress: &Progress) -> Result<(), String> {
    let state = serde_json::to_value(progress.snapshot()).map_err(|e| e.to_string())?;
    patch_app(inner, name, &json!({"status": {"operationState": state}})).await
}

fn hook_phase_of(obj: &Value, overrides: &capstan_health::HealthOverrides) -> (HookPhase, String) {
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

fn live_of(inner: &Inner, key: &ResourceKey) -> Option<Arc<Value>> {
    inner.cluster.cache.read().ok().and_then(|c| c.get(key))
}

/// Why an operation stopped early.
enum Stop {
    Failed(String),
    Terminated,
}

async fn execute_task(
    inner: &Inner,
    task: &Task,
    progress: &mut Progress,
    dry_run: bool,
) -> Result<(), String> {
    let client = &inner.cluster.client;
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
                delete_and_wait(inner, target).await?;
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

async fn delete_and_wait(inner: &Inner, obj: &Value) -> Result<(), String> {
    let client = &inner.cluster.client;
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

fn terminated(inner: &Inner, name: &str, started_at: &str) -> bool {
    match current(inner, name) {
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
async fn wait_step(
    inner: &Inner,
    name: &str,
    step: &SyncStep,
    progress: &mut Progress,
    dry_run: bool,
) -> Result<(), Stop> {
    if dry_run {
        return Ok(());
    }
    let overrides = inner
        .settings
        .read()
        .map(|s| s.health.clone())
        .unwrap_or_default();
    let client = &inner.cluster.client;
    loop {
        if terminated(inner, name, &progress.state.started_at) {
            return Err(Stop::Terminated);
        }
        let mut pending = false;
        for task in &step.tasks {
            match &task.kind {
                TaskKind::Apply => match live_of(inner, &task.key) {
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
                    if live_of(inner, &task.key).is_some() {
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

async fn run_steps(
    inner: &Inner,
    name: &str,
    steps: &[SyncStep],
    progress: &mut Progress,
    dry_run: bool,
) -> Result<(), Stop> {
    for (i, step) in steps.iter().enumerate() {
        if i > 0 && !dry_run {
            tokio::time::sleep(inner.config.wave_delay).await;
        }
        let mut failure = None;
        for task in &step.tasks {
            if let Err(message) = execute_task(inner, task, progress, dry_run).await {
                failure.get_or_insert(message);
            }
        }
        let _ = write_state(inner, name, progress).await;
        if let Some(message) = failure {
            return Err(Stop::Failed(message));
        }
        let waited = wait_step(inner, name, step, progress, dry_run).await;
        let _ = write_state(inner, name, progress).await;
        waited?;
    }
    Ok(())
}

/// A server-side dry run of every apply before anything changes, as Argo CD does: an invalid object
/// fails the sync while the cluster is untouched. Kinds the cluster does not serve yet are skipped
/// when a CRD of this sync defines them or the resource says `SkipDryRunOnMissingResource=true`.
async fn dry_run_all(
    inner: &Inner,
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
        match inner.cluster.client.apply(target, &options).await {
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

fn plan_items(desired: &[Value], comparison: &crate::compare::Comparison) -> Vec<PlanItem> {
    let mut items: Vec<PlanItem> = Vec::new();
    for target in desired {
        let key = ResourceKey::of(target);
        let state = comparison.resources.iter().find(|r| r.key == key);
        items.push(PlanItem {
            target: Some(target.clone()),
            live: state.and_then(|s| s.live.as_deref().cloned()),
            modified: state.is_none_or(|s| s.status != capstan_types::SyncStatusCode::Synced),
        });
    }
    for extra in comparison.resources.iter().filter(|r| r.requires_pruning) {
        items.push(PlanItem {
            target: None,
            live: extra.live.as_deref().cloned(),
            modified: true,
        });
    }
    items
}

async fn delete_hooks(
    inner: &Inner,
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
        let client = &inner.cluster.client;
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

/// Runs (or resumes) the operation of one application to its end.
async fn run(inner: &Arc<Inner>, name: &str) {
    // read the Application from the API, not the local copy: an operation that just finished must not
    // run again because a late watch event still shows it
    let Some(app) = fresh(inner, name).await else {
        return;
    };
    let Some(operation) = app.operation.clone() else {
        return;
    };
    let now = now_rfc3339();
    let existing = app.status.as_ref().and_then(|s| s.operation_state.clone());
    let mut progress = match existing {
        Some(state) if state.phase == OperationPhase::Running && state.operation == operation => {
            tracing::info!(app = name, "resuming the running operation");
            let results = state
                .sync_result
                .as_ref()
                .and_then(|r| r.resources.clone())
                .unwrap_or_default();
            Progress { state, results }
        }
        _ => Progress {
            state: OperationState {
                operation: operation.clone(),
                phase: OperationPhase::Running,
                message: Some("running".into()),
                sync_result: None,
                started_at: now.clone(),
                finished_at: None,
                retry_count: None,
                extra: Default::default(),
            },
            results: Vec::new(),
        },
    };
    if let Err(err) = write_state(inner, name, &progress).await {
        tracing::warn!(app = name, %err, "recording the operation start failed");
        return;
    }
    let outcome = execute(inner, &app, &operation, &mut progress).await;
    finish(inner, &app, &operation, progress, outcome).await;
}

struct Executed {
    plan: Option<capstan_sync::SyncPlan>,
    revision: String,
    result: Result<(), Stop>,
}

async fn execute(
    inner: &Arc<Inner>,
    app: &Application,
    operation: &Operation,
    progress: &mut Progress,
) -> Executed {
    let sync = operation.sync.clone().unwrap_or_default();
    let dry_run = sync.dry_run == Some(true);
    let fail = |m: String| Executed {
        plan: None,
        revision: String::new(),
        result: Err(Stop::Failed(m)),
    };
    let desired = match desired(
        inner,
        app,
        sync.revision.clone().filter(|r| !r.is_empty()),
        false,
    )
    .await
    {
        Ok(d) => d,
        Err((_, message)) => return fail(message),
    };
    let revision = desired.generated.revision.clone();
    let sync_result = progress
        .state
        .sync_result
        .get_or_insert_with(SyncOperationResult::default);
    sync_result.revision = revision.clone();
    sync_result.source = app.spec.source.clone();
    let comparison = match compare_app(inner, app, &desired.objects) {
        Ok(c) => c,
        Err(message) => return fail(message),
    };
    let mut option_list: Vec<String> = app.spec.sync_options().to_vec();
    option_list.extend(sync.sync_options.clone().unwrap_or_default());
    let app_options =
        match ResourceSyncOptions::for_application(option_list.iter().map(String::as_str)) {
            Ok(o) => o,
            Err(err) => return fail(err.to_string()),
        };
    let selection: Option<Vec<ResourceKey>> = sync.resources.as_ref().map(|list| {
        list.iter()
            .map(|r| ResourceKey {
                group: r.group.clone().unwrap_or_default(),
                kind: r.kind.clone(),
                namespace: r.namespace.clone().unwrap_or_default(),
                name: r.name.clone(),
            })
            .collect()
    });
    let apply_strategy = sync
        .sync_strategy
        .as_ref()
        .is_some_and(|s| s.apply.is_some());
    if app_options.fail_on_shared_resource
        && let Some((_, message)) = comparison.conditions.iter().find(|(kind, _)| {
            *kind == capstan_types::ApplicationConditionType::SharedResourceWarning
        })
    {
        return fail(format!("FailOnSharedResource: {message}"));
    }
    let items = plan_items(&desired.objects, &comparison);
    let input = PlanInput {
        items: &items,
        app_options: &app_options,
        prune: sync.prune == Some(true),
        selected: selection.as_deref(),
        skip_hooks: selection.is_some() || apply_strategy,
        prune_confirmed: false,
    };
    let plan = match capstan_sync::plan(&input) {
        Ok(p) => p,
        Err(err) => return fail(err.to_string()),
    };
    for task in &plan.skipped {
        if let TaskKind::PruneSkipped(reason) = &task.kind {
            progress.record(
                task,
                &task.key.name,
                ResultCode::PruneSkipped,
                reason.clone(),
                None,
            );
        }
    }
    if app_options.create_namespace && !dry_run {
        let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
        if !namespace.is_empty() {
            let ns =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
            let options = ApplyOptions {
                force: true,
                dry_run,
                field_manager: Some(inner.config.field_manager.clone()),
            };
            if let Err(err) = inner.cluster.client.apply(&ns, &options).await {
                return Executed {
                    plan: Some(plan),
                    revision,
                    result: Err(Stop::Failed(format!(
                        "creating namespace {namespace}: {err}"
                    ))),
                };
            }
        }
    }
    if let Err(message) = dry_run_all(inner, &plan, progress).await {
        return Executed {
            plan: Some(plan),
            revision,
            result: Err(Stop::Failed(message)),
        };
    }
    let result = run_steps(inner, app.name(), &plan.steps, progress, dry_run).await;
    Executed {
        plan: Some(plan),
        revision,
        result,
    }
}

async fn finish(
    inner: &Arc<Inner>,
    app: &Application,
    operation: &Operation,
    mut progress: Progress,
    executed: Executed,
) {
    let name = app.name();
    let dry_run = operation.sync.as_ref().and_then(|s| s.dry_run) == Some(true);
    let (phase, message) = match &executed.result {
        Ok(()) => (
            OperationPhase::Succeeded,
            "successfully synced (all tasks run)".to_string(),
        ),
        Err(Stop::Terminated) => (OperationPhase::Failed, "Operation terminated".to_string()),
        Err(Stop::Failed(message)) => (OperationPhase::Failed, message.clone()),
    };
    if let Some(plan) = &executed.plan {
        if matches!(executed.result, Err(Stop::Failed(_)))
            && !plan.sync_fail.is_empty()
            && let Err(Stop::Failed(m)) =
                run_steps(inner, name, &plan.sync_fail, &mut progress, dry_run).await
        {
            tracing::warn!(app = name, message = %m, "a SyncFail hook failed");
        }
        let policy = if phase == OperationPhase::Succeeded {
            HookDeletePolicy::HookSucceeded
        } else {
            HookDeletePolicy::HookFailed
        };
        delete_hooks(inner, &progress, policy, plan).await;
    }
    let now = now_rfc3339();
    progress.state.phase = phase;
    progress.state.message = Some(message);
    progress.state.finished_at = Some(now.clone());
    let state = progress.snapshot();
    let mut status_patch =
        json!({"operationState": serde_json::to_value(&state).unwrap_or(Value::Null)});
    if phase == OperationPhase::Succeeded && !dry_run {
        let latest = current(inner, name).unwrap_or_else(|| app.clone());
        let mut history = latest
            .status
            .as_ref()
            .and_then(|s| s.history.clone())
            .unwrap_or_default();
        let id = history.iter().map(|h| h.id).max().map_or(0, |m| m + 1);
        history.push(RevisionHistory {
            revision: Some(executed.revision.clone()),
            deployed_at: Some(now),
            id,
            source: app.spec.source.clone(),
            deploy_started_at: Some(state.started_at.clone()),
            sources: app.spec.sources.clone(),
            revisions: None,
            initiated_by: operation.initiated_by.clone(),
            extra: Default::default(),
        });
        let limit = app
            .spec
            .revision_history_limit
            .unwrap_or(capstan_types::DEFAULT_REVISION_HISTORY_LIMIT)
            .max(1);
        let excess = history
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(10));
        history.drain(..excess);
        status_patch["history"] = serde_json::to_value(history).unwrap_or(Value::Null);
    }
    let patch = json!({"operation": null, "status": status_patch});
    if let Err(err) = patch_app(inner, name, &patch).await {
        tracing::error!(app = name, %err, "recording the operation result failed");
    }
}

/// Deletes an application's resources when its finalizer asks for it, then removes the finalizer.
pub(crate) async fn finalize_deletion(inner: &Arc<Inner>, app: &Application) {
    let list = app.metadata.finalizers.clone().unwrap_or_default();
    let ours = [
        finalizers::RESOURCES,
        finalizers::RESOURCES_FOREGROUND,
        finalizers::RESOURCES_BACKGROUND,
    ];
    let Some(finalizer) = list.iter().find(|f| ours.contains(&f.as_str())).cloned() else {
        return;
    };
    let propagation = if finalizer == finalizers::RESOURCES_BACKGROUND {
        "Background"
    } else {
        "Foreground"
    };
    let instance = instance_of(inner, app);
    let tracked = inner
        .cluster
        .cache
        .read()
        .map(|c| c.tracked_by(&instance))
        .unwrap_or_default();
    let client = &inner.cluster.client;
    let mut remaining = 0;
    for live in &tracked {
        if live.pointer("/metadata/deletionTimestamp").is_some() {
            remaining += 1;
            continue;
        }
        match client.locate(live).await {
            Ok((rt, ns, n)) => {
                let options = DeleteOptions {
                    propagation: Some(propagation.into()),
                    dry_run: false,
                };
                if let Err(err) = client.delete(&rt, ns.as_deref(), &n, &options).await {
                    tracing::warn!(app = app.name(), resource = %n, %err, "deleting a resource failed");
                }
                remaining += 1;
            }
            Err(err) => tracing::warn!(app = app.name(), %err, "cannot delete a resource"),
        }
    }
    if remaining > 0 {
        inner
            .refresh_queue
            .add_after(app.name(), Duration::from_millis(500));
        return;
    }
    let kept: Vec<&String> = list.iter().filter(|f| **f != finalizer).collect();
    let patch = json!({"metadata": {"finalizers": kept}});
    if let Err(err) = patch_app(inner, app.name(), &patch).await {
        tracing::warn!(app = app.name(), %err, "removing the finalizer failed");
        inner
            .refresh_queue
            .add_after(app.name(), Duration::from_secs(1));
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
