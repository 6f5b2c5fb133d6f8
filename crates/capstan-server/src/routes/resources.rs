//! Views of one application: the resource tree (managed resources and their children from the live
//! cluster), rendered manifests (Secret values masked) and events.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use capstan_controller::GenerateRequest;
use serde_json::{Value, json};

use crate::auth::session::Auth;
use crate::error::{ApiError, ApiResult};
use crate::routes::applications::load_cached_authorized;
use crate::routes::{query_one, query_pairs};
use crate::state::AppState;

/// Kinds whose objects are children of managed resources (found through ownerReferences).
const CHILD_KINDS: &[(&str, &str)] = &[
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
    ("batch/v1", "Job"),
    ("apps/v1", "ControllerRevision"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
];

pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

pub fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn node(obj: &Value, parents: Vec<Value>, health: Option<Value>) -> Value {
    let av = s(obj, "/apiVersion");
    let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
    let mut n = json!({
        "group": group,
        "version": version,
        "kind": s(obj, "/kind"),
        "namespace": s(obj, "/metadata/namespace"),
        "name": s(obj, "/metadata/name"),
        "uid": s(obj, "/metadata/uid"),
        "resourceVersion": s(obj, "/metadata/resourceVersion"),
        "createdAt": s(obj, "/metadata/creationTimestamp"),
        "parentRefs": parents,
    });
    let images: Vec<Value> = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").cloned())
        .collect();
    if !images.is_empty() {
        n["images"] = json!(images);
    }
    if let Some(h) = health.filter(|h| !h.is_null()) {
        n["health"] = h;
    }
    n
}

/// The resource tree of an Application, from its status and the live cluster.
pub async fn tree(state: &AppState, app: &Value) -> ApiResult<Value> {
    let client = &state.destination_client(app).await?;
    let mut nodes = Vec::new();
    let mut uids: HashSet<String> = HashSet::new();
    let mut namespaces: HashSet<String> = HashSet::new();
    let overrides = capstan_health::HealthOverrides::new();
    for r in app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let av = api_version(s(r, "/group"), s(r, "/version"));
        let Ok(rt) = client.resolve(&av, s(r, "/kind")).await else {
            continue;
        };
        let ns = s(r, "/namespace");
        let live = client
            .get(&rt, (!ns.is_empty()).then_some(ns), s(r, "/name"))
            .await
            .unwrap_or(None);
        let Some(live) = live else { continue };
        uids.insert(s(&live, "/metadata/uid").to_string());
        if !ns.is_empty() {
            namespaces.insert(ns.to_string());
        }
        nodes.push(node(&live, Vec::new(), r.get("health").cloned()));
    }
    // children, level by level (Deployment -> ReplicaSet -> Pod)
    let mut candidates = Vec::new();
    for (av, kind) in CHILD_KINDS {
        let Ok(rt) = client.resolve(av, kind).await else {
            continue;
        };
        for ns in &namespaces {
            if let Ok((items, _)) = client.list(&rt, Some(ns), None).await {
                candidates.extend(items);
            }
        }
    }
    loop {
        let mut added = false;
        let mut rest = Vec::new();
        for obj in candidates {
            let parents: Vec<Value> = obj
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|o| uids.contains(s(o, "/uid")))
                .map(|o| {
                    let av = s(o, "/apiVersion");
                    json!({
                        "group": av.rsplit_once('/').map(|(g, _)| g).unwrap_or(""),
                        "kind": s(o, "/kind"),
                        "namespace": s(&obj, "/metadata/namespace"),
                        "name": s(o, "/name"),
                        "uid": s(o, "/uid"),
                    })
                })
                .collect();
            if parents.is_empty() {
                rest.push(obj);
                continue;
            }
            uids.insert(s(&obj, "/metadata/uid").to_string());
            let health =
                capstan_health::assess(&obj, &overrides).and_then(|h| serde_json::to_value(h).ok());
            nodes.push(node(&obj, parents, health));
            added = true;
        }
        candidates = rest;
        if !added {
            break;
        }
    }
    Ok(json!({"nodes": nodes, "orphanedNodes": [], "hosts": []}))
}

/// `GET /api/v1/applications/{name}/resource-tree`.
pub async fn resource_tree(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    Ok(Json(tree(&state, &app).await?))
}

/// Renders the application's desired objects (at `revision`, or its target revision), each with its
/// namespace filled in when namespaced.
pub async fn desired(
    state: &AppState,
    app: &Value,
    revision: Option<String>,
) -> ApiResult<(Vec<Value>, String, String)> {
    let Some(generator) = &state.generator else {
        return Err(ApiError::Unavailable(
            "manifest generation is not available: this API server runs without a repo server"
                .into(),
        ));
    };
    let typed: capstan_types::Application = capstan_types::decode(app)
        .map_err(|e| ApiError::Internal(format!("stored application is invalid: {e}")))?;
    let namespace = typed.spec.destination.namespace.clone().unwrap_or_default();
    let request = GenerateRequest {
        app_name: typed.name().to_string(),
        app_namespace: state.config.namespace.clone(),
        project: typed.project().to_string(),
        sources: typed.spec.all_sources().into_iter().cloned().collect(),
        revision,
        hard_refresh: false,
        destination_namespace: namespace.clone(),
        kube_version: String::new(),
    };
    let generated = generator
        .generate(request)
        .await
        .map_err(|e| ApiError::FailedPrecondition(format!("rendering manifests: {e}")))?;
    let client = state.destination_client(app).await?;
    let mut objects = Vec::new();
    for mut obj in generated.objects {
        if s(&obj, "/metadata/namespace").is_empty()
            && let Ok(rt) = client
                .resolve(s(&obj, "/apiVersion"), s(&obj, "/kind"))
                .await
            && rt.namespaced
            && !namespace.is_empty()
        {
            obj["metadata"]["namespace"] = json!(namespace);
        }
        objects.push(obj);
    }
    let source_type = generated
        .source_type
        .map(|t| t.to_string())
        .unwrap_or_default();
    Ok((objects, generated.revision, source_type))
}

/// `GET /api/v1/applications/{name}/manifests?revision=`: the rendered objects as JSON texts, Secret
/// values masked.
pub async fn manifests(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    let revision = query_one(&pairs, "revision").filter(|r| !r.is_empty());
    let (objects, revision, source_type) = desired(&state, &app, revision).await?;
    let manifests: Vec<String> = objects
        .iter()
        .map(|o| {
            let (masked, _) = capstan_diff::mask::hide_secret_data(Some(o), None);
            masked.unwrap_or(Value::Null).to_string()
        })
        .collect();
    Ok(Json(json!({
        "manifests": manifests,
        "namespace": s(&app, "/spec/destination/namespace"),
        "server": s(&app, "/spec/destination/server"),
        "revision": revision,
        "sourceType": source_type,
    })))
}

/// `GET /api/v1/applications/{name}/events`: Kubernetes events about the Application.
pub async fn events(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    let rt = state.client.resolve("v1", "Event").await?;
    let (items, rv) = state
        .client
        .list(&rt, Some(&state.config.namespace), None)
        .await?;
    let uid = s(&app, "/metadata/uid");
    let items: Vec<Value> = items
        .into_iter()
        .filter(|e| {
            s(e, "/involvedObject/uid") == uid
                || (s(e, "/involvedObject/kind") == "Application"
                    && s(e, "/involvedObject/name") == name)
        })
        .collect();
    Ok(Json(
        json!({"metadata": {"resourceVersion": rv}, "items": items}),
    ))
}

/// `GET /api/v1/applications/{name}/resource?namespace=&resourceName=&version=&group=&kind=`: the
/// live manifest of one resource of the Application's tree (a managed resource or one of its
/// children), as `{"manifest": "<json>"}`. Anything outside the tree is answered as missing, and
/// Secret values (and argocd-cm's `resource.sensitive.mask.annotations`) are masked.
pub async fn live_resource(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let q = |k: &str| query_one(&pairs, k).unwrap_or_default();
    let (namespace, resource_name, group, kind) =
        (q("namespace"), q("resourceName"), q("group"), q("kind"));
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    if kind.is_empty() || resource_name.is_empty() {
        return Err(ApiError::InvalidArgument(
            "kind and resourceName are required".into(),
        ));
    }
    let t = tree(&state, &app).await?;
    let node = t["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| {
            s(n, "/group") == group
                && s(n, "/kind") == kind
                && s(n, "/namespace") == namespace
                && s(n, "/name") == resource_name
        })
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{kind} {namespace}/{resource_name} is not a resource of application {name}"
            ))
        })?;
    let client = state.destination_client(&app).await?;
    let rt = client
        .resolve(&api_version(&group, s(node, "/version")), &kind)
        .await?;
    let live = client
        .get(
            &rt,
            (!namespace.is_empty()).then_some(namespace.as_str()),
            &resource_name,
        )
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("{kind} {namespace}/{resource_name} does not exist"))
        })?;
    let system = crate::routes::managed::system_settings(&state).await?;
    let (_, masked) =
        capstan_diff::mask::hide_secret_data_with(None, Some(&live), &system.mask_annotations);
    Ok(Json(
        json!({"manifest": masked.unwrap_or(Value::Null).to_string()}),
    ))
}
