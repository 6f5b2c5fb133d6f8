//! Delivery services. Each turns a rendered [`Notification`] into a request to one system;
//! [`Registry`] maps the `<type>` of `service.<type>[.<name>]` to a constructor, and more types can
//! be registered.

mod email;
mod github;
mod http;
mod slack;
mod teams;
mod webhook;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

pub use email::EmailService;
pub use github::{DEFAULT_REPO_URL_PATH, DEFAULT_REVISION_PATH, GithubService};
pub use slack::SlackService;
pub use teams::TeamsService;
pub use webhook::WebhookService;

use crate::render::Notification;

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What went wrong (never a secret: callers mask configured secrets too).
    pub message: String,
    /// Whether trying again may help (network errors, 5xx, 429).
    pub retryable: bool,
}

impl SendError {
    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that will not go away by itself.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// The future a send returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// A configured destination system.
pub trait Service: Send + Sync {
    /// Sends `notification` to `recipient` (a channel, an address, a Teams name; empty for
    /// webhooks and GitHub).
    fn send<'a>(&'a self, notification: &'a Notification, recipient: &'a str) -> SendFuture<'a>;
}

/// Builds a service named `name` from its settings (with `$secrets` already substituted).
pub type Factory = fn(name: &str, settings: &Value) -> Result<Arc<dyn Service>, String>;

/// Service types by name.
#[derive(Clone)]
pub struct Registry {
    factories: BTreeMap<String, Factory>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

impl Registry {
    /// webhook, slack, email, github, teams.
    pub fn builtin() -> Registry {
        let mut r = Registry {
            factories: BTreeMap::new(),
        };
        r.register("webhook", |n, s| Ok(Arc::new(WebhookService::new(n, s)?)));
        r.register("slack", |_, s| Ok(Arc::new(SlackService::new(s)?)));
        r.register("email", |_, s| Ok(Arc::new(EmailService::new(s)?)));
        r.register("github", |_, s| Ok(Arc::new(GithubService::new(s)?)));
        r.register("teams", |_, s| Ok(Arc::new(TeamsService::new(s)?)));
        r
    }

    /// Adds (or replaces) a service type.
    pub fn register(&mut self, kind: &str, factory: Factory) {
        self.factories.insert(kind.to_string(), factory);
    }

    /// Builds a service of type `kind`.
    pub fn build(
        &self,
        kind: &str,
        name: &str,
        settings: &Value,
    ) -> Result<Arc<dyn Service>, String> {
        match self.factories.get(kind) {
            Some(f) => f(name, settings),
            None => Err(format!(
                "unknown service type {kind:?} (known: {})",
                self.factories
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Deserialises settings, naming the field that is wrong.
pub(crate) fn settings<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v.clone()).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}

/// Parses a JSON-valued template field (Slack attachments, Teams facts), `None` when empty.
pub(crate) fn json_field(
    n: &Notification,
    section: &str,
    name: &str,
) -> Result<Option<Value>, SendError> {
    match n.field(section, name) {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| SendError::permanent(format!("{section}.{name} is not valid JSON: {e}"))),
    }
}
