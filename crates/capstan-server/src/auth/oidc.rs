//! Single sign-on with OpenID Connect (`oidc.config` in `argocd-cm`): the authorization code flow
//! with PKCE (S256). The ID token's RS256 signature is checked against the provider's JWKS, with its
//! issuer, audience, expiry and nonce; the claims named by `scopes` in `argocd-rbac-cm` (default
//! `[groups]`) become the user's RBAC groups. The session is then a Capstan token like any other,
//! whose issuer is the provider.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::password::random_string;
use crate::error::ApiError;
use crate::state::Settings;

/// The provider settings from `oidc.config`.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Display name.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (a `$key` reference to argocd-secret is resolved).
    pub client_secret: Option<String>,
    /// Client id the CLI uses for its own authorization code flow (`cliClientID`), if different.
    pub cli_client_id: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
}

impl OidcSettings {
    /// Reads `oidc.config`; `None` when SSO is not configured.
    pub fn from_settings(settings: &Settings) -> Result<Option<OidcSettings>, ApiError> {
        let Some(cfg) = &settings.cm.oidc_config else {
            return Ok(None);
        };
        let text = |k: &str| cfg.get(k).and_then(Value::as_str).map(str::to_string);
        let missing =
            |k: &str| ApiError::Unavailable(format!("argocd-cm oidc.config: {k} is required"));
        let issuer = text("issuer").ok_or_else(|| missing("issuer"))?;
        let client_id = text("clientID").ok_or_else(|| missing("clientID"))?;
        let client_secret = text("clientSecret")
            .and_then(|s| settings.secret.resolve(&s))
            .map(|s| s.expose().to_string());
        let mut scopes: Vec<String> = cfg
            .get("requestedScopes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        Ok(Some(OidcSettings {
            name: text("name").unwrap_or_else(|| "SSO".into()),
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id,
            client_secret,
            cli_client_id: text("cliClientID").filter(|c| !c.is_empty()),
            scopes,
        }))
    }
}

/// The provider's endpoints (`/.well-known/openid-configuration`).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Issuer.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// JWKS.
    pub jwks_uri: String,
}

fn upstream(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(format!("OIDC provider: {what}: {e}"))
}

/// Reads the provider's discovery document.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, ApiError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let d: Discovery = http
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| upstream("discovery", e))?
        .json()
        .await
        .map_err(|e| upstream("discovery document", e))?;
    if d.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(upstream(
            "discovery",
            format!("issuer {} does not match the configured {issuer}", d.issuer),
        ));
    }
    Ok(d)
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = random_string(64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// What the login step remembers for the callback, in a signed cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// `state` parameter.
    pub state: String,
    /// PKCE verifier.
    pub verifier: String,
    /// Nonce.
    pub nonce: String,
    /// Where to go afterwards (a path of this server).
    pub return_url: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

fn mac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut m = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| ApiError::Internal("no signing key".into()))?;
    m.update(data);
    Ok(m.finalize().into_bytes().to_vec())
}

impl LoginState {
    /// `<payload>.<hmac>`.
    pub fn seal(&self, key: &[u8]) -> Result<String, ApiError> {
        let payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).map_err(|e| ApiError::Internal(e.to_string()))?);
        let sig = URL_SAFE_NO_PAD.encode(mac(key, payload.as_bytes())?);
        Ok(format!("{payload}.{sig}"))
    }

    /// Checks the signature (constant time) and the expiry.
    pub fn open(key: &[u8], sealed: &str, now: i64) -> Result<LoginState, ApiError> {
        let bad = || ApiError::Unauthenticated("invalid or expired login state".into());
        let (payload, sig) = sealed.split_once('.').ok_or_else(bad)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| bad())?;
        let mut m = Hmac::<Sha256>::new_from_slice(key).map_err(|_| bad())?;
        m.update(payload.as_bytes());
        m.verify_slice(&sig).map_err(|_| bad())?;
        let state: LoginState = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(bad)?;
        if state.exp < now {
            return Err(bad());
        }
        Ok(state)
    }
}

/// Exchanges the code for tokens and returns the ID token.
pub async fn exchange(
    http: &reqwest::Client,
    discovery: &Discovery,
    settings: &OidcSettings,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<String, ApiError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let mut req = http.post(&discovery.token_endpoint);
    match &settings.client_secret {
        Some(secret) => req = req.basic_auth(&settings.client_id, Some(secret)),
        None => form.push(("client_id", settings.client_id.as_str())),
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let resp = req
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| upstream("token request", e))?;
    let status = resp.status();
    let v: Value = resp
        .json()
        .await
        .map_err(|e| upstream("token response", e))?;
    if !status.is_success() {
        return Err(ApiError::Unauthenticated(format!(
            "the OIDC provider refused the code: {}",
            v.get("error_description").or(v.get("error")).unwrap_or(&v)
        )));
    }
    v.get("id_token")
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| upstream("token response", "no id_token"))
}

/// Reads the provider's JSON Web Key Set.
pub async fn fetch_jwks(http: &reqwest::Client, discovery: &Discovery) -> Result<Value, ApiError> {
    http.get(&discovery.jwks_uri)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| upstream("jwks", e))?
        .json()
        .await
        .map_err(|e| upstream("jwks", e))
}

/// Verifies an RS256 ID token against the provider's keys; returns its claims.
pub async fn verify_id_token(
    http: &reqwest::Client,
    discovery: &Discovery,
    settings: &OidcSettings,
    token: &str,
    nonce: &str,
    now: i64,
) -> Result<Value, ApiError> {
    let jwks = fetch_jwks(http, discovery).await?;
    verify_with_keys(
        &jwks,
        settings,
        token,
        &[settings.client_id.as_str()],
        Some(nonce),
        now,
    )
}

/// The `alg` and `kid` of a token's header, unverified.
pub fn token_header(token: &str) -> Option<(String, Option<String>)> {
    let h = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    Some((
        header["alg"].as_str()?.to_string(),
        header["kid"].as_str().map(String::from),
    ))
}

/// Verifies an RS256 ID token with the keys of `jwks`: signature, issuer, one of `audiences`, expiry
/// and (when given) the nonce.
pub fn verify_with_keys(
    jwks: &Value,
    settings: &OidcSettings,
    token: &str,
    audiences: &[&str],
    nonce: Option<&str>,
    now: i64,
) -> Result<Value, ApiError> {
    let bad = |why: &str| ApiError::Unauthenticated(format!("invalid ID token: {why}"));
    let mut parts = token.split('.');
    let (Some(h), Some(b), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed"));
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|x| serde_json::from_slice(&x).ok())
        .ok_or_else(|| bad("malformed header"))?;
    if header["alg"] != "RS256" {
        return Err(bad(&format!("unsupported algorithm {}", header["alg"])));
    }
    let kid = header["kid"].as_str();
    let key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kty"] == "RSA" && (kid.is_none() || k["kid"].as_str() == kid))
        .ok_or_else(|| bad("no matching RSA key in the provider's JWKS"))?;
    let n = URL_SAFE_NO_PAD
        .decode(key["n"].as_str().unwrap_or_default())
        .map_err(|_| bad("malformed key"))?;
    let e = URL_SAFE_NO_PAD
        .decode(key["e"].as_str().unwrap_or_default())
        .map_err(|_| bad("malformed key"))?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad("malformed signature"))?;
    let public = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
    public
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{h}.{b}").as_bytes(),
            &sig,
        )
        .map_err(|_| bad("signature does not verify"))?;
    let claims: Value = URL_SAFE_NO_PAD
        .decode(b)
        .ok()
        .and_then(|x| serde_json::from_slice(&x).ok())
        .ok_or_else(|| bad("malformed claims"))?;
    if claims["iss"].as_str().map(|i| i.trim_end_matches('/')) != Some(settings.issuer.as_str()) {
        return Err(bad("issuer mismatch"));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => audiences.contains(&a.as_str()),
        Value::Array(list) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("audience mismatch"));
    }
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err(bad("expired"));
    }
    if let Some(nonce) = nonce
        && claims["nonce"].as_str() != Some(nonce)
    {
        return Err(bad("nonce mismatch"));
    }
    Ok(claims)
}

/// The provider's discovery document and keys, kept for a while so that ID tokens used as bearer
/// tokens (by the CLI after `capstan login --sso`) are checked without asking the provider each time.
#[derive(Default)]
pub struct ProviderKeys {
    cached: tokio::sync::Mutex<Option<(String, Value, std::time::Instant)>>,
}

/// How long the provider's keys are reused (a token signed with an unknown key refetches them).
pub const KEYS_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl ProviderKeys {
    /// The JWKS of `issuer`; fetched again when older than [`KEYS_TTL`], when the issuer changed,
    /// or when `kid` is unknown - the latter at most once per [`UNKNOWN_KID_REFETCH`], so that
    /// tokens with made-up key ids cannot make the server hammer the provider.
    pub async fn jwks(
        &self,
        http: &reqwest::Client,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some((iss, jwks, at)) = cached.as_ref()
            && iss == issuer
            && at.elapsed() < KEYS_TTL
        {
            let known = kid.is_none_or(|kid| {
                jwks["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kid"].as_str() == Some(kid))
            });
            if known || at.elapsed() < UNKNOWN_KID_REFETCH {
                return Ok(jwks.clone());
            }
        }
        let discovery = discover(http, issuer).await?;
        let jwks = fetch_jwks(http, &discovery).await?;
        *cached = Some((issuer.to_string(), jwks.clone(), std::time::Instant::now()));
        Ok(jwks)
    }
}

/// The shortest time between two fetches of the provider's keys caused by an unknown `kid`.
pub const UNKNOWN_KID_REFETCH: std::time::Duration = std::time::Duration::from_secs(10);

/// The RBAC groups of an SSO user: the values of the claims named by `scopes`.
pub fn groups(claims: &Value, scopes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for scope in scopes {
        match &claims[scope.as_str()] {
            Value::String(s) => out.push(s.clone()),
            Value::Array(list) => {
                out.extend(list.iter().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn login_state_is_sealed() {
        let st = LoginState {
            state: "s".into(),
            verifier: "v".into(),
            nonce: "n".into(),
            return_url: "/".into(),
            exp: 100,
        };
        let sealed = st.seal(b"key").unwrap();
        assert_eq!(LoginState::open(b"key", &sealed, 50).unwrap(), st);
        assert!(LoginState::open(b"key", &sealed, 101).is_err());
        assert!(LoginState::open(b"other", &sealed, 50).is_err());
        let (p, _) = sealed.split_once('.').unwrap();
        assert!(LoginState::open(b"key", &format!("{p}.AAAA"), 50).is_err());
    }

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        let (v, c) = pkce();
        assert!(v.len() >= 43);
        assert_eq!(c, URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())));
    }

    #[test]
    fn groups_from_scopes() {
        let claims = json!({"groups": ["devs", "ops"], "email": "a@example.com"});
        assert_eq!(groups(&claims, &["groups".into()]), ["devs", "ops"]);
        assert_eq!(
            groups(&claims, &["groups".into(), "email".into()]),
            ["devs", "ops", "a@example.com"]
        );
    }
}
