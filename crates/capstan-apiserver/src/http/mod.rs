//! The HTTP surface: one dispatcher that parses Kubernetes paths and hands each request to
//! discovery, OpenAPI, the object handlers or watch.

mod body;
mod discovery;
mod handlers;
mod openapi;
mod protobuf;
mod table;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::ops::Cluster;
use crate::registry::ResourceType;

/// Largest accepted request body (the object size limit of etcd).
pub const MAX_BODY: usize = 1_572_864;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub cluster: Arc<Cluster>,
    pub server_address: String,
    /// Becomes `true` when the server stops; open watches end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Required bearer token, if any (ServiceAccount tokens are accepted too).
    pub token: Option<Arc<str>>,
    /// Issues and checks ServiceAccount tokens.
    pub tokens: Arc<crate::tokens::Tokens>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(MAX_BODY * 4))
        .with_state(state)
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(
            StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &self.to_status(),
        )
    }
}

pub fn json_response(code: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Parsed query string (empty pairs tolerated, as kube-rs sends `?&`).
#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    fn parse(q: Option<&str>) -> Self {
        let mut m = HashMap::new();
        if let Some(q) = q {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                if !k.is_empty() {
                    m.insert(k.into_owned(), v.into_owned());
                }
            }
        }
        Self(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    pub fn flag(&self, k: &str) -> bool {
        // Go's strconv.ParseBool, as the API server parses booleans (Python sends `True`).
        matches!(
            self.get(k),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }
}

/// A resolved resource request.
pub struct ResourceReq {
    pub rt: Arc<ResourceType>,
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

async fn dispatch(
    State(st): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_string();
    let q = Query::parse(uri.query());
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let health = matches!(segs.first(), Some(&("healthz" | "livez" | "readyz")));
    if let Some(token) = &st.token
        && !health
    {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let accepted = match given {
            Some(g) if g == &**token => true,
            Some(g) => st.tokens.authenticate(&st.cluster, g).is_some(),
            None => false,
        };
        if !accepted {
            return ApiError::new(401, "Unauthorized", "Unauthorized").into_response();
        }
    }
    tracing::debug!(%method, %uri, "request");
    let reg = &st.cluster.registry;
    match segs.as_slice() {
        ["version"] => json_response(StatusCode::OK, &version()),
        ["healthz" | "livez" | "readyz", ..] => {
            let mut r = Response::new(Body::from("ok"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        ["api"] => discovery::api(&st, &accept),
        ["apis"] => discovery::apis(&st, &accept),
        ["api", "v1"] => discovery::resource_list(reg, "", "v1"),
        ["apis", g] => discovery::group(reg, g),
        ["apis", g, v] => discovery::resource_list(reg, g, v),
        ["openapi", "v2"] => ApiError::path_not_found().into_response(),
        ["openapi", "v3"] => openapi::index(reg),
        ["openapi", "v3", rest @ ..] => openapi::group_version(reg, rest),
        ["api", "v1", rest @ ..] => {
            resource(&st, "", "v1", rest, method, &q, &headers, &accept, body).await
        }
        ["apis", g, v, rest @ ..] => {
            resource(&st, g, v, rest, method, &q, &headers, &accept, body).await
        }
        _ => ApiError::path_not_found().into_response(),
    }
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-capstan",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

fn resolve(
    st: &AppState,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<ResourceReq, ApiError> {
    let reg = &st.cluster.registry;
    let lookup = |r: &str| reg.lookup(group, version, r);
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && let Some(rt) = lookup(rest[2]).filter(|t| t.namespaced)
    {
        if rest.len() > 5 {
            return Err(ApiError::path_not_found());
        }
        return Ok(ResourceReq {
            rt,
            ns: Some(rest[1].to_string()),
            name: rest.get(3).map(|s| s.to_string()),
            sub: rest.get(4).map(|s| s.to_string()),
        });
    }
    let first = rest.first().ok_or_else(ApiError::path_not_found)?;
    if rest.len() > 3 {
        return Err(ApiError::path_not_found());
    }
    let rt = lookup(first).ok_or_else(ApiError::path_not_found)?;
    let name = rest.get(1).map(|s| s.to_string());
    if rt.namespaced && name.is_some() {
        return Err(ApiError::path_not_found());
    }
    Ok(ResourceReq {
        rt,
        ns: None,
        name,
        sub: rest.get(2).map(|s| s.to_string()),
    })
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    st: &AppState,
    group: &str,
    version: &str,
    rest: &[&str],
    method: Method,
    q: &Query,
    headers: &HeaderMap,
    accept: &str,
    body: Bytes,
) -> Response {
    let req = match resolve(st, group, version, rest) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match handlers::handle(st, req, method, q, headers, accept, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
