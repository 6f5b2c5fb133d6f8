//! The predicted live object: desired fields applied onto the live object, with deletions of fields
//! that were applied before (last-applied-configuration, or fields owned by our field manager) and are
//! no longer desired. Live fields the desired state never set (defaults, other controllers) are kept,
//! so they are never differences. Lists of objects are merged by their merge key (strategic merge
//! patch keys of built-in kinds, else `name`) so defaulted fields inside list items are kept too.

use serde_json::{Map, Value};

use crate::normalize::{is_empty_or_zero, key_eq, loosely_equal, scalar_equivalent};

/// Lists with set semantics (strategic merge patch `merge` of scalars): live extras are kept.
pub(crate) const SET_LISTS: &[&str] = &["finalizers"];

/// Merge key candidates by list field name.
pub(crate) fn merge_key_candidates(list_key: &str) -> &'static [&'static str] {
    match list_key {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "webhooks"
        | "resourceClaims"
        | "readinessGates" => &["name"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "ports" => &["containerPort", "port", "name"],
        "hostAliases" => &["ip"],
        "conditions" => &["type"],
        "ownerReferences" => &["uid"],
        "topologySpreadConstraints" => &["topologyKey"],
        _ => &["name"],
    }
}

/// Context of one comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MergeCtx {
    /// The object is a built-in kind (zero values are omitted by the API server).
    pub(crate) builtin: bool,
}

/// Predicts the live object after applying `desired`.
pub(crate) fn predict(orig: Option<&Value>, desired: &Value, live: &Value, ctx: MergeCtx) -> Value {
    predict_value(orig, desired, live, "", "", ctx)
}

fn predict_value(
    orig: Option<&Value>,
    desired: &Value,
    live: &Value,
    parent_key: &str,
    key: &str,
    ctx: MergeCtx,
) -> Value {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            Value::Object(predict_map(orig.and_then(Value::as_object), d, l, key, ctx))
        }
        (Value::Array(d), Value::Array(l)) => {
            Value::Array(predict_list(orig.and_then(Value::as_array), d, l, key, ctx))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
            desired.clone()
        }
        _ => {
            if scalar_equivalent(parent_key, key, desired, live) {
                live.clone()
            } else {
                desired.clone()
            }
        }
    }
}

fn predict_map(
    orig: Option<&Map<String, Value>>,
    desired: &Map<String, Value>,
    live: &Map<String, Value>,
    map_key: &str,
    ctx: MergeCtx,
) -> Map<String, Value> {
    let mut result = Map::with_capacity(live.len() + desired.len());
    for (k, lv) in live {
        // In built-in kinds a null field is an unset field (the API server defaults it again); in
        // custom resources it removes the field, as a JSON merge patch does.
        match desired.get(k).filter(|v| !(ctx.builtin && v.is_null())) {
            // applied before and no longer desired: removed
            None if orig.is_some_and(|o| o.contains_key(k)) => {}
            // never desired: kept as it is
            None => {
                result.insert(k.clone(), lv.clone());
            }
            // {} vs null, [] vs {}: nothing set either way
            Some(dv) if is_empty_or_zero(dv, false) && is_empty_or_zero(lv, false) => {
                result.insert(k.clone(), lv.clone());
            }
            Some(Value::Null) => {}
            Some(dv) => {
                result.insert(
                    k.clone(),
                    predict_value(orig.and_then(|o| o.get(k)), dv, lv, map_key, k, ctx),
                );
            }
        }
    }
    for (k, dv) in desired {
        if !live.contains_key(k) && !is_empty_or_zero(dv, ctx.builtin) {
            result.insert(k.clone(), strip_nulls(dv));
        }
    }
    result
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// True when every item has a scalar value at `field` and no two items have equivalent values.
pub(crate) fn unique_keys_present(items: &[Value], field: &str) -> bool {
    let keys: Option<Vec<&Value>> = items
        .iter()
        .map(|i| {
            i.get(field)
                .filter(|k| k.is_string() || k.is_number() || k.is_boolean())
        })
        .collect();
    let Some(keys) = keys else { return false };
    keys.iter()
        .enumerate()
        .all(|(i, a)| keys[..i].iter().all(|b| !key_eq(a, b)))
}

fn find_keyed<'a>(items: &'a [Value], field: &str, key: &Value) -> Option<(usize, &'a Value)> {
    items
        .iter()
        .enumerate()
        .find(|(_, i)| i.get(field).is_some_and(|k| key_eq(k, key)))
}

fn predict_list(
    orig: Option<&Vec<Value>>,
    desired: &[Value],
    live: &[Value],
    list_key: &str,
    ctx: MergeCtx,
) -> Vec<Value> {
    let all_scalars = desired
        .iter()
        .chain(live)
        .all(|v| !v.is_object() && !v.is_array());
    if all_scalars {
        if SET_LISTS.contains(&list_key) {
            let removed: Vec<&Value> = orig
                .map(|o| o.iter().filter(|v| !desired.contains(v)).collect())
                .unwrap_or_default();
            let mut result: Vec<Value> = live
                .iter()
                .filter(|v| !removed.contains(v))
                .cloned()
                .collect();
            result.extend(desired.iter().filter(|d| !live.contains(d)).cloned());
            return result;
        }
        let same = desired.len() == live.len()
            && desired
                .iter()
                .zip(live)
                .all(|(d, l)| loosely_equal(d, l) || scalar_equivalent(list_key, list_key, d, l));
        return if same {
            live.to_vec()
        } else {
            desired.to_vec()
        };
    }
    let all_objects = desired.iter().chain(live).all(Value::is_object);
    if all_objects {
        for field in merge_key_candidates(list_key) {
            if unique_keys_present(desired, field) && unique_keys_present(live, field) {
                return keyed_merge(orig, desired, live, field, list_key, ctx);
            }
        }
    }
    if desired.len() == live.len() {
        return desired
            .iter()
            .zip(live)
            .enumerate()
            .map(|(i, (d, l))| {
                predict_value(orig.and_then(|o| o.get(i)), d, l, list_key, list_key, ctx)
            })
            .collect();
    }
    desired.iter().map(strip_nulls).collect()
}

fn keyed_merge(
    orig: Option<&Vec<Value>>,
    desired: &[Value],
    live: &[Value],
    field: &str,
    list_key: &str,
    ctx: MergeCtx,
) -> Vec<Value> {
    let key_of = |v: &Value| v.get(field).cloned().unwrap_or(Value::Null);
    let orig_item = |key: &Value| orig.and_then(|o| find_keyed(o, field, key)).map(|(_, v)| v);
    let mut result = Vec::with_capacity(live.len().max(desired.len()));
    let mut order = Vec::new();
    for item in live {
        let key = key_of(item);
        match find_keyed(desired, field, &key) {
            Some((di, d)) => {
                order.push(di);
                result.push((
                    Some(di),
                    predict_value(orig_item(&key), d, item, list_key, list_key, ctx),
                ));
            }
            None if orig_item(&key).is_some() => {}
            None => result.push((None, item.clone())),
        }
    }
    for (di, d) in desired.iter().enumerate() {
        if find_keyed(live, field, &key_of(d)).is_none() {
            order.push(di);
            result.push((Some(di), strip_nulls(d)));
        }
    }
    let in_desired_order = order.windows(2).all(|w| w[0] < w[1]);
    if !in_desired_order {
        // The desired state reorders the items: desired items in desired order, then kept live items.
        result.sort_by_key(|(di, _)| di.unwrap_or(usize::MAX));
    }
    result.into_iter().map(|(_, v)| v).collect()
}
