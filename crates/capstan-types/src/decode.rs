//! Decoding JSON values into the typed resources, with errors that name the field.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A value does not have the shape of the type it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DecodeError {
    /// Dotted path of the field (`spec.destination.server`), or `<document>` for the whole object.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Decodes `value` as `T`, naming the field at fault on error.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." || path.is_empty() {
            "<document>".to_string()
        } else {
            path
        };
        DecodeError {
            path,
            message: simplify(&err.into_inner().to_string()),
        }
    })
}

/// serde's messages name Rust types; say what a manifest author needs instead.
fn simplify(message: &str) -> String {
    message
        .replace(
            "invalid type: map, expected a string",
            "expected a string, found a map",
        )
        .replace(
            "invalid type: sequence, expected a string",
            "expected a string, found a list",
        )
        .replace("expected struct ", "expected an object ")
        .replace("expected a sequence", "expected a list")
        .replace("invalid type: ", "wrong type: ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Application;
    use serde_json::json;

    #[test]
    fn errors_name_the_field() {
        let app = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "x"},
            "spec": {"project": "default", "destination": {"server": {"a": 1}}, "source": {"repoURL": "https://x"}}
        });
        let err = decode::<Application>(&app).unwrap_err();
        assert_eq!(err.path, "spec.destination.server", "{err}");
        let app = json!({"metadata": {"name": "x"}, "spec": {"project": "default", "destination": {},
            "syncPolicy": {"syncOptions": "CreateNamespace=true"}}});
        let err = decode::<Application>(&app).unwrap_err();
        assert_eq!(err.path, "spec.syncPolicy.syncOptions", "{err}");
        let err = decode::<Application>(&json!({"metadata": {}})).unwrap_err();
        assert!(err.message.contains("missing field `spec`"), "{err}");
    }
}
