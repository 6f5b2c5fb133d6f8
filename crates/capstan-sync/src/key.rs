use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Identity of a resource: group, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceKey {
    /// API group ("" for core).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace ("" for cluster-scoped).
    pub namespace: String,
    /// Name (for a hook with only `generateName`, the prefix).
    pub name: String,
}

impl ResourceKey {
    /// The key of an object.
    pub fn of(obj: &Value) -> ResourceKey {
        let api_version = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let group = match api_version.split_once('/') {
            Some((group, _)) => group.to_string(),
            None => String::new(),
        };
        let meta = obj.get("metadata");
        let text = |field: &str| {
            meta.and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let name = match text("name") {
            n if n.is_empty() => text("generateName"),
            n => n,
        };
        ResourceKey {
            group,
            kind: obj
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            namespace: text("namespace"),
            name,
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        if self.namespace.is_empty() {
            write!(f, "{}{}/{}", self.kind, group, self.name)
        } else {
            write!(f, "{}{}/{}/{}", self.kind, group, self.namespace, self.name)
        }
    }
}
