//! RFC 7386 JSON Merge Patch (`application/merge-patch+json`).

use serde_json::{Map, Value};

/// Applies an RFC 7386 merge patch: objects merge recursively, `null` deletes a member,
/// anything else (arrays included) replaces the target.
pub fn apply_merge_patch(doc: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut target = match doc {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    target.shift_remove(k);
                } else {
                    let merged = apply_merge_patch(target.get(k).unwrap_or(&Value::Null), v);
                    target.insert(k.clone(), merged);
                }
            }
            Value::Object(target)
        }
        other => other.clone(),
    }
}

/// Computes a merge patch that turns `from` into `to` (the inverse of [`apply_merge_patch`]).
///
/// Merge patches cannot express an object member whose value is `null`; such members in `to`
/// are treated as absent.
pub fn create_merge_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for k in a.keys() {
                if !b.contains_key(k) || b.get(k).is_some_and(Value::is_null) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            for (k, v) in b {
                if v.is_null() {
                    continue;
                }
                match a.get(k) {
                    Some(old) if old == v => {}
                    Some(old @ Value::Object(_)) if v.is_object() => {
                        patch.insert(k.clone(), create_merge_patch(old, v));
                    }
                    _ => {
                        patch.insert(k.clone(), strip_nulls(v));
                    }
                }
            }
            Value::Object(patch)
        }
        _ => to.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7386_appendix_a() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (doc, patch, want) in cases {
            assert_eq!(apply_merge_patch(&doc, &patch), want, "{doc} + {patch}");
        }
    }

    #[test]
    fn create_merge_patch_round_trips() {
        let a = json!({"a":1,"b":{"c":2,"d":3},"e":[1,2]});
        let b = json!({"a":1,"b":{"c":5},"e":[2],"f":{"g":null,"h":1}});
        let p = create_merge_patch(&a, &b);
        assert_eq!(p, json!({"b":{"c":5,"d":null},"e":[2],"f":{"h":1}}));
        assert_eq!(
            apply_merge_patch(&a, &p),
            json!({"a":1,"b":{"c":5},"e":[2],"f":{"h":1}})
        );
    }
}
