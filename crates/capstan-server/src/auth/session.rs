//! Who is calling: tokens from `Authorization: Bearer` or the `argocd.token` cookie, checked against
//! the signing key, the account (enabled, capability, password change) and, for project role tokens,
//! the AppProject's role and its recorded token ids. Also login and token issuing.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use capstan_settings::AccountCapability;
use serde_json::Value;

use crate::auth::jwt::{self, Claims};
use crate::auth::password;
use crate::error::ApiError;
use crate::state::{AppState, Settings};

/// What kind of credentials the caller used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A session of a local account (admin or accounts.<name>), from a login.
    Session,
    /// An API key of a local account.
    ApiKey,
    /// A project role token.
    ProjectRole {
        /// Project.
        project: String,
        /// Role.
        role: String,
    },
    /// No token, with `users.anonymous.enabled`.
    Anonymous,
    /// A session from single sign-on (OIDC).
    Sso,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// RBAC subject (user name or `proj:<project>:<role>`).
    pub subject: String,
    /// RBAC groups.
    pub groups: Vec<String>,
    /// Kind.
    pub kind: PrincipalKind,
    /// The token's claims.
    pub claims: Option<Claims>,
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A password modification time for "now", rounded up to the next whole second so that every token
/// issued before the change (JWT times have second precision) is older than it.
pub fn mtime_now() -> String {
    let next = now() + 1;
    chrono::DateTime::from_timestamp(next, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_mtime(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// The token of a request, if any.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    token_source(headers).map(|(t, _)| t)
}

/// The token of a request and whether it came from the `argocd.token` cookie.
pub fn token_source(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok())
        && let Some(token) = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
    {
        return Some((token.trim().to_string(), false));
    }
    for cookie in headers.get_all("cookie") {
        let Ok(text) = cookie.to_str() else { continue };
        for part in text.split(';') {
            if let Some(v) = part.trim().strip_prefix("argocd.token=") {
                return Some((v.to_string(), true));
            }
        }
    }
    None
}

/// CSRF protection for cookie sessions: a state-changing request authenticated by the cookie must
/// come from a page of this server (its `Origin`, or else `Referer`, names the same host). The
/// cookie is also `SameSite=Strict`. Requests with a bearer token are not affected.
pub fn check_csrf(method: &axum::http::Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(
        *method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    ) || !token_source(headers).is_some_and(|(_, cookie)| cookie)
    {
        return Ok(());
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin = headers
        .get("origin")
        .or_else(|| headers.get("referer"))
        .and_then(|v| v.to_str().ok())
        .and_then(|o| url::Url::parse(o).ok());
    let same = origin.is_some_and(|u| {
        let authority = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        !host.is_empty() && authority.eq_ignore_ascii_case(host)
    });
    if same {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(
            "CSRF check failed: a request authenticated by the session cookie must come from this server's origin".into(),
        ))
    }
}

/// A local account as the API server sees it.
#[derive(Debug, Clone)]
pub struct LocalAccount {
    /// Name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// May log in with a password.
    pub login: bool,
    /// May have API keys.
    pub api_key: bool,
}

/// The local account `name` (admin included), if configured.
pub fn local_account(settings: &Settings, name: &str) -> Option<LocalAccount> {
    let configured = settings.cm.accounts.get(name);
    if name == "admin" {
        let caps = configured.map(|a| a.capabilities.clone());
        return Some(LocalAccount {
            name: name.to_string(),
            enabled: settings.cm.admin_enabled,
            login: caps
                .as_ref()
                .is_none_or(|c| c.contains(&AccountCapability::Login)),
            api_key: caps
                .as_ref()
                .is_some_and(|c| c.contains(&AccountCapability::ApiKey)),
        });
    }
    configured.map(|a| LocalAccount {
        name: name.to_string(),
        enabled: a.enabled,
        login: a.capabilities.contains(&AccountCapability::Login),
        api_key: a.capabilities.contains(&AccountCapability::ApiKey),
    })
}

/// Every local account, admin first.
pub fn local_accounts(settings: &Settings) -> Vec<LocalAccount> {
    let mut out: Vec<LocalAccount> = local_account(settings, "admin").into_iter().collect();
    for name in settings.cm.accounts.keys().filter(|n| *n != "admin") {
        out.extend(local_account(settings, name));
    }
    out
}

/// The password hash and modification time of a local account.
pub fn password_of(settings: &Settings, name: &str) -> (Option<String>, Option<i64>) {
    if name == "admin" {
        (
            settings
                .secret
                .admin_password_hash
                .as_ref()
                .map(|s| s.expose().to_string()),
            settings
                .secret
                .admin_password_mtime
                .as_deref()
                .and_then(parse_mtime),
        )
    } else {
        (
            settings
                .secret
                .account_password_hashes
                .get(name)
                .map(|s| s.expose().to_string()),
            settings
                .secret
                .account_password_mtimes
                .get(name)
                .and_then(|t| parse_mtime(t)),
        )
    }
}

/// An API key recorded for an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// Token id (the `jti`).
    pub id: String,
    /// Issued at.
    pub issued_at: i64,
    /// Expiry (0 = never).
    #[serde(default)]
    pub expires_at: i64,
}

/// The API keys of an account, from `accounts.<name>.tokens`.
pub fn account_tokens(settings: &Settings, name: &str) -> Vec<TokenRecord> {
    settings
        .secret
        .account_tokens
        .get(name)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn signing_key(settings: &Settings) -> Result<Vec<u8>, ApiError> {
    settings
        .secret
        .server_secret_key
        .as_ref()
        .map(|k| k.expose().as_bytes().to_vec())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::Unavailable("server.secretkey is missing in argocd-secret".into()))
}

/// Signs a token.
pub fn issue(settings: &Settings, claims: &Claims) -> Result<String, ApiError> {
    jwt::encode(&signing_key(settings)?, claims).map_err(|e| ApiError::Internal(e.to_string()))
}

fn invalid(reason: impl std::fmt::Display) -> ApiError {
    ApiError::Unauthenticated(format!("invalid session: {reason}"))
}

/// Authenticates a request.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let settings = state.settings();
    let Some(token) = token_of(headers) else {
        if settings.cm.anonymous_enabled {
            return Ok(Principal {
                subject: String::new(),
                groups: Vec::new(),
                kind: PrincipalKind::Anonymous,
                claims: None,
            });
        }
        return Err(ApiError::Unauthenticated("no session information".into()));
    };
    if crate::auth::oidc::token_header(&token).is_some_and(|(alg, _)| alg == "RS256") {
        return authenticate_id_token(state, &settings, &token).await;
    }
    let claims = jwt::decode(&signing_key(&settings)?, &token, now()).map_err(invalid)?;
    if claims.iss != jwt::ISSUER {
        // an SSO session: valid while the same provider is configured
        let issuer = crate::auth::oidc::OidcSettings::from_settings(&settings)
            .ok()
            .flatten()
            .map(|o| o.issuer);
        if issuer.as_deref() != Some(claims.iss.trim_end_matches('/')) {
            return Err(invalid(
                "the SSO provider of this session is not configured",
            ));
        }
        return Ok(Principal {
            subject: claims.sub.clone(),
            groups: claims.groups.clone(),
            kind: PrincipalKind::Sso,
            claims: Some(claims),
        });
    }
    if let Some(rest) = claims.sub.strip_prefix("proj:") {
        let Some((project, role)) = rest.split_once(':') else {
            return Err(invalid("malformed project role subject"));
        };
        check_project_token(state, project, role, &claims).await?;
        return Ok(Principal {
            subject: claims.sub.clone(),
            groups: Vec::new(),
            kind: PrincipalKind::ProjectRole {
                project: project.to_string(),
                role: role.to_string(),
            },
            claims: Some(claims),
        });
    }
    let Some(account) = local_account(&settings, &claims.sub) else {
        return Err(invalid(format!("account {} does not exist", claims.sub)));
    };
    if !account.enabled {
        return Err(invalid(format!("account {} is disabled", account.name)));
    }
    let is_api_key = account_tokens(&settings, &account.name)
        .iter()
        .any(|t| !claims.jti.is_empty() && t.id == claims.jti);
    let kind = if is_api_key {
        if !account.api_key {
            return Err(invalid(format!(
                "account {} does not have the apiKey capability",
                account.name
            )));
        }
        PrincipalKind::ApiKey
    } else {
        if !account.login {
            return Err(invalid(format!(
                "account {} does not have the login capability",
                account.name
            )));
        }
        let (_, mtime) = password_of(&settings, &account.name);
        if mtime.is_some_and(|m| claims.iat < m) {
            return Err(invalid(
                "the password has changed since this token was issued",
            ));
        }
        PrincipalKind::Session
    };
    Ok(Principal {
        subject: claims.sub.clone(),
        groups: claims.groups.clone(),
        kind,
        claims: Some(claims),
    })
}

/// An ID token of the configured OpenID provider used as a bearer token (what `capstan login --sso`
/// stores, as `argocd login --sso` does): RS256 signature by the provider's keys, issuer, audience
/// (`clientID` or `cliClientID`) and expiry; the claims named by `scopes` become the groups.
async fn authenticate_id_token(
    state: &AppState,
    settings: &Settings,
    token: &str,
) -> Result<Principal, ApiError> {
    let oidc = crate::auth::oidc::OidcSettings::from_settings(settings)
        .ok()
        .flatten()
        .ok_or_else(|| invalid("an ID token was given but SSO is not configured"))?;
    let kid = crate::auth::oidc::token_header(token).and_then(|(_, kid)| kid);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| ApiError::Internal(format!("HTTP client: {e}")))?;
    let jwks = state
        .provider_keys
        .jwks(&http, &oidc.issuer, kid.as_deref())
        .await?;
    let mut audiences = vec![oidc.client_id.as_str()];
    if let Some(cli) = &oidc.cli_client_id {
        audiences.push(cli.as_str());
    }
    let claims = crate::auth::oidc::verify_with_keys(&jwks, &oidc, token, &audiences, None, now())?;
    let subject = claims["sub"].as_str().unwrap_or_default().to_string();
    if subject.is_empty() {
        return Err(invalid("the ID token has no subject"));
    }
    let groups = crate::auth::oidc::groups(&claims, &settings.rbac.scopes);
    Ok(Principal {
        subject: subject.clone(),
        groups: groups.clone(),
        kind: PrincipalKind::Sso,
        claims: Some(jwt::Claims {
            iss: oidc.issuer.clone(),
            sub: subject,
            iat: claims["iat"].as_i64().unwrap_or_default(),
            nbf: None,
            exp: claims["exp"].as_i64(),
            jti: claims["jti"].as_str().unwrap_or_default().to_string(),
            groups,
        }),
    })
}

/// A project role token is valid while its role exists and lists the token (by id, or by issue time
/// for tokens without an id).
async fn check_project_token(
    state: &AppState,
    project: &str,
    role: &str,
    claims: &Claims,
) -> Result<(), ApiError> {
    let proj = state
        .client
        .get(&state.types.project, Some(&state.config.namespace), project)
        .await?
        .ok_or_else(|| invalid(format!("project {project} does not exist")))?;
    let roles = proj
        .pointer("/spec/roles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(r) = roles.iter().find(|r| r["name"] == role) else {
        return Err(invalid(format!(
            "role {role} does not exist in project {project}"
        )));
    };
    let mut tokens: Vec<Value> = r["jwtTokens"].as_array().cloned().unwrap_or_default();
    if let Some(items) = proj
        .pointer(&format!("/status/jwtTokensByRole/{role}/items"))
        .and_then(Value::as_array)
    {
        tokens.extend(items.iter().cloned());
    }
    let listed = tokens.iter().any(|t| {
        let id = t["id"].as_str().unwrap_or_default();
        if !id.is_empty() {
            id == claims.jti
        } else {
            t["iat"].as_i64() == Some(claims.iat)
        }
    });
    if !listed {
        return Err(invalid("the project role token has been revoked"));
    }
    Ok(())
}

/// How many password checks (bcrypt) run at once.
static BCRYPT_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Checks a user name and password, with rate limiting, and returns a session token.
pub async fn login(
    state: &AppState,
    username: &str,
    password_text: &str,
    source: IpAddr,
) -> Result<String, ApiError> {
    let settings = state.settings();
    let known = local_account(&settings, username).is_some();
    if let Err(message) = state.limiter.reserve(username, source, known) {
        state.metrics.inc(
            "argocd_login_request_total",
            "status=\"failure\"".to_string(),
        );
        return Err(ApiError::ResourceExhausted(message));
    }
    let account = local_account(&settings, username).filter(|a| a.enabled && a.login);
    let (hash, mtime) = account
        .as_ref()
        .map(|a| password_of(&settings, &a.name))
        .unwrap_or((None, None));
    // unknown users and users without a password take the same time and get the same answer
    let candidate = hash
        .clone()
        .unwrap_or_else(|| password::dummy_hash().to_string());
    let pw = password_text.to_string();
    // at most a few bcrypt checks at once, whatever the number of addresses attacking: the CPU and
    // the blocking threads stay available to everything else (waiting attempts queue here)
    let permit = BCRYPT_SLOTS.acquire().await;
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &candidate))
        .await
        .unwrap_or(false)
        && hash.is_some();
    drop(permit);
    if !ok {
        state.metrics.inc(
            "argocd_login_request_total",
            "status=\"failure\"".to_string(),
        );
        let delay = state.limiter.failure(username, source);
        tracing::warn!(user = %username, %source, failures = state.limiter.user_failures(username), "login failed");
        tokio::time::sleep(delay).await;
        return Err(ApiError::Unauthenticated(
            "Invalid username or password".into(),
        ));
    }
    state.limiter.success(username, source);
    state.metrics.inc(
        "argocd_login_request_total",
        "status=\"success\"".to_string(),
    );
    let iat = now().max(mtime.unwrap_or(0));
    let claims = Claims {
        iss: jwt::ISSUER.to_string(),
        sub: username.to_string(),
        iat,
        nbf: Some(iat),
        exp: Some(iat + settings.cm.session_duration.as_secs() as i64),
        jti: uuid::Uuid::new_v4().to_string(),
        groups: Vec::new(),
    };
    issue(&settings, &claims)
}

/// The user name of a request, filled by [`Auth`] for the request log.
#[derive(Debug, Clone, Default)]
pub struct UserSlot(pub Arc<Mutex<Option<String>>>);

/// Extractor: the authenticated caller (401 otherwise).
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(state, &parts.headers).await?;
        check_csrf(&parts.method, &parts.headers)?;
        if let Some(slot) = parts.extensions.get::<UserSlot>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(if principal.subject.is_empty() {
                    "anonymous".to_string()
                } else {
                    principal.subject.clone()
                });
        }
        Ok(Auth(principal))
    }
}
