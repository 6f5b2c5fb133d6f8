//! `/api/v1/applications`: list, get, create, update, patch, delete, sync, rollback, terminate.
//! Applications are the custom resources in the control-plane namespace; operations are requests
//! written into them for the controller.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use capstan_types::annotations::finalizers;
use serde::Deserialize;
use serde_json::{Value, json};

use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::auth::session::Auth;
use crate::body::JsonBody;
use crate::cache::AppFilter;
use crate::error::{ApiError, ApiResult};
use crate::project_checks;
use crate::rbac;
use crate::routes::{query_all, query_one, query_pairs};
use crate::selector::LabelSelector;
use crate::state::AppState;

/// The project of an Application (`default` when unset).
pub fn project_of(app: &Value) -> String {
    app.pointer("/spec/project")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or("default")
        .to_string()
}

/// The RBAC object of an Application: `<project>/<name>`.
pub fn rbac_object(app: &Value) -> String {
    format!(
        "{}/{}",
        project_of(app),
        app.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    )
}

/// Reads an Application; 404 in Argo CD's words when missing.
pub async fn load(state: &AppState, name: &str) -> ApiResult<Value> {
    // a name no Kubernetes object can have is missing, and never reaches the cluster client (whose
    // errors for an unusable URL would name the control plane)
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid {
        return Err(ApiError::NotFound(format!(
            "applications.argoproj.io \"{name}\" not found"
        )));
    }
    state
        .client
        .get(&state.types.app, Some(&state.config.namespace), name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("applications.argoproj.io \"{name}\" not found")))
}

/// Reads an Application from the Application cache (from the cluster while the cache is not synced).
pub async fn load_cached(state: &AppState, name: &str) -> ApiResult<Value> {
    match state.apps.get(name) {
        Some(Some(app)) => Ok(app.value.clone()),
        // not in the cache: it may have been created a moment ago by another server
        _ => load(state, name).await,
    }
}

/// Like [`load_authorized`], from the Application cache (for reads).
pub async fn load_cached_authorized(
    state: &AppState,
    p: &Principal,
    name: &str,
    action: &str,
) -> ApiResult<Value> {
    let loaded = load_cached(state, name).await;
    authorize(state, p, name, action, loaded).await
}

/// The answer to a caller who may not see Application `name` (whether it exists or not): the same
/// 403 for both, naming only what the caller sent, so that neither the status, nor the message,
/// nor the project tells whether an Application of that name exists.
fn hidden(action: &str, name: &str, p: &Principal) -> ApiError {
    ApiError::denied("applications", action, name, &p.subject)
}

/// Decides `action` on a loaded (or missing) Application without revealing the existence of
/// Applications the caller may not `get`: a caller who may `get` it but not `action` it gets the
/// 403 naming the permission; one who may not even `get` it gets the same 403 as for a missing
/// Application. A missing Application is a 404 only for callers who could `get` an Application of
/// that name in every project (for them, existence is no secret).
pub async fn authorize(
    state: &AppState,
    p: &Principal,
    name: &str,
    action: &str,
    loaded: ApiResult<Value>,
) -> ApiResult<Value> {
    let authorizer = rbac::Authorizer::new(state, p).await?;
    let app = match loaded {
        Ok(app) => app,
        Err(ApiError::NotFound(message)) => {
            let (projects, _) = state
                .client
                .list(&state.types.project, Some(&state.config.namespace), None)
                .await?;
            let everywhere = projects.iter().all(|proj| {
                let project = proj
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                authorizer.allows("applications", "get", &format!("{project}/{name}"))
            });
            return Err(if everywhere {
                ApiError::NotFound(message)
            } else {
                hidden(action, name, p)
            });
        }
        Err(e) => return Err(e),
    };
    let object = rbac_object(&app);
    if authorizer.allows("applications", action, &object) {
        return Ok(app);
    }
    if action != "get" && authorizer.allows("applications", "get", &object) {
        return Err(ApiError::denied(
            "applications",
            action,
            &object,
            &p.subject,
        ));
    }
    Err(hidden(action, name, p))
}

/// Stores a written Application in the cache too, so that a read right after sees it.
pub fn written(state: &AppState, app: Value) -> Json<Value> {
    state.apps.apply(app.clone());
    Json(app)
}

/// Reads an Application the caller may `action` (from the cluster, for writes); see [`authorize`]
/// for the answers when the caller may not.
pub async fn load_authorized(
    state: &AppState,
    p: &Principal,
    name: &str,
    action: &str,
) -> ApiResult<Value> {
    let loaded = load(state, name).await;
    authorize(state, p, name, action, loaded).await
}

fn check_namespace(state: &AppState, pairs: &[(String, String)]) -> ApiResult<()> {
    match query_one(pairs, "appNamespace") {
        Some(ns) if !ns.is_empty() && ns != state.config.namespace => {
            Err(ApiError::InvalidArgument(format!(
                "application namespace '{ns}' is not permitted (only '{}' is served)",
                state.config.namespace
            )))
        }
        _ => Ok(()),
    }
}

/// The filters of a list or stream request (`name`, `projects`/`project`, `repo`, `selector`).
pub fn filter_from_query(pairs: &[(String, String)]) -> ApiResult<AppFilter> {
    let mut projects = query_all(pairs, "projects");
    projects.extend(query_all(pairs, "project"));
    let selector = query_one(pairs, "selector").unwrap_or_default();
    Ok(AppFilter {
        name: query_one(pairs, "name").filter(|s| !s.is_empty()),
        projects,
        repo: query_one(pairs, "repo").filter(|s| !s.is_empty()),
        selector: LabelSelector::parse(&selector)
            .map_err(|e| ApiError::InvalidArgument(e.to_string()))?,
    })
}

/// `GET /api/v1/applications?projects=&selector=&name=&repo=`: the Applications the caller may get,
/// sorted by name, from the Application cache; the answer is assembled from each Application's
/// stored JSON text.
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref());
    check_namespace(&state, &pairs)?;
    let filter = filter_from_query(&pairs)?;
    let snapshot = state.visible_applications(&p, &filter).await?;
    let size: usize = snapshot.apps.iter().map(|a| a.json.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 64);
    body.extend_from_slice(b"{\"metadata\":{\"resourceVersion\":");
    body.extend_from_slice(
        Value::String(snapshot.resource_version)
            .to_string()
            .as_bytes(),
    );
    body.extend_from_slice(b"},\"items\":[");
    for (i, app) in snapshot.apps.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&app.json);
    }
    body.extend_from_slice(b"]}");
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// `GET /api/v1/applications/{name}` (`?refresh=normal|hard` asks the controller to refresh).
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    check_namespace(&state, &pairs)?;
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    if let Some(kind) = query_one(&pairs, "refresh").filter(|k| k == "normal" || k == "hard") {
        let patch =
            json!({"metadata": {"annotations": {capstan_types::annotations::REFRESH: kind}}});
        let app = state
            .client
            .merge_patch(
                &state.types.app,
                Some(&state.config.namespace),
                &name,
                &patch,
            )
            .await?;
        return Ok(written(&state, app));
    }
    Ok(Json(app))
}

/// Checks the shape of an Application and its project's restrictions.
async fn validate(state: &AppState, app: &Value) -> ApiResult<()> {
    capstan_types::decode::<capstan_types::Application>(app)
        .map_err(|e| ApiError::InvalidArgument(format!("invalid application: {e}")))?;
    let project_name = project_of(app);
    let project = state
        .client
        .get(
            &state.types.project,
            Some(&state.config.namespace),
            &project_name,
        )
        .await?
        .ok_or_else(|| {
            ApiError::InvalidArgument(format!(
                "application references project {project_name} which does not exist"
            ))
        })?;
    project_checks::check(&project, &app["spec"]).map_err(ApiError::InvalidArgument)?;
    check_rendered(state, app, &project).await
}

/// The project's resource rules (kinds, and each object's own namespace) on create and update, not
/// only at sync: when the application's manifests render now, every object must be permitted. When
/// they do not render (a path not committed yet, a repository not reachable), the controller checks
/// them at every refresh before anything is synced.
async fn check_rendered(state: &AppState, app: &Value, project: &Value) -> ApiResult<()> {
    if state.generator.is_none() {
        return Ok(());
    }
    let Ok((objects, _, _)) = super::resources::desired(state, app, None).await else {
        return Ok(());
    };
    let typed: capstan_types::AppProject = capstan_types::decode(project)
        .map_err(|e| ApiError::Internal(format!("stored project is invalid: {e}")))?;
    let client = state.destination_client(app).await?;
    let text = |p: &str| app.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (mut server, mut cluster_name) = (
        text("/spec/destination/server").to_string(),
        text("/spec/destination/name").to_string(),
    );
    if server.is_empty() && cluster_name == capstan_settings::IN_CLUSTER_NAME {
        server = capstan_settings::IN_CLUSTER_SERVER.to_string();
    }
    if cluster_name.is_empty() && server == capstan_settings::IN_CLUSTER_SERVER {
        cluster_name = capstan_settings::IN_CLUSTER_NAME.to_string();
    }
    for obj in &objects {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        // a kind the cluster does not know yet (a CRD of the same application) is checked at sync
        let Ok(rt) = client.resolve(api_version, kind).await else {
            continue;
        };
        let problem =
            capstan_controller::check_resource(obj, rt.namespaced, &typed).or_else(|| {
                rt.namespaced
                    .then(|| {
                        capstan_controller::check_resource_namespace(
                            obj,
                            &typed,
                            &server,
                            &cluster_name,
                        )
                    })
                    .flatten()
            });
        if let Some(problem) = problem {
            return Err(ApiError::InvalidArgument(format!(
                "application spec is invalid: {problem}"
            )));
        }
    }
    Ok(())
}

fn normalize_new(state: &AppState, mut app: Value) -> ApiResult<Value> {
    if !app.is_object() {
        return Err(ApiError::InvalidArgument(
            "expected an Application object".into(),
        ));
    }
    app["apiVersion"] = json!("argoproj.io/v1alpha1");
    app["kind"] = json!("Application");
    let name = app
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(ApiError::InvalidArgument(
            "metadata.name is required".into(),
        ));
    }
    match app.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() && ns != state.config.namespace => {
            return Err(ApiError::InvalidArgument(format!(
                "application namespace '{ns}' is not permitted (only '{}' is served)",
                state.config.namespace
            )));
        }
        _ => app["metadata"]["namespace"] = json!(state.config.namespace),
    }
    if app
        .pointer("/spec/project")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        if !app["spec"].is_object() {
            return Err(ApiError::InvalidArgument("spec is required".into()));
        }
        app["spec"]["project"] = json!("default");
    }
    if let Some(obj) = app.as_object_mut() {
        obj.remove("status");
    }
    Ok(app)
}

/// `POST /api/v1/applications?upsert=&validate=`.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let upsert = query_one(&pairs, "upsert").as_deref() == Some("true");
    let app = normalize_new(&state, body)?;
    let object = rbac_object(&app);
    rbac::enforce(&state, &p, "applications", "create", &object).await?;
    if app.get("operation").is_some_and(|o| !o.is_null()) {
        rbac::enforce(&state, &p, "applications", "override", &object).await?;
    }
    validate(&state, &app).await?;
    let name = app["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(existing) = state
        .client
        .get(&state.types.app, Some(&state.config.namespace), &name)
        .await?
    {
        if existing["spec"] == app["spec"] {
            // the existing Application is answered only to a caller who may read it
            if rbac::allowed(&state, &p, "applications", "get", &rbac_object(&existing)).await? {
                return Ok(Json(existing));
            }
            return Err(ApiError::AlreadyExists(format!(
                "application '{name}' already exists"
            )));
        }
        if !upsert {
            return Err(ApiError::InvalidArgument(
                "existing application spec is different, use upsert flag to force update".into(),
            ));
        }
        rbac::enforce(
            &state,
            &p,
            "applications",
            "update",
            &rbac_object(&existing),
        )
        .await?;
        rbac::enforce(&state, &p, "applications", "update", &object).await?;
        let mut updated = existing;
        updated["spec"] = app["spec"].clone();
        for key in ["labels", "annotations", "finalizers"] {
            if let Some(v) = app["metadata"].get(key) {
                updated["metadata"][key] = v.clone();
            }
        }
        return Ok(written(
            &state,
            state.client.replace(&updated, false).await?,
        ));
    }
    let created = state.client.create(&app, false).await.map_err(|e| {
        if e.is_conflict() {
            ApiError::AlreadyExists(format!("application '{name}' already exists"))
        } else {
            e.into()
        }
    })?;
    tracing::info!(app = %name, user = %p.subject, "application created");
    Ok(written(&state, created))
}

async fn store_update(
    state: &AppState,
    p: &Principal,
    existing: Value,
    new: Value,
) -> ApiResult<Json<Value>> {
    rbac::enforce(state, p, "applications", "update", &rbac_object(&existing)).await?;
    rbac::enforce(state, p, "applications", "update", &rbac_object(&new)).await?;
    // writing, changing or removing an inline operation needs `override`
    let op = |v: &Value| v.get("operation").filter(|o| !o.is_null()).cloned();
    if op(&new) != op(&existing) {
        rbac::enforce(state, p, "applications", "override", &rbac_object(&new)).await?;
    }
    validate(state, &new).await?;
    Ok(written(state, state.client.replace(&new, false).await?))
}

/// `PUT /api/v1/applications/{name}`: replaces spec, labels, annotations and finalizers.
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let existing = load_authorized(&state, &p, &name, "get").await?;
    let body = normalize_new(&state, body)?;
    if body["metadata"]["name"] != json!(name) {
        return Err(ApiError::InvalidArgument(format!(
            "metadata.name must be '{name}', the name in the path"
        )));
    }
    let mut new = existing.clone();
    new["spec"] = body["spec"].clone();
    for key in ["labels", "annotations", "finalizers"] {
        match body["metadata"].get(key) {
            Some(v) => new["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
    store_update(&state, &p, existing, new).await
}

/// `PUT /api/v1/applications/{name}/spec`: replaces the spec; answers the new spec.
pub async fn update_spec(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(spec): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let existing = load_authorized(&state, &p, &name, "get").await?;
    let mut new = existing.clone();
    new["spec"] = spec;
    let Json(stored) = store_update(&state, &p, existing, new).await?;
    Ok(Json(stored["spec"].clone()))
}

/// `PATCH /api/v1/applications/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchRequest {
    /// The patch, as JSON text.
    pub patch: String,
    /// `merge` (JSON merge patch, the default) or `json` (JSON patch).
    #[serde(default)]
    pub patch_type: String,
}

/// `PATCH /api/v1/applications/{name}`.
pub async fn patch(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<PatchRequest>,
) -> ApiResult<Json<Value>> {
    let existing = load_authorized(&state, &p, &name, "get").await?;
    let patch: Value = serde_json::from_str(&req.patch)
        .map_err(|e| ApiError::InvalidArgument(format!("patch is not JSON: {e}")))?;
    let mut new = existing.clone();
    match req.patch_type.as_str() {
        "" | "merge" => json_patch::merge(&mut new, &patch),
        "json" => {
            let ops: json_patch::Patch = serde_json::from_value(patch)
                .map_err(|e| ApiError::InvalidArgument(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut new, &ops)
                .map_err(|e| ApiError::InvalidArgument(format!("JSON patch failed: {e}")))?;
        }
        other => {
            return Err(ApiError::InvalidArgument(format!(
                "unsupported patch type {other:?}; expected merge or json"
            )));
        }
    }
    if new["metadata"]["name"] != existing["metadata"]["name"]
        || new["metadata"]["namespace"] != existing["metadata"]["namespace"]
    {
        return Err(ApiError::InvalidArgument(
            "a patch cannot rename an application".into(),
        ));
    }
    // only the spec, labels, annotations, finalizers and the operation (which needs `override`) are
    // taken from the patched object, as Argo CD does: a patch does not write status or other metadata
    let mut kept = existing.clone();
    kept["spec"] = new["spec"].clone();
    for key in ["labels", "annotations", "finalizers"] {
        match new["metadata"].get(key) {
            Some(v) => kept["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = kept["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
    match new.get("operation") {
        Some(op) => kept["operation"] = op.clone(),
        None => {
            if let Some(o) = kept.as_object_mut() {
                o.remove("operation");
            }
        }
    }
    store_update(&state, &p, existing, kept).await
}

/// `DELETE /api/v1/applications/{name}?cascade=&propagationPolicy=`: with cascade (the default) the
/// resources finalizer is added so the controller deletes the resources first; without, it is removed.
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let app = load_authorized(&state, &p, &name, "delete").await?;
    let cascade = query_one(&pairs, "cascade").as_deref() != Some("false");
    let policy = query_one(&pairs, "propagationPolicy").unwrap_or_default();
    let mut list: Vec<String> = app
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|f| !f.starts_with(finalizers::RESOURCES))
        .map(String::from)
        .collect();
    if cascade {
        list.push(
            match policy.to_lowercase().as_str() {
                "background" => finalizers::RESOURCES_BACKGROUND,
                _ => finalizers::RESOURCES,
            }
            .to_string(),
        );
    }
    let ns = state.config.namespace.clone();
    let patched = state
        .client
        .merge_patch(
            &state.types.app,
            Some(&ns),
            &name,
            &json!({"metadata": {"finalizers": list}}),
        )
        .await?;
    state.apps.apply(patched);
    state
        .client
        .delete(&state.types.app, Some(&ns), &name, &Default::default())
        .await?;
    match state.client.get(&state.types.app, Some(&ns), &name).await {
        Ok(Some(app)) => state.apps.apply(app),
        Ok(None) => state.apps.forget(&name),
        Err(_) => {}
    }
    tracing::info!(app = %name, user = %p.subject, cascade, "application deleted");
    Ok(Json(json!({})))
}

fn operation_running(app: &Value) -> bool {
    app.get("operation").is_some_and(|o| !o.is_null())
        || matches!(
            app.pointer("/status/operationState/phase")
                .and_then(Value::as_str),
            Some("Running") | Some("Terminating")
        )
}

fn initiated_by(p: &Principal) -> Value {
    json!({"username": p.subject})
}

/// `POST /api/v1/applications/{name}/sync` body (Argo CD's ApplicationSyncRequest).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    /// Revision to sync to (the target revision when empty).
    #[serde(default)]
    pub revision: String,
    /// Delete resources no longer in Git.
    #[serde(default)]
    pub prune: bool,
    /// Dry run.
    #[serde(default)]
    pub dry_run: bool,
    /// `{"apply": {"force": ..}}` or `{"hook": {..}}`.
    #[serde(default)]
    pub strategy: Option<Value>,
    /// Only these resources.
    #[serde(default)]
    pub resources: Option<Vec<Value>>,
    /// `{"items": ["CreateNamespace=true", ...]}`.
    #[serde(default)]
    pub sync_options: Option<Value>,
    /// Retry strategy.
    #[serde(default)]
    pub retry_strategy: Option<Value>,
    /// Extra information for the operation.
    #[serde(default)]
    pub infos: Option<Vec<Value>>,
}

/// `POST /api/v1/applications/{name}/sync`: writes the sync operation; the controller runs it.
pub async fn sync(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<SyncRequest>,
) -> ApiResult<Json<Value>> {
    let app = load_authorized(&state, &p, &name, "sync").await?;
    if operation_running(&app) {
        return Err(ApiError::FailedPrecondition(
            "another operation is already in progress".into(),
        ));
    }
    let target = app
        .pointer("/spec/source/targetRevision")
        .and_then(Value::as_str)
        .unwrap_or("HEAD");
    let automated = app
        .pointer("/spec/syncPolicy/automated")
        .is_some_and(|a| !a.is_null());
    if automated && !req.revision.is_empty() && req.revision != target {
        return Err(ApiError::FailedPrecondition(format!(
            "Cannot sync to {}: auto-sync currently set to {target}",
            req.revision
        )));
    }
    let mut sync = json!({"prune": req.prune, "dryRun": req.dry_run});
    if !req.revision.is_empty() {
        sync["revision"] = json!(req.revision);
    }
    if let Some(s) = req.strategy.filter(|s| !s.is_null()) {
        sync["syncStrategy"] = s;
    }
    if let Some(r) = req.resources.filter(|r| !r.is_empty()) {
        sync["resources"] = json!(r);
    }
    if let Some(items) = req
        .sync_options
        .as_ref()
        .and_then(|o| o.get("items"))
        .filter(|i| i.as_array().is_some_and(|a| !a.is_empty()))
    {
        sync["syncOptions"] = items.clone();
    }
    let mut operation = json!({"sync": sync, "initiatedBy": initiated_by(&p)});
    if let Some(r) = req.retry_strategy.filter(|r| !r.is_null()) {
        operation["retry"] = r;
    }
    if let Some(i) = req.infos.filter(|i| !i.is_empty()) {
        operation["info"] = json!(i);
    }
    let updated = state
        .client
        .merge_patch(
            &state.types.app,
            Some(&state.config.namespace),
            &name,
            &json!({"operation": operation}),
        )
        .await?;
    tracing::info!(app = %name, user = %p.subject, "sync requested");
    Ok(written(&state, updated))
}

/// `POST /api/v1/applications/{name}/rollback` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRequest {
    /// History id.
    #[serde(default)]
    pub id: i64,
    /// Prune.
    #[serde(default)]
    pub prune: bool,
    /// Dry run.
    #[serde(default)]
    pub dry_run: bool,
}

/// `POST /api/v1/applications/{name}/rollback`: syncs the revision and source of a history entry.
pub async fn rollback(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<RollbackRequest>,
) -> ApiResult<Json<Value>> {
    let app = load_authorized(&state, &p, &name, "sync").await?;
    if operation_running(&app) {
        return Err(ApiError::FailedPrecondition(
            "another operation is already in progress".into(),
        ));
    }
    if app
        .pointer("/spec/syncPolicy/automated")
        .is_some_and(|a| !a.is_null())
    {
        return Err(ApiError::FailedPrecondition(
            "rollback cannot be initiated when auto-sync is enabled".into(),
        ));
    }
    let history = app
        .pointer("/status/history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let entry = history
        .iter()
        .find(|h| h["id"].as_i64() == Some(req.id))
        .ok_or_else(|| {
            ApiError::InvalidArgument(format!(
                "application {name} does not have deployment with id {}",
                req.id
            ))
        })?;
    let mut sync = json!({"prune": req.prune, "dryRun": req.dry_run});
    if let Some(rev) = entry.get("revision").filter(|r| !r.is_null()) {
        sync["revision"] = rev.clone();
    }
    if let Some(src) = entry.get("source").filter(|s| s.is_object()) {
        sync["source"] = src.clone();
    }
    if let Some(revs) = entry.get("revisions").filter(|r| r.is_array()) {
        sync["revisions"] = revs.clone();
    }
    if let Some(srcs) = entry.get("sources").filter(|s| s.is_array()) {
        sync["sources"] = srcs.clone();
    }
    let operation = json!({"sync": sync, "initiatedBy": initiated_by(&p)});
    let updated = state
        .client
        .merge_patch(
            &state.types.app,
            Some(&state.config.namespace),
            &name,
            &json!({"operation": operation}),
        )
        .await?;
    Ok(written(&state, updated))
}

/// `DELETE /api/v1/applications/{name}/operation`: asks the controller to terminate the running
/// operation.
pub async fn terminate(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let app = load_authorized(&state, &p, &name, "sync").await?;
    let phase = app
        .pointer("/status/operationState/phase")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if phase != "Running" {
        return Err(ApiError::FailedPrecondition(
            "Unable to terminate operation. No operation is in progress".into(),
        ));
    }
    state
        .client
        .merge_patch(
            &state.types.app,
            Some(&state.config.namespace),
            &name,
            &json!({"status": {"operationState": {"phase": "Terminating"}}}),
        )
        .await?;
    Ok(Json(json!({})))
}
