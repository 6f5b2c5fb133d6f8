//! `/auth/login` and `/auth/callback`: the browser side of single sign-on with OpenID Connect
//! (authorization code flow with PKCE), as Argo CD serves it. Needs `url` and `oidc.config` in
//! `argocd-cm`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::jwt::Claims;
use crate::auth::oidc::{self, LoginState, OidcSettings};
use crate::auth::session::{self, now};
use crate::error::{ApiError, ApiResult};
use crate::routes::{query_one, query_pairs};
use crate::state::{AppState, Settings};

const STATE_COOKIE: &str = "argocd.oauthstate";

fn configured(settings: &Settings) -> ApiResult<(OidcSettings, String)> {
    let oidc = OidcSettings::from_settings(settings)?.ok_or_else(|| {
        ApiError::Unavailable("SSO is not configured (oidc.config in argocd-cm)".into())
    })?;
    let base = settings.cm.url.clone().ok_or_else(|| {
        ApiError::Unavailable("SSO needs the url of this server in argocd-cm".into())
    })?;
    Ok((
        oidc,
        format!("{}/auth/callback", base.trim_end_matches('/')),
    ))
}

fn key(settings: &Settings) -> ApiResult<Vec<u8>> {
    settings
        .secret
        .server_secret_key
        .as_ref()
        .map(|k| k.expose().as_bytes().to_vec())
        .ok_or_else(|| ApiError::Unavailable("server.secretkey is missing".into()))
}

fn http() -> ApiResult<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ApiError::Internal(format!("HTTP client: {e}")))
}

fn redirect(location: &str, cookies: Vec<String>) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response();
    for c in cookies {
        if let Ok(v) = c.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// `GET /auth/login?return_url=`: redirects to the provider with a PKCE challenge.
pub async fn login(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let settings = state.settings();
    let (oidc_settings, redirect_uri) = configured(&settings)?;
    let discovery = oidc::discover(&http()?, &oidc_settings.issuer).await?;
    let (verifier, challenge) = oidc::pkce();
    // only a path of this server (not `//host`, `/\host` or control characters)
    let return_url = query_one(&query_pairs(query.as_deref()), "return_url")
        .map(|r| capstan_ui::links::safe_return_path(&r))
        .unwrap_or_else(|| "/".to_string());
    let login = LoginState {
        state: crate::auth::password::random_string(24),
        verifier,
        nonce: crate::auth::password::random_string(24),
        return_url,
        exp: now() + 300,
    };
    let mut url = url::Url::parse(&discovery.authorization_endpoint)
        .map_err(|e| ApiError::Unavailable(format!("OIDC authorization endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &oidc_settings.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &oidc_settings.scopes.join(" "))
        .append_pair("state", &login.state)
        .append_pair("nonce", &login.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/auth; Max-Age=300; HttpOnly; SameSite=Lax",
        login.seal(&key(&settings)?)?
    );
    Ok(redirect(url.as_str(), vec![cookie]))
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().find_map(|c| {
        c.to_str()
            .ok()?
            .split(';')
            .find_map(|p| p.trim().strip_prefix(&format!("{name}=")).map(String::from))
    })
}

/// The error codes of OAuth 2.0 (RFC 6749 4.1.2.1) and OpenID Connect (Core 3.1.2.6).
const OAUTH_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// `GET /auth/callback?code=&state=`: exchanges the code (with the PKCE verifier), verifies the ID
/// token, and starts a session whose groups come from the token's claims.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref());
    if let Some(err) = query_one(&pairs, "error") {
        // anyone can send a user here with any text: only the standard error codes are repeated,
        // never error_description
        let code = OAUTH_ERRORS
            .iter()
            .find(|c| **c == err)
            .copied()
            .unwrap_or("unknown error");
        return Err(ApiError::Unauthenticated(format!(
            "SSO login failed: the identity provider answered {code}"
        )));
    }
    let settings = state.settings();
    let (oidc_settings, redirect_uri) = configured(&settings)?;
    let sealed = cookie_value(&headers, STATE_COOKIE).ok_or_else(|| {
        ApiError::Unauthenticated("no login in progress (state cookie missing)".into())
    })?;
    let login = LoginState::open(&key(&settings)?, &sealed, now())?;
    let given = query_one(&pairs, "state").unwrap_or_default();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        given.as_bytes(),
        login.state.as_bytes(),
    )) {
        return Err(ApiError::Unauthenticated(
            "state does not match the login in progress".into(),
        ));
    }
    let code = query_one(&pairs, "code")
        .ok_or_else(|| ApiError::InvalidArgument("code is missing".into()))?;
    let client = http()?;
    let discovery = oidc::discover(&client, &oidc_settings.issuer).await?;
    let id_token = oidc::exchange(
        &client,
        &discovery,
        &oidc_settings,
        &code,
        &login.verifier,
        &redirect_uri,
    )
    .await?;
    let claims = oidc::verify_id_token(
        &client,
        &discovery,
        &oidc_settings,
        &id_token,
        &login.nonce,
        now(),
    )
    .await?;
    let subject = claims["sub"].as_str().unwrap_or_default().to_string();
    if subject.is_empty() {
        return Err(ApiError::Unauthenticated(
            "the ID token has no subject".into(),
        ));
    }
    let groups = oidc::groups(&claims, &settings.rbac.scopes);
    let iat = now();
    let session_claims = Claims {
        iss: oidc_settings.issuer.clone(),
        sub: subject.clone(),
        iat,
        nbf: Some(iat),
        exp: Some(iat + settings.cm.session_duration.as_secs() as i64),
        jti: uuid::Uuid::new_v4().to_string(),
        groups: groups.clone(),
    };
    let token = session::issue(&settings, &session_claims)?;
    tracing::info!(user = %subject, ?groups, "SSO login");
    state.metrics.inc(
        "argocd_login_request_total",
        "status=\"success\"".to_string(),
    );
    let max_age = settings.cm.session_duration.as_secs();
    Ok(redirect(
        &login.return_url,
        vec![
            format!("argocd.token={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"),
            format!("{STATE_COOKIE}=; Path=/auth; Max-Age=0"),
        ],
    ))
}
