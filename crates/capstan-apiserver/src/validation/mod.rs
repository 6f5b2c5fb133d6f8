//! Validation of objects before they are stored: names, metadata and the required fields of
//! the common built-in kinds. Custom resources are validated against their CRD's schema.

pub mod decode;
pub mod fields;
pub mod schema;

use serde_json::Value;

use crate::error::Cause;

const MAX_NAME: usize = 253;

pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME && s.split('.').all(is_dns1123_label)
}

fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && v.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && v.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric))
}

fn qualified_name_ok(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && label_value_ok(name)
}

/// Kinds whose names must be DNS-1123 labels rather than subdomains.
fn label_named(group: &str, kind: &str) -> bool {
    matches!((group, kind), ("", "Namespace") | ("", "Service"))
}

/// Validate metadata and the built-in kind's essentials.
pub fn validate(group: &str, kind: &str, custom: bool, o: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = crate::meta::name(o);
    if name.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required",
        ));
    } else {
        let ok = if label_named(group, kind) {
            is_dns1123_label(name)
        } else if matches!(
            kind,
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
        ) && !custom
        {
            !name.contains('/') && !name.contains('%') && name != "." && name != ".."
        } else {
            is_dns1123_subdomain(name)
        };
        if !ok {
            let what = if label_named(group, kind) {
                "RFC 1123 label"
            } else {
                "RFC 1123 subdomain"
            };
            causes.push(Cause::new(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: \"{name}\": a lowercase {what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"),
            ));
        }
    }
    if let Some(labels) = o.pointer("/metadata/labels") {
        match labels.as_object() {
            Some(m) => {
                for (k, v) in m {
                    if !qualified_name_ok(k) {
                        causes.push(Cause::new("FieldValueInvalid", "metadata.labels", format!("Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.'")));
                    }
                    match v.as_str() {
                        Some(s) if label_value_ok(s) => {}
                        _ => causes.push(Cause::new("FieldValueInvalid", "metadata.labels", format!("Invalid value: {v}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"))),
                    }
                }
            }
            None if labels.is_null() => {}
            None => causes.push(Cause::new(
                "FieldValueInvalid",
                "metadata.labels",
                "Invalid value: labels must be a map of strings",
            )),
        }
    }
    if let Some(ann) = o.pointer("/metadata/annotations")
        && !ann.is_null()
    {
        match ann.as_object() {
            Some(m) => {
                for (k, v) in m {
                    if !qualified_name_ok(k) {
                        causes.push(Cause::new("FieldValueInvalid", "metadata.annotations", format!("Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.'")));
                    }
                    if !v.is_string() {
                        causes.push(Cause::new(
                            "FieldValueInvalid",
                            format!("metadata.annotations.{k}"),
                            "Invalid value: annotation values must be strings",
                        ));
                    }
                }
            }
            None => causes.push(Cause::new(
                "FieldValueInvalid",
                "metadata.annotations",
                "Invalid value: annotations must be a map of strings",
            )),
        }
    }
    if !custom {
        builtin(group, kind, o, &mut causes);
    }
    causes
}

fn required(o: &Value, ptr: &str, field: &str, causes: &mut Vec<Cause>) -> bool {
    match o.pointer(ptr) {
        None | Some(Value::Null) => {
            causes.push(Cause::new("FieldValueRequired", field, "Required value"));
            false
        }
        Some(Value::String(s)) if s.is_empty() => {
            causes.push(Cause::new("FieldValueRequired", field, "Required value"));
            false
        }
        _ => true,
    }
}

fn containers(o: &Value, ptr: &str, field: &str, causes: &mut Vec<Cause>) {
    match o.pointer(ptr).and_then(Value::as_array) {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                required(c, "/name", &format!("{field}[{i}].name"), causes);
                required(c, "/image", &format!("{field}[{i}].image"), causes);
            }
        }
        _ => causes.push(Cause::new("FieldValueRequired", field, "Required value")),
    }
}

fn builtin(group: &str, kind: &str, o: &Value, causes: &mut Vec<Cause>) {
    match (group, kind) {
        ("", "Pod") => containers(o, "/spec/containers", "spec.containers", causes),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") => {
            if required(o, "/spec/selector", "spec.selector", causes) {
                let sel = o
                    .pointer("/spec/selector/matchLabels")
                    .and_then(Value::as_object);
                let labels = o
                    .pointer("/spec/template/metadata/labels")
                    .and_then(Value::as_object);
                if let Some(sel) = sel {
                    let ok = sel
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
                    if !ok {
                        causes.push(Cause::new(
                            "FieldValueInvalid",
                            "spec.template.metadata.labels",
                            "Invalid value: `selector` does not match template `labels`",
                        ));
                    }
                }
            }
            containers(
                o,
                "/spec/template/spec/containers",
                "spec.template.spec.containers",
                causes,
            );
            if let Some(r) = o.pointer("/spec/replicas")
                && r.as_i64().is_none_or(|n| n < 0)
            {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    "spec.replicas",
                    format!("Invalid value: {r}: must be greater than or equal to 0"),
                ));
            }
        }
        ("batch", "Job") => containers(
            o,
            "/spec/template/spec/containers",
            "spec.template.spec.containers",
            causes,
        ),
        ("batch", "CronJob") => {
            required(o, "/spec/schedule", "spec.schedule", causes);
            containers(
                o,
                "/spec/jobTemplate/spec/template/spec/containers",
                "spec.jobTemplate.spec.template.spec.containers",
                causes,
            );
        }
        ("", "Service") => {
            if let Some(ports) = o.pointer("/spec/ports").and_then(Value::as_array) {
                for (i, p) in ports.iter().enumerate() {
                    match p.get("port").and_then(Value::as_i64) {
                        Some(n) if (1..=65535).contains(&n) => {}
                        _ => causes.push(Cause::new(
                            "FieldValueInvalid",
                            format!("spec.ports[{i}].port"),
                            "Invalid value: must be between 1 and 65535, inclusive",
                        )),
                    }
                }
            }
        }
        ("", "ConfigMap" | "Secret") => {
            // as kube-apiserver: a ServiceAccount token Secret names its ServiceAccount
            let names_account = o
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if o.get("type").and_then(Value::as_str) == Some(crate::tokens::SECRET_TYPE)
                && !names_account
            {
                causes.push(Cause::new(
                    "FieldValueRequired",
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "Required value",
                ));
            }
            for field in ["data", "binaryData"] {
                if let Some(m) = o.get(field).and_then(Value::as_object) {
                    for (k, v) in m {
                        let key_ok = !k.is_empty()
                            && k.len() <= 253
                            && k.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
                            });
                        if !key_ok {
                            causes.push(Cause::new("FieldValueInvalid", format!("{field}[{k}]"), format!("Invalid value: \"{k}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'")));
                        }
                        if !v.is_string() {
                            causes.push(Cause::new(
                                "FieldValueInvalid",
                                format!("{field}[{k}]"),
                                "Invalid value: must be a string",
                            ));
                        }
                    }
                } else if o.get(field).is_some_and(|v| !v.is_null()) {
                    causes.push(Cause::new(
                        "FieldValueInvalid",
                        field,
                        "Invalid value: must be a map of strings",
                    ));
                }
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(o, causes),
        _ => {}
    }
}

fn crd(o: &Value, causes: &mut Vec<Cause>) {
    let group = o
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let plural = o
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    required(o, "/spec/group", "spec.group", causes);
    required(o, "/spec/names/plural", "spec.names.plural", causes);
    required(o, "/spec/names/kind", "spec.names.kind", causes);
    match o.pointer("/spec/scope").and_then(Value::as_str) {
        Some("Namespaced" | "Cluster") => {}
        _ => causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            "Unsupported value: supported values: \"Cluster\", \"Namespaced\"",
        )),
    }
    if !plural.is_empty()
        && !group.is_empty()
        && crate::meta::name(o) != format!("{plural}.{group}")
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!(
                "Invalid value: \"{}\": must be spec.names.plural+\".\"+spec.group",
                crate::meta::name(o)
            ),
        ));
    }
    match o.pointer("/spec/versions").and_then(Value::as_array) {
        Some(vs) if !vs.is_empty() => {
            let storage = vs
                .iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .count();
            if storage != 1 {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    "spec.versions",
                    "Invalid value: must have exactly one version marked as storage version",
                ));
            }
        }
        _ => causes.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have at least one version",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(!is_dns1123_subdomain("A"));
        assert!(!is_dns1123_label("a.b"));
        let c = validate(
            "",
            "ConfigMap",
            false,
            &json!({"metadata": {"name": "Bad_Name"}}),
        );
        assert_eq!(c[0].field, "metadata.name");
    }

    #[test]
    fn deployment_selector_must_match() {
        let d = json!({"metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"a": "1"}}, "template": {"metadata": {"labels": {"a": "2"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let c = validate("apps", "Deployment", false, &d);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].field, "spec.template.metadata.labels");
    }
}
