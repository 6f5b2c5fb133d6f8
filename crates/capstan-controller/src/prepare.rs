//! Preparing rendered objects for comparison and apply: the destination namespace for namespaced
//! objects without one, no namespace on cluster-scoped ones, and the tracking annotation/label.

use capstan_diff::tracking::Tracking;
use capstan_kube::{ClusterClient, KubeError};
use serde_json::Value;

/// Scope of kinds defined by CRDs in the same set of objects (they may not be served yet).
fn scope_from_crds(objects: &[Value], api_version: &str, kind: &str) -> Option<bool> {
    let group = api_version.split_once('/').map(|(g, _)| g)?;
    objects.iter().find_map(|o| {
        let is_crd = o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition");
        let spec = o.get("spec")?;
        if is_crd
            && spec.get("group").and_then(Value::as_str) == Some(group)
            && spec.pointer("/names/kind").and_then(Value::as_str) == Some(kind)
        {
            Some(spec.get("scope").and_then(Value::as_str) != Some("Cluster"))
        } else {
            None
        }
    })
}

/// Sets namespaces and tracking on every object; returns each with whether it is namespaced. A kind the server does not serve and no CRD in the
/// set defines is an error naming it.
pub(crate) async fn prepare(
    client: &ClusterClient,
    mut objects: Vec<Value>,
    destination_namespace: &str,
    app_instance: &str,
    tracking: &Tracking,
) -> Result<Vec<(Value, bool)>, String> {
    let snapshot = objects.clone();
    let mut scopes = Vec::with_capacity(objects.len());
    for obj in &mut objects {
        let api_version = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if api_version.is_empty() || kind.is_empty() {
            return Err(format!(
                "an object has no apiVersion or kind: {}",
                obj.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("<unnamed>")
            ));
        }
        let namespaced = match client.resolve(&api_version, &kind).await {
            Ok(rt) => rt.namespaced,
            Err(KubeError::UnknownKind { .. }) => {
                match scope_from_crds(&snapshot, &api_version, &kind) {
                    Some(namespaced) => namespaced,
                    None => {
                        return Err(format!(
                            "the cluster does not serve {api_version} {kind} and no CRD in the application defines it"
                        ));
                    }
                }
            }
            Err(err) => return Err(err.to_string()),
        };
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            let has_ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if namespaced && !has_ns && !destination_namespace.is_empty() {
                meta.insert(
                    "namespace".into(),
                    Value::String(destination_namespace.to_string()),
                );
            } else if !namespaced {
                meta.remove("namespace");
            }
        }
        tracking
            .set_app_instance(obj, app_instance)
            .map_err(|e| e.to_string())?;
        scopes.push(namespaced);
    }
    Ok(objects.into_iter().zip(scopes).collect())
}
