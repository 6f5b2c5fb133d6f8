//! `GET /api/v1/applications/{name}/pods/{pod}/logs`: the log of one Pod of the Application's resource
//! tree, as newline-delimited JSON entries (`{"result": {"content", "podName", "timeStampStr", "last"}}`)
//! the way Argo CD's grpc-gateway streams them. Needs `applications, get` and `logs, get` on
//! `<project>/<app>`.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::session::Auth;
use crate::error::{ApiError, ApiResult};
use crate::rbac;
use crate::routes::applications::{load_cached_authorized, rbac_object};
use crate::routes::resources::{s, tree};
use crate::routes::{query_one, query_pairs};
use crate::state::AppState;

/// Query parameters passed on to the Kubernetes `pods/log` subresource.
const PASSED_ON: &[&str] = &[
    "container",
    "tailLines",
    "sinceSeconds",
    "sinceTime",
    "previous",
    "timestamps",
    "limitBytes",
];

/// `GET /api/v1/applications/{name}/pods/{pod}/logs?namespace=&container=&tailLines=&sinceSeconds=`.
pub async fn pod_logs(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((name, pod)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref());
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    rbac::enforce(&state, &p, "logs", "get", &rbac_object(&app)).await?;
    if query_one(&pairs, "follow").as_deref() == Some("true") {
        return Err(ApiError::InvalidArgument(
            "follow=true is not supported yet: ask again without follow".into(),
        ));
    }
    let namespace = query_one(&pairs, "namespace").unwrap_or_default();
    let t = tree(&state, &app).await?;
    let node = t["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| {
            s(n, "/kind") == "Pod"
                && s(n, "/group").is_empty()
                && s(n, "/name") == pod
                && (namespace.is_empty() || s(n, "/namespace") == namespace)
        })
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "pod {pod} is not part of application {name}'s resource tree"
            ))
        })?;
    let ns = s(node, "/namespace").to_string();
    let mut path = format!("/api/v1/namespaces/{ns}/pods/{pod}/log");
    let passed: Vec<(&str, String)> = PASSED_ON
        .iter()
        .filter_map(|k| query_one(&pairs, k).map(|v| (*k, v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !passed.is_empty() {
        path.push('?');
        path.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(passed)
                .finish(),
        );
    }
    let request = axum::http::Request::get(&path)
        .body(Vec::new())
        .map_err(|e| ApiError::Internal(format!("building the log request: {e}")))?;
    let text = state
        .destination_client(&app)
        .await?
        .kube_client()
        .request_text(request)
        .await
        .map_err(|e| match e {
            kube::Error::Api(status) if status.code == 404 => ApiError::NotFound(format!(
                "the cluster has no log for pod {ns}/{pod}: {}",
                status.message
            )),
            kube::Error::Api(status) if status.code == 400 => {
                ApiError::FailedPrecondition(format!("log of pod {ns}/{pod}: {}", status.message))
            }
            kube::Error::Api(status) if status.code == 405 || status.code == 501 => {
                ApiError::Unavailable(format!(
                    "the cluster does not serve pod logs ({}): {}",
                    status.code, status.message
                ))
            }
            other => ApiError::Unavailable(format!("reading the log of pod {ns}/{pod}: {other}")),
        })?;
    let mut body = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        // with timestamps=true, each line starts with an RFC 3339 time
        let (stamp, content) = match line.split_once(' ') {
            Some((t, rest)) if chrono::DateTime::parse_from_rfc3339(t).is_ok() => (t, rest),
            _ => ("", line),
        };
        body.push_str(
            &json!({"result": {"content": content, "podName": pod, "timeStampStr": stamp, "last": false}})
                .to_string(),
        );
        body.push('\n');
    }
    body.push_str(&json!({"result": {"content": "", "podName": pod, "last": true}}).to_string());
    body.push('\n');
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}
