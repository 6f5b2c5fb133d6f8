//! `capstan repo-server`: the service over HTTP/JSON for horizontal scaling.
//!
//! * `POST /api/v1/manifests` with a [`ManifestRequest`] -> a [`crate::ManifestResponse`], or an error
//!   `{"error": message, "kind": ...}` with status 400 (bad source), 404 (missing path or revision),
//!   401 (repository authentication), 502 (repository unreachable), 504 (timeout), 422 (render
//!   failure);
//! * `GET /healthz` -> `ok`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::error::{GitError, RenderError};
use crate::service::{ManifestRequest, RepoService};

/// The HTTP routes of the repository server.
pub fn router(service: Arc<RepoService>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/manifests", post(manifests))
        .with_state(service)
}

async fn manifests(
    State(service): State<Arc<RepoService>>,
    Json(req): Json<ManifestRequest>,
) -> Response {
    match service.generate(&req).await {
        Ok(resp) => Json(resp).into_response(),
        Err(e) => {
            let (status, kind) = classify(&e);
            tracing::info!(error = %e, app = %req.app_name, "manifest generation failed");
            (status, Json(json!({"error": e.to_string(), "kind": kind}))).into_response()
        }
    }
}

fn classify(e: &RenderError) -> (StatusCode, &'static str) {
    match e {
        RenderError::Git(GitError::Authentication { .. }) => {
            (StatusCode::UNAUTHORIZED, "Authentication")
        }
        RenderError::Git(GitError::UnknownRevision { .. }) => {
            (StatusCode::NOT_FOUND, "UnknownRevision")
        }
        RenderError::Git(GitError::Timeout { .. }) => (StatusCode::GATEWAY_TIMEOUT, "Timeout"),
        RenderError::Git(GitError::InvalidUrl { .. }) => (StatusCode::BAD_REQUEST, "InvalidUrl"),
        RenderError::Git(_) => (StatusCode::BAD_GATEWAY, "Unreachable"),
        RenderError::MissingPath { .. } => (StatusCode::NOT_FOUND, "MissingPath"),
        RenderError::OutsideRepository { .. } => (StatusCode::BAD_REQUEST, "OutsideRepository"),
        RenderError::InvalidSource(_) => (StatusCode::BAD_REQUEST, "InvalidSource"),
        RenderError::Manifest(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Manifest"),
        RenderError::Tool { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Tool"),
        RenderError::Io { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "Io"),
        RenderError::Remote { .. } => (StatusCode::BAD_GATEWAY, "Remote"),
    }
}
