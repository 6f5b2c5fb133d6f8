//! Resource actions (`/api/v1/applications/{name}/resource/actions`): the Lua actions of argocd-cm's
//! `resource.customizations.actions.<group_kind>` and the built-in ones (Deployment restart, pause,
//! resume, scale; StatefulSet and DaemonSet restart; CronJob create-job ...), on resources the
//! Application manages. Listing needs `applications, get`; running needs
//! `applications, action/<group>/<kind>/<action>` on `<project>/<app>`.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use capstan_lua::{ActionOverrides, K8sOperation, ResourceAction, Sandbox};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::session::Auth;
use crate::error::{ApiError, ApiResult};
use crate::rbac;
use crate::routes::applications::{load_cached_authorized, project_of, rbac_object};
use crate::routes::resources::{api_version, s};
use crate::routes::{query_one, query_pairs};
use crate::state::AppState;

/// Which resource of the Application (query parameters or body fields of Argo CD's requests).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// Namespace (empty for cluster-scoped).
    #[serde(default)]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub resource_name: String,
    /// API version (`v1`).
    #[serde(default)]
    pub version: String,
    /// API group (empty for core).
    #[serde(default)]
    pub group: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

impl ResourceRef {
    fn from_query(pairs: &[(String, String)]) -> ResourceRef {
        let q = |k: &str| query_one(pairs, k).unwrap_or_default();
        ResourceRef {
            namespace: q("namespace"),
            resource_name: q("resourceName"),
            version: q("version"),
            group: q("group"),
            kind: q("kind"),
        }
    }

    /// Fields of `other` fill the empty ones.
    fn or(mut self, other: ResourceRef) -> ResourceRef {
        for (mine, theirs) in [
            (&mut self.namespace, other.namespace),
            (&mut self.resource_name, other.resource_name),
            (&mut self.version, other.version),
            (&mut self.group, other.group),
            (&mut self.kind, other.kind),
        ] {
            if mine.is_empty() {
                *mine = theirs;
            }
        }
        self
    }

    fn describe(&self) -> String {
        let gk = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}/{}", self.group, self.kind)
        };
        if self.namespace.is_empty() {
            format!("{gk} {}", self.resource_name)
        } else {
            format!("{gk} {}/{}", self.namespace, self.resource_name)
        }
    }
}

/// The live object of a resource the Application manages (listed in its status).
pub async fn managed_live(state: &AppState, app: &Value, r: &ResourceRef) -> ApiResult<Value> {
    if r.kind.is_empty() || r.resource_name.is_empty() {
        return Err(ApiError::InvalidArgument(
            "kind and resourceName are required".into(),
        ));
    }
    let entry = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| {
            s(e, "/group") == r.group
                && s(e, "/kind") == r.kind
                && s(e, "/namespace") == r.namespace
                && s(e, "/name") == r.resource_name
        })
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{} is not a resource of application {}",
                r.describe(),
                s(app, "/metadata/name")
            ))
        })?;
    let version = if r.version.is_empty() {
        s(entry, "/version").to_string()
    } else {
        r.version.clone()
    };
    let client = state.destination_client(app).await?;
    let rt = client
        .resolve(&api_version(&r.group, &version), &r.kind)
        .await?;
    let ns = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
    client
        .get(&rt, ns, &r.resource_name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{} does not exist", r.describe())))
}

/// argocd-cm's actions with the built-in ones.
async fn overrides(state: &AppState) -> ApiResult<ActionOverrides> {
    let cm = state
        .client
        .get(
            &state.types.config_map,
            Some(&state.config.namespace),
            capstan_settings::names::ARGOCD_CM,
        )
        .await?;
    let configured = match cm {
        Some(cm) => ActionOverrides::from_config_map(&cm).map_err(|e| {
            ApiError::FailedPrecondition(format!("argocd-cm resource actions are invalid: {e}"))
        })?,
        None => ActionOverrides::default(),
    };
    Ok(configured.with_builtin())
}

/// Runs Lua off the async threads (a script may use its whole time limit).
async fn lua<T: Send + 'static>(
    f: impl FnOnce(&Sandbox) -> Result<T, capstan_lua::LuaError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(move || f(&Sandbox::default()))
        .await
        .map_err(|e| ApiError::Internal(format!("action script task: {e}")))?
        .map_err(|e| ApiError::FailedPrecondition(format!("action script: {e}")))
}

async fn available(
    overrides: &ActionOverrides,
    r: &ResourceRef,
    live: &Value,
) -> ApiResult<Vec<ResourceAction>> {
    let Some(set) = overrides.get(&r.group, &r.kind) else {
        return Ok(Vec::new());
    };
    if set.discovery_lua.trim().is_empty() {
        return Ok(Vec::new());
    }
    let script = set.discovery_lua.clone();
    let obj = live.clone();
    lua(move |sandbox| sandbox.discover_actions(&script, &obj)).await
}

/// `GET /api/v1/applications/{name}/resource/actions?namespace=&resourceName=&version=&group=&kind=`.
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let r = ResourceRef::from_query(&query_pairs(query.as_deref()));
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    let live = managed_live(&state, &app, &r).await?;
    let actions = available(&overrides(&state).await?, &r, &live).await?;
    Ok(Json(json!({ "actions": actions })))
}

/// Body of a run request: Argo CD's v1 sends the action name as a JSON string (resource in the
/// query); v2 sends `{action, resourceName, namespace, group, kind, version, resourceActionParameters}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunRequest {
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    resource: ResourceRef,
    #[serde(default)]
    resource_action_parameters: Vec<Param>,
}

#[derive(Debug, Default, Deserialize)]
struct Param {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

fn parse_run(body: &Bytes) -> ApiResult<RunRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RunRequest::default());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidArgument(format!("invalid JSON body: {e}")))?;
    match value {
        Value::String(action) => Ok(RunRequest {
            action,
            ..RunRequest::default()
        }),
        other => serde_json::from_value(other)
            .map_err(|e| ApiError::InvalidArgument(format!("invalid action request: {e}"))),
    }
}

fn same_object(a: &Value, b: &Value) -> bool {
    s(a, "/kind") == s(b, "/kind")
        && s(a, "/metadata/name") == s(b, "/metadata/name")
        && s(a, "/metadata/namespace") == s(b, "/metadata/namespace")
        && s(a, "/apiVersion").rsplit_once('/').map(|(g, _)| g)
            == s(b, "/apiVersion").rsplit_once('/').map(|(g, _)| g)
}

/// `POST /api/v1/applications/{name}/resource/actions` (and `/v2`): runs an action. A patch of the
/// resource is applied as a JSON merge patch; created objects must be namespaced in the resource's
/// namespace.
pub async fn run(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let req = parse_run(&body)?;
    let r = req.resource.or(ResourceRef::from_query(&pairs));
    let action = if req.action.is_empty() {
        query_one(&pairs, "action").unwrap_or_default()
    } else {
        req.action
    };
    if action.is_empty() {
        return Err(ApiError::InvalidArgument("action is required".into()));
    }
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    rbac::enforce(
        &state,
        &p,
        "applications",
        &format!("action/{}/{}/{action}", r.group, r.kind),
        &rbac_object(&app),
    )
    .await?;
    let live = managed_live(&state, &app, &r).await?;
    let overrides = overrides(&state).await?;
    let known = available(&overrides, &r, &live).await?;
    match known.iter().find(|a| a.name == action) {
        None => {
            return Err(ApiError::InvalidArgument(format!(
                "action {action:?} is not available for {} (available: {})",
                r.describe(),
                known
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Some(a) if a.disabled => {
            return Err(ApiError::FailedPrecondition(format!(
                "action {action:?} is disabled for {} in its current state",
                r.describe()
            )));
        }
        Some(_) => {}
    }
    let script = overrides
        .action_script(&r.group, &r.kind, &action)
        .ok_or_else(|| {
            ApiError::FailedPrecondition(format!(
                "action {action:?} of {} has no action.lua",
                r.describe()
            ))
        })?
        .to_string();
    let params: BTreeMap<String, String> = req
        .resource_action_parameters
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect();
    let obj = live.clone();
    let impacted = lua(move |sandbox| sandbox.run_action(&script, &obj, &params)).await?;
    let client = state.destination_client(&app).await?;
    for item in impacted {
        match item.operation {
            K8sOperation::Patch => {
                if !same_object(&item.resource, &live) {
                    return Err(ApiError::FailedPrecondition(format!(
                        "action {action:?} patched {} {}, not the resource it runs on",
                        s(&item.resource, "/kind"),
                        s(&item.resource, "/metadata/name")
                    )));
                }
                let patch = capstan_patch::create_merge_patch(&live, &item.resource);
                if patch.as_object().is_some_and(|m| m.is_empty()) {
                    continue;
                }
                let (rt, ns, n) = client.locate(&live).await?;
                client.merge_patch(&rt, ns.as_deref(), &n, &patch).await?;
            }
            K8sOperation::Create => {
                let mut obj = item.resource;
                let (rt, _, _) = client.locate(&obj).await?;
                if !rt.namespaced || r.namespace.is_empty() {
                    return Err(ApiError::FailedPrecondition(format!(
                        "action {action:?} may create only namespaced objects next to the resource, not {} {}",
                        s(&obj, "/kind"),
                        s(&obj, "/metadata/name")
                    )));
                }
                let ns = s(&obj, "/metadata/namespace").to_string();
                if !ns.is_empty() && ns != r.namespace {
                    return Err(ApiError::FailedPrecondition(format!(
                        "action {action:?} may create objects only in namespace {}, not {ns}",
                        r.namespace
                    )));
                }
                obj["metadata"]["namespace"] = json!(r.namespace);
                client.create(&obj, false).await?;
            }
        }
    }
    tracing::info!(app = %name, project = %project_of(&app), user = %p.subject, resource = %r.describe(), %action, "resource action run");
    Ok(Json(json!({})))
}
