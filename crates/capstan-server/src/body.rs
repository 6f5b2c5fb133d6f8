//! Request bodies: JSON whatever the Content-Type says (grpc-gateway reads `curl -d '{...}'`, which
//! is sent as a form, just the same); an empty body reads as `{}`; a malformed body is a 400 in Argo
//! CD's error shape naming the problem.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::InvalidArgument(format!("reading the request body: {}", e.body_text()))
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(JsonBody)
            .map_err(|e| ApiError::InvalidArgument(format!("invalid JSON body: {e}")))
    }
}
