//! `/api/v1/account`: local accounts, password change, API keys and `can-i`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::jwt::{self, Claims};
use crate::auth::session::{
    self, Auth, LocalAccount, PrincipalKind, TokenRecord, account_tokens, local_account,
    local_accounts, mtime_now, now, password_of,
};
use crate::auth::{Principal, password};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::rbac;
use crate::state::{AppState, Settings};

fn account_json(settings: &Settings, a: &LocalAccount) -> Value {
    let mut caps = Vec::new();
    if a.login {
        caps.push("login");
    }
    if a.api_key {
        caps.push("apiKey");
    }
    let tokens: Vec<Value> = account_tokens(settings, &a.name)
        .into_iter()
        .map(|t| json!({"id": t.id, "issuedAt": t.issued_at, "expiresAt": t.expires_at}))
        .collect();
    json!({"name": a.name, "enabled": a.enabled, "capabilities": caps, "tokens": tokens})
}

/// `GET /api/v1/account`: the accounts the caller may read.
pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let settings = state.settings();
    let mut items = Vec::new();
    for a in local_accounts(&settings) {
        if a.name == p.subject || rbac::allowed(&state, &p, "accounts", "get", &a.name).await? {
            items.push(account_json(&settings, &a));
        }
    }
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/account/{name}`.
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    if name != p.subject {
        rbac::enforce(&state, &p, "accounts", "get", &name).await?;
    }
    let settings = state.settings();
    let a = local_account(&settings, &name)
        .ok_or_else(|| ApiError::NotFound(format!("account '{name}' does not exist")))?;
    Ok(Json(account_json(&settings, &a)))
}

/// `PUT /api/v1/account/password` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePasswordRequest {
    /// The caller's current password.
    #[serde(default)]
    pub current_password: String,
    /// The new password.
    #[serde(default)]
    pub new_password: String,
    /// Account to change (the caller's own when empty).
    #[serde(default)]
    pub name: String,
}

fn local_caller(p: &Principal) -> Result<&str, ApiError> {
    match p.kind {
        PrincipalKind::Session | PrincipalKind::ApiKey => Ok(&p.subject),
        _ => Err(ApiError::PermissionDenied(
            "only local accounts have passwords and API keys".into(),
        )),
    }
}

/// `PUT /api/v1/account/password`: checks the caller's current password; changing another account's
/// password needs `accounts, update, <name>`. Every session issued before the change stops working.
pub async fn update_password(
    State(state): State<AppState>,
    Auth(p): Auth,
    JsonBody(req): JsonBody<UpdatePasswordRequest>,
) -> ApiResult<Json<Value>> {
    let caller = local_caller(&p)?.to_string();
    let target = if req.name.is_empty() {
        caller.clone()
    } else {
        req.name.clone()
    };
    if target != caller {
        rbac::enforce(&state, &p, "accounts", "update", &target).await?;
    }
    let settings = state.settings();
    if local_account(&settings, &target).is_none() {
        return Err(ApiError::NotFound(format!(
            "account '{target}' does not exist"
        )));
    }
    let (hash, _) = password_of(&settings, &caller);
    let current = req.current_password.clone();
    let ok = match hash {
        Some(h) => tokio::task::spawn_blocking(move || password::verify(&current, &h))
            .await
            .unwrap_or(false),
        None => false,
    };
    if !ok {
        return Err(ApiError::InvalidArgument(
            "current password does not match".into(),
        ));
    }
    password::validate_new_password(&req.new_password).map_err(ApiError::InvalidArgument)?;
    let new = req.new_password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&new))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)?;
    let mtime = mtime_now();
    let (hash_key, mtime_key) = if target == "admin" {
        (
            "admin.password".to_string(),
            "admin.passwordMtime".to_string(),
        )
    } else {
        (
            format!("accounts.{target}.password"),
            format!("accounts.{target}.passwordMtime"),
        )
    };
    state
        .update_argocd_secret(&[(&hash_key, Some(&hash)), (&mtime_key, Some(&mtime))])
        .await?;
    tracing::info!(account = %target, by = %caller, "password changed");
    Ok(Json(json!({})))
}

/// `POST /api/v1/account/{name}/token` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTokenRequest {
    /// Lifetime in seconds (0 = no expiry).
    #[serde(default)]
    pub expires_in: i64,
    /// Token id (random when empty).
    #[serde(default)]
    pub id: String,
}

/// `POST /api/v1/account/{name}/token`: an API key for an account with the `apiKey` capability,
/// recorded (id, issue and expiry times) in `accounts.<name>.tokens`.
pub async fn create_token(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<CreateTokenRequest>,
) -> ApiResult<Json<Value>> {
    if name != p.subject || local_caller(&p).is_err() {
        rbac::enforce(&state, &p, "accounts", "update", &name).await?;
    }
    let settings = state.settings();
    let account = local_account(&settings, &name)
        .ok_or_else(|| ApiError::NotFound(format!("account '{name}' does not exist")))?;
    if !account.api_key {
        return Err(ApiError::InvalidArgument(format!(
            "account '{name}' does not have 'apiKey' capability"
        )));
    }
    let mut tokens = account_tokens(&settings, &name);
    let id = if req.id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        req.id.clone()
    };
    if tokens.iter().any(|t| t.id == id) {
        return Err(ApiError::AlreadyExists(format!(
            "account '{name}' already has a token with id '{id}'"
        )));
    }
    let iat = now();
    let exp = (req.expires_in > 0).then(|| iat + req.expires_in);
    let claims = Claims {
        iss: jwt::ISSUER.to_string(),
        sub: name.clone(),
        iat,
        nbf: Some(iat),
        exp,
        jti: id.clone(),
        groups: Vec::new(),
    };
    let token = session::issue(&settings, &claims)?;
    tokens.push(TokenRecord {
        id,
        issued_at: iat,
        expires_at: exp.unwrap_or(0),
    });
    let text = serde_json::to_string(&tokens).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .update_argocd_secret(&[(&format!("accounts.{name}.tokens"), Some(&text))])
        .await?;
    Ok(Json(json!({"token": token})))
}

/// `DELETE /api/v1/account/{name}/token/{id}`: revokes an API key.
pub async fn delete_token(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    if name != p.subject || local_caller(&p).is_err() {
        rbac::enforce(&state, &p, "accounts", "update", &name).await?;
    }
    let settings = state.settings();
    let mut tokens = account_tokens(&settings, &name);
    let before = tokens.len();
    tokens.retain(|t| t.id != id);
    if tokens.len() == before {
        return Err(ApiError::NotFound(format!(
            "account '{name}' has no token with id '{id}'"
        )));
    }
    let text = serde_json::to_string(&tokens).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .update_argocd_secret(&[(&format!("accounts.{name}.tokens"), Some(&text))])
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/account/can-i/{resource}/{action}/{subresource}`: `{"value": "yes"|"no"}`.
pub async fn can_i(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((resource, action, subresource)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let object = subresource.trim_start_matches('/');
    let yes = rbac::allowed(&state, &p, &resource, &action, object).await?;
    Ok(Json(json!({"value": if yes { "yes" } else { "no" }})))
}
