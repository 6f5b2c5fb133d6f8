//! Running sync operations: the plan from `capstan-sync` executed one (phase, wave) step at a time,
//! each step starting only when the previous one is healthy; hooks created and awaited; SyncFail
//! hooks on failure; progress kept in `status.operationState` so a restarted controller resumes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use capstan_kube::ApplyOptions;
use capstan_sync::{PlanInput, PlanItem, ResourceKey, ResourceSyncOptions, TaskKind};
use capstan_types::{
    Application, HookDeletePolicy, Operation, OperationPhase, OperationState, ResultCode,
    RevisionHistory, SyncOperationResult,
};
use serde_json::{Value, json};

use crate::clusters::ClusterState;
use crate::controller::Inner;
use crate::progress::{Progress, write_state};
use crate::refresh::{cluster_of, compare_app, desired, now_rfc3339, patch_app, project_of};
use crate::steps::{Stop, delete_hooks, dry_run_all, run_steps};

pub(crate) use crate::deletion::finalize_deletion;

/// How soon an operation held by a sync window looks again (a project change looks at once).
const WINDOW_RECHECK: Duration = Duration::from_secs(10);

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
        let again = match permit {
            // boxed: the operation's state machine is large, and thousands of tasks may wait for a
            // slot at once; unboxed, each waiting task would carry it (hundreds of MiB at 10,000)
            Ok(_permit) => Box::pin(run(&inner, &name)).await,
            Err(_) => None,
        };
        if let Ok(mut ops) = inner.running_ops.lock() {
            ops.remove(&name);
        }
        match again {
            // a retry or a sync window: look again then (a refresh in between also looks)
            Some(delay) => inner.refresh_queue.add_after(&name, delay),
            None => inner.refresh_queue.add(&name),
        }
    });
}

pub(crate) fn current(inner: &Inner, name: &str) -> Option<Application> {
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

/// Runs (or resumes) the operation of one application until it ends or has to wait (for a retry's
/// backoff or a sync window); returns how long to wait before looking again.
async fn run(inner: &Arc<Inner>, name: &str) -> Option<Duration> {
    // read the Application from the API, not the local copy: an operation that just finished must not
    // run again because a late watch event still shows it
    let app = fresh(inner, name).await?;
    let operation = app.operation.clone()?;
    let now = chrono::Utc::now();
    let existing = app.status.as_ref().and_then(|s| s.operation_state.clone());
    let mut progress = match existing.clone() {
        Some(state)
            if state.operation == operation && state.phase == OperationPhase::Terminating =>
        {
            // terminated while waiting (for a retry or a window): end it here
            let progress = Progress {
                state,
                results: Vec::new(),
            };
            let executed = Executed {
                plan: None,
                cluster: None,
                revision: String::new(),
                result: Err(Stop::Terminated),
            };
            return finish(inner, &app, &operation, progress, executed).await;
        }
        Some(mut state)
            if state.phase == OperationPhase::Running && state.operation == operation =>
        {
            if state.finished_at.is_some() {
                // an attempt failed and a retry is pending
                match crate::retry::pending_wait(&state, now) {
                    Ok(Some(wait)) => return Some(wait),
                    Ok(None) => {
                        tracing::info!(app = name, retry = ?state.retry_count, "retrying the failed operation");
                        state.finished_at = None;
                        state.sync_result = None;
                        Progress {
                            state,
                            results: Vec::new(),
                        }
                    }
                    Err(message) => {
                        state.phase = OperationPhase::Failed;
                        state.message = Some(message.clone());
                        let progress = Progress {
                            state,
                            results: Vec::new(),
                        };
                        let executed = Executed {
                            plan: None,
                            cluster: None,
                            revision: String::new(),
                            result: Err(Stop::Final(message)),
                        };
                        return finish(inner, &app, &operation, progress, executed).await;
                    }
                }
            } else {
                tracing::info!(app = name, "resuming the running operation");
                let results = state
                    .sync_result
                    .as_ref()
                    .and_then(|r| r.resources.clone())
                    .unwrap_or_default();
                Progress { state, results }
            }
        }
        _ => Progress {
            state: OperationState {
                operation: operation.clone(),
                phase: OperationPhase::Running,
                message: Some("running".into()),
                sync_result: None,
                started_at: now_rfc3339(),
                finished_at: None,
                retry_count: None,
                extra: Default::default(),
            },
            results: Vec::new(),
        },
    };
    let manual = operation.initiated_by.as_ref().and_then(|i| i.automated) != Some(true);
    // an operation already under way is judged with syncOverrun in mind
    let under_way = existing
        .as_ref()
        .filter(|s| s.phase == OperationPhase::Running && s.operation == operation)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s.started_at).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    if let Some(project) = project_of(inner, &app)
        && let Some(message) =
            crate::windows::blocked_message(&project, &app, manual, under_way, now)
    {
        let unchanged = existing.as_ref().is_some_and(|s| {
            s.phase == OperationPhase::Running
                && s.operation == operation
                && s.message.as_deref() == Some(message.as_str())
        });
        if !unchanged {
            tracing::info!(app = name, %message, "sync held by a sync window");
            progress.state.message = Some(message);
            if let Err(err) = write_state(inner, name, &progress).await {
                tracing::warn!(app = name, %err, "recording the blocked operation failed");
            }
        }
        return Some(WINDOW_RECHECK);
    }
    if let Err(err) = write_state(inner, name, &progress).await {
        tracing::warn!(app = name, %err, "recording the operation start failed");
        return None;
    }
    let outcome = execute(inner, &app, &operation, &mut progress).await;
    if let Err(Stop::Held(message)) = &outcome.result {
        tracing::info!(app = name, %message, "sync held by a sync window");
        progress.state.message = Some(message.clone());
        if let Err(err) = write_state(inner, name, &progress).await {
            tracing::warn!(app = name, %err, "recording the held operation failed");
        }
        return Some(WINDOW_RECHECK);
    }
    finish(inner, &app, &operation, progress, outcome).await
}

struct Executed {
    plan: Option<capstan_sync::SyncPlan>,
    cluster: Option<Arc<ClusterState>>,
    revision: String,
    result: Result<(), Stop>,
}

/// The revision an attempt syncs to: the operation's, or with `retry.refresh` on a retry, the
/// application's current target.
fn revision_to_sync(operation: &Operation, retry_count: i64) -> Option<String> {
    let refresh = operation.retry.as_ref().and_then(|r| r.refresh) == Some(true);
    if refresh && retry_count > 0 {
        return None;
    }
    operation
        .sync
        .as_ref()
        .and_then(|s| s.revision.clone())
        .filter(|r| !r.is_empty())
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
        cluster: None,
        revision: String::new(),
        result: Err(Stop::Failed(m)),
    };
    let resolved = match cluster_of(inner, app) {
        Ok(Some(r)) => r,
        Ok(None) => return fail("the destination cluster is not connected yet".to_string()),
        Err((_, message)) => return fail(message),
    };
    let cluster = resolved.state.clone();
    let revision = revision_to_sync(operation, progress.state.retry_count.unwrap_or(0));
    let desired = match desired(inner, app, &resolved, revision, false).await {
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
    let comparison = match compare_app(inner, app, &cluster, &desired.objects) {
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
    // what the comparison left out (kinds excluded by the settings) is not synced either
    let compared: HashSet<ResourceKey> =
        comparison.resources.iter().map(|r| r.key.clone()).collect();
    let desired_objects: Vec<Value> = desired
        .objects
        .iter()
        .filter(|o| compared.contains(&ResourceKey::of(o)))
        .cloned()
        .collect();
    let objects =
        match crate::respect::apply_to(inner, app, &app_options, &desired_objects, &comparison) {
            Ok(objects) => objects,
            Err(message) => return fail(message),
        };
    let items = plan_items(&objects, &comparison);
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
            if let Err(err) = cluster.client.apply(&ns, &options).await {
                return Executed {
                    plan: Some(plan),
                    cluster: Some(cluster.clone()),
                    revision,
                    result: Err(Stop::Failed(format!(
                        "creating namespace {namespace}: {err}"
                    ))),
                };
            }
        }
    }
    if let Err(message) = dry_run_all(inner, &cluster, &plan, progress).await {
        return Executed {
            plan: Some(plan),
            cluster: Some(cluster.clone()),
            revision,
            result: Err(Stop::Failed(message)),
        };
    }
    let started = chrono::DateTime::parse_from_rfc3339(&progress.state.started_at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let manual = operation.initiated_by.as_ref().and_then(|i| i.automated) != Some(true);
    let held = || {
        let project = project_of(inner, app)?;
        crate::windows::blocked_message(&project, app, manual, Some(started), chrono::Utc::now())
    };
    let result = run_steps(
        inner,
        &cluster,
        app.name(),
        &plan.steps,
        progress,
        dry_run,
        &held,
    )
    .await;
    Executed {
        plan: Some(plan),
        cluster: Some(cluster.clone()),
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
) -> Option<Duration> {
    let name = app.name();
    let dry_run = operation.sync.as_ref().and_then(|s| s.dry_run) == Some(true);
    let (phase, message) = match &executed.result {
        Ok(()) => (
            OperationPhase::Succeeded,
            "successfully synced (all tasks run)".to_string(),
        ),
        Err(Stop::Terminated) => (OperationPhase::Failed, "Operation terminated".to_string()),
        // a held operation does not finish (run() keeps it); listed for completeness
        Err(Stop::Failed(message) | Stop::Final(message) | Stop::Held(message)) => {
            (OperationPhase::Failed, message.clone())
        }
    };
    if let (Some(plan), Some(cluster)) = (&executed.plan, &executed.cluster) {
        if matches!(executed.result, Err(Stop::Failed(_)))
            && !plan.sync_fail.is_empty()
            && let Err(Stop::Failed(m)) = run_steps(
                inner,
                cluster,
                name,
                &plan.sync_fail,
                &mut progress,
                dry_run,
                &|| None,
            )
            .await
        {
            tracing::warn!(app = name, message = %m, "a SyncFail hook failed");
        }
        let policy = if phase == OperationPhase::Succeeded {
            HookDeletePolicy::HookSucceeded
        } else {
            HookDeletePolicy::HookFailed
        };
        delete_hooks(cluster, &progress, policy, plan).await;
    }
    let now = now_rfc3339();
    progress.state.phase = phase;
    progress.state.message = Some(message);
    progress.state.finished_at = Some(now.clone());
    if matches!(executed.result, Err(Stop::Failed(_)))
        && let Some(at) = crate::retry::after_failure(&mut progress.state, chrono::Utc::now())
    {
        // the operation stays, Running, until its next attempt
        tracing::info!(app = name, message = ?progress.state.message, "sync failed; retrying");
        if let Err(err) = write_state(inner, name, &progress).await {
            tracing::error!(app = name, %err, "recording the retry failed");
        }
        return Some((at - chrono::Utc::now()).to_std().unwrap_or_default());
    }
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
    None
}
