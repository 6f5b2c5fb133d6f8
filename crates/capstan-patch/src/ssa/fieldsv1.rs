//! The FieldsV1 encoding of a field set, byte-compatible with Kubernetes:
//! `{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}}`.

use serde_json::{Map, Value};

use super::fieldset::{PathElement, Set};

/// Encodes a set as a FieldsV1 object.
pub fn encode(set: &Set) -> Value {
    Value::Object(encode_node(set))
}

fn encode_node(set: &Set) -> Map<String, Value> {
    let mut keys: Vec<&PathElement> = set.members.iter().collect();
    for k in set.children.keys() {
        if !set.members.contains(k) {
            keys.push(k);
        }
    }
    keys.sort();
    let mut out = Map::new();
    for pe in keys {
        let mut node = Map::new();
        if let Some(child) = set.children.get(pe).filter(|c| !c.is_empty()) {
            if set.members.contains(pe) {
                node.insert(".".into(), Value::Object(Map::new()));
            }
            node.extend(encode_node(child));
        }
        out.insert(encode_element(pe), Value::Object(node));
    }
    out
}

/// The FieldsV1 key of one path element.
pub fn encode_element(pe: &PathElement) -> String {
    match pe {
        PathElement::Field(n) => format!("f:{n}"),
        PathElement::Key(fields) => {
            let mut sorted: Vec<&(String, Value)> = fields.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let obj: Map<String, Value> = sorted
                .into_iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            format!("k:{}", Value::Object(obj))
        }
        PathElement::Value(v) => format!("v:{v}"),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

/// Decodes a FieldsV1 object. Errors name the offending key.
pub fn decode(v: &Value) -> Result<Set, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("fieldsV1 must be an object, got {v}"))?;
    decode_node(obj)
}

fn decode_node(obj: &Map<String, Value>) -> Result<Set, String> {
    let mut set = Set::new();
    for (k, v) in obj {
        if k == "." {
            continue;
        }
        let pe = decode_element(k)?;
        let child_obj = v
            .as_object()
            .ok_or_else(|| format!("fieldsV1 entry {k:?} must be an object"))?;
        if child_obj.is_empty() || child_obj.contains_key(".") {
            set.members.insert(pe.clone());
        }
        let child = decode_node(child_obj)?;
        if !child.is_empty() {
            set.children.insert(pe, child);
        }
    }
    Ok(set)
}

/// Parses one FieldsV1 key (`f:`, `k:`, `v:`, `i:`).
pub fn decode_element(k: &str) -> Result<PathElement, String> {
    let (prefix, rest) = k
        .split_once(':')
        .ok_or_else(|| format!("invalid fieldsV1 key {k:?}: expected a f:, k:, v: or i: prefix"))?;
    match prefix {
        "f" => Ok(PathElement::Field(rest.to_string())),
        "k" => {
            let v: Value = serde_json::from_str(rest)
                .map_err(|e| format!("invalid fieldsV1 key {k:?}: {e}"))?;
            let obj = v
                .as_object()
                .ok_or_else(|| format!("invalid fieldsV1 key {k:?}: k: needs a JSON object"))?;
            let mut key: Vec<(String, Value)> =
                obj.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
            key.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(key))
        }
        "v" => serde_json::from_str(rest)
            .map(PathElement::Value)
            .map_err(|e| format!("invalid fieldsV1 key {k:?}: {e}")),
        "i" => rest
            .parse()
            .map(PathElement::Index)
            .map_err(|e| format!("invalid fieldsV1 key {k:?}: {e}")),
        _ => Err(format!(
            "invalid fieldsV1 key {k:?}: expected a f:, k:, v: or i: prefix"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_kubernetes_encoding() {
        let v = json!({
            "f:metadata":{"f:labels":{"f:app":{}}},
            "f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},
                "f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}},
                "f:selector":{}},
            "f:metadata2":{"f:finalizers":{".":{},"v:\"a\"":{}}}
        });
        let set = decode(&v).expect("decodes");
        let back = encode(&set);
        // Same content; the encoder orders keys as Kubernetes does.
        assert_eq!(decode(&back).expect("decodes"), set);
        let text = serde_json::to_string(&back).expect("json");
        assert!(text.starts_with("{\"f:metadata\":"), "{text}");
        assert!(text.contains("\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}"), "{text}");
        assert!(text.contains("\"f:selector\":{}"), "{text}");
    }

    #[test]
    fn key_field_order_does_not_matter() {
        let a = decode(&json!({"k:{\"protocol\":\"TCP\",\"containerPort\":80}": {}})).expect("a");
        let b = decode(&json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}})).expect("b");
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&encode(&a)).expect("json"),
            r#"{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{}}"#
        );
    }

    #[test]
    fn rejects_malformed_keys() {
        for bad in [
            json!({"x:y":{}}),
            json!({"nocolon":{}}),
            json!({"k:notjson":{}}),
            json!({"f:a":1}),
            json!([]),
        ] {
            assert!(decode(&bad).is_err(), "{bad}");
        }
    }
}
