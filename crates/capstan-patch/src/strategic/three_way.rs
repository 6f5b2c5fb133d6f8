//! The three-way strategic merge patch `kubectl apply` (client-side) sends: additions and
//! changes from the live object (`current`) to the new configuration (`modified`), plus
//! deletions of what the last applied configuration (`original`) had and `modified` no longer
//! has. Lists with a merge key produce `$setElementOrder/<list>` and `{"$patch":"delete"}`
//! items; merged primitive lists produce `$deleteFromPrimitiveList/<list>`; objects with the
//! `retainKeys` strategy produce `$retainKeys`.

use serde_json::{Map, Value};

use super::directives::{DELETE_FROM_PRIMITIVE_LIST, PATCH, RETAIN_KEYS, SET_ELEMENT_ORDER};
use crate::PatchError;
use crate::schema::Ty;

#[derive(Clone, Copy)]
struct Opts {
    ignore_changes_and_additions: bool,
    ignore_deletions: bool,
    build_retain_keys: bool,
}

type Result<T> = std::result::Result<T, PatchError>;

pub(crate) fn three_way(
    original: Option<&Map<String, Value>>,
    modified: &Map<String, Value>,
    current: &Map<String, Value>,
    ty: Ty,
) -> Result<Map<String, Value>> {
    let delta = diff_maps(
        current,
        modified,
        ty,
        Opts {
            ignore_changes_and_additions: false,
            ignore_deletions: true,
            build_retain_keys: false,
        },
        "",
    )?;
    let deletions = match original {
        Some(o) => diff_maps(
            o,
            modified,
            ty,
            Opts {
                ignore_changes_and_additions: true,
                ignore_deletions: false,
                build_retain_keys: false,
            },
            "",
        )?,
        None => Map::new(),
    };
    let mut merged = merge_patches(deletions, delta, ty);
    sort_keys(&mut merged);
    Ok(merged)
}

/// Computes a two-way strategic merge patch from `original` to `modified`.
pub(crate) fn two_way(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    ty: Ty,
) -> Result<Map<String, Value>> {
    let mut patch = diff_maps(
        original,
        modified,
        ty,
        Opts {
            ignore_changes_and_additions: false,
            ignore_deletions: false,
            build_retain_keys: false,
        },
        "",
    )?;
    sort_keys(&mut patch);
    Ok(patch)
}

fn diff_maps(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    ty: Ty,
    opts: Opts,
    path: &str,
) -> Result<Map<String, Value>> {
    let mut patch = Map::new();
    let mut retain: Vec<String> = Vec::new();
    for (key, mv) in modified {
        if opts.build_retain_keys && !mv.is_null() {
            retain.push(key.clone());
        }
        let Some(ov) = original.get(key) else {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), mv.clone());
            }
            continue;
        };
        let fpath = format!("{path}.{key}");
        let field_ty = ty.member(key);
        match (ov, mv) {
            // kubectl sends an object with `patchStrategy: replace` whole, changed or not.
            (Value::Object(_), Value::Object(_)) if matches!(field_ty, Ty::ReplacedObject) => {
                if !opts.ignore_changes_and_additions {
                    patch.insert(key.clone(), mv.clone());
                }
            }
            (Value::Object(o), Value::Object(m)) => {
                let sub = Opts {
                    build_retain_keys: field_ty.object_def().retain_keys,
                    ..opts
                };
                let p = diff_maps(o, m, field_ty, sub, &fpath)?;
                if !p.is_empty() {
                    patch.insert(key.clone(), Value::Object(p));
                }
            }
            (Value::Array(o), Value::Array(m)) => {
                diff_slices(key, o, m, field_ty, opts, &mut patch, &fpath)?;
            }
            _ => {
                if !opts.ignore_changes_and_additions && ov != mv {
                    patch.insert(key.clone(), mv.clone());
                }
            }
        }
    }
    if !opts.ignore_deletions {
        for key in original.keys() {
            if !modified.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    let has_additional = original
        .iter()
        .any(|(k, v)| !v.is_null() && !modified.contains_key(k));
    if !retain.is_empty() && (!patch.is_empty() || has_additional) {
        retain.sort();
        patch.insert(
            RETAIN_KEYS.to_string(),
            Value::Array(retain.into_iter().map(Value::String).collect()),
        );
    }
    Ok(patch)
}

fn diff_slices(
    key: &str,
    original: &[Value],
    modified: &[Value],
    ty: Ty,
    opts: Opts,
    patch: &mut Map<String, Value>,
    path: &str,
) -> Result<()> {
    match ty {
        Ty::MapList(def) => {
            let merge_key = def.smp_key;
            let item_opts = Opts {
                build_retain_keys: def.retain_keys,
                ..opts
            };
            let mut add: Vec<Value> = Vec::new();
            let mut del: Vec<Value> = Vec::new();
            let kv = |v: &Value| -> Result<Value> {
                v.as_object()
                    .and_then(|m| m.get(merge_key))
                    .cloned()
                    .ok_or_else(|| {
                        PatchError::strategic(
                            path,
                            format!("list item {v} does not contain the merge key \"{merge_key}\""),
                        )
                    })
            };
            // Items of modified, in modified's order: changed or added ones go to the patch.
            for m in modified {
                let mk = kv(m)?;
                let found = original.iter().find(|o| kv(o).ok().as_ref() == Some(&mk));
                match found {
                    Some(o) => {
                        if let (Some(om), Some(mm)) = (o.as_object(), m.as_object()) {
                            let mut p = diff_maps(om, mm, Ty::Object(def.item), item_opts, path)?;
                            if !p.is_empty() {
                                p.insert(merge_key.to_string(), mk);
                                add.push(Value::Object(p));
                            }
                        }
                    }
                    None => {
                        if !opts.ignore_changes_and_additions {
                            add.push(m.clone());
                        }
                    }
                }
            }
            if !opts.ignore_deletions {
                for o in original {
                    let ok = kv(o)?;
                    if !modified.iter().any(|m| kv(m).ok().as_ref() == Some(&ok)) {
                        del.push(Value::Object(Map::from_iter([
                            (PATCH.to_string(), Value::String("delete".into())),
                            (merge_key.to_string(), ok),
                        ])));
                    }
                }
            }
            // Changed and added items follow modified's order (they were collected in it);
            // deletions are sorted by merge key, as kubectl does.
            sort_by_merge_key(&mut del, merge_key);
            let order_same = original.len() == modified.len()
                && original
                    .iter()
                    .zip(modified)
                    .all(|(o, m)| kv(o).ok() == kv(m).ok());
            let has_patch = !add.is_empty() || !del.is_empty();
            add.extend(del);
            let set_order = (!opts.ignore_changes_and_additions && (has_patch || !order_same))
                || (!opts.ignore_deletions && has_patch);
            if !add.is_empty() {
                patch.insert(key.to_string(), Value::Array(add));
            }
            if set_order {
                let order = modified
                    .iter()
                    .map(|m| {
                        kv(m).map(|k| Value::Object(Map::from_iter([(merge_key.to_string(), k)])))
                    })
                    .collect::<Result<Vec<_>>>()?;
                patch.insert(format!("{SET_ELEMENT_ORDER}{key}"), Value::Array(order));
            }
        }
        Ty::SetList => {
            let mut add: Vec<Value> = Vec::new();
            let mut del: Vec<Value> = Vec::new();
            if !opts.ignore_changes_and_additions {
                for m in modified {
                    if !original.contains(m) && !add.contains(m) {
                        add.push(m.clone());
                    }
                }
            }
            if !opts.ignore_deletions {
                for o in original {
                    if !modified.contains(o) && !del.contains(o) {
                        del.push(o.clone());
                    }
                }
            }
            del.sort_by_cached_key(scalar_string);
            // kubectl sorts the old list (by string form) in place before comparing orders, so
            // a new list that is not sorted always carries `$setElementOrder`.
            let mut sorted_original = original.to_vec();
            sorted_original.sort_by_cached_key(scalar_string);
            let order_same = sorted_original == modified;
            if !add.is_empty() {
                patch.insert(key.to_string(), Value::Array(add));
            }
            if !del.is_empty() {
                patch.insert(
                    format!("{DELETE_FROM_PRIMITIVE_LIST}{key}"),
                    Value::Array(del.clone()),
                );
            }
            if (!opts.ignore_deletions && !del.is_empty())
                || (!opts.ignore_changes_and_additions && !order_same)
            {
                patch.insert(
                    format!("{SET_ELEMENT_ORDER}{key}"),
                    Value::Array(modified.to_vec()),
                );
            }
        }
        _ => {
            if !opts.ignore_changes_and_additions && original != modified {
                patch.insert(key.to_string(), Value::Array(modified.to_vec()));
            }
        }
    }
    Ok(())
}

/// kubectl sorts delete directives by the string form of their merge key.
fn sort_by_merge_key(items: &mut [Value], key: &str) {
    items.sort_by_cached_key(|v| v.get(key).map(scalar_string).unwrap_or_default());
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Merges the deletions patch and the delta patch: maps recursively, items of keyed lists by
/// their merge key (changed/added items first, then the delete directives).
fn merge_patches(
    mut base: Map<String, Value>,
    other: Map<String, Value>,
    ty: Ty,
) -> Map<String, Value> {
    for (k, v) in other {
        let field_ty = ty.member(&k);
        let merged = match (base.shift_remove(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => {
                Value::Object(merge_patches(a, b, field_ty))
            }
            (Some(Value::Array(a)), Value::Array(b)) if !k.starts_with('$') => {
                Value::Array(merge_patch_lists(a, b, field_ty))
            }
            (_, v) => v,
        };
        base.insert(k, merged);
    }
    order_like_set_element_order(&mut base, ty);
    base
}

/// Puts the items of each merged patch list in the order of its `$setElementOrder` sibling
/// (delete directives last), so that the patch passes the server's consistency check between
/// the two even when changes and deletions came from different passes.
fn order_like_set_element_order(m: &mut Map<String, Value>, ty: Ty) {
    let keys: Vec<String> = m
        .keys()
        .filter_map(|k| k.strip_prefix(SET_ELEMENT_ORDER).map(str::to_string))
        .collect();
    for field in keys {
        let Ty::MapList(def) = ty.member(&field) else {
            continue;
        };
        let order: Vec<Value> = match m.get(&format!("{SET_ELEMENT_ORDER}{field}")) {
            Some(Value::Array(o)) => o
                .iter()
                .filter_map(|v| v.get(def.smp_key).cloned())
                .collect(),
            _ => continue,
        };
        if let Some(Value::Array(items)) = m.get_mut(&field) {
            let rank = |v: &Value| -> usize {
                if v.get(PATCH).is_some() {
                    return usize::MAX;
                }
                v.get(def.smp_key)
                    .and_then(|k| order.iter().position(|o| o == k))
                    .unwrap_or(usize::MAX - 1)
            };
            items.sort_by_key(rank);
        }
    }
}

fn merge_patch_lists(a: Vec<Value>, b: Vec<Value>, ty: Ty) -> Vec<Value> {
    let key = match ty {
        Ty::MapList(def) => Some(def.smp_key),
        _ => None,
    };
    let key_of = |v: &Value| -> Option<Value> {
        let m = v.as_object()?;
        if m.contains_key(PATCH) {
            return None;
        }
        m.get(key?).cloned()
    };
    let mut rest: Vec<Option<Value>> = a.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(rest.len() + b.len());
    for item in b {
        let id = key_of(&item);
        let matching = id.as_ref().and_then(|id| {
            rest.iter()
                .position(|r| r.as_ref().and_then(key_of).as_ref() == Some(id))
        });
        match (matching.and_then(|i| rest[i].take()), item) {
            (Some(Value::Object(x)), Value::Object(y)) => {
                out.push(Value::Object(merge_patches(x, y, ty.item())));
            }
            (_, item) => {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
        }
    }
    for r in rest.into_iter().flatten() {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// Sorts object keys recursively, as Go's encoding/json does for the maps kubectl marshals.
pub(crate) fn sort_keys(m: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, mut v) in entries {
        sort_value(&mut v);
        m.insert(k, v);
    }
}

fn sort_value(v: &mut Value) {
    match v {
        Value::Object(m) => sort_keys(m),
        Value::Array(a) => a.iter_mut().for_each(sort_value),
        _ => {}
    }
}
