//! An allocation-free answer to "is the resource modified?" for the common case (no ignoreDifferences
//! rule matches and the kind needs no kind-specific normalisation). It walks desired, live and
//! last-applied together with exactly the rules of `merge::predict` and stops at the first difference;
//! `Differ::is_modified` falls back to the full comparison otherwise. Equivalence with the full
//! comparison is checked by tests.

use serde_json::{Map, Value};

use crate::merge::{MergeCtx, SET_LISTS, merge_key_candidates, unique_keys_present};
use crate::normalize::{
    SERVER_METADATA, is_empty_or_zero, key_eq, loosely_equal, scalar_equivalent,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Metadata,
    Other,
}

/// Walk settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WalkCtx {
    pub(crate) merge: MergeCtx,
    pub(crate) drop_status: bool,
}

/// True when the predicted live object would differ from the live object.
pub(crate) fn differs(orig: Option<&Value>, desired: &Value, live: &Value, ctx: WalkCtx) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            differs_map(orig.and_then(Value::as_object), d, l, "", Level::Root, ctx)
        }
        _ => differs_value(orig, desired, live, "", "", Level::Other, ctx),
    }
}

fn differs_value(
    orig: Option<&Value>,
    d: &Value,
    l: &Value,
    parent_key: &str,
    key: &str,
    level: Level,
    ctx: WalkCtx,
) -> bool {
    match (d, l) {
        (Value::Object(dm), Value::Object(lm)) => {
            differs_map(orig.and_then(Value::as_object), dm, lm, key, level, ctx)
        }
        (Value::Array(da), Value::Array(la)) => {
            differs_list(orig.and_then(Value::as_array), da, la, key, ctx)
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => true,
        _ => !scalar_equivalent(parent_key, key, d, l),
    }
}

fn differs_map(
    orig: Option<&Map<String, Value>>,
    d: &Map<String, Value>,
    l: &Map<String, Value>,
    map_key: &str,
    level: Level,
    ctx: WalkCtx,
) -> bool {
    let skip_all = |k: &str| match level {
        Level::Root => ctx.drop_status && k == "status",
        Level::Metadata => SERVER_METADATA.contains(&k),
        Level::Other => false,
    };
    let skip_desired = |k: &str| skip_all(k) || (level == Level::Metadata && k == "namespace");
    // last-applied without namespace, and without an empty annotations map
    let orig_has = |k: &str| {
        !skip_desired(k)
            && orig.and_then(|o| o.get(k)).is_some_and(|v| {
                !(level == Level::Metadata && k == "annotations" && is_empty_or_zero(v, false))
            })
    };
    for (k, lv) in l {
        if skip_all(k) {
            continue;
        }
        let dv = if skip_desired(k) {
            None
        } else {
            d.get(k).filter(|v| !(ctx.merge.builtin && v.is_null()))
        };
        match dv {
            None => {
                if orig_has(k) {
                    return true;
                }
            }
            Some(dv) if is_empty_or_zero(dv, false) && is_empty_or_zero(lv, false) => {}
            Some(Value::Null) => return true,
            Some(dv) => {
                let child_level = if level == Level::Root && k == "metadata" {
                    Level::Metadata
                } else {
                    Level::Other
                };
                if differs_value(
                    orig.and_then(|o| o.get(k)),
                    dv,
                    lv,
                    map_key,
                    k,
                    child_level,
                    ctx,
                ) {
                    return true;
                }
            }
        }
    }
    d.iter().any(|(k, dv)| {
        !skip_desired(k) && !l.contains_key(k) && !is_empty_or_zero(dv, ctx.merge.builtin)
    })
}

fn differs_list(
    orig: Option<&Vec<Value>>,
    d: &[Value],
    l: &[Value],
    list_key: &str,
    ctx: WalkCtx,
) -> bool {
    let all_scalars = d.iter().chain(l).all(|v| !v.is_object() && !v.is_array());
    if all_scalars {
        if SET_LISTS.contains(&list_key) {
            let removed = |v: &Value| orig.is_some_and(|o| o.contains(v)) && !d.contains(v);
            return l.iter().any(removed) || d.iter().any(|v| !l.contains(v));
        }
        let same = d.len() == l.len()
            && d.iter()
                .zip(l)
                .all(|(a, b)| loosely_equal(a, b) || scalar_equivalent(list_key, list_key, a, b));
        return !same;
    }
    if d.iter().chain(l).all(Value::is_object) {
        for field in merge_key_candidates(list_key) {
            if unique_keys_present(d, field) && unique_keys_present(l, field) {
                return differs_keyed(orig, d, l, field, list_key, ctx);
            }
        }
    }
    if d.len() == l.len() {
        return d.iter().zip(l).enumerate().any(|(i, (dv, lv))| {
            differs_value(
                orig.and_then(|o| o.get(i)),
                dv,
                lv,
                list_key,
                list_key,
                Level::Other,
                ctx,
            )
        });
    }
    true
}

fn differs_keyed(
    orig: Option<&Vec<Value>>,
    d: &[Value],
    l: &[Value],
    field: &str,
    list_key: &str,
    ctx: WalkCtx,
) -> bool {
    let key_of = |v: &'_ Value| v.get(field).cloned().unwrap_or(Value::Null);
    let find = |items: &'_ [Value], key: &Value| {
        items
            .iter()
            .position(|i| i.get(field).is_some_and(|k| key_eq(k, key)))
    };
    let mut last_desired_index = None;
    for item in l {
        let key = key_of(item);
        match find(d, &key) {
            Some(di) => {
                if last_desired_index.is_some_and(|last| di < last) {
                    return true;
                }
                last_desired_index = Some(di);
                let orig_item = orig.and_then(|o| find(o, &key).map(|i| &o[i]));
                if differs_value(
                    orig_item,
                    &d[di],
                    item,
                    list_key,
                    list_key,
                    Level::Other,
                    ctx,
                ) {
                    return true;
                }
            }
            None => {
                if orig.is_some_and(|o| find(o, &key).is_some()) {
                    return true;
                }
            }
        }
    }
    d.iter().any(|item| find(l, &key_of(item)).is_none())
}
