//! RFC 6902 JSON Patch (`application/json-patch+json`) with RFC 6901 JSON pointers.
//!
//! The patch is applied to a copy: on any failure the input document is untouched and the
//! error names the index, the operation and the path of the failing operation.

use serde_json::{Map, Value};

use crate::PatchError;

/// Applies an RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`).
pub fn apply_json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = patch.as_array().ok_or_else(|| {
        PatchError::InvalidJsonPatch(format!(
            "expected a JSON array of operations, got {}",
            type_name(patch)
        ))
    })?;
    let mut doc = doc.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_one(&mut doc, op).map_err(|(op, path, reason)| PatchError::JsonPatchOperation {
            index,
            op,
            path,
            reason,
        })?;
    }
    Ok(doc)
}

type OpError = (String, String, String);

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), OpError> {
    let Some(obj) = op.as_object() else {
        return Err((
            String::new(),
            String::new(),
            format!("operation must be a JSON object, got {}", type_name(op)),
        ));
    };
    let name = match obj.get("op") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err((
                String::new(),
                String::new(),
                format!("\"op\" must be a string, got {}", type_name(other)),
            ));
        }
        None => {
            return Err((String::new(), String::new(), "missing \"op\" member".into()));
        }
    };
    let path = match obj.get("path") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err((
                name,
                String::new(),
                format!("\"path\" must be a string, got {}", type_name(other)),
            ));
        }
        None => return Err((name, String::new(), "missing \"path\" member".into())),
    };
    let fail = |reason: String| (name.clone(), path.clone(), reason);
    let tokens = parse_pointer(&path).map_err(fail)?;
    let value = || {
        obj.get("value")
            .cloned()
            .ok_or_else(|| fail("missing \"value\" member".into()))
    };
    let from = || -> Result<(String, Vec<String>), OpError> {
        match obj.get("from") {
            Some(Value::String(s)) => {
                let t = parse_pointer(s).map_err(|e| fail(format!("invalid \"from\": {e}")))?;
                Ok((s.clone(), t))
            }
            Some(other) => Err(fail(format!(
                "\"from\" must be a string, got {}",
                type_name(other)
            ))),
            None => Err(fail("missing \"from\" member".into())),
        }
    };
    match name.as_str() {
        "add" => add(doc, &tokens, value()?).map_err(fail),
        "remove" => remove(doc, &tokens).map(|_| ()).map_err(fail),
        "replace" => {
            let v = value()?;
            let target = get_mut(doc, &tokens).map_err(fail)?;
            *target = v;
            Ok(())
        }
        "move" => {
            let (from_str, from_tokens) = from()?;
            if tokens.len() > from_tokens.len() && tokens[..from_tokens.len()] == from_tokens[..] {
                return Err(fail(format!(
                    "cannot move \"{from_str}\" into one of its own children"
                )));
            }
            if tokens == from_tokens {
                return get(doc, &tokens).map(|_| ()).map_err(fail);
            }
            let v =
                remove(doc, &from_tokens).map_err(|e| fail(format!("\"from\" {from_str}: {e}")))?;
            add(doc, &tokens, v).map_err(fail)
        }
        "copy" => {
            let (from_str, from_tokens) = from()?;
            let v = get(doc, &from_tokens)
                .map_err(|e| fail(format!("\"from\" {from_str}: {e}")))?
                .clone();
            add(doc, &tokens, v).map_err(fail)
        }
        "test" => {
            let expected = value()?;
            let actual = get(doc, &tokens).map_err(fail)?;
            if json_equal(actual, &expected) {
                Ok(())
            } else {
                Err(fail(format!(
                    "test failed: value is {actual}, expected {expected}"
                )))
            }
        }
        other => Err(fail(format!("unknown operation \"{other}\""))),
    }
}

/// Parses an RFC 6901 JSON pointer into its unescaped reference tokens.
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "JSON pointer \"{pointer}\" must be empty or start with '/'"
        ));
    };
    rest.split('/')
        .map(|raw| {
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => {
                            return Err(format!(
                                "invalid escape in JSON pointer token \"{raw}\" (only ~0 and ~1 are allowed)"
                            ));
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if token == "-" {
        return if allow_end {
            Ok(len)
        } else {
            Err("index \"-\" refers to a nonexistent element".into())
        };
    }
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    if !valid {
        return Err(format!("\"{token}\" is not a valid array index"));
    }
    let idx: usize = token
        .parse()
        .map_err(|_| format!("array index \"{token}\" is out of range"))?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if idx > max || (!allow_end && len == 0) {
        return Err(format!(
            "array index {idx} is out of bounds (array length {len})"
        ));
    }
    Ok(idx)
}

fn get<'a>(doc: &'a Value, tokens: &[String]) -> Result<&'a Value, String> {
    let mut cur = doc;
    for (depth, t) in tokens.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get(t).ok_or_else(|| {
                format!("member \"{t}\" does not exist at {}", where_(tokens, depth))
            })?,
            Value::Array(a) => &a[array_index(t, a.len(), false)?],
            other => {
                return Err(format!(
                    "cannot reference \"{t}\" inside a {} at {}",
                    type_name(other),
                    where_(tokens, depth)
                ));
            }
        };
    }
    Ok(cur)
}

fn get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for (depth, t) in tokens.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => {
                if !m.contains_key(t) {
                    return Err(format!(
                        "member \"{t}\" does not exist at {}",
                        where_(tokens, depth)
                    ));
                }
                m.get_mut(t)
                    .ok_or_else(|| format!("member \"{t}\" does not exist"))?
            }
            Value::Array(a) => {
                let i = array_index(t, a.len(), false)?;
                &mut a[i]
            }
            other => {
                return Err(format!(
                    "cannot reference \"{t}\" inside a {} at {}",
                    type_name(other),
                    where_(tokens, depth)
                ));
            }
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> Result<(), String> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent = get_mut(doc, parent_tokens).map_err(|e| format!("parent does not exist: {e}"))?;
    match parent {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        other => Err(format!("cannot add a member to a {} ", type_name(other))
            .trim_end()
            .to_string()),
    }
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value, String> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    let parent = get_mut(doc, parent_tokens)?;
    match parent {
        Value::Object(m) => m
            .shift_remove(last)
            .ok_or_else(|| format!("member \"{last}\" does not exist")),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        other => Err(format!(
            "cannot remove \"{last}\" from a {}",
            type_name(other)
        )),
    }
}

fn where_(tokens: &[String], depth: usize) -> String {
    if depth == 0 {
        return "the document root".into();
    }
    let mut s = String::new();
    for t in &tokens[..depth] {
        s.push('/');
        s.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    format!("\"{s}\"")
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality as RFC 6902 `test` defines it: numbers compare by value (`1 == 1.0`),
/// objects ignore member order.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else if let (Some(i), Some(j)) = (x.as_u64(), y.as_u64()) {
                i == j
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => objects_equal(x, y),
        _ => a == b,
    }
}

fn objects_equal(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    x.len() == y.len()
        && x.iter()
            .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(doc: Value, patch: Value) -> Value {
        apply_json_patch(&doc, &patch).expect("patch applies")
    }

    #[test]
    fn rfc6902_appendix_examples() {
        // A.1 add an object member
        assert_eq!(
            ok(
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz","value":"qux"}])
            ),
            json!({"baz":"qux","foo":"bar"})
        );
        // A.2 add an array element
        assert_eq!(
            ok(
                json!({"foo":["bar","baz"]}),
                json!([{"op":"add","path":"/foo/1","value":"qux"}])
            ),
            json!({"foo":["bar","qux","baz"]})
        );
        // A.3 remove an object member
        assert_eq!(
            ok(
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"remove","path":"/baz"}])
            ),
            json!({"foo":"bar"})
        );
        // A.4 remove an array element
        assert_eq!(
            ok(
                json!({"foo":["bar","qux","baz"]}),
                json!([{"op":"remove","path":"/foo/1"}])
            ),
            json!({"foo":["bar","baz"]})
        );
        // A.5 replace
        assert_eq!(
            ok(
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"replace","path":"/baz","value":"boo"}])
            ),
            json!({"baz":"boo","foo":"bar"})
        );
        // A.6 move a value
        assert_eq!(
            ok(
                json!({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}),
                json!([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])
            ),
            json!({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})
        );
        // A.7 move an array element
        assert_eq!(
            ok(
                json!({"foo":["all","grass","cows","eat"]}),
                json!([{"op":"move","from":"/foo/1","path":"/foo/3"}])
            ),
            json!({"foo":["all","cows","eat","grass"]})
        );
        // A.8 test success
        assert_eq!(
            ok(
                json!({"baz":"qux","foo":["a",2,"c"]}),
                json!([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])
            ),
            json!({"baz":"qux","foo":["a",2,"c"]})
        );
        // A.10 add a nested member object
        assert_eq!(
            ok(
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/child","value":{"grandchild":{}}}])
            ),
            json!({"foo":"bar","child":{"grandchild":{}}})
        );
        // A.14 ~ escaping
        assert_eq!(
            ok(
                json!({"/":9,"~1":10}),
                json!([{"op":"test","path":"/~01","value":10}])
            ),
            json!({"/":9,"~1":10})
        );
        // A.16 append with "-"
        assert_eq!(
            ok(
                json!({"foo":["bar"]}),
                json!([{"op":"add","path":"/foo/-","value":["abc","def"]}])
            ),
            json!({"foo":["bar",["abc","def"]]})
        );
        // copy
        assert_eq!(
            ok(
                json!({"a":{"b":1}}),
                json!([{"op":"copy","from":"/a","path":"/c"}])
            ),
            json!({"a":{"b":1},"c":{"b":1}})
        );
        // whole-document replace through add at ""
        assert_eq!(
            ok(json!({"a":1}), json!([{"op":"add","path":"","value":[1]}])),
            json!([1])
        );
    }

    #[test]
    fn errors_name_the_operation_index_and_path() {
        let doc = json!({"baz":"qux","foo":["a",2,"c"]});
        // A.9 test failure
        let err = apply_json_patch(
            &doc,
            &json!([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/baz","value":"bar"}]),
        )
        .unwrap_err();
        match &err {
            PatchError::JsonPatchOperation {
                index, op, path, ..
            } => {
                assert_eq!((*index, op.as_str(), path.as_str()), (1, "test", "/baz"));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("operation 1"), "{err}");
        // A.12 adding to a nonexistent target
        let err = apply_json_patch(
            &json!({"foo":"bar"}),
            &json!([{"op":"add","path":"/baz/bat","value":"qux"}]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/baz/bat"), "{err}");
        // remove of a missing member, out-of-bounds index, leading zero, move into child
        for patch in [
            json!([{"op":"remove","path":"/nope"}]),
            json!([{"op":"add","path":"/foo/4","value":1}]),
            json!([{"op":"replace","path":"/foo/01","value":1}]),
            json!([{"op":"move","from":"/foo","path":"/foo/0"}]),
            json!([{"op":"frobnicate","path":"/foo"}]),
            json!([{"op":"add","path":"/x"}]),
            json!([{"op":"add","path":"x","value":1}]),
            json!([{"op":"remove","path":"/foo/-"}]),
            json!([{"op":"replace","path":"/baz/x","value":1}]),
        ] {
            let err = apply_json_patch(&doc, &patch).unwrap_err();
            assert!(
                matches!(err, PatchError::JsonPatchOperation { index: 0, .. }),
                "{patch}: {err}"
            );
        }
        assert!(matches!(
            apply_json_patch(&doc, &json!({"op":"add"})),
            Err(PatchError::InvalidJsonPatch(_))
        ));
    }

    #[test]
    fn failed_patch_leaves_no_partial_result() {
        let doc = json!({"a":1});
        let res = apply_json_patch(
            &doc,
            &json!([{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zzz"}]),
        );
        assert!(res.is_err());
        assert_eq!(doc, json!({"a":1}));
    }

    #[test]
    fn test_compares_numbers_by_value() {
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(json_equal(
            &json!({"a":[1,{"b":2}]}),
            &json!({"a":[1.0,{"b":2}]})
        ));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
    }
}
