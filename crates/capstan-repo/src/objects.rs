//! Turning YAML / JSON text into Kubernetes objects, as Argo CD's `SplitYAML` does: empty documents
//! skipped, every document an object with a `kind`, `List` kinds flattened into their items.

use serde_json::Value;

/// Why a text did not give objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectsError {
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How many valid objects came before the problem.
    pub valid_before: usize,
}

/// Parses a YAML (or JSON) stream into objects.
pub fn split_yaml(text: &str) -> Result<Vec<Value>, ObjectsError> {
    let docs = capstan_yaml::parse_stream(text).map_err(|e| ObjectsError {
        line: e.position.line,
        column: e.position.column,
        message: e.message,
        valid_before: 0,
    })?;
    let mut out = Vec::new();
    for doc in docs {
        match &doc.value {
            Value::Null => continue,
            Value::Object(map) => {
                let has_kind = map
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| !k.is_empty());
                if !has_kind {
                    let at = doc.locate(&capstan_yaml::FieldPath::root().key("kind"));
                    return Err(ObjectsError {
                        line: at.line,
                        column: at.column,
                        message: "Object 'Kind' is missing".into(),
                        valid_before: out.len(),
                    });
                }
                out.push(doc.value.clone());
            }
            other => {
                let at = doc.locate(&capstan_yaml::FieldPath::root());
                return Err(ObjectsError {
                    line: at.line,
                    column: at.column,
                    message: format!(
                        "expected a Kubernetes object (a map), found {}",
                        kind_name(other)
                    ),
                    valid_before: out.len(),
                });
            }
        }
    }
    Ok(out)
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Replaces every `List` object (kind ending in `List` with an `items` array) by its items, and
/// drops lists whose `items` is null (Argo CD's `isNullList`).
pub fn flatten_lists(objects: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(objects.len());
    for obj in objects {
        let is_list = obj
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && obj.get("spec").is_none()
            && obj.get("status").is_none();
        if is_list {
            match obj.get("items") {
                Some(Value::Array(items)) => {
                    out.extend(flatten_lists(items.clone()));
                    continue;
                }
                Some(Value::Null) => continue,
                _ => {}
            }
        }
        out.push(obj);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_and_lists() {
        let text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n";
        let objs = flatten_lists(split_yaml(text).unwrap());
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1]["kind"], json!("Secret"));
    }

    #[test]
    fn missing_kind_is_reported_with_its_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\n---\nfoo: bar\n";
        let err = split_yaml(text).unwrap_err();
        assert_eq!(err.valid_before, 1);
        assert_eq!(err.line, 4);
    }

    #[test]
    fn null_list_is_dropped() {
        let objs = flatten_lists(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMapList", "items": null}),
        ]);
        assert!(objs.is_empty());
    }
}
