//! Which notifications are due, and the record of those sent.
//!
//! As in Argo CD, the record lives in the Application's annotation
//! `notified.notifications.argoproj.io`: a JSON object from a key
//! (`[oncePer:]<trigger>:[<condition index>].<condition hash>:<service>:<recipient>`) to the Unix
//! time it was sent. A condition that holds and whose key is recorded is not sent again; when the
//! condition stops holding its key is removed (so the next time it holds it is sent again), except
//! for `oncePer` keys, which stay: once per value. The record keeps the newest
//! [`MAX_ENTRIES`] keys.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::Config;
use crate::expr::{Env, Val};
use crate::subscriptions::Destination;

/// The annotation holding what was sent.
pub const NOTIFIED_ANNOTATION: &str = "notified.notifications.argoproj.io";

/// Keys kept in the record.
pub const MAX_ENTRIES: usize = 50;

/// Sent notifications: key to Unix time.
pub type Notified = BTreeMap<String, i64>;

/// Reads the record from an Application (an unreadable record is empty).
pub fn read_notified(app: &Value) -> Notified {
    app.pointer("/metadata/annotations")
        .and_then(|a| a.get(NOTIFIED_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// The record as the annotation's value, trimmed to the newest [`MAX_ENTRIES`].
pub fn encode_notified(notified: &Notified) -> String {
    let mut entries: Vec<(&String, &i64)> = notified.iter().collect();
    if entries.len() > MAX_ENTRIES {
        entries.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        entries.truncate(MAX_ENTRIES);
    }
    let map: serde_json::Map<String, Value> = entries
        .into_iter()
        .map(|(k, v)| (k.clone(), Value::from(*v)))
        .collect();
    Value::Object(map).to_string()
}

/// A notification to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The record key.
    pub key: String,
    /// The trigger.
    pub trigger: String,
    /// Templates to render.
    pub templates: Vec<String>,
    /// Where to.
    pub destination: Destination,
}

/// The outcome of evaluating an Application's subscriptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Notifications to send now.
    pub due: Vec<Due>,
    /// Recorded keys whose condition no longer holds (to remove from the record).
    pub cleared: Vec<String>,
    /// Triggers evaluated, with whether any condition held (for metrics).
    pub evaluated: Vec<(String, bool)>,
    /// Triggers that could not be evaluated (unknown trigger, evaluation error).
    pub errors: Vec<(String, String)>,
}

fn condition_hash(text: &str) -> String {
    // FNV-1a: stable across versions and platforms
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:07x}", h & 0xfff_ffff)
}

/// The record key of one condition and destination.
pub fn state_key(
    trigger: &str,
    index: usize,
    when: &str,
    once_per: Option<&str>,
    dest: &Destination,
) -> String {
    let key = format!(
        "{trigger}:[{index}].{}:{}:{}",
        condition_hash(when),
        dest.service,
        dest.recipient
    );
    match once_per {
        Some(p) => format!("{p}:{key}"),
        None => key,
    }
}

/// Evaluates `subscriptions` of `app` against `notified` (sent and in-flight keys).
pub fn evaluate(
    config: &Config,
    app: &Value,
    subscriptions: &[(String, Destination)],
    notified: &dyn Fn(&str) -> bool,
    env: &Env,
) -> Evaluation {
    let mut out = Evaluation::default();
    let mut by_trigger: BTreeMap<&str, Vec<&Destination>> = BTreeMap::new();
    for (t, d) in subscriptions {
        by_trigger.entry(t.as_str()).or_default().push(d);
    }
    let _ = app;
    for (name, dests) in by_trigger {
        let Some(trigger) = config.triggers.get(name) else {
            out.errors
                .push((name.to_string(), "trigger is not defined".into()));
            continue;
        };
        let mut any = false;
        for (i, cond) in trigger.conditions.iter().enumerate() {
            let held = match cond.when.eval_bool(env) {
                Ok(b) => b,
                Err(e) => {
                    out.errors
                        .push((name.to_string(), format!("[{i}].when: {e}")));
                    false
                }
            };
            let once_per = match &cond.once_per {
                // an empty value is no oncePer at all, as in Argo CD
                Some(expr) => match expr.eval(env) {
                    Ok(v) => Some(match v {
                        Val::Nil => String::new(),
                        v => v.to_key_string(),
                    })
                    .filter(|s| !s.is_empty()),
                    Err(e) => {
                        out.errors
                            .push((name.to_string(), format!("[{i}].oncePer: {e}")));
                        continue;
                    }
                },
                None => None,
            };
            any |= held;
            for dest in &dests {
                let key = state_key(name, i, cond.when.source(), once_per.as_deref(), dest);
                if held {
                    if !notified(&key) {
                        out.due.push(Due {
                            key,
                            trigger: name.to_string(),
                            templates: cond.send.clone(),
                            destination: (*dest).clone(),
                        });
                    }
                } else if once_per.is_none() && notified(&key) {
                    out.cleared.push(key);
                }
            }
        }
        out.evaluated.push((name.to_string(), any));
    }
    out
}

/// Each condition of trigger `name` evaluated against an Application (for
/// `capstan admin notifications trigger run`): the `when` text and its result.
pub fn run_trigger(
    config: &Config,
    name: &str,
    env: &Env,
) -> Option<Vec<(String, Result<bool, crate::expr::ExprError>)>> {
    let trigger = config.triggers.get(name)?;
    Some(
        trigger
            .conditions
            .iter()
            .map(|c| (c.when.source().to_string(), c.when.eval_bool(env)))
            .collect(),
    )
}

#[cfg(test)]
mod tests;
