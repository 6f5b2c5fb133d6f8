//! Reading fields of Kubernetes JSON objects leniently (absent or mistyped fields read as defaults).

use serde_json::Value;

/// The value at a path of object keys.
pub(crate) fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

/// A string field, or `""`.
pub(crate) fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("")
}

/// An integer field, or 0 (accepts JSON integers and integral floats).
pub(crate) fn int_at(obj: &Value, path: &[&str]) -> i64 {
    opt_int_at(obj, path).unwrap_or(0)
}

/// An integer field if present.
pub(crate) fn opt_int_at(obj: &Value, path: &[&str]) -> Option<i64> {
    let v = at(obj, path)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// A boolean field, or false.
pub(crate) fn bool_at(obj: &Value, path: &[&str]) -> bool {
    at(obj, path).and_then(Value::as_bool).unwrap_or(false)
}

/// The items of a list field (empty when absent).
pub(crate) fn list_at<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    at(obj, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A list of strings (non-strings skipped).
pub(crate) fn str_list(obj: &Value, path: &[&str]) -> Vec<String> {
    list_at(obj, path)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// An annotation value.
pub(crate) fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    at(obj, &["metadata", "annotations", key]).and_then(Value::as_str)
}

/// `(group, version, kind)` from `apiVersion` and `kind`.
pub(crate) fn gvk(obj: &Value) -> (&str, &str, &str) {
    let api_version = str_at(obj, &["apiVersion"]);
    let (group, version) = match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    (group, version, str_at(obj, &["kind"]))
}

/// The first condition in `status.conditions` with the given type.
pub(crate) fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    list_at(obj, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == type_)
}
