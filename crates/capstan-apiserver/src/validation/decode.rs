//! What Kubernetes refuses while decoding a built-in object into its Go type, before any defaulting:
//! a ConfigMap's or Secret's data maps must hold strings, and a Secret's `data` must be base64. The
//! messages are the API server's own and never repeat the offending value (it may be secret).

use base64::Engine;
use serde_json::Value;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The decoding error for an object of a built-in kind, if any.
pub fn check(group: &str, kind: &str, o: &Value) -> Option<String> {
    let maps: &[&str] = match (group, kind) {
        ("", "Secret") => &["data", "stringData"],
        ("", "ConfigMap") => &["data", "binaryData"],
        _ => return None,
    };
    let cannot = |detail: String| {
        format!("{kind} in version \"v1\" cannot be handled as a {kind}: {detail}")
    };
    for field in maps {
        let Some(value) = o.get(*field).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(map) = value.as_object() else {
            return Some(cannot(format!(
                "json: cannot unmarshal {} into Go struct field {kind}.{field} of type map[string]string",
                type_name(value)
            )));
        };
        for v in map.values() {
            let Some(text) = v.as_str() else {
                return Some(cannot(format!(
                    "json: cannot unmarshal {} into Go struct field {kind}.{field} of type string",
                    type_name(v)
                )));
            };
            let base64_field = (kind == "Secret" && *field == "data") || *field == "binaryData";
            if base64_field && let Err(e) = base64::engine::general_purpose::STANDARD.decode(text) {
                return Some(cannot(format!("illegal base64 data: {e}")));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_maps_hold_strings_and_errors_never_echo_values() {
        let ok = json!({"data": {"a": "c2VjcmV0"}, "stringData": {"b": "plain"}});
        assert_eq!(check("", "Secret", &ok), None);
        for bad in [
            json!({"stringData": {"token": {"nested": "s3cret-value"}}}),
            json!({"stringData": {"token": ["s3cret-value"]}}),
            json!({"data": {"token": "s3cret-value!!"}}),
            json!({"data": "s3cret-value"}),
        ] {
            let e = check("", "Secret", &bad).expect("refused");
            assert!(
                e.starts_with("Secret in version \"v1\" cannot be handled"),
                "{e}"
            );
            assert!(!e.contains("s3cret-value"), "{e}");
        }
        assert!(check("", "ConfigMap", &json!({"data": {"n": 5}})).is_some());
        assert_eq!(check("apps", "Deployment", &json!({"data": 5})), None);
    }
}
