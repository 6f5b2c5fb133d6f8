//! Following one Application over the server's Server-Sent Events stream
//! (`/api/v1/stream/applications?name=`), read on a thread of its own so that the caller can wait
//! with its own deadline.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::Value;

use crate::api::escape;
use crate::client::{ApiClient, install_crypto_provider};
use crate::error::ClientError;

/// What the stream says about the Application.
#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    /// Its current state (`ADDED` or `MODIFIED`).
    Changed(Value),
    /// It was deleted.
    Deleted,
}

/// Parses one SSE `data:` payload of the applications stream.
pub fn parse_event(data: &str) -> Option<AppEvent> {
    let v: Value = serde_json::from_str(data).ok()?;
    let result = v.get("result")?;
    match result.get("type").and_then(Value::as_str)? {
        "DELETED" => Some(AppEvent::Deleted),
        _ => Some(AppEvent::Changed(result.get("application")?.clone())),
    }
}

impl ApiClient {
    /// Opens the event stream of Application `name`. Events arrive on the receiver (the current
    /// state first); the receiver is disconnected when the stream ends or fails.
    pub fn watch_application(&self, name: &str) -> Result<mpsc::Receiver<AppEvent>, ClientError> {
        install_crypto_provider();
        let conn = self.connection();
        let http = Client::builder()
            .danger_accept_invalid_certs(conn.insecure)
            .connect_timeout(Duration::from_secs(10))
            .timeout(None::<Duration>)
            .user_agent(concat!("capstan-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Invalid(format!("building the HTTP client: {e}")))?;
        let url = format!(
            "{}/api/v1/stream/applications?name={}",
            self.base_url(),
            escape(name)
        );
        let mut req = http.get(&url).header("accept", "text/event-stream");
        if let Some(t) = &conn.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if !resp.status().is_success() {
            return Err(ClientError::Api {
                status: resp.status().as_u16(),
                message: format!("opening the event stream of application {name}"),
            });
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(resp);
            let mut data = String::new();
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let l = line.trim_end_matches(['\n', '\r']);
                if l.is_empty() {
                    if let Some(event) = parse_event(&data)
                        && tx.send(event).is_err()
                    {
                        return;
                    }
                    data.clear();
                } else if let Some(d) = l.strip_prefix("data:") {
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
        });
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events() {
        let app = json!({"metadata": {"name": "a"}});
        assert_eq!(
            parse_event(&json!({"result": {"type": "MODIFIED", "application": app}}).to_string()),
            Some(AppEvent::Changed(app.clone()))
        );
        assert_eq!(
            parse_event(&json!({"result": {"type": "DELETED", "application": app}}).to_string()),
            Some(AppEvent::Deleted)
        );
        assert_eq!(parse_event("not json"), None);
    }
}
