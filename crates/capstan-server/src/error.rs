//! The one error type of every endpoint, answered as Argo CD's grpc-gateway does:
//! `{"error": <message>, "code": <gRPC code>, "message": <message>}` with the matching HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use capstan_kube::KubeError;
use serde_json::json;

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials (missing, wrong, tampered or expired token; wrong password).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but RBAC does not allow it. The text names the missing permission.
    #[error("{0}")]
    PermissionDenied(String),
    /// The request is malformed or invalid.
    #[error("{0}")]
    InvalidArgument(String),
    /// The object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The object exists already (or changed meanwhile).
    #[error("{0}")]
    AlreadyExists(String),
    /// The object is not in a state that allows the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Too many attempts.
    #[error("{0}")]
    ResourceExhausted(String),
    /// A component the request needs is not running here.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (cluster errors, bugs).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The gRPC code and HTTP status, as grpc-gateway maps them.
    pub fn codes(&self) -> (u16, StatusCode) {
        match self {
            ApiError::InvalidArgument(_) => (3, StatusCode::BAD_REQUEST),
            ApiError::NotFound(_) => (5, StatusCode::NOT_FOUND),
            ApiError::AlreadyExists(_) => (6, StatusCode::CONFLICT),
            ApiError::PermissionDenied(_) => (7, StatusCode::FORBIDDEN),
            ApiError::ResourceExhausted(_) => (8, StatusCode::TOO_MANY_REQUESTS),
            ApiError::FailedPrecondition(_) => (9, StatusCode::BAD_REQUEST),
            ApiError::Internal(_) => (13, StatusCode::INTERNAL_SERVER_ERROR),
            ApiError::Unavailable(_) => (14, StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Unauthenticated(_) => (16, StatusCode::UNAUTHORIZED),
        }
    }

    /// `permission denied: <resource>, <action>, <object>, sub: <subject>`.
    pub fn denied(resource: &str, action: &str, object: &str, subject: &str) -> ApiError {
        ApiError::PermissionDenied(format!(
            "permission denied: {resource}, {action}, {object}, sub: {subject}"
        ))
    }
}

impl From<KubeError> for ApiError {
    fn from(err: KubeError) -> Self {
        match &err {
            KubeError::NotFound { .. } => ApiError::NotFound(err.to_string()),
            KubeError::Conflict { .. } => ApiError::AlreadyExists(err.to_string()),
            KubeError::Api { code: 422, .. } | KubeError::Api { code: 400, .. } => {
                ApiError::InvalidArgument(err.to_string())
            }
            KubeError::InvalidObject(_) => ApiError::InvalidArgument(err.to_string()),
            KubeError::Connection { .. } => ApiError::Unavailable(err.to_string()),
            _ => ApiError::Internal(err.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.codes();
        let message = self.to_string();
        let mut response = (
            status,
            Json(json!({"error": message, "code": code, "message": message})),
        )
            .into_response();
        // the logging middleware reads the outcome from here
        response.extensions_mut().insert(Outcome(message));
        response
    }
}

/// The error message of a failed request, for the request log.
#[derive(Debug, Clone)]
pub struct Outcome(pub String);

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
