//! `service.webhook.<name>`: url, headers, basicAuth, insecureSkipVerify; the template's
//! `webhook.<name>` section gives method (default GET), path and body (without a section: a GET of
//! the URL).

use serde::Deserialize;
use serde_json::Value;

use super::{SendError, SendFuture, Service, http, settings};
use crate::render::Notification;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BasicAuth {
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    url: String,
    #[serde(default)]
    headers: Vec<Header>,
    basic_auth: Option<BasicAuth>,
    #[serde(default)]
    insecure_skip_verify: bool,
}

/// A generic HTTP request.
pub struct WebhookService {
    name: String,
    settings: Settings,
    client: reqwest::Client,
}

impl WebhookService {
    /// From settings.
    pub fn new(name: &str, v: &Value) -> Result<WebhookService, String> {
        let settings: Settings = settings(v)?;
        url::Url::parse(&settings.url).map_err(|e| format!("url: {e}"))?;
        Ok(WebhookService {
            name: name.to_string(),
            client: http::client(settings.insecure_skip_verify)?,
            settings,
        })
    }
}

impl Service for WebhookService {
    fn send<'a>(&'a self, n: &'a Notification, _recipient: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            // a template without a section for this webhook sends a bare GET to its URL, as Argo CD
            let empty = Value::Object(Default::default());
            let section = n
                .fields
                .get("webhook")
                .and_then(|w| w.get(&self.name))
                .unwrap_or(&empty);
            let text = |k: &str| section.get(k).and_then(Value::as_str).unwrap_or_default();
            let method = match text("method") {
                "" => "GET",
                m => m,
            };
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .map_err(|_| SendError::permanent(format!("bad method {method:?}")))?;
            let path = text("path");
            let url = if path.is_empty() {
                self.settings.url.clone()
            } else {
                format!(
                    "{}/{}",
                    self.settings.url.trim_end_matches('/'),
                    path.trim_start_matches('/')
                )
            };
            let mut request = self.client.request(method, &url);
            for h in &self.settings.headers {
                request = request.header(&h.name, &h.value);
            }
            if let Some(auth) = &self.settings.basic_auth {
                request = request.basic_auth(&auth.username, Some(&auth.password));
            }
            let body = text("body");
            if !body.is_empty() {
                request = request.body(body.to_string());
            }
            http::send(&format!("webhook {}", self.name), request)
                .await
                .map(|_| ())
        })
    }
}
