//! `service.email[.<name>]`: host, port, from, username, password, html, insecure_skip_verify
//! (Argo CD's keys), and Capstan's `tls`: `tls` (implicit TLS), `starttls` (required),
//! `opportunistic` (STARTTLS when offered) or `none`. Without `tls`, port 465 means implicit TLS
//! and any other port opportunistic STARTTLS, as Argo CD does. The subject is `email.subject`, the
//! body `email.body` or else the message.

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use serde_json::Value;

use super::{SendError, SendFuture, Service, settings};
use crate::render::Notification;

#[derive(Debug, Deserialize)]
struct Settings {
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    from: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    html: bool,
    #[serde(default)]
    insecure_skip_verify: bool,
    tls: Option<String>,
}

fn default_port() -> u16 {
    587
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TlsMode {
    Wrapper,
    Required,
    Opportunistic,
    None,
}

/// SMTP.
pub struct EmailService {
    settings: Settings,
    mode: TlsMode,
}

impl EmailService {
    /// From settings.
    pub fn new(v: &Value) -> Result<EmailService, String> {
        let settings: Settings = settings(v)?;
        let mode = match settings.tls.as_deref() {
            None if settings.port == 465 => TlsMode::Wrapper,
            None | Some("opportunistic") => TlsMode::Opportunistic,
            Some("tls") => TlsMode::Wrapper,
            Some("starttls") => TlsMode::Required,
            Some("none") => TlsMode::None,
            Some(other) => {
                return Err(format!(
                    "tls: {other:?} is not one of tls, starttls, opportunistic, none"
                ));
            }
        };
        settings
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("from: {e}"))?;
        Ok(EmailService { settings, mode })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let s = &self.settings;
        let params = || {
            TlsParameters::builder(s.host.clone())
                .dangerous_accept_invalid_certs(s.insecure_skip_verify)
                .build_rustls()
                .map_err(|e| SendError::permanent(format!("email TLS: {e}")))
        };
        let tls = match self.mode {
            TlsMode::Wrapper => Tls::Wrapper(params()?),
            TlsMode::Required => Tls::Required(params()?),
            TlsMode::Opportunistic => Tls::Opportunistic(params()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
        }
        Ok(builder.build())
    }
}

impl Service for EmailService {
    fn send<'a>(&'a self, n: &'a Notification, recipient: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let from = self
                .settings
                .from
                .parse()
                .map_err(|e| SendError::permanent(format!("email from: {e}")))?;
            let mut builder = Message::builder()
                .from(from)
                .subject(n.field("email", "subject").unwrap_or_default());
            let mut any = false;
            for to in recipient
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                let mailbox = to
                    .parse()
                    .map_err(|e| SendError::permanent(format!("email recipient {to:?}: {e}")))?;
                builder = builder.to(mailbox);
                any = true;
            }
            if !any {
                return Err(SendError::permanent("email: no recipient"));
            }
            let body = n.field("email", "body").unwrap_or(&n.message).to_string();
            let content_type = if self.settings.html {
                ContentType::TEXT_HTML
            } else {
                ContentType::TEXT_PLAIN
            };
            let message = builder
                .header(content_type)
                .body(body)
                .map_err(|e| SendError::permanent(format!("email message: {e}")))?;
            let transport = self.transport()?;
            transport.send(message).await.map(|_| ()).map_err(|e| {
                let text = format!(
                    "email via {}:{}: {e}",
                    self.settings.host, self.settings.port
                );
                if e.is_permanent() {
                    SendError::permanent(text)
                } else {
                    SendError::transient(text)
                }
            })
        })
    }
}
