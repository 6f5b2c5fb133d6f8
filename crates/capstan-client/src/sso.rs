//! `capstan login --sso`, as `argocd login --sso` does it: the CLI reads the server's OpenID Connect
//! settings (`/api/v1/settings`: issuer, `cliClientID` or `clientID`, scopes), listens on
//! `http://127.0.0.1:<port>/auth/callback` (a random port unless one is given), sends the browser to the
//! provider with a PKCE (S256) challenge, a state and a nonce, and exchanges the code it receives for
//! tokens. The provider's ID token is the session token; the API server verifies it against the
//! provider's keys.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::{ApiClient, install_crypto_provider};
use crate::error::ClientError;

/// The provider settings the CLI uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    /// Issuer URL.
    pub issuer: String,
    /// Client id (`cliClientID` when the server names one, else `clientID`).
    pub client_id: String,
    /// Scopes (`openid` always included).
    pub scopes: Vec<String>,
}

impl SsoConfig {
    /// Reads `oidcConfig` of the server's `/api/v1/settings` answer.
    pub fn from_settings(settings: &Value) -> Result<SsoConfig, ClientError> {
        let oidc = settings
            .get("oidcConfig")
            .filter(|o| o.is_object())
            .ok_or_else(|| {
                ClientError::Invalid(
                    "the server has no SSO configured (oidc.config in argocd-cm): log in with --username and --password".into(),
                )
            })?;
        let text = |k: &str| {
            oidc.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let issuer = text("issuer")
            .ok_or_else(|| ClientError::Invalid("the server's oidcConfig has no issuer".into()))?;
        let client_id = text("cliClientID")
            .or_else(|| text("clientID"))
            .ok_or_else(|| {
                ClientError::Invalid("the server's oidcConfig has no clientID".into())
            })?;
        let mut scopes: Vec<String> = oidc
            .get("scopes")
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
        Ok(SsoConfig {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id,
            scopes,
        })
    }
}

/// Tokens the provider issued.
#[derive(Debug, Clone)]
pub struct SsoTokens {
    /// The ID token (the session token).
    pub id_token: String,
    /// The refresh token, when the provider gave one.
    pub refresh_token: Option<String>,
    /// The ID token's claims (not verified here; the API server verifies the token).
    pub claims: Value,
}

/// A login in progress: the callback listener and what the callback must match.
#[derive(Debug)]
pub struct SsoLogin {
    listener: TcpListener,
    redirect_uri: String,
    authorization_url: String,
    token_endpoint: String,
    client_id: String,
    verifier: String,
    state: String,
    nonce: String,
    http: reqwest::blocking::Client,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The S256 challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn provider_error(what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Invalid(format!("OpenID provider: {what}: {e}"))
}

impl SsoLogin {
    /// Reads the server's SSO settings and the provider's endpoints, and starts listening on
    /// `127.0.0.1:port` (0: a random free port).
    pub fn prepare(client: &ApiClient, port: u16) -> Result<SsoLogin, ClientError> {
        let settings = client.request(reqwest::Method::GET, "/api/v1/settings", None)?;
        let config = SsoConfig::from_settings(&settings)?;
        install_crypto_provider();
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Invalid(format!("building the HTTP client: {e}")))?;
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let discovery: Value = http
            .get(&url)
            .send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .map_err(|e| provider_error(&url, e))?
            .json()
            .map_err(|e| provider_error(&url, e))?;
        let endpoint = |k: &str| {
            discovery
                .get(k)
                .and_then(Value::as_str)
                .map(String::from)
                .ok_or_else(|| provider_error(&url, format!("no {k}")))
        };
        let authorization_endpoint = endpoint("authorization_endpoint")?;
        let token_endpoint = endpoint("token_endpoint")?;
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            ClientError::Invalid(format!(
                "listening on 127.0.0.1:{port} for the SSO callback: {e}"
            ))
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| ClientError::Invalid(format!("SSO callback listener: {e}")))?;
        let redirect_uri = format!("http://127.0.0.1:{}/auth/callback", bound.port());
        let verifier = random_token(48);
        let state = random_token(24);
        let nonce = random_token(24);
        let mut auth = url::Url::parse(&authorization_endpoint)
            .map_err(|e| provider_error("authorization_endpoint", e))?;
        auth.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &config.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(SsoLogin {
            listener,
            redirect_uri,
            authorization_url: auth.to_string(),
            token_endpoint,
            client_id: config.client_id,
            verifier,
            state,
            nonce,
            http,
        })
    }

    /// Where to send the browser.
    pub fn authorization_url(&self) -> &str {
        &self.authorization_url
    }

    /// The local callback URL.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits (at most `timeout`) for the provider to send the browser back, then exchanges the code.
    pub fn complete(self, timeout: Duration) -> Result<SsoTokens, ClientError> {
        let code = self.wait_for_code(timeout)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", self.verifier.as_str()),
            ("client_id", self.client_id.as_str()),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = self
            .http
            .post(&self.token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .map_err(|e| provider_error("token request", e))?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .map_err(|e| provider_error("token response", e))?;
        if !status.is_success() {
            let why = v
                .get("error_description")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(ClientError::Invalid(format!(
                "the OpenID provider refused the code (HTTP {status}): {why}"
            )));
        }
        let id_token = v
            .get("id_token")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| provider_error("token response", "no id_token"))?;
        let claims: Value = id_token
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(|| provider_error("token response", "the id_token is not a JWT"))?;
        if claims.get("nonce").and_then(Value::as_str) != Some(self.nonce.as_str()) {
            return Err(provider_error(
                "token response",
                "the id_token's nonce is not this login's",
            ));
        }
        Ok(SsoTokens {
            id_token,
            refresh_token: v
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(String::from),
            claims,
        })
    }

    fn wait_for_code(&self, timeout: Duration) -> Result<String, ClientError> {
        let deadline = Instant::now() + timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| ClientError::Invalid(format!("SSO callback listener: {e}")))?;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(result) = self.handle(stream) {
                        return result;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(ClientError::Invalid(format!(
                            "no SSO callback on {} within {}s: finish the login in the browser, or run `capstan login --sso` again",
                            self.redirect_uri,
                            timeout.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(ClientError::Invalid(format!("SSO callback listener: {e}")));
                }
            }
        }
    }

    /// Answers one request of the browser; `Some` when it was the callback.
    fn handle(&self, stream: TcpStream) -> Option<Result<String, ClientError>> {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut reader = BufReader::new(&stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).ok()?;
        // the headers are not needed; read them so the browser sees a clean answer
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let target = request_line.split_whitespace().nth(1).unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != "/auth/callback" {
            respond(&stream, "404 Not Found", "Not found.");
            return None;
        }
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        if let Some(error) = get("error") {
            let detail = get("error_description").unwrap_or_default();
            respond(
                &stream,
                "400 Bad Request",
                &format!("Login failed: {error} {detail}"),
            );
            return Some(Err(ClientError::Invalid(format!(
                "SSO login failed at the provider: {error} {detail}"
            ))));
        }
        if get("state").as_deref() != Some(self.state.as_str()) {
            respond(
                &stream,
                "400 Bad Request",
                "Login failed: the state does not match this login.",
            );
            return Some(Err(ClientError::Invalid(
                "SSO callback with a state that is not this login's (a stale or forged redirect)"
                    .into(),
            )));
        }
        match get("code") {
            Some(code) => {
                respond(
                    &stream,
                    "200 OK",
                    "Authentication successful! You can close this window and return to the terminal.",
                );
                Some(Ok(code))
            }
            None => {
                respond(&stream, "400 Bad Request", "Login failed: no code.");
                Some(Err(ClientError::Invalid(
                    "SSO callback without a code".into(),
                )))
            }
        }
    }
}

fn respond(mut stream: &TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Capstan</title></head><body><p>{}</p></body></html>",
        message
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_prefer_the_cli_client() {
        let s = json!({"oidcConfig": {"issuer": "https://idp.example/", "clientID": "web",
            "cliClientID": "cli", "scopes": ["groups"]}});
        let c = SsoConfig::from_settings(&s).unwrap();
        assert_eq!(c.issuer, "https://idp.example");
        assert_eq!(c.client_id, "cli");
        assert_eq!(c.scopes, ["openid", "groups"]);
        let s = json!({"oidcConfig": {"issuer": "https://idp.example", "clientID": "web"}});
        assert_eq!(SsoConfig::from_settings(&s).unwrap().client_id, "web");
        let e = SsoConfig::from_settings(&json!({"url": ""})).unwrap_err();
        assert!(e.to_string().contains("no SSO configured"), "{e}");
    }

    #[test]
    fn pkce_is_s256() {
        // base64url(SHA-256), unpadded, as computed by Python's hashlib and base64
        assert_eq!(
            pkce_challenge("capstan-pkce-verifier"),
            "SaYVDG1Fl5uhQd5akE3pC4w7nLw6TTDExwctKBMjnb0"
        );
        assert_ne!(random_token(24), random_token(24));
    }
}
