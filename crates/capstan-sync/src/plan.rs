//! Building the ordered plan of a sync.

use std::collections::BTreeSet;

use capstan_types::{HookType, SyncPhase};
use serde_json::Value;

use crate::key::ResourceKey;
use crate::kind_order::kind_order;
use crate::options::{PruneMode, ResourceSyncOptions, SyncOptionsError};
use crate::resource::{HookInfo, delete_policies, hook_types, wave_of};

/// One resource as the comparison found it.
#[derive(Debug, Clone)]
pub struct PlanItem {
    /// The desired object (None: only live, a prune candidate).
    pub target: Option<Value>,
    /// The live object (None: not in the cluster yet).
    pub live: Option<Value>,
    /// Desired and live differ.
    pub modified: bool,
}

/// What a sync was asked to do.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// Every resource of the comparison.
    pub items: &'a [PlanItem],
    /// The application's (and operation's) sync options.
    pub app_options: &'a ResourceSyncOptions,
    /// `operation.sync.prune`.
    pub prune: bool,
    /// Resources selected for a partial sync (None: all).
    pub selected: Option<&'a [ResourceKey]>,
    /// Skip hooks (apply strategy, or a selective sync).
    pub skip_hooks: bool,
    /// Deletions needing confirmation (`Prune=confirm`) were approved.
    pub prune_confirmed: bool,
}

/// What a task does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    /// Apply the target.
    Apply,
    /// Create the hook and wait for it to finish.
    Hook(HookInfo),
    /// Delete the live object.
    Prune,
    /// The live object should be pruned but is not; the reason is reported as the result message.
    PruneSkipped(String),
}

/// One step of work on one resource.
#[derive(Debug, Clone)]
pub struct Task {
    /// Which resource.
    pub key: ResourceKey,
    /// Phase it runs in.
    pub phase: SyncPhase,
    /// Wave it runs in.
    pub wave: i32,
    /// What to do.
    pub kind: TaskKind,
    /// Desired object.
    pub target: Option<Value>,
    /// Live object.
    pub live: Option<Value>,
    /// Effective sync options.
    pub options: ResourceSyncOptions,
}

impl Task {
    fn sort_key(&self) -> (i32, i32, i32, String) {
        (
            self.phase.order(),
            self.wave,
            kind_order(&self.key.kind),
            self.key.name.clone(),
        )
    }

    fn is_namespace_creation(&self) -> bool {
        self.kind == TaskKind::Apply
            && self.key.kind == "Namespace"
            && self.key.group.is_empty()
            && self.live.is_none()
    }

    fn is_crd_creation(&self) -> bool {
        self.kind == TaskKind::Apply
            && self.key.kind == "CustomResourceDefinition"
            && self.key.group == "apiextensions.k8s.io"
            && self.live.is_none()
    }
}

/// Tasks that run together: the same phase and wave.
#[derive(Debug, Clone)]
pub struct SyncStep {
    /// Phase.
    pub phase: SyncPhase,
    /// Wave.
    pub wave: i32,
    /// Tasks, in order.
    pub tasks: Vec<Task>,
}

/// The whole plan.
#[derive(Debug, Clone, Default)]
pub struct SyncPlan {
    /// PreSync, Sync and PostSync steps, in order.
    pub steps: Vec<SyncStep>,
    /// SyncFail hooks, run only when the sync fails.
    pub sync_fail: Vec<SyncStep>,
    /// Prune candidates that are not pruned, with the reason.
    pub skipped: Vec<Task>,
}

impl SyncPlan {
    /// Every task of the main steps, in order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.steps.iter().flat_map(|s| s.tasks.iter())
    }
}

fn selected(input: &PlanInput<'_>, key: &ResourceKey) -> bool {
    input
        .selected
        .is_none_or(|keys| keys.iter().any(|k| k == key))
}

/// Plans a sync. An invalid `sync-options` annotation on a resource is an error naming the resource.
pub fn plan(input: &PlanInput<'_>) -> Result<SyncPlan, SyncOptionsError> {
    let mut tasks = Vec::new();
    let mut skipped = Vec::new();
    for item in input.items {
        match (&item.target, &item.live) {
            (Some(target), live) => {
                let key = ResourceKey::of(target);
                let options = ResourceSyncOptions::for_resource(input.app_options, target)?;
                let hooks = hook_types(target);
                if hooks.contains(&HookType::Skip) {
                    continue;
                }
                if !hooks.is_empty() {
                    if input.skip_hooks {
                        continue;
                    }
                    for hook_type in hooks {
                        let Some(phase) = hook_type.sync_phase() else {
                            continue;
                        };
                        tasks.push(Task {
                            key: key.clone(),
                            phase,
                            wave: wave_of(target),
                            kind: TaskKind::Hook(HookInfo {
                                hook_type,
                                delete_policies: delete_policies(target),
                            }),
                            target: Some(target.clone()),
                            live: live.clone(),
                            options: options.clone(),
                        });
                    }
                    continue;
                }
                if !selected(input, &key) {
                    continue;
                }
                if options.apply_out_of_sync_only && live.is_some() && !item.modified {
                    continue;
                }
                tasks.push(Task {
                    key,
                    phase: SyncPhase::Sync,
                    wave: wave_of(target),
                    kind: TaskKind::Apply,
                    target: Some(target.clone()),
                    live: live.clone(),
                    options,
                });
            }
            (None, Some(live)) => {
                // hooks left from earlier syncs are not pruned
                if !hook_types(live).is_empty() {
                    continue;
                }
                let key = ResourceKey::of(live);
                if !selected(input, &key) {
                    continue;
                }
                let options = ResourceSyncOptions::for_resource(input.app_options, live)?;
                let kind = if !input.prune {
                    TaskKind::PruneSkipped("ignored (requires pruning)".to_string())
                } else {
                    match options.prune {
                        PruneMode::Disabled => {
                            TaskKind::PruneSkipped("ignored (no prune)".to_string())
                        }
                        PruneMode::Confirm if !input.prune_confirmed => {
                            TaskKind::PruneSkipped("waiting for pruning confirmation".to_string())
                        }
                        _ => TaskKind::Prune,
                    }
                };
                let task = Task {
                    key,
                    phase: SyncPhase::Sync,
                    wave: wave_of(live),
                    kind,
                    target: None,
                    live: Some(live.clone()),
                    options,
                };
                if matches!(task.kind, TaskKind::PruneSkipped(_)) {
                    skipped.push(task);
                } else {
                    tasks.push(task);
                }
            }
            (None, None) => {}
        }
    }
    reverse_prune_waves(&mut tasks);
    apply_prune_last(&mut tasks);
    tasks.sort_by_key(Task::sort_key);
    for _ in 0..2 {
        move_dependencies_first(&mut tasks);
    }
    let (sync_fail, main): (Vec<Task>, Vec<Task>) = tasks
        .into_iter()
        .partition(|t| t.phase == SyncPhase::SyncFail);
    Ok(SyncPlan {
        steps: group(main),
        sync_fail: group(sync_fail),
        skipped,
    })
}

/// Prune waves are swapped symmetrically, so deletion runs in reverse creation order.
fn reverse_prune_waves(tasks: &mut [Task]) {
    let waves: Vec<i32> = tasks
        .iter()
        .filter(|t| t.kind == TaskKind::Prune)
        .map(|t| t.wave)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for task in tasks.iter_mut().filter(|t| t.kind == TaskKind::Prune) {
        if let Some(i) = waves.iter().position(|w| *w == task.wave) {
            task.wave = waves[waves.len() - 1 - i];
        }
    }
}

/// `PruneLast`: one wave after the last wave of the Sync phase (every Sync task counts, prune tasks
/// included, and the last wave is at least 0), as gitops-engine computes it.
fn apply_prune_last(tasks: &mut [Task]) {
    let last_wave = tasks
        .iter()
        .filter(|t| t.phase == SyncPhase::Sync)
        .map(|t| t.wave)
        .fold(0, i32::max);
    for task in tasks
        .iter_mut()
        .filter(|t| t.kind == TaskKind::Prune && t.options.prune_last)
    {
        task.wave = last_wave + 1;
    }
}

/// A Namespace (or CRD) being created moves just before the first task that needs it, taking that
/// task's phase and wave.
fn move_dependencies_first(tasks: &mut Vec<Task>) {
    let mut i = 0;
    while i < tasks.len() {
        let needs = |t: &Task, dep: &Task| -> bool {
            if dep.is_namespace_creation() {
                t.key.namespace == dep.key.name
            } else if dep.is_crd_creation() {
                let spec = dep.target.as_ref().and_then(|o| o.get("spec"));
                let group = spec.and_then(|s| s.get("group")).and_then(Value::as_str);
                let kind = spec
                    .and_then(|s| s.pointer("/names/kind"))
                    .and_then(Value::as_str);
                Some(t.key.group.as_str()) == group && Some(t.key.kind.as_str()) == kind
            } else {
                false
            }
        };
        let dep = &tasks[i];
        if !(dep.is_namespace_creation() || dep.is_crd_creation()) {
            i += 1;
            continue;
        }
        let first = tasks.iter().position(|t| needs(t, dep));
        match first {
            Some(j) if j < i => {
                let mut moved = tasks.remove(i);
                moved.phase = tasks[j].phase;
                moved.wave = tasks[j].wave;
                tasks.insert(j, moved);
                i += 1;
            }
            _ => i += 1,
        }
    }
}

fn group(tasks: Vec<Task>) -> Vec<SyncStep> {
    let mut steps: Vec<SyncStep> = Vec::new();
    for task in tasks {
        match steps.last_mut() {
            Some(step) if step.phase == task.phase && step.wave == task.wave => {
                step.tasks.push(task)
            }
            _ => steps.push(SyncStep {
                phase: task.phase,
                wave: task.wave,
                tasks: vec![task],
            }),
        }
    }
    steps
}
