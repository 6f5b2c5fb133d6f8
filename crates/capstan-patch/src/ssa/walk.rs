//! Walks over typed values as structured-merge-diff does: the field set of an applied
//! configuration, the comparison of two objects, the merge of a configuration into a live
//! object, and the removal of a set of fields.

use serde_json::{Map, Value};

use super::fieldset::{PathElement, Set, path_string};
use crate::json_patch::json_equal;
use crate::schema::Ty;

fn is_keyed(ty: Ty) -> bool {
    ty.is_keyed_list()
}

/// Whether ownership is tracked below this value (a non-atomic object or an associative list
/// or set).
fn is_granular(v: &Value, ty: Ty) -> bool {
    match v {
        Value::Object(_) => !ty.is_atomic_object(),
        Value::Array(_) => is_keyed(ty),
        _ => false,
    }
}

/// The path element of a list item, or why it has none.
pub fn item_element(item: &Value, ty: Ty) -> Result<PathElement, String> {
    match ty {
        Ty::MapList(def) => {
            let obj = item
                .as_object()
                .ok_or_else(|| format!("associative list item must be an object, got {item}"))?;
            let mut key = Vec::with_capacity(def.ssa_keys.len());
            for (name, default) in def.ssa_keys {
                match (obj.get(*name), default) {
                    (Some(v), _) if !v.is_null() => key.push(((*name).to_string(), v.clone())),
                    (_, Some(d)) => key.push(((*name).to_string(), Value::String((*d).into()))),
                    _ => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field \"{name}\""
                        ));
                    }
                }
            }
            // Key fields are ordered by name, as structured-merge-diff orders them.
            key.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(key))
        }
        _ => Ok(PathElement::Value(item.clone())),
    }
}

/// Items of a keyed list with their path elements (items without one are skipped).
fn index_items(list: &[Value], ty: Ty) -> Vec<(PathElement, &Value)> {
    list.iter()
        .filter_map(|v| item_element(v, ty).ok().map(|pe| (pe, v)))
        .collect()
}

/// The set of fields an applied configuration specifies (structured-merge-diff's `ToFieldSet`):
/// leaves, list items (with their `.`), atomic values and empty objects.
pub fn to_field_set(value: &Value, ty: Ty) -> Result<Set, String> {
    let mut set = Set::new();
    let mut path = Vec::new();
    fields_of(value, ty, &mut path, &mut set)?;
    Ok(set)
}

fn fields_of(
    value: &Value,
    ty: Ty,
    path: &mut Vec<PathElement>,
    set: &mut Set,
) -> Result<(), String> {
    match value {
        Value::Object(m) if !ty.is_atomic_object() => {
            for (k, v) in m {
                path.push(PathElement::Field(k.clone()));
                fields_of(v, ty.member(k), path, set)?;
                if v.is_null() || v.as_object().is_some_and(Map::is_empty) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Value::Array(items) if is_keyed(ty) => {
            let mut seen: Vec<PathElement> = Vec::with_capacity(items.len());
            for item in items {
                let pe =
                    item_element(item, ty).map_err(|e| format!("{}: {e}", path_string(path)))?;
                if seen.contains(&pe) {
                    return Err(format!(
                        "{}: duplicate entries for key {pe}",
                        path_string(path)
                    ));
                }
                seen.push(pe.clone());
                path.push(pe);
                fields_of(item, ty.item(), path, set)?;
                set.insert(path);
                path.pop();
            }
        }
        _ => set.insert(path),
    }
    Ok(())
}

/// What changed between two versions of an object.
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

/// Compares `lhs` (old) with `rhs` (new). Every node that appears is `added`, every node that
/// disappears is `removed` (with everything below it), leaves and atomic values that differ
/// are `modified`.
pub fn compare(lhs: Option<&Value>, rhs: Option<&Value>, ty: Ty) -> Comparison {
    let mut c = Comparison::default();
    compare_at(lhs, rhs, ty, &mut Vec::new(), &mut c);
    c
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: Ty,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) {
    match (lhs, rhs) {
        (None, None) => {}
        (None, Some(r)) => {
            c.added.insert(path);
            descend_one(r, ty, path, &mut |p, v, t| {
                compare_at(None, Some(v), t, p, c)
            });
        }
        (Some(l), None) => {
            c.removed.insert(path);
            descend_one(l, ty, path, &mut |p, v, t| {
                compare_at(Some(v), None, t, p, c)
            });
        }
        (Some(Value::Object(l)), Some(Value::Object(r))) if !ty.is_atomic_object() => {
            for (k, lv) in l {
                path.push(PathElement::Field(k.clone()));
                compare_at(Some(lv), r.get(k), ty.member(k), path, c);
                path.pop();
            }
            for (k, rv) in r {
                if !l.contains_key(k) {
                    path.push(PathElement::Field(k.clone()));
                    compare_at(None, Some(rv), ty.member(k), path, c);
                    path.pop();
                }
            }
        }
        (Some(Value::Array(l)), Some(Value::Array(r))) if is_keyed(ty) => {
            let li = index_items(l, ty);
            let ri = index_items(r, ty);
            for (pe, lv) in &li {
                let rv = ri.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
                path.push(pe.clone());
                compare_at(Some(lv), rv, ty.item(), path, c);
                path.pop();
            }
            for (pe, rv) in &ri {
                if !li.iter().any(|(p, _)| p == pe) {
                    path.push(pe.clone());
                    compare_at(None, Some(rv), ty.item(), path, c);
                    path.pop();
                }
            }
        }
        // `null` stands for an empty granular container (as a nil slice or map in Go): its
        // items are added or removed, the container itself is not.
        (Some(Value::Null), Some(r)) if is_granular(r, ty) => {
            descend_one(r, ty, path, &mut |p, v, t| {
                compare_at(None, Some(v), t, p, c)
            });
        }
        (Some(l), Some(Value::Null)) if is_granular(l, ty) => {
            descend_one(l, ty, path, &mut |p, v, t| {
                compare_at(Some(v), None, t, p, c)
            });
        }
        (Some(l), Some(r)) => {
            if !json_equal(l, r) {
                c.modified.insert(path);
                // A container replaced by a value of another shape loses everything below it,
                // and the new container's content is added.
                descend_one(l, ty, path, &mut |p, v, t| {
                    compare_at(Some(v), None, t, p, c)
                });
                descend_one(r, ty, path, &mut |p, v, t| {
                    compare_at(None, Some(v), t, p, c)
                });
            }
        }
    }
}

/// Calls `f` for each direct child of a granular value.
fn descend_one(
    v: &Value,
    ty: Ty,
    path: &mut Vec<PathElement>,
    f: &mut dyn FnMut(&mut Vec<PathElement>, &Value, Ty),
) {
    match v {
        Value::Object(m) if !ty.is_atomic_object() => {
            for (k, child) in m {
                path.push(PathElement::Field(k.clone()));
                f(path, child, ty.member(k));
                path.pop();
            }
        }
        Value::Array(items) if is_keyed(ty) => {
            for (pe, child) in index_items(items, ty) {
                path.push(pe);
                f(path, child, ty.item());
                path.pop();
            }
        }
        _ => {}
    }
}

/// Merges an applied configuration into the live object: objects field by field, associative
/// lists and sets item by item (the order follows the configuration for shared items, live-only
/// items keep their place), everything else is replaced. `null` in the configuration removes
/// the field.
pub fn merge(live: &Value, config: &Value, ty: Ty) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !ty.is_atomic_object() => {
            let mut out = l.clone();
            for (k, cv) in c {
                if cv.is_null() {
                    out.shift_remove(k);
                    continue;
                }
                let merged = match l.get(k) {
                    Some(lv) => merge(lv, cv, ty.member(k)),
                    None => strip_nulls(cv),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) if is_keyed(ty) => Value::Array(merge_lists(l, c, ty)),
        _ => strip_nulls(config),
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn merge_lists(lhs: &[Value], rhs: &[Value], ty: Ty) -> Vec<Value> {
    let l = index_items(lhs, ty);
    let r = index_items(rhs, ty);
    let in_l = |pe: &PathElement| l.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
    let in_r = |pe: &PathElement| r.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
    let mut shared = r.iter().map(|(p, _)| p).filter(|p| in_l(p).is_some());
    let mut next_shared = shared.next();
    let mut merged_r: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(l.len().max(r.len()));
    let (mut li, mut ri) = (0, 0);
    let item_ty = ty.item();
    while li < l.len() || ri < r.len() {
        if li < l.len() && ri < r.len() {
            let pe = &l[li].0;
            if *pe == r[ri].0 {
                merged_r.push(pe);
                if let (Some(lv), Some(rv)) = (in_l(pe), in_r(pe)) {
                    out.push(merge(lv, rv, item_ty));
                }
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if in_r(pe).is_some() && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < l.len() {
            let pe = &l[li].0;
            if in_r(pe).is_none() {
                out.push(l[li].1.clone());
                li += 1;
                continue;
            } else if merged_r.contains(&pe) {
                li += 1;
                continue;
            }
        }
        if ri < r.len() {
            let pe = &r[ri].0;
            merged_r.push(pe);
            let rv = r[ri].1;
            out.push(match in_l(pe) {
                Some(lv) => merge(lv, rv, item_ty),
                None => strip_nulls(rv),
            });
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.next();
            }
        }
    }
    // Items of the live list without a path element (malformed) are kept.
    out.extend(lhs.iter().filter(|v| item_element(v, ty).is_err()).cloned());
    out
}

/// Removes from `value` every path that is a member of `set` (with everything below it).
pub fn remove_items(value: &mut Value, set: &Set, ty: Ty) {
    match value {
        Value::Object(m) if !ty.is_atomic_object() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let pe = PathElement::Field(k.clone());
                if set.members.contains(&pe) {
                    m.shift_remove(&k);
                } else if let (Some(child), Some(v)) = (set.child(&pe), m.get_mut(&k)) {
                    let member = ty.member(&k);
                    let had_items = v.as_array().is_some_and(|a| !a.is_empty());
                    remove_items(v, child, member);
                    // A list whose last item was removed disappears, as the API server's
                    // typed objects omit empty lists.
                    if had_items
                        && member.is_keyed_list()
                        && v.as_array().is_some_and(Vec::is_empty)
                    {
                        m.shift_remove(&k);
                    }
                }
            }
        }
        Value::Array(items) if is_keyed(ty) => {
            items.retain(|item| {
                item_element(item, ty)
                    .map(|pe| !set.members.contains(&pe))
                    .unwrap_or(true)
            });
            for item in items.iter_mut() {
                if let Ok(pe) = item_element(item, ty)
                    && let Some(child) = set.child(&pe)
                {
                    remove_items(item, child, ty.item());
                }
            }
        }
        _ => {}
    }
}
