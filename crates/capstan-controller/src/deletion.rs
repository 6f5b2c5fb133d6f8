//! Deletion of an application, one finalizer at a time as Argo CD does it:
//! 1. `pre-delete-finalizer.argocd.argoproj.io`: the PreDelete hooks of the application's source
//!    are created and awaited (`/cleanup`: then deleted as their delete policies say);
//! 2. `resources-finalizer.argocd.argoproj.io` (and `/foreground`, `/background`): the application's
//!    resources are deleted (PostDelete hooks excepted); the finalizer goes once none is left;
//! 3. `post-delete-finalizer.argocd.argoproj.io`: the PostDelete hooks are created and awaited;
//! 4. `post-delete-finalizer.argocd.argoproj.io/cleanup`: the hooks are deleted as their delete
//!    policies say (HookSucceeded when all succeeded, HookFailed when one failed).
//!
//! The hook finalizers are added after a comparison whose source has such hooks (and removed when
//! it has none). When the last finalizer is gone, Kubernetes removes the Application.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use capstan_kube::DeleteOptions;
use capstan_sync::{ResourceKey, delete_policies, hook_types};
use capstan_types::annotations::{HELM_HOOK, finalizers};
use capstan_types::{
    Application, ApplicationConditionType, HealthStatus, HookDeletePolicy, HookType,
};
use serde_json::{Value, json};

use crate::clusters::ClusterState;
use crate::controller::Inner;
use crate::refresh::{cluster_of, desired, instance_of, patch_app};

/// How often a deletion in progress looks again.
const RECHECK: Duration = Duration::from_millis(500);

/// The two kinds of deletion hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeleteHook {
    /// Runs before the resources are deleted.
    Pre,
    /// Runs after the resources are deleted.
    Post,
}

impl DeleteHook {
    fn hook_type(self) -> HookType {
        match self {
            DeleteHook::Pre => HookType::PreDelete,
            DeleteHook::Post => HookType::PostDelete,
        }
    }

    fn helm(self) -> &'static str {
        match self {
            DeleteHook::Pre => "pre-delete",
            DeleteHook::Post => "post-delete",
        }
    }

    /// The finalizer that runs the hooks.
    pub(crate) fn finalizer(self) -> &'static str {
        match self {
            DeleteHook::Pre => finalizers::PRE_DELETE,
            DeleteHook::Post => finalizers::POST_DELETE,
        }
    }

    /// The finalizer that cleans the hooks up.
    pub(crate) fn cleanup_finalizer(self) -> &'static str {
        match self {
            DeleteHook::Pre => "pre-delete-finalizer.argocd.argoproj.io/cleanup",
            DeleteHook::Post => "post-delete-finalizer.argocd.argoproj.io/cleanup",
        }
    }

    fn name(self) -> &'static str {
        self.hook_type().as_str()
    }
}

/// True for a hook of this kind (`argocd.argoproj.io/hook`, or Helm's `pre-delete`/`post-delete`).
pub(crate) fn is_delete_hook(obj: &Value, kind: DeleteHook) -> bool {
    hook_types(obj).contains(&kind.hook_type())
        || obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(HELM_HOOK))
            .and_then(Value::as_str)
            == Some(kind.helm())
}

/// True for a PostDelete hook.
pub(crate) fn is_post_delete_hook(obj: &Value) -> bool {
    is_delete_hook(obj, DeleteHook::Post)
}

/// The health that decides whether a hook still runs (none: done).
fn hook_health(obj: &Value, overrides: &capstan_health::HealthOverrides) -> HealthStatus {
    capstan_health::assess(obj, overrides).map_or(HealthStatus::Healthy, |h| h.status)
}

/// What the cleanup step does with the live hooks: the ones to delete (by the delete policies and
/// the hooks' aggregated health), and whether it has to wait.
pub(crate) fn cleanup_plan(
    hooks: &[Arc<Value>],
    overrides: &capstan_health::HealthOverrides,
) -> (Vec<Arc<Value>>, bool) {
    let aggregated =
        hooks
            .iter()
            .map(|h| hook_health(h, overrides))
            .fold(HealthStatus::Healthy, |worst, h| {
                if h.severity() > worst.severity() {
                    h
                } else {
                    worst
                }
            });
    let mut delete = Vec::new();
    let mut pending = false;
    for hook in hooks {
        let wanted = delete_policies(hook).iter().any(|p| match p {
            HookDeletePolicy::HookSucceeded => aggregated == HealthStatus::Healthy,
            HookDeletePolicy::HookFailed => aggregated == HealthStatus::Degraded,
            HookDeletePolicy::BeforeHookCreation => false,
        });
        if wanted {
            pending = true;
            if hook.pointer("/metadata/deletionTimestamp").is_none() {
                delete.push(hook.clone());
            }
        }
    }
    (delete, pending)
}

/// The finalizers an application should have, given whether its source has PreDelete and
/// PostDelete hooks: the others kept, the hook finalizers added or removed.
pub(crate) fn finalizers_for_hooks(current: &[String], pre: bool, post: bool) -> Vec<String> {
    let mut kept: Vec<String> = current
        .iter()
        .filter(|f| {
            ![DeleteHook::Pre, DeleteHook::Post]
                .iter()
                .any(|k| **f == k.finalizer() || **f == k.cleanup_finalizer())
        })
        .cloned()
        .collect();
    for (kind, wanted) in [(DeleteHook::Pre, pre), (DeleteHook::Post, post)] {
        if wanted {
            kept.push(kind.finalizer().to_string());
            kept.push(kind.cleanup_finalizer().to_string());
        }
    }
    kept
}

fn without(list: &[String], finalizer: &str) -> Vec<String> {
    list.iter().filter(|f| *f != finalizer).cloned().collect()
}

async fn set_finalizers(inner: &Inner, app: &Application, kept: Vec<String>) {
    let patch = json!({"metadata": {"finalizers": kept}});
    if let Err(err) = patch_app(inner, app.name(), &patch).await {
        tracing::warn!(app = app.name(), %err, "updating the finalizers failed");
        inner
            .refresh_queue
            .add_after(app.name(), Duration::from_secs(1));
    }
}

async fn delete_object(
    cluster: &ClusterState,
    obj: &Value,
    propagation: &str,
) -> Result<(), String> {
    let client = &cluster.client;
    let (rt, ns, name) = client.locate(obj).await.map_err(|e| e.to_string())?;
    let options = DeleteOptions {
        propagation: Some(propagation.into()),
        dry_run: false,
    };
    client
        .delete(&rt, ns.as_deref(), &name, &options)
        .await
        .map_err(|e| e.to_string())
}

/// Adds the PreDelete and PostDelete finalizers to an application whose source has such hooks,
/// and removes them when it has none any more, as Argo CD does after each comparison.
pub(crate) async fn sync_hook_finalizers(inner: &Inner, app: &Application, desired: &[Value]) {
    if app.metadata.deletion_timestamp.is_some() {
        return;
    }
    let pre = desired.iter().any(|o| is_delete_hook(o, DeleteHook::Pre));
    let post = desired.iter().any(|o| is_delete_hook(o, DeleteHook::Post));
    let list = app.metadata.finalizers.clone().unwrap_or_default();
    let wanted = finalizers_for_hooks(&list, pre, post);
    let as_set = |l: &[String]| l.iter().cloned().collect::<HashSet<String>>();
    if as_set(&wanted) != as_set(&list) {
        set_finalizers(inner, app, wanted).await;
    }
}

/// Runs the next deletion step of an application whose deletion was requested.
pub(crate) async fn finalize_deletion(inner: &Arc<Inner>, app: &Application) {
    let list = app.metadata.finalizers.clone().unwrap_or_default();
    let has = |f: &str| list.iter().any(|x| x == f);
    let resources = [
        finalizers::RESOURCES,
        finalizers::RESOURCES_FOREGROUND,
        finalizers::RESOURCES_BACKGROUND,
    ];
    let cascade = list
        .iter()
        .find(|f| resources.contains(&f.as_str()))
        .cloned();
    let hook_finalizers = [DeleteHook::Pre, DeleteHook::Post]
        .iter()
        .any(|k| has(k.finalizer()) || has(k.cleanup_finalizer()));
    if cascade.is_none() && !hook_finalizers {
        return;
    }
    let cluster = match cluster_of(inner, app) {
        Ok(Some(resolved)) => Some(resolved),
        Ok(None) => {
            inner
                .refresh_queue
                .add_after(app.name(), Duration::from_secs(1));
            return;
        }
        Err((ApplicationConditionType::InvalidSpecError, message)) => {
            // no such cluster: nothing of the application can be deleted; as Argo CD, let it go
            tracing::warn!(app = app.name(), %message, "destination unknown; removing the finalizers without deleting resources");
            None
        }
        Err((_, message)) => {
            tracing::warn!(app = app.name(), %message, "destination unreachable; deletion waits");
            inner
                .refresh_queue
                .add_after(app.name(), Duration::from_secs(5));
            return;
        }
    };
    let Some(resolved) = cluster else {
        let kept = finalizers_for_hooks(&list, false, false)
            .into_iter()
            .filter(|f| !resources.contains(&f.as_str()))
            .collect();
        set_finalizers(inner, app, kept).await;
        return;
    };
    let state = resolved.state.clone();
    let instance = instance_of(inner, app);
    let tracked = state
        .cache
        .read()
        .map(|c| c.tracked_by(&instance))
        .unwrap_or_default();
    let overrides = inner
        .settings
        .read()
        .map(|s| s.health.clone())
        .unwrap_or_default();
    // PreDelete hooks first, then the resources, then the PostDelete hooks
    if hook_step(
        inner,
        app,
        &resolved,
        &tracked,
        &overrides,
        &list,
        DeleteHook::Pre,
    )
    .await
    {
        return;
    }
    if let Some(finalizer) = cascade {
        let propagation = if finalizer == finalizers::RESOURCES_BACKGROUND {
            "Background"
        } else {
            "Foreground"
        };
        let mut remaining = 0;
        for live in tracked.iter().filter(|o| !is_post_delete_hook(o)) {
            remaining += 1;
            if live.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            if let Err(err) = delete_object(&state, live, propagation).await {
                tracing::warn!(app = app.name(), %err, "deleting a resource failed");
            }
        }
        if remaining > 0 {
            inner.refresh_queue.add_after(app.name(), RECHECK);
            return;
        }
        set_finalizers(inner, app, without(&list, &finalizer)).await;
        return;
    }
    hook_step(
        inner,
        app,
        &resolved,
        &tracked,
        &overrides,
        &list,
        DeleteHook::Post,
    )
    .await;
}

/// The hook finalizers of one kind: runs the hooks, or cleans them up. Returns true when it acted
/// (the deletion goes on at a later pass), false when it had nothing to do.
async fn hook_step(
    inner: &Inner,
    app: &Application,
    resolved: &crate::registry::Resolved,
    tracked: &[Arc<Value>],
    overrides: &capstan_health::HealthOverrides,
    list: &[String],
    kind: DeleteHook,
) -> bool {
    let has = |f: &str| list.iter().any(|x| x == f);
    let live_hooks: Vec<Arc<Value>> = tracked
        .iter()
        .filter(|o| is_delete_hook(o, kind))
        .cloned()
        .collect();
    if has(kind.finalizer()) {
        match run_hooks(inner, app, resolved, &live_hooks, overrides, kind).await {
            Ok(true) => set_finalizers(inner, app, without(list, kind.finalizer())).await,
            Ok(false) => inner.refresh_queue.add_after(app.name(), RECHECK),
            Err(message) => {
                tracing::warn!(app = app.name(), %message, "deletion hooks cannot run");
                let condition = json!({"status": {"conditions": [{"type": "DeletionError",
                    "message": message, "lastTransitionTime": crate::refresh::now_rfc3339()}]}});
                if let Err(err) = patch_app(inner, app.name(), &condition).await {
                    tracing::warn!(app = app.name(), %err, "recording the deletion error failed");
                }
                inner
                    .refresh_queue
                    .add_after(app.name(), Duration::from_secs(5));
            }
        }
        return true;
    }
    if has(kind.cleanup_finalizer()) {
        let (to_delete, pending) = cleanup_plan(&live_hooks, overrides);
        for hook in &to_delete {
            if let Err(err) = delete_object(&resolved.state, hook, "Background").await {
                tracing::warn!(app = app.name(), %err, hook = kind.name(), "deleting a hook failed");
            }
        }
        if pending {
            inner.refresh_queue.add_after(app.name(), RECHECK);
        } else {
            set_finalizers(inner, app, without(list, kind.cleanup_finalizer())).await;
        }
        return true;
    }
    false
}

/// Creates the hooks of one kind that do not exist yet and reports whether all of them finished.
async fn run_hooks(
    inner: &Inner,
    app: &Application,
    resolved: &crate::registry::Resolved,
    live_hooks: &[Arc<Value>],
    overrides: &capstan_health::HealthOverrides,
    kind: DeleteHook,
) -> Result<bool, String> {
    let rendered = desired(inner, app, resolved, None, false)
        .await
        .map_err(|(_, message)| format!("rendering the {} hooks: {message}", kind.name()))?;
    let running: HashSet<ResourceKey> = live_hooks.iter().map(|h| ResourceKey::of(h)).collect();
    let mut created = 0;
    for hook in rendered.objects.iter().filter(|o| is_delete_hook(o, kind)) {
        if running.contains(&ResourceKey::of(hook)) {
            continue;
        }
        match resolved.state.client.create(hook, false).await {
            Ok(_) => created += 1,
            Err(err) if err.to_string().contains("already exists") => {}
            Err(err) => {
                return Err(format!(
                    "creating {} hook {}: {err}",
                    kind.name(),
                    ResourceKey::of(hook)
                ));
            }
        }
    }
    if created > 0 {
        tracing::info!(
            app = app.name(),
            created,
            hook = kind.name(),
            "created deletion hooks"
        );
        return Ok(false);
    }
    let running = live_hooks
        .iter()
        .filter(|h| hook_health(h, overrides) == HealthStatus::Progressing)
        .count();
    Ok(running == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, condition: Option<&str>, policy: Option<&str>) -> Arc<Value> {
        let mut obj = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "annotations": {"argocd.argoproj.io/hook": "PostDelete"}},
            "status": {}});
        if let Some(c) = condition {
            obj["status"]["conditions"] = json!([{"type": c, "status": "True"}]);
        }
        if let Some(p) = policy {
            obj["metadata"]["annotations"]["argocd.argoproj.io/hook-delete-policy"] = json!(p);
        }
        Arc::new(obj)
    }

    #[test]
    fn hook_finalizers_follow_the_source() {
        let list = vec!["resources-finalizer.argocd.argoproj.io".to_string()];
        let both = finalizers_for_hooks(&list, true, true);
        assert_eq!(
            both,
            [
                "resources-finalizer.argocd.argoproj.io",
                "pre-delete-finalizer.argocd.argoproj.io",
                "pre-delete-finalizer.argocd.argoproj.io/cleanup",
                "post-delete-finalizer.argocd.argoproj.io",
                "post-delete-finalizer.argocd.argoproj.io/cleanup",
            ]
        );
        assert_eq!(finalizers_for_hooks(&both, false, false), list);
        let pre_only = json!({"metadata": {"annotations": {"helm.sh/hook": "pre-delete"}}});
        assert!(is_delete_hook(&pre_only, DeleteHook::Pre));
        assert!(!is_delete_hook(&pre_only, DeleteHook::Post));
    }

    #[test]
    fn post_delete_hooks_are_recognised() {
        assert!(is_post_delete_hook(&job("a", None, None)));
        let helm = json!({"metadata": {"annotations": {"helm.sh/hook": "post-delete"}}});
        assert!(is_post_delete_hook(&helm));
        let pre = json!({"metadata": {"annotations": {"argocd.argoproj.io/hook": "PreSync"}}});
        assert!(!is_post_delete_hook(&pre));
    }

    #[test]
    fn cleanup_follows_the_delete_policies_and_the_aggregated_health() {
        let overrides = capstan_health::HealthOverrides::default();
        // all succeeded: HookSucceeded hooks are deleted, the others stay
        let hooks = vec![
            job("ok", Some("Complete"), Some("HookSucceeded")),
            job("kept", Some("Complete"), None),
        ];
        let (delete, pending) = cleanup_plan(&hooks, &overrides);
        assert_eq!(delete.len(), 1);
        assert_eq!(delete[0]["metadata"]["name"], "ok");
        assert!(pending);
        // one failed: HookFailed hooks are deleted, HookSucceeded ones stay
        let hooks = vec![
            job("ok", Some("Complete"), Some("HookSucceeded")),
            job("bad", Some("Failed"), Some("HookFailed")),
        ];
        let (delete, _) = cleanup_plan(&hooks, &overrides);
        let names: Vec<&str> = delete
            .iter()
            .map(|h| h["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bad"]);
        // nothing to delete: done
        let (delete, pending) = cleanup_plan(&[job("kept", Some("Complete"), None)], &overrides);
        assert!(delete.is_empty() && !pending);
        // a hook being deleted counts as Progressing (pending deletion), as in Argo CD: nothing
        // matches the policies, nothing is deleted again
        let mut going = (*job("ok", Some("Complete"), Some("HookSucceeded"))).clone();
        going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        let (delete, pending) = cleanup_plan(&[Arc::new(going)], &overrides);
        assert!(delete.is_empty() && !pending);
    }
}
