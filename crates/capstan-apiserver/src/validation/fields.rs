//! Unknown-field detection for built-in kinds at the levels that are known without full typed
//! schemas: the object's top-level fields and `metadata`. (Deeper unknown fields of built-ins are
//! kept; custom resources are checked against their CRD schema instead.)

use serde_json::Value;

const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Top-level fields (besides apiVersion, kind, metadata) of a built-in kind.
fn top_level(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("", "ConfigMap") => &["data", "binaryData", "immutable"],
        ("", "Secret") => &["data", "stringData", "type", "immutable"],
        ("", "ServiceAccount") => &[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        ("", "Endpoints") => &["subsets"],
        ("", "Event") => &[
            "action",
            "count",
            "eventTime",
            "firstTimestamp",
            "involvedObject",
            "lastTimestamp",
            "message",
            "reason",
            "related",
            "reportingComponent",
            "reportingInstance",
            "series",
            "source",
            "type",
        ],
        ("events.k8s.io", "Event") => &[
            "action",
            "deprecatedCount",
            "deprecatedFirstTimestamp",
            "deprecatedLastTimestamp",
            "deprecatedSource",
            "eventTime",
            "note",
            "reason",
            "regarding",
            "related",
            "reportingController",
            "reportingInstance",
            "series",
            "type",
        ],
        ("discovery.k8s.io", "EndpointSlice") => &["addressType", "endpoints", "ports"],
        ("apps", "ControllerRevision") => &["data", "revision"],
        ("rbac.authorization.k8s.io", "Role") => &["rules"],
        ("rbac.authorization.k8s.io", "ClusterRole") => &["rules", "aggregationRule"],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            &["subjects", "roleRef"]
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            &["value", "globalDefault", "description", "preemptionPolicy"]
        }
        ("storage.k8s.io", "StorageClass") => &[
            "provisioner",
            "parameters",
            "reclaimPolicy",
            "mountOptions",
            "allowVolumeExpansion",
            "volumeBindingMode",
            "allowedTopologies",
        ],
        ("admissionregistration.k8s.io", _) => &["webhooks"],
        _ => &["spec", "status"],
    }
}

/// Paths of unknown top-level and metadata fields (e.g. `specs`, `metadata.label`).
pub fn unknown(group: &str, kind: &str, o: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(m) = o.as_object() else { return out };
    let allowed = top_level(group, kind);
    for k in m.keys() {
        if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
            && !allowed.contains(&k.as_str())
        {
            out.push(k.clone());
        }
    }
    if let Some(md) = m.get("metadata").and_then(Value::as_object) {
        out.extend(
            md.keys()
                .filter(|k| !OBJECT_META.contains(&k.as_str()))
                .map(|k| format!("metadata.{k}")),
        );
    }
    out
}

/// Remove the fields `unknown` reported.
pub fn prune(o: &mut Value, paths: &[String]) {
    for p in paths {
        match p.strip_prefix("metadata.") {
            Some(k) => {
                if let Some(md) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                    md.remove(k);
                }
            }
            None => {
                if let Some(m) = o.as_object_mut() {
                    m.remove(p);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_typos() {
        let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "label": {}}, "data": {}, "dat": {}});
        let u = unknown("", "ConfigMap", &o);
        assert_eq!(u, vec!["dat".to_string(), "metadata.label".to_string()]);
        prune(&mut o, &u);
        assert_eq!(
            o,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}})
        );
        assert!(unknown("apps", "Deployment", &json!({"spec": {}, "status": {}})).is_empty());
    }
}
