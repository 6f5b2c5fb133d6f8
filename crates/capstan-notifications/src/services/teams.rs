//! `service.teams`: `recipientUrls` (recipient name to incoming-webhook URL). Posts a MessageCard
//! from `teams.title`, `teams.text` (default: the message), `teams.summary`, `teams.themeColor`,
//! `teams.facts`, `teams.sections` and `teams.potentialAction`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{SendError, SendFuture, Service, http, json_field, settings};
use crate::render::Notification;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    #[serde(default)]
    recipient_urls: BTreeMap<String, String>,
}

/// Microsoft Teams incoming webhooks.
pub struct TeamsService {
    settings: Settings,
    client: reqwest::Client,
}

impl TeamsService {
    /// From settings.
    pub fn new(v: &Value) -> Result<TeamsService, String> {
        let settings: Settings = settings(v)?;
        for (name, u) in &settings.recipient_urls {
            url::Url::parse(u).map_err(|e| format!("recipientUrls.{name}: {e}"))?;
        }
        Ok(TeamsService {
            settings,
            client: http::client(false)?,
        })
    }
}

/// The MessageCard for a notification.
pub fn message_card(n: &Notification) -> Result<Value, SendError> {
    let mut card = Map::new();
    card.insert("@type".into(), json!("MessageCard"));
    card.insert("@context".into(), json!("https://schema.org/extensions"));
    let title = n.field("teams", "title").unwrap_or_default();
    card.insert("title".into(), json!(title));
    card.insert(
        "text".into(),
        json!(n.field("teams", "text").unwrap_or(&n.message)),
    );
    card.insert(
        "summary".into(),
        json!(n.field("teams", "summary").unwrap_or(title)),
    );
    if let Some(c) = n.field("teams", "themeColor") {
        card.insert("themeColor".into(), json!(c));
    }
    let mut sections = json_field(n, "teams", "sections")?
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    if let Some(facts) = json_field(n, "teams", "facts")? {
        sections.push(json!({"facts": facts}));
    }
    if !sections.is_empty() {
        card.insert("sections".into(), Value::Array(sections));
    }
    if let Some(actions) = json_field(n, "teams", "potentialAction")? {
        card.insert("potentialAction".into(), actions);
    }
    Ok(Value::Object(card))
}

impl Service for TeamsService {
    fn send<'a>(&'a self, n: &'a Notification, recipient: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let Some(url) = self.settings.recipient_urls.get(recipient) else {
                return Err(SendError::permanent(format!(
                    "teams: no recipientUrls entry for {recipient:?}"
                )));
            };
            let card = message_card(n)?;
            let request = self.client.post(url).json(&card);
            http::send(&format!("teams {recipient}"), request)
                .await
                .map(|_| ())
        })
    }
}
