//! `/api/v1/clusters`: cluster Secrets (and the in-cluster destination). Bearer tokens, passwords and
//! keys are written but never returned.

mod rotate;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use capstan_settings::Cluster;
use capstan_types::annotations::{SECRET_TYPE, secret_type};
use serde_json::{Value, json};

use crate::auth::session::{Auth, Principal};
use crate::body::JsonBody;
use crate::connection::{ConnectionState, PublishedInfo};
use crate::error::{ApiError, ApiResult};
use crate::rbac;
use crate::routes::repositories::{same_url, secret_name};
use crate::routes::{query_one, query_pairs};
use crate::state::{AppState, encode_data};

fn rbac_object(c: &Cluster) -> String {
    match c.project.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/{}", c.server),
        None => c.server.clone(),
    }
}

/// Argo CD's Cluster, with `info` (`ClusterInfo`) from the controller's published information
/// (cache statistics, application count) and the connection state.
fn public(c: &Cluster, connection: &ConnectionState, published: Option<&PublishedInfo>) -> Value {
    let version = connection.server_version.clone().unwrap_or_default();
    let mut info = json!({
        "connectionState": connection.to_json(),
        "serverVersion": version,
        "applicationsCount": 0,
    });
    if let Some(p) = published {
        if let Some(cache) = p.info.get("cacheInfo") {
            info["cacheInfo"] = cache.clone();
        }
        if let Some(n) = p.info.get("applicationsCount") {
            info["applicationsCount"] = n.clone();
        }
    }
    json!({
        "server": c.server,
        "name": c.name,
        "namespaces": c.namespaces,
        "clusterResources": c.cluster_resources,
        "project": c.project.clone().unwrap_or_default(),
        "labels": c.labels,
        "config": {
            "tlsClientConfig": {
                "insecure": c.config.tls_client_config.insecure,
                "serverName": c.config.tls_client_config.server_name.clone().unwrap_or_default(),
            }
        },
        "connectionState": connection.to_json(),
        "serverVersion": version,
        "info": info,
    })
}

pub(crate) async fn clusters(state: &AppState) -> ApiResult<Vec<Cluster>> {
    let selector = format!("{SECRET_TYPE}={}", secret_type::CLUSTER);
    let (secrets, _) = state
        .client
        .list(
            &state.types.secret,
            Some(&state.config.namespace),
            Some(&selector),
        )
        .await?;
    let mut out: Vec<Cluster> = Vec::new();
    for s in secrets {
        match Cluster::from_secret(&s) {
            Ok(c) => out.push(c),
            Err(e) => tracing::warn!(error = %e, "skipping an invalid cluster Secret"),
        }
    }
    if state.settings().cm.in_cluster_enabled
        && !out
            .iter()
            .any(|c| same_url(&c.server, capstan_settings::IN_CLUSTER_SERVER))
    {
        out.insert(0, Cluster::in_cluster());
    }
    Ok(out)
}

async fn connection(state: &AppState, c: &Cluster, refresh: bool) -> ConnectionState {
    state.connections.cluster(c, &state.client, refresh).await
}

async fn published(state: &AppState) -> std::collections::HashMap<String, PublishedInfo> {
    crate::connection::published_cluster_info(
        &state.client,
        &state.types.config_map,
        &state.config.namespace,
    )
    .await
}

/// A cluster as shown: the controller's recent information when there is some (connection state,
/// version, cache statistics), otherwise the API server's own connection test.
async fn shown(
    state: &AppState,
    c: &Cluster,
    published: &std::collections::HashMap<String, PublishedInfo>,
    refresh: bool,
) -> Value {
    let info = published
        .get(c.server.trim_end_matches('/'))
        .filter(|p| p.is_fresh());
    match info {
        Some(p) if !refresh => public(c, &p.connection(), Some(p)),
        _ => public(c, &connection(state, c, refresh).await, info),
    }
}

/// `GET /api/v1/clusters`: each with its connection state and cache statistics as the controller
/// published them, or, without those, its own test (`GET /version` with the cluster's credentials,
/// reused for a minute).
pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let mut visible = Vec::new();
    for c in clusters(&state).await? {
        if rbac::allowed(&state, &p, "clusters", "get", &rbac_object(&c)).await? {
            visible.push(c);
        }
    }
    let published = published(&state).await;
    let items: Vec<Value> =
        futures::future::join_all(visible.iter().map(|c| shown(&state, c, &published, false)))
            .await;
    Ok(Json(json!({"metadata": {}, "items": items})))
}

/// The cluster named by `id`, when the caller may see it: one it may not `get` is answered exactly
/// like one that does not exist, so existence cannot be probed.
async fn find(
    state: &AppState,
    principal: &Principal,
    id: &str,
    id_type: Option<&str>,
) -> ApiResult<Cluster> {
    let missing = || ApiError::NotFound(format!("cluster '{id}' not found"));
    let c = clusters(state)
        .await?
        .into_iter()
        .find(|c| match id_type {
            Some("name") => c.name == id,
            _ => same_url(&c.server, id) || c.name == id,
        })
        .ok_or_else(missing)?;
    if !rbac::allowed(state, principal, "clusters", "get", &rbac_object(&c)).await? {
        return Err(missing());
    }
    Ok(c)
}

/// `GET /api/v1/clusters/{server}?id.type=name|url`.
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(server): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let id_type = query_one(&query_pairs(query.as_deref()), "id.type");
    let c = find(&state, &p, &server, id_type.as_deref()).await?;
    let refresh =
        query_one(&query_pairs(query.as_deref()), "forceRefresh").as_deref() == Some("true");
    let published = published(&state).await;
    Ok(Json(shown(&state, &c, &published, refresh).await))
}

/// `POST /api/v1/clusters?upsert=`: body is Argo CD's Cluster (`server`, `name`, `config`,
/// `namespaces`, `project`, ...).
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let upsert = query_one(&query_pairs(query.as_deref()), "upsert").as_deref() == Some("true");
    let server = body["server"].as_str().unwrap_or_default().to_string();
    if server.is_empty() {
        return Err(ApiError::InvalidArgument("server is required".into()));
    }
    let name = body["name"].as_str().unwrap_or(&server).to_string();
    let project = body["project"].as_str().unwrap_or_default().to_string();
    let object = if project.is_empty() {
        server.clone()
    } else {
        format!("{project}/{server}")
    };
    rbac::enforce(&state, &p, "clusters", "create", &object).await?;
    let config = body.get("config").cloned().unwrap_or(json!({})).to_string();
    let namespaces = body["namespaces"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let cluster_resources = body["clusterResources"]
        .as_bool()
        .unwrap_or(false)
        .to_string();
    let mut pairs: Vec<(&str, Option<&str>)> = vec![
        ("server", Some(&server)),
        ("name", Some(&name)),
        ("config", Some(&config)),
    ];
    if !namespaces.is_empty() {
        pairs.push(("namespaces", Some(&namespaces)));
        pairs.push(("clusterResources", Some(&cluster_resources)));
    }
    if !project.is_empty() {
        pairs.push(("project", Some(&project)));
    }
    let host = url::Url::parse(&server)
        .ok()
        .and_then(|u| u.host_str().map(String::from))
        .unwrap_or_default();
    let secret_name = secret_name(&format!("cluster-{host}"), &server);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": state.config.namespace,
            "labels": {SECRET_TYPE: secret_type::CLUSTER},
            "annotations": {"managed-by": "argocd.argoproj.io"}},
        "type": "Opaque",
        "data": encode_data(&pairs),
    });
    let stored = match state
        .client
        .get(
            &state.types.secret,
            Some(&state.config.namespace),
            &secret_name,
        )
        .await?
    {
        Some(mut old) => {
            if !upsert {
                return Err(ApiError::InvalidArgument(
                    "existing cluster spec is different; use upsert flag to force update".into(),
                ));
            }
            rbac::enforce(&state, &p, "clusters", "update", &object).await?;
            // the cluster as it is stored may belong to another project: updating it (and moving it
            // out of that project) needs the right there too
            if let Ok(existing) = Cluster::from_secret(&old) {
                rbac::enforce(&state, &p, "clusters", "update", &rbac_object(&existing)).await?;
            }
            old["data"] = secret["data"].clone();
            state.client.replace(&old, false).await?
        }
        None => state.client.create(&secret, false).await?,
    };
    let c = Cluster::from_secret(&stored).map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    let connection = connection(&state, &c, true).await;
    Ok(Json(public(&c, &connection, None)))
}

/// `DELETE /api/v1/clusters/{server}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(server): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let id_type = query_one(&query_pairs(query.as_deref()), "id.type");
    let c = find(&state, &p, &server, id_type.as_deref()).await?;
    rbac::enforce(&state, &p, "clusters", "delete", &rbac_object(&c)).await?;
    if c.secret_name.is_empty() {
        return Err(ApiError::FailedPrecondition(
            "the in-cluster destination has no Secret to delete".into(),
        ));
    }
    state
        .client
        .delete(
            &state.types.secret,
            Some(&state.config.namespace),
            &c.secret_name,
            &Default::default(),
        )
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/clusters/{server}/rotate-auth` (the only POST under a cluster's path).
pub async fn post_action(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let Some(server) = path.strip_suffix("/rotate-auth") else {
        return Err(ApiError::NotFound(format!(
            "no such cluster action: {path}"
        )));
    };
    let id_type = query_one(&query_pairs(query.as_deref()), "id.type");
    let c = find(&state, &p, server, id_type.as_deref()).await?;
    rbac::enforce(&state, &p, "clusters", "update", &rbac_object(&c)).await?;
    rotate::rotate(&state, &c).await?;
    Ok(Json(json!({})))
}
