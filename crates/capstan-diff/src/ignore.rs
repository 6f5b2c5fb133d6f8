//! Compiled ignoreDifferences rules: JSON pointers, jq path expressions, trusted field managers.

use globset::{Glob, GlobMatcher};
use serde_json::Value;

use crate::DiffError;
use crate::jq::JqDelete;
use crate::options::IgnoreDifferencesRule;

/// A rule ready to apply.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    group: GlobMatcher,
    kind: GlobMatcher,
    name: String,
    namespace: String,
    pointers: Vec<String>,
    jq: Vec<JqDelete>,
    pub(crate) managers: Vec<String>,
}

fn glob(pattern: &str, field: &str) -> Result<GlobMatcher, DiffError> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| DiffError::InvalidRule {
            rule: format!("{field} {pattern:?}"),
            message: e.to_string(),
        })
}

impl CompiledRule {
    pub(crate) fn compile(rule: &IgnoreDifferencesRule) -> Result<Self, DiffError> {
        for pointer in &rule.json_pointers {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(DiffError::InvalidRule {
                    rule: format!("jsonPointers {pointer:?}"),
                    message: "a JSON pointer must be empty or start with '/'".into(),
                });
            }
        }
        Ok(CompiledRule {
            group: glob(&rule.group, "group")?,
            kind: glob(&rule.kind, "kind")?,
            name: rule.name.clone(),
            namespace: rule.namespace.clone(),
            pointers: rule.json_pointers.clone(),
            jq: rule
                .jq_path_expressions
                .iter()
                .map(|e| JqDelete::compile(e))
                .collect::<Result<_, _>>()?,
            managers: rule.managed_fields_managers.clone(),
        })
    }

    /// Whether the rule applies to the object (group/kind globs, exact name/namespace when set).
    pub(crate) fn matches(&self, obj: &Value) -> bool {
        let (group, kind) = crate::normalize::group_kind(obj);
        let meta = |f: &str| {
            obj.get("metadata")
                .and_then(|m| m.get(f))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        self.group.is_match(group)
            && self.kind.is_match(kind)
            && (self.name.is_empty() || self.name == meta("name"))
            && (self.namespace.is_empty() || self.namespace == meta("namespace"))
    }

    /// Removes the ignored fields. jq runtime errors are returned after the other removals.
    pub(crate) fn apply(&self, obj: &mut Value) -> Result<(), DiffError> {
        for pointer in &self.pointers {
            remove_pointer(obj, pointer);
        }
        let mut first_error = None;
        for jq in &self.jq {
            if let Err(e) = jq.apply(obj) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Removes the value at an RFC 6901 pointer; absent paths are ignored.
pub(crate) fn remove_pointer(obj: &mut Value, pointer: &str) {
    if pointer.is_empty() {
        return;
    }
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut current = obj;
    for token in parents {
        current = match current {
            Value::Object(map) => match map.get_mut(token) {
                Some(v) => v,
                None => return,
            },
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i))
            {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match current {
        Value::Object(map) => {
            map.remove(last);
        }
        Value::Array(items) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}
