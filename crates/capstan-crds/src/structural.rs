//! Turns a schemars schema into a Kubernetes structural schema: `$ref`s inlined, nullable options
//! reduced to their type, int-or-string and preserve-unknown-fields markers set, `metadata` left to the
//! API server.

use serde_json::{Map, Value};

pub(crate) fn make_structural(root: Value) -> Value {
    let defs = root
        .get("components")
        .and_then(|c| c.get("schemas"))
        .or_else(|| root.get("$defs"))
        .or_else(|| root.get("definitions"))
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let mut schema = convert(&root, &defs, 0);
    if let Value::Object(map) = &mut schema {
        map.remove("title");
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            props.insert("metadata".into(), serde_json::json!({"type": "object"}));
            for field in ["apiVersion", "kind"] {
                props.insert(field.into(), serde_json::json!({"type": "string"}));
            }
        }
        let required: Vec<Value> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter(|f| f.as_str() != Some("metadata"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut required_with_meta = vec![Value::String("metadata".into())];
        required_with_meta.extend(required);
        map.insert("required".into(), Value::Array(required_with_meta));
    }
    schema
}

fn resolve<'a>(reference: &str, defs: &'a Value) -> Option<&'a Value> {
    let name = reference.rsplit('/').next()?;
    defs.get(name)
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.len() == 1 && e[0].is_null())
        || v.get("const").is_some_and(Value::is_null)
}

fn convert(schema: &Value, defs: &Value, depth: usize) -> Value {
    if depth > 64 {
        return serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    }
    let Value::Object(map) = schema else {
        // `true` (any value)
        return serde_json::json!({"x-kubernetes-preserve-unknown-fields": true});
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        let mut resolved = resolve(reference, defs)
            .map(|d| convert(d, defs, depth + 1))
            .unwrap_or_else(|| serde_json::json!({"x-kubernetes-preserve-unknown-fields": true}));
        if let (Value::Object(target), Some(desc)) = (&mut resolved, map.get("description")) {
            target.insert("description".into(), desc.clone());
        }
        return resolved;
    }
    // allOf [A, B]: the merge of its parts (schemars writes allOf [$ref] for a described field)
    if let Some(Value::Array(parts)) = map.get("allOf") {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(converted) = convert(part, defs, depth + 1) {
                for (k, v) in converted {
                    match (merged.get_mut(&k), v) {
                        (Some(Value::Object(existing)), Value::Object(more)) => {
                            existing.extend(more)
                        }
                        (_, v) => {
                            merged.insert(k, v);
                        }
                    }
                }
            }
        }
        for (k, v) in map {
            if k != "allOf" {
                merged.insert(k.clone(), v.clone());
            }
        }
        return convert(&Value::Object(merged), defs, depth + 1);
    }
    // Option<T>: anyOf/oneOf [T, null] -> T
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get(key) {
            let non_null: Vec<&Value> = options.iter().filter(|o| !is_null_schema(o)).collect();
            if non_null.len() == 1 {
                let mut inner = convert(non_null[0], defs, depth + 1);
                if let (Value::Object(target), Some(desc)) = (&mut inner, map.get("description")) {
                    target.insert("description".into(), desc.clone());
                }
                return inner;
            }
            let types: Vec<&str> = non_null
                .iter()
                .filter_map(|o| o.get("type").and_then(Value::as_str))
                .collect();
            let mut out = Map::new();
            if let Some(desc) = map.get("description") {
                out.insert("description".into(), desc.clone());
            }
            if types.len() == 2 && types.contains(&"integer") && types.contains(&"string") {
                out.insert("x-kubernetes-int-or-string".into(), Value::Bool(true));
            } else {
                out.insert(
                    "x-kubernetes-preserve-unknown-fields".into(),
                    Value::Bool(true),
                );
            }
            return Value::Object(out);
        }
    }
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "$schema" | "title" | "$defs" | "definitions" | "components" | "default"
            | "examples" => {}
            "nullable" => {}
            "type" => {
                // ["string", "null"] -> "string"
                let t = match value {
                    Value::Array(types) => types
                        .iter()
                        .find(|t| t.as_str() != Some("null"))
                        .cloned()
                        .unwrap_or(Value::Null),
                    other => other.clone(),
                };
                if !t.is_null() {
                    out.insert("type".into(), t);
                }
            }
            "properties" => {
                let props: Map<String, Value> = value
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.clone(), convert(v, defs, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert("properties".into(), Value::Object(props));
            }
            "items" => {
                out.insert("items".into(), convert(value, defs, depth + 1));
            }
            "additionalProperties" => match value {
                Value::Bool(true) => {
                    out.insert(
                        "x-kubernetes-preserve-unknown-fields".into(),
                        Value::Bool(true),
                    );
                }
                Value::Bool(false) => {}
                schema => {
                    out.insert(
                        "additionalProperties".into(),
                        convert(schema, defs, depth + 1),
                    );
                }
            },
            "enum" => {
                let values: Vec<Value> = value
                    .as_array()
                    .map(|v| v.iter().filter(|x| !x.is_null()).cloned().collect())
                    .unwrap_or_default();
                out.insert("enum".into(), Value::Array(values));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    // properties and additionalProperties are exclusive in structural schemas
    if out.contains_key("properties") && out.contains_key("additionalProperties") {
        out.remove("additionalProperties");
        out.insert(
            "x-kubernetes-preserve-unknown-fields".into(),
            Value::Bool(true),
        );
    }
    if !out.contains_key("type")
        && !out.contains_key("x-kubernetes-preserve-unknown-fields")
        && !out.contains_key("x-kubernetes-int-or-string")
    {
        if out.contains_key("properties") {
            out.insert("type".into(), Value::String("object".into()));
        } else {
            out.insert(
                "x-kubernetes-preserve-unknown-fields".into(),
                Value::Bool(true),
            );
        }
    }
    // A preserve-unknown-fields node without a type must still be an object to carry properties.
    if out.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        && !out.contains_key("type")
        && out.contains_key("properties")
    {
        out.insert("type".into(), Value::String("object".into()));
    }
    Value::Object(out)
}
