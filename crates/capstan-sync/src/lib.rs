//! Sync planning as Argo CD (gitops-engine) does it, as pure functions: which resources to apply,
//! which hooks to run and which live resources to prune, in which order.
//!
//! Tasks sort by phase (PreSync < Sync < PostSync < SyncFail), wave (`argocd.argoproj.io/sync-wave`, else
//! `helm.sh/hook-weight`, else 0), kind order, then name. Namespaces and CRDs being created move in front of
//! the first resource that needs them. Prune tasks run in reverse wave order; `PruneLast` puts them after
//! the last wave. The controller executes the plan one (phase, wave) step at a time.

mod key;
mod kind_order;
mod options;
mod plan;
mod resource;

pub use key::ResourceKey;
pub use kind_order::{KIND_ORDER, kind_order};
pub use options::{PropagationPolicy, PruneMode, ResourceSyncOptions, SyncOptionsError};
pub use plan::{PlanInput, PlanItem, SyncPlan, SyncStep, Task, TaskKind, plan};
pub use resource::{HookInfo, delete_policies, hook_types, is_hook, wave_of};
