//! The strategic merge patch directives and the list-ordering rules of `$setElementOrder`.

use serde_json::Value;

/// `$patch: replace|merge|delete`, in a map or in a list item.
pub const PATCH: &str = "$patch";
/// `$retainKeys: [..]`: keys of the map that survive the patch.
pub const RETAIN_KEYS: &str = "$retainKeys";
/// `$setElementOrder/<list>: [..]`: the order of the list after the patch.
pub const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
/// `$deleteFromPrimitiveList/<list>: [..]`: scalars to remove from a merged primitive list.
pub const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Whether a map key is a directive rather than a field.
pub fn is_directive(key: &str) -> bool {
    key == PATCH
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// The identity of a list item for ordering: the merge key's value for lists of maps, the
/// item itself for lists of scalars.
pub fn identity<'a>(item: &'a Value, merge_key: Option<&str>) -> Option<&'a Value> {
    match merge_key {
        Some(k) => item.as_object().and_then(|m| m.get(k)),
        None => Some(item),
    }
}

fn index_of(order: &[Value], item: &Value, merge_key: Option<&str>) -> Option<usize> {
    let id = identity(item, merge_key)?;
    order
        .iter()
        .position(|o| identity(o, merge_key) == Some(id))
}

/// Orders `items` by their position in `order`; items missing from `order` keep their
/// relative order and go last.
fn sort_by_order(items: Vec<Value>, order: &[Value], merge_key: Option<&str>) -> Vec<Value> {
    let mut keyed: Vec<(usize, usize, Value)> = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| (index_of(order, &v, merge_key).unwrap_or(usize::MAX), i, v))
        .collect();
    keyed.sort_by_key(|(pos, i, _)| (*pos, *i));
    keyed.into_iter().map(|(_, _, v)| v).collect()
}

/// The final order of a merged list: items named by the patch (`patch_order`, either the
/// `$setElementOrder` list or the patch list) in that order, interleaved with the items only
/// the server had, which keep their relative position from `server_order`.
pub fn normalize_order(
    merged: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
) -> Vec<Value> {
    let (in_patch, server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|v| index_of(patch_order, v, merge_key).is_some());
    let right = sort_by_order(in_patch, patch_order, merge_key);
    let left = sort_by_order(server_only, server_order, merge_key);
    // Insert each server-only item before the first patch item that the server had after it.
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.by_ref()),
            (None, Some(_)) => out.extend(right.by_ref()),
            (Some(l), Some(r)) => {
                let li = index_of(server_order, l, merge_key);
                let ri = index_of(server_order, r, merge_key);
                let take_left = matches!((li, ri), (Some(a), Some(b)) if a < b);
                let next = if take_left { left.next() } else { right.next() };
                out.extend(next);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(v: &[Value]) -> Vec<&str> {
        v.iter().filter_map(|x| x["name"].as_str()).collect()
    }

    #[test]
    fn patch_order_wins_and_server_only_items_keep_their_place() {
        let server = vec![
            json!({"name":"a"}),
            json!({"name":"b"}),
            json!({"name":"c"}),
            json!({"name":"d"}),
        ];
        // The patch reorders c before a; b and d were not in the patch: b stays before c
        // (where the server had it), d stays last.
        let merged = server.clone();
        let order = vec![json!({"name":"c"}), json!({"name":"a"})];
        let out = normalize_order(merged, &order, &server, Some("name"));
        assert_eq!(names(&out), ["b", "c", "a", "d"]);

        let out = normalize_order(
            server.clone(),
            &[json!({"name":"b"}), json!({"name":"d"})],
            &server,
            Some("name"),
        );
        assert_eq!(names(&out), ["a", "b", "c", "d"]);
    }

    #[test]
    fn primitive_lists_use_the_values_themselves() {
        let server = vec![json!("x"), json!("y")];
        let merged = vec![json!("x"), json!("y"), json!("z")];
        let out = normalize_order(merged, &[json!("z"), json!("x")], &server, None);
        assert_eq!(out, vec![json!("z"), json!("x"), json!("y")]);
    }
}
