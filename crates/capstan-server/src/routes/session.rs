//! `/api/v1/session`: log in (a JWT for user name and password), log out, user info.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::session::{self, Auth, authenticate};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `POST /api/v1/session` body.
#[derive(Debug, Default, Deserialize)]
pub struct SessionCreateRequest {
    /// User name.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// A token to check instead of a password (Argo CD's `token` field).
    #[serde(default)]
    pub token: String,
}

/// `POST /api/v1/session`: `{"token": "<jwt>"}`, also set as the `argocd.token` cookie
/// (HttpOnly, SameSite=Strict: the browser never sends it cross-site, which is the CSRF protection).
pub async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<SessionCreateRequest>,
) -> ApiResult<impl IntoResponse> {
    if req.username.is_empty() && !req.token.is_empty() {
        // validate an existing token
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = format!("Bearer {}", req.token).parse() {
            headers.insert(header::AUTHORIZATION, v);
        }
        authenticate(&state, &headers).await?;
        return Ok(token_response(&state, req.token));
    }
    if req.username.is_empty() {
        return Err(ApiError::InvalidArgument("username is required".into()));
    }
    let token = session::login(&state, &req.username, &req.password, peer.ip()).await?;
    Ok(token_response(&state, token))
}

fn token_response(state: &AppState, token: String) -> impl IntoResponse + use<> {
    let max_age = state.settings().cm.session_duration.as_secs();
    let cookie =
        format!("argocd.token={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict");
    (
        [(header::SET_COOKIE, cookie)],
        Json(json!({"token": token})),
    )
}

/// `DELETE /api/v1/session`: clears the cookie.
pub async fn delete(Auth(_p): Auth) -> impl IntoResponse {
    (
        [(
            header::SET_COOKIE,
            "argocd.token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict".to_string(),
        )],
        Json(json!({})),
    )
}

/// `GET /api/v1/session/userinfo`.
pub async fn userinfo(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Json<Value> {
    match authenticate(&state, &headers).await {
        Ok(p) => Json(json!({
            "loggedIn": true,
            "username": p.subject,
            "iss": p.claims.as_ref().map(|c| c.iss.clone()).unwrap_or_default(),
            "groups": p.groups,
        })),
        Err(_) => Json(json!({"loggedIn": false})),
    }
}
