//! Applying a strategic merge patch to an object, as the API server does for
//! `application/strategic-merge-patch+json` (with parallel-list directives enabled and `null`s
//! that match nothing ignored).

use serde_json::{Map, Value};

use super::directives::{
    DELETE_FROM_PRIMITIVE_LIST, PATCH, RETAIN_KEYS, SET_ELEMENT_ORDER, is_directive,
    normalize_order,
};
use crate::PatchError;
use crate::json_patch::type_name;
use crate::schema::Ty;

type Result<T> = std::result::Result<T, PatchError>;

fn child_path(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// Merges `patch` into `original` (both objects of type `ty`).
pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    ty: Ty,
    path: &str,
) -> Result<Map<String, Value>> {
    if let Some(d) = patch.get(PATCH) {
        match d.as_str() {
            Some("replace") => return merge_map(Map::new(), &without_patch(patch), ty, path),
            Some("delete") => return Ok(Map::new()),
            Some("merge") => {}
            _ => {
                return Err(PatchError::strategic(
                    path,
                    format!("unknown $patch directive {d} (expected replace, merge or delete)"),
                ));
            }
        }
    }

    if let Some(keys) = patch.get(RETAIN_KEYS) {
        let keys = keys.as_array().ok_or_else(|| {
            PatchError::strategic(
                path,
                format!("$retainKeys must be a list, got {}", type_name(keys)),
            )
        })?;
        let mut retain = Vec::with_capacity(keys.len());
        for k in keys {
            retain.push(k.as_str().ok_or_else(|| {
                PatchError::strategic(
                    path,
                    format!("$retainKeys entries must be strings, got {k}"),
                )
            })?);
        }
        original.retain(|k, _| retain.contains(&k.as_str()));
    }

    let mut handled: Vec<&str> = Vec::new();
    for (k, v) in patch {
        let Some(field) = k.strip_prefix(SET_ELEMENT_ORDER) else {
            continue;
        };
        let fpath = child_path(path, field);
        let order = v.as_array().ok_or_else(|| {
            PatchError::strategic(
                &child_path(path, k),
                format!("must be a list, got {}", type_name(v)),
            )
        })?;
        let field_ty = ty.member(field);
        let key = match field_ty {
            Ty::MapList(def) => Some(def.smp_key),
            _ => None,
        };
        if let Some(Value::Array(p)) = patch.get(field) {
            validate_order(p, order, key, &fpath)?;
        }
        let server: Vec<Value> = match original.get(field) {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let merged = match patch.get(field) {
            Some(Value::Array(p)) => merge_list(&server, p, field_ty, &fpath)?,
            Some(Value::Null) | None => server.clone(),
            Some(other) => {
                return Err(PatchError::strategic(
                    &fpath,
                    format!("expected a list next to {k}, got {}", type_name(other)),
                ));
            }
        };
        let ordered = normalize_order(merged, order, &server, key);
        if ordered.is_empty() && !original.contains_key(field) {
            // Nothing to order and nothing to create.
        } else {
            original.insert(field.to_string(), Value::Array(ordered));
        }
        handled.push(field);
    }

    for (k, v) in patch {
        if is_directive(k) || handled.contains(&k.as_str()) {
            continue;
        }
        let fpath = child_path(path, k);
        let field_ty = ty.member(k);
        if v.is_null() {
            original.shift_remove(k);
            continue;
        }
        if matches!(field_ty, Ty::MapList(_) | Ty::SetList) && !v.is_array() {
            return Err(PatchError::strategic(
                &fpath,
                format!("expected a list, got {}", type_name(v)),
            ));
        }
        let merged = match (original.get(k), v) {
            // An object with `patchStrategy: replace` is replaced whole.
            (Some(Value::Object(_)), Value::Object(_))
                if matches!(field_ty, Ty::ReplacedObject) =>
            {
                fresh(v, field_ty, &fpath)?
            }
            // `$patch: delete` on an existing object leaves it empty, as the API server does.
            (Some(Value::Object(o)), Value::Object(p)) => {
                Some(Value::Object(merge_map(o.clone(), p, field_ty, &fpath)?))
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                Some(Value::Array(merge_list(o, p, field_ty, &fpath)?))
            }
            _ => fresh(v, field_ty, &fpath)?,
        };
        match merged {
            Some(m) => {
                original.insert(k.clone(), m);
            }
            None => {
                original.shift_remove(k);
            }
        }
    }
    // Deletions from merged primitive lists come last (after the patch lists were merged).
    for (k, v) in patch {
        let Some(field) = k.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else {
            continue;
        };
        let dels = v.as_array().ok_or_else(|| {
            PatchError::strategic(
                &child_path(path, k),
                format!("must be a list, got {}", type_name(v)),
            )
        })?;
        if let Some(Value::Array(list)) = original.get_mut(field) {
            list.retain(|x| !dels.contains(x));
        }
    }

    Ok(original)
}

fn without_patch(patch: &Map<String, Value>) -> Map<String, Value> {
    patch
        .iter()
        .filter(|(k, _)| k.as_str() != PATCH)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The value a patch creates where the original has nothing (or a value of another type):
/// directives are processed against an empty value and `null`s are dropped. `None` means
/// "no value" (`null` or `$patch: delete`).
pub(crate) fn fresh(v: &Value, ty: Ty, path: &str) -> Result<Option<Value>> {
    Ok(match v {
        Value::Null => None,
        Value::Object(p) => {
            if p.get(PATCH).and_then(Value::as_str) == Some("delete") {
                None
            } else {
                Some(Value::Object(merge_map(Map::new(), p, ty, path)?))
            }
        }
        Value::Array(p) => Some(Value::Array(merge_list(&[], p, ty, path)?)),
        other => Some(other.clone()),
    })
}

/// Merges a patch list into an original list according to the field's strategy.
pub(crate) fn merge_list(
    original: &[Value],
    patch: &[Value],
    ty: Ty,
    path: &str,
) -> Result<Vec<Value>> {
    match ty {
        Ty::MapList(def) => merge_keyed(original, patch, def.smp_key, ty.item(), path),
        Ty::SetList => {
            if let Some(rest) = replace_marker(patch, path)? {
                return Ok(rest.into_iter().cloned().collect());
            }
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for v in original.iter().chain(patch) {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            Ok(normalize_order(merged, patch, original, None))
        }
        _ => {
            let mut out = Vec::with_capacity(patch.len());
            for (i, v) in patch.iter().enumerate() {
                // Items of a replaced list keep their nulls (they are literal values); only
                // directives inside objects are processed.
                match v {
                    Value::Object(_) => {
                        if let Some(x) = fresh(v, Ty::Unknown, &format!("{path}[{i}]"))? {
                            out.push(x);
                        }
                    }
                    other => out.push(other.clone()),
                }
            }
            Ok(out)
        }
    }
}

/// `Some(other items)` when the list contains a `{"$patch": "replace"}` marker.
fn replace_marker<'a>(patch: &'a [Value], path: &str) -> Result<Option<Vec<&'a Value>>> {
    let mut replace = false;
    let mut rest = Vec::new();
    for v in patch {
        match v.as_object().and_then(|m| m.get(PATCH)) {
            Some(d) if d.as_str() == Some("replace") => replace = true,
            Some(d) if d.as_str() == Some("delete") || d.as_str() == Some("merge") => rest.push(v),
            Some(d) => {
                return Err(PatchError::strategic(
                    path,
                    format!("unknown $patch directive {d} in list item"),
                ));
            }
            None => rest.push(v),
        }
    }
    Ok(replace.then_some(rest))
}

fn merge_keyed(
    original: &[Value],
    patch: &[Value],
    key: &str,
    item_ty: Ty,
    path: &str,
) -> Result<Vec<Value>> {
    let mut deletes: Vec<&Value> = Vec::new();
    let mut items: Vec<&Map<String, Value>> = Vec::new();
    let mut replace = false;
    for (i, p) in patch.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let pm = p.as_object().ok_or_else(|| {
            PatchError::strategic(
                &ipath,
                format!(
                    "items of a list merged by \"{key}\" must be objects, got {}",
                    type_name(p)
                ),
            )
        })?;
        match pm.get(PATCH).map(|d| (d, d.as_str())) {
            Some((_, Some("replace"))) => replace = true,
            Some((_, Some("delete"))) => {
                let kv = pm.get(key).ok_or_else(|| {
                    PatchError::strategic(
                        &ipath,
                        format!("$patch: delete item must contain the merge key \"{key}\""),
                    )
                })?;
                deletes.push(kv);
            }
            Some((_, Some("merge"))) | None => items.push(pm),
            Some((d, _)) => {
                return Err(PatchError::strategic(
                    &ipath,
                    format!("unknown $patch directive {d} in list item"),
                ));
            }
        }
    }
    if replace {
        let mut out = Vec::with_capacity(items.len());
        for (i, pm) in items.iter().enumerate() {
            out.push(Value::Object(merge_map(
                Map::new(),
                pm,
                item_ty,
                &format!("{path}[{i}]"),
            )?));
        }
        return Ok(out);
    }
    let mut result: Vec<Value> = original
        .iter()
        .filter(|o| {
            o.as_object()
                .and_then(|m| m.get(key))
                .is_none_or(|kv| !deletes.contains(&kv))
        })
        .cloned()
        .collect();
    let mut order: Vec<Value> = Vec::with_capacity(items.len());
    for pm in &items {
        let kv = pm.get(key).ok_or_else(|| {
            PatchError::strategic(
                path,
                format!(
                    "list item {} does not contain the merge key \"{key}\"",
                    Value::Object((*pm).clone())
                ),
            )
        })?;
        let ipath = format!("{path}[{key}={kv}]");
        let pos = result
            .iter()
            .position(|o| o.as_object().and_then(|m| m.get(key)) == Some(kv));
        match pos {
            Some(pos) => {
                let base = result[pos].as_object().cloned().unwrap_or_default();
                result[pos] = Value::Object(merge_map(base, pm, item_ty, &ipath)?);
            }
            None => result.push(Value::Object(merge_map(Map::new(), pm, item_ty, &ipath)?)),
        }
        order.push(Value::Object(Map::from_iter([(
            key.to_string(),
            kv.clone(),
        )])));
    }
    Ok(normalize_order(result, &order, original, Some(key)))
}

/// The items of a patch list (deletions aside) must appear in the `$setElementOrder` list, in
/// the same relative order.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&str>, path: &str) -> Result<()> {
    let items: Vec<&Value> = patch
        .iter()
        .filter(|v| key.is_none() || v.get(PATCH).and_then(Value::as_str) != Some("delete"))
        .collect();
    let (mut pi, mut oi) = (0, 0);
    while pi < items.len() && oi < order.len() {
        let item = items[pi];
        if item.as_object().is_some_and(|m| m.contains_key(PATCH)) {
            pi += 1;
            continue;
        }
        let equal = match key {
            Some(k) => {
                let a = item.get(k);
                let b = order[oi].get(k);
                if a.is_none() || b.is_none() {
                    return Err(PatchError::strategic(
                        path,
                        format!(
                            "$setElementOrder and patch list items must contain the merge key \"{k}\""
                        ),
                    ));
                }
                a == b
            }
            None => item == &order[oi],
        };
        if equal {
            pi += 1;
        }
        oi += 1;
    }
    if pi < items.len() {
        return Err(PatchError::strategic(
            path,
            format!(
                "the order in the patch list {} does not match the $setElementOrder list {}",
                Value::Array(patch.to_vec()),
                Value::Array(order.to_vec())
            ),
        ));
    }
    Ok(())
}
