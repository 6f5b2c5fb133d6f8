//! `service.slack`: token, apiURL (default `https://slack.com/api/`), username, icon, channels,
//! insecureSkipVerify. Posts `chat.postMessage` with the message, `slack.attachments` and
//! `slack.blocks`. Only the `Post` delivery policy is implemented (`PostAndUpdate`/`Update` post a
//! new message too).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{SendError, SendFuture, Service, http, json_field, settings};
use crate::render::Notification;

fn default_api() -> String {
    "https://slack.com/api/".into()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    #[serde(default)]
    token: String,
    #[serde(default = "default_api", rename = "apiURL")]
    api_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    icon: String,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    insecure_skip_verify: bool,
}

/// Slack's Web API.
pub struct SlackService {
    settings: Settings,
    client: reqwest::Client,
}

impl SlackService {
    /// From settings.
    pub fn new(v: &Value) -> Result<SlackService, String> {
        let settings: Settings = settings(v)?;
        if settings.token.is_empty() {
            return Err("token: required".into());
        }
        url::Url::parse(&settings.api_url).map_err(|e| format!("apiURL: {e}"))?;
        Ok(SlackService {
            client: http::client(settings.insecure_skip_verify)?,
            settings,
        })
    }
}

impl Service for SlackService {
    fn send<'a>(&'a self, n: &'a Notification, recipient: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let channels: Vec<&str> = if recipient.is_empty() {
                self.settings.channels.iter().map(String::as_str).collect()
            } else {
                vec![recipient]
            };
            if channels.is_empty() {
                return Err(SendError::permanent(
                    "slack: no channel (recipient or channels)",
                ));
            }
            let mut body = Map::new();
            body.insert("text".into(), Value::String(n.message.clone()));
            if let Some(a) = json_field(n, "slack", "attachments")? {
                body.insert("attachments".into(), a);
            }
            if let Some(b) = json_field(n, "slack", "blocks")? {
                body.insert("blocks".into(), b);
            }
            if !self.settings.username.is_empty() {
                body.insert(
                    "username".into(),
                    Value::String(self.settings.username.clone()),
                );
            }
            let icon = &self.settings.icon;
            if icon.starts_with(':') {
                body.insert("icon_emoji".into(), Value::String(icon.clone()));
            } else if !icon.is_empty() {
                body.insert("icon_url".into(), Value::String(icon.clone()));
            }
            let url = format!(
                "{}/chat.postMessage",
                self.settings.api_url.trim_end_matches('/')
            );
            for channel in channels {
                body.insert("channel".into(), Value::String(channel.to_string()));
                let request = self
                    .client
                    .post(&url)
                    .bearer_auth(&self.settings.token)
                    .json(&Value::Object(body.clone()));
                let text = http::send("slack chat.postMessage", request).await?;
                let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if reply.get("ok") != Some(&Value::Bool(true)) {
                    let error = reply
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("no ok in reply");
                    let retry = matches!(
                        error,
                        "ratelimited" | "service_unavailable" | "internal_error"
                    );
                    let message = format!("slack chat.postMessage to {channel}: {error}");
                    return Err(if retry {
                        SendError::transient(message)
                    } else {
                        SendError::permanent(message)
                    });
                }
            }
            Ok(())
        })
    }
}
