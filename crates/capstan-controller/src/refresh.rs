//! One refresh of one application: render, compare with the live cache, write status if it changed,
//! start an operation or an automated sync.

use std::sync::Arc;
use std::time::Duration;

use capstan_diff::Differ;
use capstan_diff::tracking::app_instance_name;
use capstan_sync::ResourceKey;
use capstan_types::annotations::REFRESH;
use capstan_types::{AppProject, Application, ApplicationConditionType};
use rand::Rng;
use serde_json::{Value, json};

use crate::autosync::{Decision, decide};
use crate::clusters::ClusterState;
use crate::compare::{CompareInput, Comparison, compare};
use crate::controller::Inner;
use crate::manifests::{GenerateRequest, Generated};
use crate::registry::{Resolved, Unresolved};
use crate::status::{RefreshOutcome, build_status, status_changed};

pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn project_of(inner: &Inner, app: &Application) -> Option<AppProject> {
    let name = app.project();
    let found = inner
        .projects
        .read()
        .ok()
        .and_then(|p| p.get(name).cloned());
    match found {
        Some(p) => Some(p),
        None if name == "default" => Some(crate::projects::builtin_default()),
        None => None,
    }
}

/// The cluster of an application, or the condition that says why there is none. `Ok(None)`: not
/// known yet (cluster Secrets loading or first connection running); try again shortly.
pub(crate) fn cluster_of(
    inner: &Inner,
    app: &Application,
) -> Result<Option<Resolved>, (ApplicationConditionType, String)> {
    match inner.clusters.resolve(app) {
        Ok(r) => Ok(Some(r)),
        Err(Unresolved::NotReady) => Ok(None),
        Err(Unresolved::Unknown(m)) => Err((ApplicationConditionType::InvalidSpecError, m)),
        Err(Unresolved::Unreachable(m)) => Err((ApplicationConditionType::ComparisonError, m)),
    }
}

/// Desired objects of an application, ready to compare and apply.
pub(crate) struct Desired {
    pub(crate) objects: Vec<Value>,
    pub(crate) generated: Generated,
}

/// Renders and prepares the desired objects, and checks them against the project.
pub(crate) async fn desired(
    inner: &Inner,
    app: &Application,
    cluster: &Resolved,
    revision: Option<String>,
    hard_refresh: bool,
) -> Result<Desired, (ApplicationConditionType, String)> {
    let invalid = |m: String| (ApplicationConditionType::InvalidSpecError, m);
    let server = cluster.server.clone();
    let project = project_of(inner, app).ok_or_else(|| {
        invalid(format!(
            "Application referencing project {} which does not exist",
            app.project()
        ))
    })?;
    if let Some(problem) = crate::projects::check_application(app, &project, &server)
        .into_iter()
        .next()
    {
        return Err(invalid(problem));
    }
    if let Some(scoped) = cluster.cluster.project.as_deref()
        && scoped != app.project()
    {
        return Err(invalid(format!(
            "cluster {} is scoped to project '{scoped}', not to the application's project '{}'",
            cluster.name,
            app.project()
        )));
    }
    let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    let request = GenerateRequest {
        app_name: app.name().to_string(),
        app_namespace: app.metadata.namespace.clone().unwrap_or_default(),
        project: app.project().to_string(),
        sources: app.spec.all_sources().into_iter().cloned().collect(),
        revision,
        hard_refresh,
        destination_namespace: namespace.clone(),
        kube_version: String::new(),
    };
    let generated = inner
        .generator
        .generate(request)
        .await
        .map_err(|m| (ApplicationConditionType::ComparisonError, m))?;
    let instance = instance_of(inner, app);
    let tracking = inner
        .settings
        .read()
        .map(|s| s.tracking.clone())
        .unwrap_or_default();
    let prepared = crate::prepare::prepare(
        &cluster.state.client,
        generated.objects.clone(),
        &namespace,
        &instance,
        &tracking,
    )
    .await
    .map_err(|m| (ApplicationConditionType::ComparisonError, m))?;
    if let Some(problem) = crate::registry::check_scope(&cluster.cluster, &prepared) {
        return Err((ApplicationConditionType::ComparisonError, problem));
    }
    let mut objects = Vec::with_capacity(prepared.len());
    for (obj, namespaced) in prepared {
        if let Some(problem) = crate::projects::check_resource(&obj, namespaced, &project) {
            return Err(invalid(problem));
        }
        if namespaced
            && let Some(problem) = crate::projects::check_resource_namespace(
                &obj,
                &project,
                &cluster.cluster.server,
                &cluster.cluster.name,
            )
        {
            return Err(invalid(problem));
        }
        objects.push(obj);
    }
    Ok(Desired { objects, generated })
}

/// The tracking instance name of an application.
pub(crate) fn instance_of(inner: &Inner, app: &Application) -> String {
    app_instance_name(
        app.name(),
        app.metadata.namespace.as_deref().unwrap_or_default(),
        &inner.config.namespace,
    )
}

/// Compares desired objects with the live cache.
pub(crate) fn compare_app(
    inner: &Inner,
    app: &Application,
    cluster: &ClusterState,
    objects: &[Value],
) -> Result<Comparison, String> {
    let settings = inner
        .settings
        .read()
        .map_err(|_| "settings lock poisoned".to_string())?
        .clone();
    let rules: Vec<capstan_diff::IgnoreDifferencesRule> = app
        .spec
        .ignore_differences
        .iter()
        .flatten()
        .map(|r| capstan_diff::IgnoreDifferencesRule {
            group: r.group.clone().unwrap_or_default(),
            kind: r.kind.clone(),
            name: r.name.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            json_pointers: r.json_pointers.clone().unwrap_or_default(),
            jq_path_expressions: r.jq_path_expressions.clone().unwrap_or_default(),
            managed_fields_managers: r.managed_fields_managers.clone().unwrap_or_default(),
        })
        .collect();
    let mut options = settings.diff.options_for_app(&rules);
    options.server_side_apply = true;
    options.manager = inner.config.field_manager.clone();
    let differ = Differ::new(options).map_err(|e| e.to_string())?;
    let instance = instance_of(inner, app);
    let cache = cluster
        .cache
        .read()
        .map_err(|_| "cache lock poisoned".to_string())?;
    let tracked = cache.tracked_by(&instance);
    let lookup = |k: &ResourceKey| cache.get(k);
    let mut comparison = compare(&CompareInput {
        app_instance: &instance,
        desired: objects,
        live_of: &lookup,
        tracked: &tracked,
        differ: &differ,
        health_overrides: &settings.health,
        tracking: &settings.tracking,
        resource_filters: &settings.filters,
        cluster_server: cluster.client.server(),
    });
    crate::orphaned::warn(inner, app, &cache, &settings.tracking, &mut comparison);
    Ok(comparison)
}

/// Writes the status change and, in the same patch, removes a handled refresh annotation (so no reader
/// sees the new status with the request still pending).
async fn write_status(
    inner: &Inner,
    app: &Application,
    new: &capstan_types::ApplicationStatus,
    clear_refresh: bool,
) -> Result<(), String> {
    let old =
        serde_json::to_value(app.status.clone().unwrap_or_default()).map_err(|e| e.to_string())?;
    let new = serde_json::to_value(new).map_err(|e| e.to_string())?;
    let patch = capstan_patch::create_merge_patch(&old, &new);
    let mut body = json!({ "status": patch });
    if clear_refresh {
        body["metadata"] = json!({"annotations": {REFRESH: null}});
    }
    patch_app(inner, app.name(), &body).await
}

/// Merge-patches an Application and keeps the local copy current.
pub(crate) async fn patch_app(inner: &Inner, name: &str, patch: &Value) -> Result<(), String> {
    let rt = inner
        .control
        .resolve(capstan_types::annotations::API_VERSION, "Application")
        .await
        .map_err(|e| e.to_string())?;
    let updated = inner
        .control
        .merge_patch(&rt, Some(&inner.config.namespace), name, patch)
        .await
        .map_err(|e| e.to_string())?;
    let mut changed_by_others = false;
    if let Ok(app) = capstan_types::decode::<Application>(&updated)
        && let Ok(mut apps) = inner.apps.write()
        && !crate::controller::is_older(&app, apps.get(name))
    {
        // the response may carry someone else's change made since our copy (its watch event, now
        // older than this copy, will be dropped): notice it here
        if let Some(old) = apps.get(name) {
            changed_by_others = old.spec != app.spec
                || old.metadata.deletion_timestamp != app.metadata.deletion_timestamp
                || (patch.get("operation").is_none() && old.operation != app.operation);
        }
        apps.insert(name.to_string(), app);
    }
    if changed_by_others {
        inner.refresh_queue.add(name);
    }
    Ok(())
}

fn requeue_delay(inner: &Inner) -> Option<Duration> {
    let settings = inner.settings.read().ok()?;
    if settings.reconciliation.is_zero() {
        return None;
    }
    let jitter_ms = u64::try_from(settings.jitter.as_millis()).unwrap_or(u64::MAX);
    let extra = if jitter_ms > 0 {
        rand::rng().random_range(0..jitter_ms)
    } else {
        0
    };
    Some(settings.reconciliation + Duration::from_millis(extra))
}

/// Refreshes one application.
pub(crate) async fn refresh(inner: &Arc<Inner>, name: &str) {
    let Some(app) = inner.apps.read().ok().and_then(|a| a.get(name).cloned()) else {
        return;
    };
    let owned = match inner.clusters.server_of(&app) {
        Some(server) => inner.ownership.owns(&server),
        None => inner.ownership.owns_unplaced(),
    };
    if !owned {
        // another replica handles this application's cluster
        return;
    }
    if app.metadata.deletion_timestamp.is_some() {
        crate::operation::finalize_deletion(inner, &app).await;
        return;
    }
    if app.operation.is_some() {
        crate::operation::start(inner.clone(), name);
    }
    let refresh_kind = app.metadata.annotation(REFRESH).map(str::to_string);
    let hard = refresh_kind.as_deref() == Some("hard");
    let now = now_rfc3339();
    let cluster = match cluster_of(inner, &app) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => {
            inner.refresh_queue.add_after(name, Duration::from_secs(1));
            return;
        }
        Err(e) => Err(e),
    };
    let result = match &cluster {
        Ok(c) => desired(inner, &app, c, None, hard).await,
        Err(e) => Err(e.clone()),
    };
    let mut extra = Vec::new();
    let mut revision = None;
    let mut source_type = None;
    let mut desired_count = 0;
    let comparison: Result<Comparison, String> = match &result {
        Ok(d) => {
            revision = Some(d.generated.revision.clone());
            source_type = d.generated.source_type;
            desired_count = d.objects.len();
            match &cluster {
                Ok(c) => compare_app(inner, &app, &c.state, &d.objects),
                Err((_, m)) => Err(m.clone()),
            }
        }
        Err((ApplicationConditionType::ComparisonError, message)) => Err(message.clone()),
        Err((kind, message)) => {
            extra.push((*kind, message.clone()));
            Err(String::new())
        }
    };
    let outcome = RefreshOutcome {
        comparison: comparison.as_ref().map_err(Clone::clone),
        revision: revision.as_deref(),
        source_type,
        extra_conditions: extra,
        now: &now,
    };
    let mut new_status = build_status(&app, &outcome);
    if let Some(conditions) = &mut new_status.conditions {
        // an invalid spec is reported as itself, not also as an empty comparison error
        conditions.retain(|c| !(c.type_ == "ComparisonError" && c.message.is_empty()));
        if conditions.is_empty() {
            new_status.conditions = None;
        }
    }
    let status_written = status_changed(app.status.as_ref(), &new_status);
    if status_written
        && let Err(err) = write_status(inner, &app, &new_status, refresh_kind.is_some()).await
    {
        tracing::warn!(app = name, %err, "writing status failed; retrying");
        inner.refresh_queue.add_after(name, Duration::from_secs(2));
        return;
    }
    if let Ok(d) = &result {
        crate::deletion::sync_hook_finalizers(inner, &app, &d.objects).await;
    }
    if refresh_kind.is_some() && !status_written {
        let patch = json!({"metadata": {"annotations": {REFRESH: null}}});
        if let Err(err) = patch_app(inner, name, &patch).await {
            tracing::warn!(app = name, %err, "removing the refresh annotation failed");
        }
    }
    if let (Ok(cmp), Some(revision)) = (&comparison, &revision) {
        let current = inner
            .apps
            .read()
            .ok()
            .and_then(|a| a.get(name).cloned())
            .unwrap_or(app);
        let decision = decide(
            &current,
            cmp,
            revision,
            desired_count,
            inner.config.self_heal_backoff,
            chrono::Utc::now(),
        );
        match decision {
            Decision::Nothing => {}
            Decision::Later(delay) => inner.refresh_queue.add_after(name, delay),
            Decision::Sync(operation) => match serde_json::to_value(&operation) {
                Ok(op) => match patch_app(inner, name, &json!({ "operation": op })).await {
                    Ok(()) => crate::operation::start(inner.clone(), name),
                    Err(err) => tracing::warn!(app = name, %err, "starting automated sync failed"),
                },
                Err(err) => tracing::warn!(app = name, %err, "encoding the automated sync failed"),
            },
        }
    }
    // an operation set while this refresh ran starts now: its watch event can arrive after one of
    // this refresh's own writes and then be dropped as older than the local copy
    if crate::operation::current(inner, name).is_some_and(|a| a.operation.is_some()) {
        crate::operation::start(inner.clone(), name);
    }
    if let Some(delay) = requeue_delay(inner) {
        inner.refresh_queue.add_after(name, delay);
    }
}
