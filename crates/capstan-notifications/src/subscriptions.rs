//! Who hears about what: subscription annotations on Applications and AppProjects
//! (`notifications.argoproj.io/subscribe.<trigger>.<service>: a;b`) and the ConfigMap's
//! `subscriptions` (with label selectors). An empty trigger (`subscribe..slack`) or an empty
//! trigger list means the default triggers.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::config::Config;

/// The annotation prefix of a subscription.
pub const SUBSCRIBE_PREFIX: &str = "notifications.argoproj.io/subscribe.";

/// A service and a recipient on it (a Slack channel, an address; empty for webhooks).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Destination {
    /// The service name.
    pub service: String,
    /// The recipient.
    pub recipient: String,
}

/// `service:recipient` (or just `service`).
pub fn parse_recipient(text: &str) -> Destination {
    match text.split_once(':') {
        Some((service, recipient)) => Destination {
            service: service.trim().to_string(),
            recipient: recipient.trim().to_string(),
        },
        None => Destination {
            service: text.trim().to_string(),
            recipient: String::new(),
        },
    }
}

/// An equality-based label selector (`a=b,c!=d,e,!f`).
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    Absent(String),
}

impl Selector {
    /// Parses a selector.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let term = if let Some((k, v)) = part.split_once("!=") {
                Term::Ne(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Term::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some(k) = part.strip_prefix('!') {
                Term::Absent(k.trim().to_string())
            } else if part.contains(' ') || part.contains('(') {
                return Err(format!("unsupported selector term {part:?}"));
            } else {
                Term::Exists(part.to_string())
            };
            terms.push(term);
        }
        Ok(Selector { terms })
    }

    /// Whether labels match.
    pub fn matches(&self, labels: &serde_json::Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.terms.iter().all(|t| match t {
            Term::Eq(k, v) => get(k) == Some(v.as_str()),
            Term::Ne(k, v) => get(k) != Some(v.as_str()),
            Term::Exists(k) => labels.contains_key(k),
            Term::Absent(k) => !labels.contains_key(k),
        })
    }
}

/// An entry of the ConfigMap's `subscriptions`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSubscription {
    /// Destinations.
    pub recipients: Vec<Destination>,
    /// Triggers (empty: the default triggers).
    pub triggers: Vec<String>,
    /// Which Applications (all when absent).
    pub selector: Option<Selector>,
}

fn annotations(obj: &Value) -> serde_json::Map<String, Value> {
    obj.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Every (trigger, destination) an Application is subscribed to, from its annotations, its
/// project's annotations and the ConfigMap, without duplicates.
pub fn resolve(
    config: &Config,
    app: &Value,
    project: Option<&Value>,
) -> Vec<(String, Destination)> {
    let mut out = BTreeSet::new();
    let mut from_annotations = |obj: &Value| {
        for (key, value) in annotations(obj) {
            let Some(rest) = key.strip_prefix(SUBSCRIBE_PREFIX) else {
                continue;
            };
            let Some((trigger, service)) = rest.rsplit_once('.') else {
                continue;
            };
            let recipients: Vec<String> = value
                .as_str()
                .unwrap_or_default()
                .split(';')
                .map(|r| r.trim().to_string())
                .collect();
            let recipients: Vec<String> = if recipients.iter().all(String::is_empty) {
                vec![String::new()]
            } else {
                recipients.into_iter().filter(|r| !r.is_empty()).collect()
            };
            let triggers: Vec<String> = if trigger.is_empty() {
                config.default_triggers_for(service).to_vec()
            } else {
                vec![trigger.to_string()]
            };
            for t in &triggers {
                for r in &recipients {
                    out.insert((
                        t.clone(),
                        Destination {
                            service: service.to_string(),
                            recipient: r.clone(),
                        },
                    ));
                }
            }
        }
    };
    from_annotations(app);
    if let Some(project) = project {
        from_annotations(project);
    }
    let labels = app
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for sub in &config.subscriptions {
        if sub.selector.as_ref().is_some_and(|s| !s.matches(&labels)) {
            continue;
        }
        for dest in &sub.recipients {
            let triggers: Vec<String> = if sub.triggers.is_empty() {
                config.default_triggers_for(&dest.service).to_vec()
            } else {
                sub.triggers.clone()
            };
            for t in triggers {
                out.insert((t, dest.clone()));
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn annotations_project_and_configmap() {
        let data: BTreeMap<String, String> = [
            ("defaultTriggers".to_string(), "[on-sync-failed, on-deployed]".to_string()),
            (
                "subscriptions".to_string(),
                "- recipients: [slack:ops, hook]\n  triggers: [on-created]\n  selector: team=a\n- recipients: ['email:x@y']\n  selector: team=b\n".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        let (config, problems) = Config::from_data(&data, &BTreeMap::new());
        assert!(problems.is_empty(), "{problems:?}");
        let app = json!({"metadata": {"name": "a", "labels": {"team": "a"}, "annotations": {
            "notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "c1; c2",
            "notifications.argoproj.io/subscribe..email": "me@x",
            "notifications.argoproj.io/subscribe.on-health-degraded.hook": "",
            "unrelated": "x"
        }}});
        let project = json!({"metadata": {"annotations": {
            "notifications.argoproj.io/subscribe.on-sync-succeeded.slack": "c1"
        }}});
        let got: Vec<String> = resolve(&config, &app, Some(&project))
            .into_iter()
            .map(|(t, d)| format!("{t} {}:{}", d.service, d.recipient))
            .collect();
        assert_eq!(
            got,
            vec![
                "on-created hook:",
                "on-created slack:ops",
                "on-deployed email:me@x",
                "on-health-degraded hook:",
                "on-sync-failed email:me@x",
                "on-sync-succeeded slack:c1",
                "on-sync-succeeded slack:c2",
            ]
        );
    }

    #[test]
    fn selectors() {
        let s = Selector::parse("a=1, b!=2, c, !d").unwrap();
        let labels = |v: Value| v.as_object().unwrap().clone();
        assert!(s.matches(&labels(json!({"a": "1", "c": ""}))));
        assert!(!s.matches(&labels(json!({"a": "1", "c": "", "d": "x"}))));
        assert!(!s.matches(&labels(json!({"a": "1", "b": "2", "c": ""}))));
        assert!(Selector::parse("a in (x)").is_err());
    }
}
