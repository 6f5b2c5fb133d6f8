//! Reading `data`/`stringData` of Secrets and `data` of ConfigMaps.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use crate::error::SettingsError;

/// `Kind/namespace/name` of an object, for messages.
pub(crate) fn describe(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("object");
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    match meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

fn string_map(
    obj: &Value,
    field: &str,
    what: &str,
) -> Result<BTreeMap<String, String>, SettingsError> {
    let mut out = BTreeMap::new();
    match obj.get(field) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    Value::Null => {}
                    other => {
                        return Err(SettingsError::key(
                            &describe(obj),
                            &format!("{field}.{k}"),
                            format!("{what} values must be strings, found {}", kind_of(other)),
                        ));
                    }
                }
            }
        }
        Some(other) => {
            return Err(SettingsError::key(
                &describe(obj),
                field,
                format!("must be a map of strings, found {}", kind_of(other)),
            ));
        }
    }
    Ok(out)
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// The decoded contents of a Secret: `data` (base64) merged with `stringData` (which wins, as the
/// API server does).
pub fn secret_data(obj: &Value) -> Result<BTreeMap<String, String>, SettingsError> {
    let object = describe(obj);
    let mut out = BTreeMap::new();
    for (k, v) in string_map(obj, "data", "Secret data")? {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.trim().as_bytes())
            .map_err(|_| {
                SettingsError::key(&object, &format!("data.{k}"), "is not valid base64")
            })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SettingsError::key(&object, &format!("data.{k}"), "is not UTF-8 text"))?;
        out.insert(k, text);
    }
    out.extend(string_map(obj, "stringData", "Secret stringData")?);
    Ok(out)
}

/// The `data` of a ConfigMap.
pub fn config_map_data(obj: &Value) -> Result<BTreeMap<String, String>, SettingsError> {
    string_map(obj, "data", "ConfigMap data")
}

/// Reads a boolean setting written as a string (`"true"`, `"false"`), with a default.
pub(crate) fn parse_bool(
    object: &str,
    data: &BTreeMap<String, String>,
    key: &str,
    default: bool,
) -> Result<bool, SettingsError> {
    match data.get(key).map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some("true") | Some("True") | Some("TRUE") => Ok(true),
        Some("false") | Some("False") | Some("FALSE") => Ok(false),
        Some(other) => Err(SettingsError::key(
            object,
            key,
            format!("expected true or false, found {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_data_wins_over_data() {
        let secret = json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "argocd"},
            "data": {"url": "aHR0cHM6Ly9hLmNvbQ==", "password": "eA=="}, "stringData": {"password": "y"}});
        let data = secret_data(&secret).unwrap();
        assert_eq!(data["url"], "https://a.com");
        assert_eq!(data["password"], "y");
        let bad = json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"url": "!!!"}});
        assert_eq!(
            secret_data(&bad).unwrap_err().to_string(),
            "Secret/s: data.url: is not valid base64"
        );
    }
}
