//! `/api/v1/repositories` and `/api/v1/repocreds`: labelled Secrets, as Argo CD stores them.
//! Passwords, keys and tokens are written but never returned.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use capstan_settings::{RepoCreds, Repository, secret_data};
use capstan_types::annotations::{SECRET_TYPE, secret_type};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::auth::session::Auth;
use crate::body::JsonBody;
use crate::connection::ConnectionState;
use crate::error::{ApiError, ApiResult};
use crate::rbac;
use crate::routes::{query_one, query_pairs};
use crate::state::{AppState, encode_data};

/// Argo CD's Secret name for a URL: `<prefix>-<FNV-32a of the URL>`.
pub fn secret_name(prefix: &str, url: &str) -> String {
    let mut hash: u32 = 2_166_136_261;
    for b in url.as_bytes() {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(16_777_619);
    }
    format!("{prefix}-{hash}")
}

/// URLs compare without a trailing slash or `.git`, case-insensitively.
pub fn same_url(a: &str, b: &str) -> bool {
    let n = |s: &str| {
        s.trim()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_lowercase()
    };
    n(a) == n(b)
}

/// Request fields copied into the Secret (camelCase in the API, the same keys in the Secret).
const FIELDS: &[&str] = &[
    "type",
    "name",
    "project",
    "username",
    "password",
    "sshPrivateKey",
    "tlsClientCertData",
    "tlsClientCertKey",
    "insecure",
    "enableLfs",
    "enableOCI",
    "proxy",
    "noProxy",
    "githubAppPrivateKey",
    "githubAppID",
    "githubAppInstallationID",
    "githubAppEnterpriseBaseUrl",
    "forceHttpBasicAuth",
    "bearerToken",
    "gcpServiceAccountKey",
    "insecureIgnoreHostKey",
];

fn rbac_object(project: Option<&str>, url: &str) -> String {
    match project.filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/{url}"),
        None => url.to_string(),
    }
}

/// A URL without the password of its user information (`https://user:secret@host/r` answers as
/// `https://user@host/r`): credentials embedded in a repository URL are never returned.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn public_repo(r: &Repository, connection: &ConnectionState) -> Value {
    let c = &r.creds;
    json!({
        "repo": without_password(&c.url),
        "type": serde_json::to_value(c.repo_type).unwrap_or(Value::Null),
        "name": r.name.clone().unwrap_or_default(),
        "project": c.project.clone().unwrap_or_default(),
        "username": c.username.clone().unwrap_or_default(),
        "insecure": c.insecure,
        "enableLfs": c.enable_lfs,
        "enableOCI": c.enable_oci,
        "proxy": c.proxy.clone().unwrap_or_default(),
        "noProxy": c.no_proxy.clone().unwrap_or_default(),
        "forceHttpBasicAuth": c.force_http_basic_auth,
        "hasCredentials": r.creds.has_credentials(),
        "connectionState": connection.to_json(),
    })
}

fn public_creds(c: &RepoCreds) -> Value {
    json!({
        "url": without_password(&c.url),
        "type": serde_json::to_value(c.repo_type).unwrap_or(Value::Null),
        "username": c.username.clone().unwrap_or_default(),
        "enableOCI": c.enable_oci,
        "forceHttpBasicAuth": c.force_http_basic_auth,
        "proxy": c.proxy.clone().unwrap_or_default(),
        "noProxy": c.no_proxy.clone().unwrap_or_default(),
    })
}

async fn labelled(state: &AppState, kind: &str) -> ApiResult<Vec<Value>> {
    let selector = format!("{SECRET_TYPE}={kind}");
    Ok(state
        .client
        .list(
            &state.types.secret,
            Some(&state.config.namespace),
            Some(&selector),
        )
        .await?
        .0)
}

async fn templates(state: &AppState) -> ApiResult<Vec<RepoCreds>> {
    Ok(labelled(state, secret_type::REPO_CREDS)
        .await?
        .iter()
        .filter_map(|s| RepoCreds::from_secret(s).ok())
        .collect())
}

async fn repositories(state: &AppState) -> ApiResult<Vec<Repository>> {
    let mut out = Vec::new();
    for s in labelled(state, secret_type::REPOSITORY).await? {
        match Repository::from_secret(&s) {
            Ok(r) => out.push(r),
            Err(e) => tracing::warn!(error = %e, "skipping an invalid repository Secret"),
        }
    }
    Ok(out)
}

/// `GET /api/v1/repositories?forceRefresh=`: each with its connection state (tested with its
/// credentials, reused for a minute unless `forceRefresh=true`).
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let refresh =
        query_one(&query_pairs(query.as_deref()), "forceRefresh").as_deref() == Some("true");
    let templates = templates(&state).await?;
    let mut items = Vec::new();
    for r in repositories(&state).await? {
        let object = rbac_object(r.creds.project.as_deref(), &r.creds.url);
        if rbac::allowed(&state, &p, "repositories", "get", &object).await? {
            let connection = state.connections.repository(&r, &templates, refresh).await;
            items.push(public_repo(&r, &connection));
        }
    }
    Ok(Json(json!({"metadata": {}, "items": items})))
}

/// `GET /api/v1/repositories/{repo}?forceRefresh=` (URL-encoded).
pub async fn get_one(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(repo): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let refresh =
        query_one(&query_pairs(query.as_deref()), "forceRefresh").as_deref() == Some("true");
    let r = repositories(&state)
        .await?
        .into_iter()
        .find(|r| same_url(&r.creds.url, &repo))
        .ok_or_else(|| ApiError::NotFound(format!("repo '{repo}' not found")))?;
    let object = rbac_object(r.creds.project.as_deref(), &r.creds.url);
    if !rbac::allowed(&state, &p, "repositories", "get", &object).await? {
        // the same answer as for a repository that does not exist
        return Err(ApiError::NotFound(format!("repo '{repo}' not found")));
    }
    let templates = templates(&state).await?;
    let connection = state.connections.repository(&r, &templates, refresh).await;
    Ok(Json(public_repo(&r, &connection)))
}

fn string_field(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn write_secret(
    state: &AppState,
    p: &Principal,
    body: &Value,
    url_key: &str,
    kind: &str,
    prefix: &str,
    upsert: bool,
) -> ApiResult<Value> {
    let url = string_field(body, url_key)
        .ok_or_else(|| ApiError::InvalidArgument(format!("{url_key} is required")))?;
    let project = string_field(body, "project");
    let object = rbac_object(project.as_deref(), &url);
    rbac::enforce(state, p, "repositories", "create", &object).await?;
    let name = secret_name(prefix, &url);
    let mut pairs: Vec<(String, String)> = vec![("url".to_string(), url.clone())];
    for key in FIELDS {
        if let Some(v) = string_field(body, key) {
            pairs.push(((*key).to_string(), v));
        }
    }
    let borrowed: Vec<(&str, Option<&str>)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": name, "namespace": state.config.namespace,
            "labels": {SECRET_TYPE: kind},
            "annotations": {"managed-by": "argocd.argoproj.io"},
        },
        "type": "Opaque",
        "data": encode_data(&borrowed),
    });
    let existing = state
        .client
        .get(&state.types.secret, Some(&state.config.namespace), &name)
        .await?;
    let stored = match existing {
        Some(mut old) => {
            if !upsert {
                return Err(ApiError::InvalidArgument(format!(
                    "existing {kind} spec is different; use upsert flag to force update"
                )));
            }
            rbac::enforce(state, p, "repositories", "update", &object).await?;
            // the Secret being replaced may belong to another project: rights there too
            let old_project = secret_data(&old)
                .ok()
                .and_then(|d| d.get("project").cloned());
            let old_object = rbac_object(old_project.as_deref(), &url);
            if old_object != object {
                rbac::enforce(state, p, "repositories", "update", &old_object).await?;
            }
            old["data"] = secret["data"].clone();
            old["metadata"]["labels"] = secret["metadata"]["labels"].clone();
            state.client.replace(&old, false).await?
        }
        None => state.client.create(&secret, false).await?,
    };
    Ok(stored)
}

/// `POST /api/v1/repositories?upsert=`: body is Argo CD's Repository (`repo`, `type`, `username`,
/// `password`, `sshPrivateKey`, `project`, ...). The answer carries no secret.
pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let upsert = query_one(&query_pairs(query.as_deref()), "upsert").as_deref() == Some("true")
        || body.get("upsert") == Some(&Value::Bool(true));
    let stored = write_secret(
        &state,
        &p,
        &body,
        "repo",
        secret_type::REPOSITORY,
        "repo",
        upsert,
    )
    .await?;
    let repo =
        Repository::from_secret(&stored).map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    let templates = templates(&state).await?;
    let connection = state.connections.repository(&repo, &templates, true).await;
    Ok(Json(public_repo(&repo, &connection)))
}

/// `DELETE /api/v1/repositories/{repo}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(repo): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = repositories(&state)
        .await?
        .into_iter()
        .find(|r| same_url(&r.creds.url, &repo))
        .ok_or_else(|| ApiError::NotFound(format!("repo '{repo}' not found")))?;
    let object = rbac_object(r.creds.project.as_deref(), &r.creds.url);
    if !rbac::allowed(&state, &p, "repositories", "get", &object).await? {
        return Err(ApiError::NotFound(format!("repo '{repo}' not found")));
    }
    rbac::enforce(&state, &p, "repositories", "delete", &object).await?;
    state
        .client
        .delete(
            &state.types.secret,
            Some(&state.config.namespace),
            &r.secret_name,
            &Default::default(),
        )
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/repositories/{repo}/validate` (Argo CD's `ValidateAccess`): tests whether the
/// repository can be reached with the credentials in the body (Argo CD's `RepoAccessQuery`: `repo`,
/// `type`, `username`, `password`, `sshPrivateKey`, `insecure`, `project`, ...) without storing
/// anything. As in Argo CD it needs `repositories, create` on the repository. Repository
/// credential templates (`repocreds`) apply when the body has none. The answer is `{}` when the
/// connection works; otherwise 400 with the test's message. The path is matched as a wildcard
/// (repository URLs contain slashes), so it must end in `/validate`.
pub async fn validate(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(path): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Some(from_path) = path.strip_suffix("/validate") else {
        return Err(ApiError::NotFound(format!(
            "no such route: POST /api/v1/repositories/{path}"
        )));
    };
    let url = string_field(&body, "repo").unwrap_or_else(|| from_path.to_string());
    if url.trim().is_empty() {
        return Err(ApiError::InvalidArgument("repo is required".into()));
    }
    let project = string_field(&body, "project");
    rbac::enforce(
        &state,
        &p,
        "repositories",
        "create",
        &rbac_object(project.as_deref(), &url),
    )
    .await?;
    // the same parsing as a stored repository: a Secret that is never written
    let mut pairs: Vec<(String, String)> = vec![("url".to_string(), url.clone())];
    for key in FIELDS {
        if let Some(v) = string_field(&body, key) {
            pairs.push(((*key).to_string(), v));
        }
    }
    let borrowed: Vec<(&str, Option<&str>)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": secret_name("repo", &url), "namespace": state.config.namespace,
            "labels": {SECRET_TYPE: secret_type::REPOSITORY}},
        "data": encode_data(&borrowed),
    });
    let repo =
        Repository::from_secret(&secret).map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    let templates = templates(&state).await?;
    let connection = state.connections.repository(&repo, &templates, true).await;
    match connection.status {
        "Successful" => Ok(Json(json!({}))),
        _ => Err(ApiError::InvalidArgument(format!(
            "unable to connect to repository {url}: {}",
            connection.message
        ))),
    }
}

/// `GET /api/v1/repocreds`.
pub async fn list_creds(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let mut items = Vec::new();
    for s in labelled(&state, secret_type::REPO_CREDS).await? {
        let Ok(c) = RepoCreds::from_secret(&s) else {
            continue;
        };
        if rbac::allowed(&state, &p, "repositories", "get", &c.url).await? {
            items.push(public_creds(&c));
        }
    }
    Ok(Json(json!({"metadata": {}, "items": items})))
}

/// `POST /api/v1/repocreds?upsert=`: body `url`, `username`, `password`, `sshPrivateKey`, ...
pub async fn create_creds(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let upsert = query_one(&query_pairs(query.as_deref()), "upsert").as_deref() == Some("true");
    let stored = write_secret(
        &state,
        &p,
        &body,
        "url",
        secret_type::REPO_CREDS,
        "creds",
        upsert,
    )
    .await?;
    let creds =
        RepoCreds::from_secret(&stored).map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
    Ok(Json(public_creds(&creds)))
}

/// `DELETE /api/v1/repocreds/{url}`.
pub async fn delete_creds(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(url): Path<String>,
) -> ApiResult<Json<Value>> {
    rbac::enforce(&state, &p, "repositories", "delete", &url).await?;
    for s in labelled(&state, secret_type::REPO_CREDS).await? {
        let data = secret_data(&s).unwrap_or_default();
        if data.get("url").is_some_and(|u| same_url(u, &url)) {
            let name = s["metadata"]["name"].as_str().unwrap_or_default();
            state
                .client
                .delete(
                    &state.types.secret,
                    Some(&state.config.namespace),
                    name,
                    &Default::default(),
                )
                .await?;
            return Ok(Json(json!({})));
        }
    }
    Err(ApiError::NotFound(format!(
        "repository credentials '{url}' not found"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_argo_cds() {
        // FNV-32a, as Argo CD's RepoURLToSecretName
        assert_eq!(secret_name("repo", ""), "repo-2166136261");
        assert_eq!(secret_name("repo", "a"), "repo-3826002220");
        assert!(same_url(
            "https://github.com/a/b.git",
            "https://github.com/A/b/"
        ));
    }
}
