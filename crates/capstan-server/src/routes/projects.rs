//! `/api/v1/projects`: AppProjects, their roles and role tokens.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::jwt::{self, Claims};
use crate::auth::session::{self, Auth, now};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::rbac;
use crate::routes::applications::project_of;
use crate::routes::{query_one, query_pairs};
use crate::state::AppState;

async fn load(state: &AppState, name: &str) -> ApiResult<Value> {
    state
        .client
        .get(&state.types.project, Some(&state.config.namespace), name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("appprojects.argoproj.io \"{name}\" not found")))
}

/// Checks the shape of an AppProject and that every role policy line parses, names its role and
/// stays inside the project.
fn validate(project: &Value) -> ApiResult<()> {
    capstan_types::decode::<capstan_types::AppProject>(project)
        .map_err(|e| ApiError::InvalidArgument(format!("invalid project: {e}")))?;
    let name = project["metadata"]["name"].as_str().unwrap_or_default();
    for role in project
        .pointer("/spec/roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role_name = role["name"].as_str().unwrap_or_default();
        if role_name.is_empty() {
            return Err(ApiError::InvalidArgument(
                "a project role needs a name".into(),
            ));
        }
        let subject = format!("proj:{name}:{role_name}");
        for line in role["policies"].as_array().into_iter().flatten() {
            let text = line.as_str().unwrap_or_default();
            capstan_rbac::parse_policy(text, capstan_rbac::MatchMode::Glob).map_err(|errors| {
                ApiError::InvalidArgument(format!(
                    "role {role_name}: policy {text:?}: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })?;
            let fields: Vec<&str> = text.split(',').map(str::trim).collect();
            if fields.len() < 5 || fields[0] != "p" || fields[1] != subject {
                return Err(ApiError::InvalidArgument(format!(
                    "role {role_name}: policy {text:?} must be a p line for subject {subject}"
                )));
            }
            if fields[4] != name && !fields[4].starts_with(&format!("{name}/")) {
                return Err(ApiError::InvalidArgument(format!(
                    "role {role_name}: policy {text:?}: object must be of project {name} ({name}/...)"
                )));
            }
        }
    }
    Ok(())
}

/// `GET /api/v1/projects`.
pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let (items, rv) = state
        .client
        .list(&state.types.project, Some(&state.config.namespace), None)
        .await?;
    let mut out = Vec::new();
    for proj in items {
        let name = proj["metadata"]["name"].as_str().unwrap_or_default();
        if rbac::allowed(&state, &p, "projects", "get", name).await? {
            out.push(proj);
        }
    }
    Ok(Json(
        json!({"metadata": {"resourceVersion": rv}, "items": out}),
    ))
}

/// `GET /api/v1/projects/{name}`.
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    rbac::enforce(&state, &p, "projects", "get", &name).await?;
    Ok(Json(load(&state, &name).await?))
}

/// Body of create and update: `{"project": {...}, "upsert": bool}`.
#[derive(Debug, Deserialize)]
pub struct ProjectRequest {
    /// The AppProject.
    pub project: Value,
    /// Replace an existing project with another spec.
    #[serde(default)]
    pub upsert: bool,
}

fn normalize(state: &AppState, mut project: Value) -> ApiResult<Value> {
    if !project.is_object() {
        return Err(ApiError::InvalidArgument(
            "project must be an object".into(),
        ));
    }
    project["apiVersion"] = json!("argoproj.io/v1alpha1");
    project["kind"] = json!("AppProject");
    if project
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(ApiError::InvalidArgument(
            "project.metadata.name is required".into(),
        ));
    }
    project["metadata"]["namespace"] = json!(state.config.namespace);
    if !project["spec"].is_object() {
        project["spec"] = json!({});
    }
    if let Some(o) = project.as_object_mut() {
        o.remove("status");
    }
    validate(&project)?;
    Ok(project)
}

/// `POST /api/v1/projects`.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    JsonBody(req): JsonBody<ProjectRequest>,
) -> ApiResult<Json<Value>> {
    let project = normalize(&state, req.project)?;
    let name = project["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    rbac::enforce(&state, &p, "projects", "create", &name).await?;
    if let Some(existing) = state
        .client
        .get(&state.types.project, Some(&state.config.namespace), &name)
        .await?
    {
        if existing["spec"] == project["spec"] {
            // the existing project is answered only to a caller who may read it
            if rbac::allowed(&state, &p, "projects", "get", &name).await? {
                return Ok(Json(existing));
            }
            return Err(ApiError::AlreadyExists(format!(
                "project '{name}' already exists"
            )));
        }
        if !req.upsert {
            return Err(ApiError::InvalidArgument(
                "existing project spec is different, use upsert flag to force update".into(),
            ));
        }
        rbac::enforce(&state, &p, "projects", "update", &name).await?;
        let mut updated = existing;
        updated["spec"] = project["spec"].clone();
        return Ok(Json(state.client.replace(&updated, false).await?));
    }
    Ok(Json(state.client.create(&project, false).await?))
}

/// `PUT /api/v1/projects/{name}`: replaces spec, labels and annotations.
pub async fn update(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<ProjectRequest>,
) -> ApiResult<Json<Value>> {
    rbac::enforce(&state, &p, "projects", "update", &name).await?;
    let project = normalize(&state, req.project)?;
    if project["metadata"]["name"] != json!(name) {
        return Err(ApiError::InvalidArgument(format!(
            "project.metadata.name must be '{name}', the name in the path"
        )));
    }
    let mut updated = load(&state, &name).await?;
    updated["spec"] = project["spec"].clone();
    for key in ["labels", "annotations"] {
        if let Some(v) = project["metadata"].get(key) {
            updated["metadata"][key] = v.clone();
        }
    }
    Ok(Json(state.client.replace(&updated, false).await?))
}

/// `DELETE /api/v1/projects/{name}`: refused while Applications use the project.
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    rbac::enforce(&state, &p, "projects", "delete", &name).await?;
    load(&state, &name).await?;
    let (apps, _) = state
        .client
        .list(&state.types.app, Some(&state.config.namespace), None)
        .await?;
    let used = apps.iter().filter(|a| project_of(a) == name).count();
    if used > 0 {
        return Err(ApiError::FailedPrecondition(format!(
            "project is referenced by {used} applications"
        )));
    }
    state
        .client
        .delete(
            &state.types.project,
            Some(&state.config.namespace),
            &name,
            &Default::default(),
        )
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/projects/{name}/roles/{role}/token` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleTokenRequest {
    /// Lifetime in seconds (0 = never expires).
    #[serde(default)]
    pub expires_in: i64,
    /// Token id (random when empty).
    #[serde(default)]
    pub id: String,
}

/// `POST /api/v1/projects/{name}/roles/{role}/token`: a token with subject `proj:<name>:<role>`,
/// recorded in the role's `jwtTokens`. Needs `projects, update, <name>`.
pub async fn create_token(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((name, role)): Path<(String, String)>,
    JsonBody(req): JsonBody<RoleTokenRequest>,
) -> ApiResult<Json<Value>> {
    rbac::enforce(&state, &p, "projects", "update", &name).await?;
    let mut project = load(&state, &name).await?;
    let roles = project
        .pointer_mut("/spec/roles")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| ApiError::NotFound(format!("project '{name}' has no role '{role}'")))?;
    let r = roles
        .iter_mut()
        .find(|r| r["name"] == json!(role))
        .ok_or_else(|| ApiError::NotFound(format!("project '{name}' has no role '{role}'")))?;
    let id = if req.id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        req.id
    };
    let iat = now();
    let exp = (req.expires_in > 0).then(|| iat + req.expires_in);
    let claims = Claims {
        iss: jwt::ISSUER.to_string(),
        sub: format!("proj:{name}:{role}"),
        iat,
        nbf: Some(iat),
        exp,
        jti: id.clone(),
        groups: Vec::new(),
    };
    let token = session::issue(&state.settings(), &claims)?;
    let mut record = json!({"iat": iat, "id": id});
    if let Some(e) = exp {
        record["exp"] = json!(e);
    }
    match r.get_mut("jwtTokens").and_then(Value::as_array_mut) {
        Some(list) => list.push(record),
        None => r["jwtTokens"] = json!([record]),
    }
    state.client.replace(&project, false).await?;
    Ok(Json(json!({"token": token})))
}

/// `DELETE /api/v1/projects/{name}/roles/{role}/token/{iat}?id=`: revokes a role token.
pub async fn delete_token(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((name, role, iat)): Path<(String, String, i64)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    rbac::enforce(&state, &p, "projects", "update", &name).await?;
    let id = query_one(&query_pairs(query.as_deref()), "id").unwrap_or_default();
    let mut project = load(&state, &name).await?;
    let mut removed = false;
    if let Some(roles) = project
        .pointer_mut("/spec/roles")
        .and_then(Value::as_array_mut)
    {
        for r in roles.iter_mut().filter(|r| r["name"] == json!(role)) {
            if let Some(list) = r.get_mut("jwtTokens").and_then(Value::as_array_mut) {
                let before = list.len();
                list.retain(|t| {
                    let tid = t["id"].as_str().unwrap_or_default();
                    !(if !id.is_empty() {
                        tid == id
                    } else {
                        t["iat"].as_i64() == Some(iat)
                    })
                });
                removed |= list.len() != before;
            }
        }
    }
    if !removed {
        return Err(ApiError::NotFound(format!(
            "project '{name}' role '{role}' has no such token"
        )));
    }
    state.client.replace(&project, false).await?;
    Ok(Json(json!({})))
}
