//! Rendering templates into a notification for one service type and recipient.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value, json};

use crate::config::{Compiled, Config};
use crate::error::NotifyError;
use crate::gotmpl::TemplateError;

/// A rendered notification: the `message` and every service section (`email`, `slack`,
/// `webhook`, `teams`, `github`, ...) with its strings rendered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notification {
    /// `message`.
    pub message: String,
    /// The other fields of the templates, merged in `send` order.
    pub fields: Map<String, Value>,
}

impl Notification {
    /// A string field of a service section (`email`, `subject`), if set and not empty.
    pub fn field(&self, section: &str, name: &str) -> Option<&str> {
        self.fields
            .get(section)
            .and_then(|s| s.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

fn render_compiled(
    c: &Compiled,
    data: &Value,
    now: DateTime<FixedOffset>,
    path: &str,
) -> Result<Value, (String, TemplateError)> {
    Ok(match c {
        Compiled::Text(t) => {
            Value::String(t.render_at(data, now).map_err(|e| (path.to_string(), e))?)
        }
        Compiled::Plain(v) => v.clone(),
        Compiled::List(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| render_compiled(item, data, now, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Compiled::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, item)| {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    Ok((k.clone(), render_compiled(item, data, now, &sub)?))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// The data templates see: `.app`, `.context`, `.secrets`, `.serviceType`, `.recipient`.
pub fn template_data(config: &Config, app: &Value, service_type: &str, recipient: &str) -> Value {
    json!({
        "app": app,
        "context": Value::Object(config.context.clone()),
        "secrets": config.secrets,
        "serviceType": service_type,
        "notificationType": service_type,
        "recipient": recipient,
    })
}

/// A point in time as `render` takes it.
pub type Timestamp = DateTime<FixedOffset>;

/// The current time, as `render` takes it.
pub fn now() -> Timestamp {
    chrono::Utc::now().fixed_offset()
}

/// Renders `templates` for a service of type `service_type`.
pub fn render(
    config: &Config,
    templates: &[String],
    app: &Value,
    service_type: &str,
    recipient: &str,
    now: DateTime<FixedOffset>,
) -> Result<Notification, NotifyError> {
    let data = template_data(config, app, service_type, recipient);
    let mut out = Notification::default();
    for name in templates {
        let t = config
            .templates
            .get(name)
            .ok_or_else(|| NotifyError::UnknownTemplate(name.clone()))?;
        let rendered = render_compiled(&t.body, &data, now, "").map_err(|(field, source)| {
            NotifyError::Render {
                name: name.clone(),
                field,
                source,
            }
        })?;
        if let Value::Object(mut map) = rendered {
            if let Some(Value::String(m)) = map.remove("message") {
                out.message = m;
            }
            merge(&mut out.fields, map);
        }
    }
    if service_type == "github"
        && let Some(Value::Object(section)) = out.fields.get_mut("github")
    {
        for (field, default) in [
            ("repoURLPath", crate::services::DEFAULT_REPO_URL_PATH),
            ("revisionPath", crate::services::DEFAULT_REVISION_PATH),
        ] {
            if !section.contains_key(field) {
                let t = crate::gotmpl::Template::parse(default).map_err(|source| {
                    NotifyError::Render {
                        name: "github".into(),
                        field: field.into(),
                        source,
                    }
                })?;
                let v = t
                    .render_at(&data, now)
                    .map_err(|source| NotifyError::Render {
                        name: "github".into(),
                        field: field.into(),
                        source,
                    })?;
                section.insert(field.into(), Value::String(v));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn app() -> Value {
        json!({
            "metadata": {"name": "guestbook"},
            "spec": {"source": {"repoURL": "https://github.com/argoproj/argocd-example-apps.git"}},
            "status": {
                "sync": {"status": "OutOfSync", "revision": "abc"},
                "health": {"status": "Degraded"},
                "conditions": [{"type": "SyncError", "message": "quota exceeded"}],
                "operationState": {"phase": "Failed", "message": "one or more objects failed",
                    "startedAt": "2026-01-01T09:59:00Z", "finishedAt": "2026-01-01T10:00:00Z",
                    "syncResult": {"revision": "abc"}}
            }
        })
    }

    fn config() -> Config {
        Config::from_data(&BTreeMap::new(), &BTreeMap::new()).0
    }

    #[test]
    fn catalog_sync_failed_email() {
        let n = render(
            &config(),
            &["app-sync-failed".into()],
            &app(),
            "email",
            "a@b",
            Utc::now().fixed_offset(),
        )
        .unwrap();
        assert_eq!(
            n.field("email", "subject"),
            Some("Failed to sync application guestbook.")
        );
        assert_eq!(
            n.message,
            "  The sync operation of application guestbook has failed at 2026-01-01T10:00:00Z with the following error: one or more objects failed\nSync operation details are available at: https://localhost:4000/applications/guestbook?operation=true .\n"
        );
    }

    #[test]
    fn every_catalog_template_renders_valid_json_sections() {
        let config = config();
        for name in config.templates.keys() {
            for service in ["slack", "teams", "email", "webhook"] {
                let n = render(
                    &config,
                    std::slice::from_ref(name),
                    &app(),
                    service,
                    "",
                    Utc::now().fixed_offset(),
                )
                .unwrap_or_else(|e| panic!("{name} for {service}: {e}"));
                assert!(n.message.contains("guestbook"), "{name}");
                for (section, field) in [
                    ("slack", "attachments"),
                    ("teams", "facts"),
                    ("teams", "potentialAction"),
                ] {
                    if let Some(text) = n.field(section, field) {
                        let parsed: Result<Value, _> = serde_json::from_str(text);
                        assert!(parsed.is_ok(), "{name} {section}.{field}: {text}");
                    }
                }
            }
        }
        let n = render(
            &config,
            &["app-sync-succeeded".into()],
            &app(),
            "slack",
            "",
            Utc::now().fixed_offset(),
        )
        .unwrap();
        assert!(
            n.message
                .starts_with(":white_check_mark: Application guestbook"),
            "{}",
            n.message
        );
        let n = render(
            &config,
            &["app-deployed".into()],
            &app(),
            "teams",
            "",
            Utc::now().fixed_offset(),
        )
        .unwrap();
        assert!(
            n.field("teams", "potentialAction")
                .unwrap()
                .contains("https://github.com/argoproj/argocd-example-apps\"")
        );
    }

    #[test]
    fn github_defaults_and_render_errors() {
        let cm: BTreeMap<String, String> = [
            (
                "template.gh".to_string(),
                "message: done\ngithub:\n  status:\n    state: success\n    label: cd".to_string(),
            ),
            (
                "template.broken".to_string(),
                "message: '{{.app.nothing.deeper}}'".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let (config, _) = Config::from_data(&cm, &BTreeMap::new());
        let n = render(
            &config,
            &["gh".into()],
            &app(),
            "github",
            "",
            Utc::now().fixed_offset(),
        )
        .unwrap();
        assert_eq!(n.fields["github"]["revisionPath"], "abc");
        assert_eq!(
            n.fields["github"]["repoURLPath"],
            "https://github.com/argoproj/argocd-example-apps.git"
        );
        let e = render(
            &config,
            &["broken".into()],
            &app(),
            "webhook",
            "",
            Utc::now().fixed_offset(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"broken\": message"), "{e}");
        assert!(
            render(
                &config,
                &["absent".into()],
                &app(),
                "webhook",
                "",
                Utc::now().fixed_offset()
            )
            .is_err()
        );
    }
}
