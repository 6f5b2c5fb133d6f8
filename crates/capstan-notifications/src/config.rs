//! `argocd-notifications-cm` (and `argocd-notifications-secret`) as typed configuration.
//!
//! Every key is parsed on its own: a key that is wrong is reported as a [`ConfigProblem`] naming
//! it, and is left out, while every other trigger, template and service keeps working. The
//! catalog's triggers and templates ([`crate::catalog`]) are built in; ConfigMap keys of the same
//! name replace them.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

use crate::catalog;
use crate::expr::Expr;
use crate::gotmpl::Template;
use crate::services::{Registry, Service};
use crate::subscriptions::{ConfigSubscription, parse_recipient};

/// The default `context.argocdUrl` (Argo CD's).
pub const DEFAULT_ARGOCD_URL: &str = "https://localhost:4000";

/// A key of the ConfigMap that could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    /// The ConfigMap key, e.g. `trigger.on-sync-failed`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// One condition of a trigger.
#[derive(Debug, Clone)]
pub struct Condition {
    /// `when`.
    pub when: Expr,
    /// `oncePer`, if any.
    pub once_per: Option<Expr>,
    /// Template names (`send`).
    pub send: Vec<String>,
    /// `description`.
    pub description: String,
}

/// `trigger.<name>`.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The name.
    pub name: String,
    /// Its conditions, in order.
    pub conditions: Vec<Condition>,
}

/// A template body: its JSON shape with every string compiled.
#[derive(Debug, Clone)]
pub enum Compiled {
    /// A string template.
    Text(Template),
    /// A non-string scalar, kept as is.
    Plain(Value),
    /// A list.
    List(Vec<Compiled>),
    /// A mapping.
    Map(Vec<(String, Compiled)>),
}

/// `template.<name>`.
#[derive(Debug, Clone)]
pub struct NotificationTemplate {
    /// The name.
    pub name: String,
    /// The body (`message`, `email`, `slack`, `webhook`, ...).
    pub body: Compiled,
}

/// A configured service.
#[derive(Clone)]
pub struct ServiceEntry {
    /// The name subscriptions use (`slack`, or `<name>` of `service.<type>.<name>`).
    pub name: String,
    /// The type (`slack`, `webhook`, `email`, ...).
    pub kind: String,
    /// The sender.
    pub service: Arc<dyn Service>,
}

impl std::fmt::Debug for ServiceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceEntry")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The resolved configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Triggers by name.
    pub triggers: BTreeMap<String, Trigger>,
    /// Templates by name.
    pub templates: BTreeMap<String, NotificationTemplate>,
    /// Services by name.
    pub services: BTreeMap<String, ServiceEntry>,
    /// `subscriptions`.
    pub subscriptions: Vec<ConfigSubscription>,
    /// `defaultTriggers`.
    pub default_triggers: Vec<String>,
    /// `defaultTriggers.<service>`.
    pub default_triggers_by_service: BTreeMap<String, Vec<String>>,
    /// `context` (with `argocdUrl` defaulted).
    pub context: serde_json::Map<String, Value>,
    /// Secret values (to be masked in every log line and error).
    pub secret_values: Vec<String>,
    /// The Secret's data, as templates see it (`.secrets`).
    pub secrets: BTreeMap<String, String>,
}

fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        key: key.to_string(),
        message: message.into(),
    }
}

fn yaml(key: &str, text: &str) -> Result<Value, ConfigProblem> {
    let docs = capstan_yaml::parse_stream(text).map_err(|e| problem(key, e.to_string()))?;
    Ok(docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null))
}

fn string_list(key: &str, v: &Value, field: &str) -> Result<Vec<String>, ConfigProblem> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(problem(key, format!("{field}: {other} is not a string"))),
            })
            .collect(),
        other => Err(problem(
            key,
            format!("{field}: expected a list, got {other}"),
        )),
    }
}

/// Parses `trigger.<name>`'s value.
pub fn parse_trigger(key: &str, name: &str, text: &str) -> Result<Trigger, ConfigProblem> {
    let value = yaml(key, text)?;
    let items = match value {
        Value::Array(items) => items,
        v @ Value::Object(_) => vec![v],
        other => {
            return Err(problem(
                key,
                format!("expected a list of conditions, got {other}"),
            ));
        }
    };
    let mut conditions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(problem(key, format!("[{i}]: expected a mapping")));
        };
        for field in map.keys() {
            if !matches!(field.as_str(), "when" | "oncePer" | "send" | "description") {
                return Err(problem(key, format!("[{i}]: unknown field {field:?}")));
            }
        }
        let when_text = match map.get("when") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => return Err(problem(key, format!("[{i}].when: missing or not a string"))),
        };
        let when = Expr::parse(&when_text)
            .map_err(|e| problem(key, format!("[{i}].when: {e} in {when_text:?}")))?;
        let once_per = match map.get("oncePer") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(
                Expr::parse(s).map_err(|e| problem(key, format!("[{i}].oncePer: {e} in {s:?}")))?,
            ),
            Some(other) => {
                return Err(problem(
                    key,
                    format!("[{i}].oncePer: {other} is not a string"),
                ));
            }
        };
        let send = string_list(
            key,
            map.get("send").unwrap_or(&Value::Null),
            &format!("[{i}].send"),
        )?;
        if send.is_empty() {
            return Err(problem(key, format!("[{i}].send: no templates")));
        }
        let description = map
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        conditions.push(Condition {
            when,
            once_per,
            send,
            description,
        });
    }
    if conditions.is_empty() {
        return Err(problem(key, "no conditions"));
    }
    Ok(Trigger {
        name: name.to_string(),
        conditions,
    })
}

fn compile(key: &str, path: &str, v: &Value) -> Result<Compiled, ConfigProblem> {
    Ok(match v {
        Value::String(s) => {
            Compiled::Text(Template::parse(s).map_err(|e| problem(key, format!("{path}: {e}")))?)
        }
        Value::Array(items) => Compiled::List(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| compile(key, &format!("{path}[{i}]"), item))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Compiled::Map(
            map.iter()
                .map(|(k, item)| {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    Ok((k.clone(), compile(key, &sub, item)?))
                })
                .collect::<Result<_, ConfigProblem>>()?,
        ),
        other => Compiled::Plain(other.clone()),
    })
}

/// Parses `template.<name>`'s value.
pub fn parse_template(
    key: &str,
    name: &str,
    text: &str,
) -> Result<NotificationTemplate, ConfigProblem> {
    let value = yaml(key, text)?;
    if !value.is_object() {
        return Err(problem(
            key,
            "expected a mapping (message, email, slack, webhook, ...)",
        ));
    }
    Ok(NotificationTemplate {
        name: name.to_string(),
        body: compile(key, "", &value)?,
    })
}

/// Replaces `$key` references in every string of `v` with values of the Secret; returns the
/// values used.
fn substitute_secrets(v: &mut Value, secrets: &BTreeMap<String, String>, used: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains('$') => {
            let re = secret_ref();
            let replaced = re.replace_all(s, |caps: &regex::Captures<'_>| {
                let name = &caps[1];
                match secrets.get(name) {
                    Some(value) => {
                        used.push(value.clone());
                        value.clone()
                    }
                    None => caps[0].to_string(),
                }
            });
            *s = replaced.into_owned();
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| substitute_secrets(i, secrets, used)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|i| substitute_secrets(i, secrets, used)),
        _ => {}
    }
}

fn secret_ref() -> regex::Regex {
    // a fixed pattern: cannot fail to compile
    regex::Regex::new(r"\$([A-Za-z0-9_.\-]+)").unwrap_or_else(|_| unreachable!())
}

impl Config {
    /// Parses the ConfigMap's `data` with the Secret's (decoded) `data`, using the built-in
    /// services. Returns the usable configuration and the keys that were not usable.
    pub fn from_data(
        data: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, String>,
    ) -> (Config, Vec<ConfigProblem>) {
        Config::from_data_with(data, secrets, &Registry::builtin())
    }

    /// As [`Config::from_data`], with extra service types in `registry`.
    pub fn from_data_with(
        data: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, String>,
        registry: &Registry,
    ) -> (Config, Vec<ConfigProblem>) {
        let mut config = Config::default();
        let mut problems = Vec::new();
        // the catalog first: ConfigMap keys of the same name replace its entries
        let mut merged: BTreeMap<String, String> = catalog::data();
        for (k, v) in data {
            merged.insert(k.clone(), v.clone());
        }
        for (key, text) in &merged {
            if let Some(name) = key.strip_prefix("trigger.") {
                match parse_trigger(key, name, text) {
                    Ok(t) => {
                        config.triggers.insert(name.to_string(), t);
                    }
                    Err(p) => problems.push(p),
                }
            } else if let Some(name) = key.strip_prefix("template.") {
                match parse_template(key, name, text) {
                    Ok(t) => {
                        config.templates.insert(name.to_string(), t);
                    }
                    Err(p) => problems.push(p),
                }
            } else if let Some(rest) = key.strip_prefix("service.") {
                let (kind, name) = rest.split_once('.').unwrap_or((rest, rest));
                let settings = yaml(key, text).and_then(|mut v| {
                    if v.is_null() {
                        v = Value::Object(Default::default());
                    }
                    substitute_secrets(&mut v, secrets, &mut config.secret_values);
                    registry
                        .build(kind, name, &v)
                        .map_err(|m| problem(key, mask(&m, &config.secret_values)))
                });
                match settings {
                    Ok(service) => {
                        config.services.insert(
                            name.to_string(),
                            ServiceEntry {
                                name: name.to_string(),
                                kind: kind.to_string(),
                                service,
                            },
                        );
                    }
                    Err(p) => problems.push(p),
                }
            } else if key == "subscriptions" {
                match yaml(key, text).and_then(|v| parse_subscriptions(key, &v)) {
                    Ok(s) => config.subscriptions = s,
                    Err(p) => problems.push(p),
                }
            } else if key == "defaultTriggers" {
                match yaml(key, text).and_then(|v| string_list(key, &v, "defaultTriggers")) {
                    Ok(t) => config.default_triggers = t,
                    Err(p) => problems.push(p),
                }
            } else if let Some(service) = key.strip_prefix("defaultTriggers.") {
                match yaml(key, text).and_then(|v| string_list(key, &v, key)) {
                    Ok(t) => {
                        config
                            .default_triggers_by_service
                            .insert(service.to_string(), t);
                    }
                    Err(p) => problems.push(p),
                }
            } else if key == "context" {
                match yaml(key, text) {
                    Ok(Value::Object(map)) => config.context = map,
                    Ok(Value::Null) => {}
                    Ok(_) => problems.push(problem(key, "expected a mapping")),
                    Err(p) => problems.push(p),
                }
            }
            // other keys (e.g. `resource.*`) are not ours
        }
        config
            .context
            .entry("argocdUrl")
            .or_insert_with(|| Value::String(DEFAULT_ARGOCD_URL.into()));
        // templates may use any secret (`.secrets.<key>`): mask them all
        config.secret_values.extend(secrets.values().cloned());
        config.secrets = secrets.clone();
        config.secret_values.sort();
        config.secret_values.dedup();
        config.secret_values.retain(|s| !s.is_empty());
        // a trigger that sends an undefined template cannot work: report it and leave it out
        let missing: Vec<(String, String)> = config
            .triggers
            .values()
            .flat_map(|t| {
                t.conditions
                    .iter()
                    .flat_map(|c| c.send.iter())
                    .filter(|s| !config.templates.contains_key(*s))
                    .map(|s| (t.name.clone(), s.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (trigger, template) in missing {
            problems.push(problem(
                &format!("trigger.{trigger}"),
                format!("sends template {template:?}, which is not defined"),
            ));
            config.triggers.remove(&trigger);
        }
        (config, problems)
    }

    /// Default triggers for a service (`defaultTriggers.<service>`, else `defaultTriggers`).
    pub fn default_triggers_for(&self, service: &str) -> &[String] {
        self.default_triggers_by_service
            .get(service)
            .map_or(self.default_triggers.as_slice(), Vec::as_slice)
    }
}

/// Masks every secret value in `text`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    crate::redact::redact(text, secrets)
}

fn parse_subscriptions(key: &str, v: &Value) -> Result<Vec<ConfigSubscription>, ConfigProblem> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(problem(key, "expected a list")),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let recipients = string_list(
            key,
            item.get("recipients").unwrap_or(&Value::Null),
            &format!("[{i}].recipients"),
        )?
        .iter()
        .map(|r| parse_recipient(r))
        .collect();
        let triggers = string_list(
            key,
            item.get("triggers").unwrap_or(&Value::Null),
            &format!("[{i}].triggers"),
        )?;
        let selector = match item.get("selector") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                crate::subscriptions::Selector::parse(s)
                    .map_err(|e| problem(key, format!("[{i}].selector: {e}")))?,
            ),
            Some(_) => return Err(problem(key, format!("[{i}].selector: not a string"))),
        };
        out.push(ConfigSubscription {
            recipients,
            triggers,
            selector,
        });
    }
    Ok(out)
}

fn string_data(obj: Option<&Value>, base64: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(obj) = obj else { return out };
    if let Some(map) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in map {
            let Some(s) = v.as_str() else { continue };
            let value = if base64 {
                match base64::engine::general_purpose::STANDARD.decode(s) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(_) => continue,
                }
            } else {
                s.to_string()
            };
            out.insert(k.clone(), value);
        }
    }
    if base64 && let Some(map) = obj.get("stringData").and_then(Value::as_object) {
        for (k, v) in map {
            if let Some(s) = v.as_str() {
                out.insert(k.clone(), s.to_string());
            }
        }
    }
    out
}

/// The `data` of a ConfigMap object.
pub fn configmap_data(obj: Option<&Value>) -> BTreeMap<String, String> {
    string_data(obj, false)
}

/// The decoded `data` (and `stringData`) of a Secret object.
pub fn secret_data(obj: Option<&Value>) -> BTreeMap<String, String> {
    string_data(obj, true)
}

#[cfg(test)]
mod tests;
