//! The blocking HTTP client: one method per HTTP verb on JSON bodies, answers mapped to
//! [`ClientError`]s that are one line each.

use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Client, Response};
use serde_json::Value;

use crate::config::Config;
use crate::error::{ClientError, one_line};

/// Where and how to reach the API server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// `host:port` or a URL with its scheme.
    pub server: String,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Plain HTTP (when `server` has no scheme).
    pub plain_text: bool,
    /// Session token or API key.
    pub token: Option<String>,
}

impl Connection {
    /// The base URL (`http(s)://host:port`) without a trailing slash.
    pub fn base_url(&self) -> String {
        let s = self.server.trim_end_matches('/');
        if s.starts_with("http://") || s.starts_with("https://") {
            s.to_string()
        } else if self.plain_text {
            format!("http://{s}")
        } else {
            format!("https://{s}")
        }
    }

    /// The connection of context `name` (or the current one) of a config file.
    pub fn from_config(config: &Config, name: Option<&str>) -> Result<Connection, ClientError> {
        let ctx = match (config.context(name), name) {
            (Some(c), _) => c,
            (None, Some(n)) => {
                return Err(ClientError::Invalid(format!(
                    "context {n:?} does not exist: run `capstan context` to list them"
                )));
            }
            (None, None) => return Err(ClientError::NotLoggedIn),
        };
        let server = config.server(&ctx.server).cloned().unwrap_or_default();
        let token = config
            .user(&ctx.user)
            .map(|u| u.auth_token.clone())
            .filter(|t| !t.is_empty());
        Ok(Connection {
            server: ctx.server.clone(),
            insecure: server.insecure,
            plain_text: server.plain_text,
            token,
        })
    }
}

/// Installs rustls's ring provider once (the kube client does the same; installing twice is
/// harmless, building a TLS client without one panics when two providers are compiled in).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client of one API server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    conn: Connection,
    base: String,
    http: Client,
}

impl ApiClient {
    /// Builds the client (no request is made).
    pub fn new(conn: Connection) -> Result<ApiClient, ClientError> {
        install_crypto_provider();
        let http = Client::builder()
            .danger_accept_invalid_certs(conn.insecure)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("capstan-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Invalid(format!("building the HTTP client: {e}")))?;
        let base = conn.base_url();
        Ok(ApiClient { conn, base, http })
    }

    /// The connection this client uses.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request; `path` starts with `/api/`. Requests other than login need a token.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.conn.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            reason: reason_of(&e),
        })?;
        self.answer(&url, resp)
    }

    fn answer(&self, url: &str, resp: Response) -> Result<Value, ClientError> {
        let status = resp.status().as_u16();
        let text = resp.text().map_err(|e| ClientError::Unreachable {
            url: url.to_string(),
            reason: reason_of(&e),
        })?;
        if (200..300).contains(&status) {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|e| ClientError::Decode {
                url: url.to_string(),
                reason: e.to_string(),
            });
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| text.clone());
        let message = one_line(&message);
        Err(match status {
            401 if self.conn.token.is_none() && !url.ends_with("/api/v1/session") => {
                ClientError::NotLoggedIn
            }
            401 => ClientError::Unauthenticated {
                server: self.conn.server.clone(),
                message: if message.is_empty() {
                    "unauthenticated".into()
                } else {
                    message
                },
            },
            403 => ClientError::PermissionDenied(message),
            404 => ClientError::NotFound(if message.is_empty() {
                format!("{url} not found")
            } else {
                message
            }),
            _ => ClientError::Api { status, message },
        })
    }

    /// `GET`.
    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.request(Method::GET, path, None)
    }

    /// `POST` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.request(Method::POST, path, Some(body))
    }

    /// `PUT` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.request(Method::PUT, path, Some(body))
    }

    /// `PATCH` with a JSON body.
    pub fn patch(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.request(Method::PATCH, path, Some(body))
    }

    /// `DELETE`.
    pub fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.request(Method::DELETE, path, None)
    }
}

/// The innermost cause of a transport error, on one line.
fn reason_of(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(s) = source.source() {
        source = s;
    }
    let text = source.to_string();
    if err.is_timeout() {
        format!("timed out ({text})")
    } else {
        one_line(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_from_host_and_port() {
        let mut c = Connection {
            server: "localhost:8080".into(),
            ..Connection::default()
        };
        assert_eq!(c.base_url(), "https://localhost:8080");
        c.plain_text = true;
        assert_eq!(c.base_url(), "http://localhost:8080");
        c.server = "https://x.example/".into();
        assert_eq!(c.base_url(), "https://x.example");
    }

    #[test]
    fn unreachable_names_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = ApiClient::new(Connection {
            server: addr.to_string(),
            plain_text: true,
            token: Some("t".into()),
            ..Connection::default()
        })
        .unwrap();
        let err = client.get("/api/version").unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "cannot reach the API server at http://{addr}/api/version"
            )),
            "{err}"
        );
    }

    #[test]
    fn no_context_is_not_logged_in() {
        let err = Connection::from_config(&Config::default(), None).unwrap_err();
        assert_eq!(err.to_string(), "not logged in: run `capstan login SERVER`");
    }
}

#[cfg(test)]
mod answer_tests {
    use super::*;
    use std::io::{Read, Write};

    /// Serves one canned HTTP answer on loopback and returns the server's address.
    fn serve_once(status: &str, body: &str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        addr
    }

    fn client(addr: &str, token: Option<&str>) -> ApiClient {
        ApiClient::new(Connection {
            server: addr.to_string(),
            plain_text: true,
            token: token.map(str::to_string),
            ..Connection::default()
        })
        .unwrap()
    }

    #[test]
    fn forbidden_names_the_missing_permission() {
        let addr = serve_once(
            "403 Forbidden",
            r#"{"error":"permission denied: applications, sync, default/web, sub: dev","code":7,"message":"permission denied: applications, sync, default/web, sub: dev"}"#,
        );
        let err = client(&addr, Some("t"))
            .get("/api/v1/applications/web")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "permission denied: applications, sync, default/web, sub: dev"
        );
        assert_eq!(err.status(), Some(403));
    }

    #[test]
    fn expired_session_says_to_log_in_again() {
        let addr = serve_once(
            "401 Unauthorized",
            r#"{"error":"token is expired","code":16,"message":"token is expired"}"#,
        );
        let err = client(&addr, Some("t"))
            .get("/api/v1/applications")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("token is expired (run `capstan login {addr}`)")
        );
    }

    #[test]
    fn multi_line_server_messages_become_one_line() {
        let addr = serve_once(
            "500 Internal Server Error",
            r#"{"message":"first line\nsecond line"}"#,
        );
        let err = client(&addr, Some("t"))
            .get("/api/v1/applications")
            .unwrap_err();
        assert_eq!(err.to_string(), "first line … (HTTP 500)");
    }
}
