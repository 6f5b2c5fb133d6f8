//! Strategic merge patch (`application/strategic-merge-patch+json`) for the built-in kinds.
//!
//! Maps merge recursively and `null` deletes a key. Lists with a merge key (see
//! [`crate::schema`]) merge item by item; merged primitive lists (`finalizers`) are sets; all
//! other lists are replaced. Directives: `$patch: replace|merge|delete` in maps and list items,
//! `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.

mod apply;
pub mod directives;
mod three_way;

use serde_json::{Map, Value};

use crate::PatchError;
use crate::json_patch::type_name;
use crate::schema;

/// Whether strategic merge patch metadata is known for this kind (true for the built-in
/// kinds). For other kinds (custom resources) the API server answers 415 to a strategic merge
/// patch.
pub fn has_strategic_merge_info(api_version: &str, kind: &str) -> bool {
    schema::is_builtin(api_version, kind)
}

/// Applies a strategic merge patch to `doc` of the given kind.
///
/// For kinds without strategic merge metadata every list is replaced (the patch then behaves
/// like a JSON merge patch that also understands the directives).
pub fn apply_strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, PatchError> {
    let patch = patch.as_object().ok_or_else(|| {
        PatchError::strategic(
            "",
            format!("the patch must be a JSON object, got {}", type_name(patch)),
        )
    })?;
    check_depth(&[doc, &Value::Object(patch.clone())])?;
    let original = doc.as_object().cloned().unwrap_or_default();
    let merged = apply::merge_map(original, patch, schema::root(api_version, kind), "")?;
    Ok(Value::Object(merged))
}

/// The three-way patch `kubectl apply` (client-side) computes from the last applied
/// configuration (`original`), the new configuration (`modified`) and the live object
/// (`current`): it adds and changes what `modified` has that `current` lacks or differs in, and
/// deletes what `original` had and `modified` no longer has. Fields only the server or other
/// writers set (present in `current`, absent from `original`) are left alone.
///
/// kubectl also stores `modified` in the `kubectl.kubernetes.io/last-applied-configuration`
/// annotation of `modified` before diffing; callers that emulate kubectl do the same.
pub fn three_way_strategic_patch(
    original: Option<&Value>,
    modified: &Value,
    current: &Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, PatchError> {
    check_depth(&[modified, current])?;
    if let Some(o) = original {
        check_depth(&[o])?;
    }
    let modified = as_object(modified, "modified")?;
    let current = as_object(current, "current")?;
    let original = match original {
        Some(Value::Null) | None => None,
        Some(o) => Some(as_object(o, "original")?),
    };
    let patch = three_way::three_way(original, modified, current, schema::root(api_version, kind))?;
    Ok(Value::Object(patch))
}

/// A two-way strategic merge patch that turns `original` into `modified` (deletions included).
pub fn two_way_strategic_patch(
    original: &Value,
    modified: &Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, PatchError> {
    check_depth(&[original, modified])?;
    let original = as_object(original, "original")?;
    let modified = as_object(modified, "modified")?;
    let patch = three_way::two_way(original, modified, schema::root(api_version, kind))?;
    Ok(Value::Object(patch))
}

fn as_object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, PatchError> {
    v.as_object().ok_or_else(|| {
        PatchError::strategic(
            "",
            format!(
                "the {what} object must be a JSON object, got {}",
                type_name(v)
            ),
        )
    })
}

fn check_depth(docs: &[&Value]) -> Result<(), PatchError> {
    if docs
        .iter()
        .all(|d| crate::within_depth(d, crate::MAX_DEPTH))
    {
        Ok(())
    } else {
        Err(PatchError::strategic(
            "",
            format!("the document nests deeper than {} levels", crate::MAX_DEPTH),
        ))
    }
}
