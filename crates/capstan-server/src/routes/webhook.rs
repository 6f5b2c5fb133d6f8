//! `POST /api/webhook`: push events from GitHub, GitLab, Bitbucket Cloud and Gitea/Gogs. The payload is
//! verified with the provider's secret from `argocd-secret` when one is configured (HMAC-SHA256 or
//! HMAC-SHA1 signature, token or hook UUID header, compared in constant time), then only the
//! Applications whose repository, target revision and paths the push touched are refreshed
//! (annotation `argocd.argoproj.io/refresh: normal`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use capstan_types::annotations::{MANIFEST_GENERATE_PATHS, REFRESH};
use capstan_webhook::{Push, WebhookError, parse, source_affected, verify};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::metrics::label;
use crate::project_checks::sources;
use crate::state::AppState;

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Unauthenticated(_) => ApiError::Unauthenticated(e.to_string()),
            WebhookError::UnknownProvider | WebhookError::InvalidPayload(_) => {
                ApiError::InvalidArgument(e.to_string())
            }
        }
    }
}

/// Whether a push concerns an Application (any of its sources).
pub fn app_affected(app: &Value, push: &Push) -> bool {
    let annotation = app
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(MANIFEST_GENERATE_PATHS))
        .and_then(Value::as_str);
    sources(&app["spec"])
        .iter()
        .any(|s| source_affected(s, annotation, push))
}

/// `POST /api/webhook`.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let settings = state.settings();
    // the router already refused bodies over the server's own limit; argocd-cm may set a lower one
    if let Some(max) = settings.cm.webhook_max_payload_bytes
        && body.len() as u64 > max
    {
        let message =
            format!("webhook payload over {max} bytes (argocd-cm webhook.maxPayloadSizeMB)");
        // gRPC code 8: resource exhausted
        let body = json!({"error": message, "code": 8, "message": message});
        return Ok((StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response());
    }
    let provider = verify(&headers, &body, |key| {
        settings
            .secret
            .webhook
            .get(key)
            .map(|s| s.expose().to_string())
            .filter(|s| !s.is_empty())
    })?;
    let Some(push) = parse(provider, &headers, &body)? else {
        return Ok(Json(json!({"refreshed": []})).into_response());
    };
    state.metrics.inc(
        "argocd_webhook_requests_total",
        format!(
            "repo=\"{}\"",
            label(push.urls.first().map(String::as_str).unwrap_or(""))
        ),
    );
    let (apps, _) = state
        .client
        .list(&state.types.app, Some(&state.config.namespace), None)
        .await?;
    let mut refreshed = Vec::new();
    for app in apps.iter().filter(|a| app_affected(a, &push)) {
        let name = app["metadata"]["name"].as_str().unwrap_or_default();
        let patch = json!({"metadata": {"annotations": {REFRESH: "normal"}}});
        match state
            .client
            .merge_patch(
                &state.types.app,
                Some(&state.config.namespace),
                name,
                &patch,
            )
            .await
        {
            Ok(_) => refreshed.push(name.to_string()),
            Err(e) => tracing::warn!(app = %name, error = %e, "webhook refresh failed"),
        }
    }
    tracing::info!(repo = ?push.urls.first(), revision = %push.revision, refreshed = ?refreshed, "webhook push");
    Ok(Json(json!({"refreshed": refreshed})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_is_affected_through_any_of_its_sources() {
        let push = Push {
            urls: vec!["https://github.com/org/repo".into()],
            revision: "main".into(),
            default_branch: Some("main".into()),
            changed: Some(vec!["b/x.yaml".into()]),
        };
        let app = json!({"metadata": {"name": "a"}, "spec": {"sources": [
            {"repoURL": "https://github.com/org/repo", "path": "a", "targetRevision": "main"},
            {"repoURL": "git@github.com:org/repo.git", "path": "b", "targetRevision": "HEAD"}]}});
        assert!(app_affected(&app, &push));
        let annotated = json!({"metadata": {"name": "a", "annotations": {MANIFEST_GENERATE_PATHS: "/c"}},
            "spec": {"source": {"repoURL": "https://github.com/org/repo", "path": "b"}}});
        assert!(!app_affected(&annotated, &push));
    }
}
