//! The one place where patch semantics come from: `capstan-patch` (JSON patch, merge patch,
//! strategic merge patch, server-side apply field ownership).

use serde_json::Value;

/// A patch that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PatchFailure {
    #[error("{0}")]
    Invalid(String),
    /// Server-side apply conflicts: the 409 message and (manager, field path) pairs.
    #[error("{message}")]
    Conflicts {
        message: String,
        fields: Vec<(String, String)>,
    },
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
    p: &ApplyParams<'_>,
) -> Result<Value, PatchFailure> {
    let req = capstan_patch::ssa::ApplyRequest {
        manager: p.manager,
        force: p.force,
        api_version: p.api_version,
        kind: p.kind,
        now: p.now,
        subresource: p.subresource,
    };
    capstan_patch::ssa::apply(live, applied, &req).map_err(|e| match e {
        capstan_patch::ssa::ApplyError::Conflicts(list) => PatchFailure::Conflicts {
            message: capstan_patch::ssa::conflict_message(&list, Some(p.api_version)),
            fields: list.into_iter().map(|c| (c.manager, c.field)).collect(),
        },
        capstan_patch::ssa::ApplyError::Invalid(m) => PatchFailure::Invalid(m),
    })
}

/// Record an Update operation of `manager` in managedFields.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    api_version: &str,
    kind: &str,
    now: &str,
    sub: Option<&str>,
) -> Value {
    capstan_patch::ssa::record_update(old, new, manager, api_version, kind, now, sub)
}
