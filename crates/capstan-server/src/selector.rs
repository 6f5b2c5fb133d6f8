//! Kubernetes label selectors (`a=b,c!=d,e in (f,g),h notin (i),j,!k`), evaluated on cached
//! Applications (the list and stream endpoints filter the Application cache, not the cluster).

use serde_json::Value;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

/// Why a selector did not parse (the text names the requirement).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid label selector {selector:?}: {message}")]
pub struct SelectorError {
    /// The whole selector.
    pub selector: String,
    /// What is wrong.
    pub message: String,
}

fn valid_key(k: &str) -> bool {
    let (prefix, name) = k.rsplit_once('/').unwrap_or(("", k));
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = prefix.len() <= 253
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    name_ok && prefix_ok && !(k.contains('/') && prefix.is_empty())
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

impl LabelSelector {
    /// Parses a selector; the empty string selects everything.
    pub fn parse(selector: &str) -> Result<LabelSelector, SelectorError> {
        let bad = |message: String| SelectorError {
            selector: selector.to_string(),
            message,
        };
        let mut reqs = Vec::new();
        if selector.trim().is_empty() {
            return Ok(LabelSelector(reqs));
        }
        for part in split_top(selector) {
            let p = part.trim();
            if p.is_empty() {
                return Err(bad("empty requirement".into()));
            }
            let set_op = |op: &str| -> Option<(String, String)> {
                let idx = p.find(op)?;
                Some((
                    p[..idx].trim().to_string(),
                    p[idx + op.len()..].trim().to_string(),
                ))
            };
            let req = if let Some((k, rest)) = set_op(" notin ") {
                Requirement::NotIn(
                    k,
                    parse_set(&rest).ok_or_else(|| bad(format!("{p:?}: expected (v1,v2)")))?,
                )
            } else if let Some((k, rest)) = set_op(" in ") {
                Requirement::In(
                    k,
                    parse_set(&rest).ok_or_else(|| bad(format!("{p:?}: expected (v1,v2)")))?,
                )
            } else if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==") {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once('=') {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some(k) = p.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else {
                Requirement::Exists(p.into())
            };
            let (key, values): (&str, Vec<&str>) = match &req {
                Requirement::Eq(k, v) | Requirement::NotEq(k, v) => (k, vec![v.as_str()]),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => {
                    (k, vs.iter().map(String::as_str).collect())
                }
                Requirement::Exists(k) | Requirement::NotExists(k) => (k, vec![]),
            };
            if !valid_key(key) {
                return Err(bad(format!("invalid label key {key:?}")));
            }
            if let Some(v) = values.iter().find(|v| !valid_value(v)) {
                return Err(bad(format!("invalid label value {v:?} for key {key:?}")));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// True when the selector has no requirement.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}})
    }

    #[test]
    fn equality_and_sets() {
        let o = obj(json!({"team": "a", "tier": "web"}));
        let t = |s: &str| LabelSelector::parse(s).unwrap().matches(&o);
        assert!(t("team=a"));
        assert!(t("team==a,tier=web"));
        assert!(!t("team=b"));
        assert!(t("team!=b"));
        assert!(t("tier in (web, db)"));
        assert!(!t("tier notin (web)"));
        assert!(t("team"));
        assert!(!t("!team"));
        assert!(t("!missing"));
        assert!(t(""));
        assert!(t("example.com/x notin (y)"));
    }

    #[test]
    fn bad_selectors_name_the_problem() {
        let e = LabelSelector::parse("team=a,,x").unwrap_err();
        assert!(e.message.contains("empty requirement"), "{e}");
        let e = LabelSelector::parse("tier in web").unwrap_err();
        assert!(e.message.contains("expected (v1,v2)"), "{e}");
        let e = LabelSelector::parse("te am=a").unwrap_err();
        assert!(e.message.contains("invalid label key"), "{e}");
    }
}
