//! Validation of custom resources against a CRD's structural OpenAPI v3 schema, with
//! pruning of unknown fields (reported so that `fieldValidation=Strict` can refuse them).

use serde_json::{Map, Value};

use crate::error::Cause;

/// Outcome of checking one object.
#[derive(Debug, Default)]
pub struct SchemaResult {
    pub causes: Vec<Cause>,
    /// Paths of unknown fields that were pruned.
    pub unknown: Vec<String>,
}

/// Prune unknown fields of `o` (metadata, apiVersion and kind are left alone) and validate it.
pub fn check(schema: &Value, o: &mut Value) -> SchemaResult {
    let mut res = SchemaResult::default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return res;
    };
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if let Some(m) = o.as_object_mut() {
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match props.get(&k) {
                Some(s) => {
                    if let Some(v) = m.get_mut(&k) {
                        walk(s, v, &k, &mut res);
                    }
                }
                None if preserve => {}
                None => {
                    m.remove(&k);
                    res.unknown.push(k.clone());
                }
            }
        }
    }
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if o.get(r).is_none() {
                res.causes
                    .push(Cause::new("FieldValueRequired", r, "Required value"));
            }
        }
    }
    res
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn invalid(res: &mut SchemaResult, path: &str, msg: String) {
    res.causes.push(Cause::new("FieldValueInvalid", path, msg));
}

fn walk(s: &Value, v: &mut Value, path: &str, res: &mut SchemaResult) {
    if v.is_null() {
        if s.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        // Real API servers drop nulls for non-nullable fields during pruning/defaulting.
        return;
    }
    let int_or_string = s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    let preserve = s
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if int_or_string {
        if !matches!(type_name(v), "integer" | "string") {
            invalid(
                res,
                path,
                format!(
                    "Invalid value: \"{}\": {path} in body must be of type integer,string: \"{}\"",
                    short(v),
                    type_name(v)
                ),
            );
        }
        return;
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let actual = type_name(v);
        let ok = actual == t || (t == "number" && actual == "integer");
        if !ok {
            invalid(
                res,
                path,
                format!(
                    "Invalid value: \"{actual}\": {path} in body must be of type {t}: \"{actual}\""
                ),
            );
            return;
        }
    }
    if let Some(en) = s.get("enum").and_then(Value::as_array)
        && !en.contains(v)
    {
        let allowed: Vec<String> = en.iter().map(|e| e.to_string()).collect();
        res.causes.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {v}: supported values: {}",
                allowed.join(", ")
            ),
        ));
    }
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = s.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                invalid(
                    res,
                    path,
                    format!(
                        "Invalid value: {n}: {path} in body should be greater than or equal to {min}"
                    ),
                );
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                invalid(
                    res,
                    path,
                    format!(
                        "Invalid value: {n}: {path} in body should be less than or equal to {max}"
                    ),
                );
            }
        }
        Value::String(st) => {
            let len = st.chars().count() as u64;
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                invalid(
                    res,
                    path,
                    format!(
                        "Invalid value: \"{st}\": {path} in body should be at least {min} chars long"
                    ),
                );
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                res.causes.push(Cause::new(
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str)
                && let Ok(re) = regex::Regex::new(p)
                && !re.is_match(st)
            {
                invalid(
                    res,
                    path,
                    format!("Invalid value: \"{st}\": {path} in body should match '{p}'"),
                );
            }
        }
        Value::Array(items) => {
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                invalid(
                    res,
                    path,
                    format!(
                        "Invalid value: {}: {path} in body should have at least {min} items",
                        items.len()
                    ),
                );
            }
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > max
            {
                res.causes.push(Cause::new(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(is) = s.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(is, item, &format!("{path}[{i}]"), res);
                }
            }
        }
        Value::Object(m) => object(s, m, path, preserve, res),
        _ => {}
    }
}

fn object(
    s: &Value,
    m: &mut Map<String, Value>,
    path: &str,
    preserve: bool,
    res: &mut SchemaResult,
) {
    let props = s.get("properties").and_then(Value::as_object);
    let addl = s.get("additionalProperties");
    let keys: Vec<String> = m.keys().cloned().collect();
    for k in keys {
        let child = format!("{path}.{k}");
        let sub = props
            .and_then(|p| p.get(&k))
            .or(addl.filter(|a| a.is_object()));
        match sub {
            Some(sub) => {
                if let Some(v) = m.get_mut(&k) {
                    walk(sub, v, &child, res);
                }
            }
            None => {
                let allow = preserve
                    || addl.and_then(Value::as_bool) == Some(true)
                    || (props.is_none() && addl.is_none() && s.get("type").is_none());
                if !allow {
                    m.remove(&k);
                    res.unknown.push(child);
                }
            }
        }
    }
    if let Some(req) = s.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if !m.contains_key(r) {
                res.causes.push(Cause::new(
                    "FieldValueRequired",
                    format!("{path}.{r}"),
                    "Required value",
                ));
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(37).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "port": {"x-kubernetes-int-or-string": true}
            }},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }})
    }

    #[test]
    fn validates_and_prunes() {
        let mut o = json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "a"}, "spec": {"size": 0, "color": "green", "bogus": 1, "tags": ["a", 2], "extra": {"any": {"thing": 1}}, "port": "http"}, "top": 1});
        let r = check(&schema(), &mut o);
        let fields: Vec<&str> = r.causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["spec.size", "spec.color", "spec.tags[1]"]);
        assert_eq!(r.unknown, vec!["spec.bogus".to_string(), "top".to_string()]);
        assert!(o["spec"].get("bogus").is_none());
        assert_eq!(o["spec"]["extra"]["any"]["thing"], 1);
    }

    #[test]
    fn required_fields() {
        let mut o = json!({"spec": {}});
        let r = check(&schema(), &mut o);
        assert_eq!(r.causes[0].field, "spec.size");
        assert_eq!(r.causes[0].reason, "FieldValueRequired");
    }
}
