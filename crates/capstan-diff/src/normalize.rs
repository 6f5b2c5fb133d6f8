//! Normalisations applied to desired, live and last-applied objects before comparing
//! (gitops-engine `Normalize` and the effects of its typed re-marshalling).

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::options::StatusFieldMode;
use crate::quantity;

/// Metadata the API server fills in; never a difference.
pub(crate) const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
];

/// Maps whose values are resource quantities.
const QUANTITY_MAPS: &[&str] = &[
    "requests",
    "limits",
    "hard",
    "used",
    "capacity",
    "allocatable",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];
/// Fields that are quantities.
const QUANTITY_FIELDS: &[&str] = &["sizeLimit", "storage"];
/// Int-or-string fields: "80" and 80 are the same port.
const INT_OR_STRING_FIELDS: &[&str] = &[
    "port",
    "targetPort",
    "containerPort",
    "nodePort",
    "hostPort",
    "servicePort",
    "number",
    "maxSurge",
    "maxUnavailable",
    "minAvailable",
];

/// `(group, kind)` of an object.
pub(crate) fn group_kind(obj: &Value) -> (&str, &str) {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    (group, obj.get("kind").and_then(Value::as_str).unwrap_or(""))
}

/// Groups served by Kubernetes itself, whose typed fields drop zero values (`omitempty`).
pub(crate) fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || !group.contains('.')
        || group.ends_with(".k8s.io") && !group.ends_with(".x-k8s.io")
}

/// A copy of the object without server-populated metadata and (when `drop_status`) without `status`,
/// cloning only what is kept.
pub(crate) fn clone_without_server_fields(obj: &Value, drop_status: bool) -> Value {
    let Value::Object(map) = obj else {
        return obj.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        match (k.as_str(), v) {
            ("status", _) if drop_status => {}
            ("metadata", Value::Object(meta)) => {
                let kept = meta
                    .iter()
                    .filter(|(mk, _)| !SERVER_METADATA.contains(&mk.as_str()));
                out.insert(
                    k.clone(),
                    Value::Object(kept.map(|(mk, mv)| (mk.clone(), mv.clone())).collect()),
                );
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Whether `status` is ignored for this object.
pub(crate) fn status_ignored(obj: &Value, mode: StatusFieldMode) -> bool {
    match mode {
        StatusFieldMode::All => true,
        StatusFieldMode::Crd => {
            group_kind(obj) == ("apiextensions.k8s.io", "CustomResourceDefinition")
        }
        StatusFieldMode::Off => false,
    }
}

/// Kind-specific normalisations: Secret `stringData`, Role/ClusterRole rules, Endpoints order.
pub(crate) fn normalize_kind(obj: &mut Value, ignore_aggregated_roles: bool) {
    match group_kind(obj) {
        ("", "Secret") => normalize_secret(obj),
        ("rbac.authorization.k8s.io", "ClusterRole" | "Role") => {
            normalize_role(obj, ignore_aggregated_roles)
        }
        ("", "Endpoints") => normalize_endpoints(obj),
        _ => {}
    }
}

/// Moves `stringData` into `data` (base64) and turns `null` data values into `""`.
pub(crate) fn normalize_secret(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        let data = map
            .entry("data")
            .or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Some(data) = data.as_object_mut() {
            for (key, value) in string_data {
                let encoded = match value {
                    Value::String(s) => {
                        Value::String(base64::engine::general_purpose::STANDARD.encode(s))
                    }
                    other => other,
                };
                data.insert(key, encoded);
            }
        }
    }
    if let Some(Value::Object(data)) = map.get_mut("data") {
        for value in data.values_mut() {
            if value.is_null() {
                *value = Value::String(String::new());
            }
        }
    }
}

fn normalize_role(obj: &mut Value, ignore_aggregated_roles: bool) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let aggregated = map.get("aggregationRule").is_some_and(Value::is_object);
    let empty_rules = map
        .get("rules")
        .is_some_and(|r| r.is_null() || r.as_array().is_some_and(Vec::is_empty));
    if (ignore_aggregated_roles && aggregated) || empty_rules {
        map.remove("rules");
    }
}

/// Default protocol TCP, addresses and ports sorted, subsets sorted (Kubernetes' `SortSubsets`).
fn normalize_endpoints(obj: &mut Value) {
    let Some(Value::Array(subsets)) = obj.get_mut("subsets") else {
        return;
    };
    for subset in subsets.iter_mut() {
        for field in ["addresses", "notReadyAddresses"] {
            if let Some(Value::Array(addresses)) = subset.get_mut(field) {
                addresses.sort_by_key(|a| {
                    (
                        a.get("ip")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        a.to_string(),
                    )
                });
            }
        }
        if let Some(Value::Array(ports)) = subset.get_mut("ports") {
            for port in ports.iter_mut() {
                if let Some(p) = port.as_object_mut() {
                    p.entry("protocol")
                        .or_insert_with(|| Value::String("TCP".into()));
                }
            }
            ports.sort_by_key(Value::to_string);
        }
    }
    subsets.sort_by_key(Value::to_string);
}

/// Scalars that are the same value written differently: numbers (1 and 1.0), quantities under
/// quantity keys ("1000m" and "1"), and int-or-string ports ("80" and 80).
pub(crate) fn scalar_equivalent(parent_key: &str, key: &str, a: &Value, b: &Value) -> bool {
    if a == b || loosely_equal(a, b) {
        return true;
    }
    if QUANTITY_MAPS.contains(&parent_key) || QUANTITY_FIELDS.contains(&key) {
        return quantity::equivalent(a, b);
    }
    if INT_OR_STRING_FIELDS.contains(&key) {
        return int_or_string(a).is_some() && int_or_string(a) == int_or_string(b);
    }
    false
}

fn int_or_string(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// List item keys compared loosely: `"80"` and `80` are the same key.
pub(crate) fn key_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::Number(n)) | (Value::Number(n), Value::String(x)) => {
            *x == n.to_string()
        }
        _ => loosely_equal(a, b),
    }
}

/// Numbers compared by value (`1` equals `1.0`).
pub(crate) fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Zero values that typed built-in objects omit (`false`, `0`, `""`), and empty maps/lists/null.
pub(crate) fn is_empty_or_zero(v: &Value, builtin: bool) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Bool(b) => builtin && !b,
        Value::Number(n) => builtin && n.as_f64() == Some(0.0),
        Value::String(s) => builtin && s.is_empty(),
    }
}
