//! CustomResourceDefinitions: the status a real apiextensions server writes, and the resource
//! types a CRD registers.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::registry::{CustomInfo, ResourceType, ScalePaths};

pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Fill status (acceptedNames, NamesAccepted/Established, storedVersions) and the cleanup finalizer.
pub(super) fn prepare(crd: &mut Value, old: Option<&Value>) {
    let names = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let storage = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|v| v.get("name"))
        .cloned();
    let now = crate::meta::now();
    let prev_conditions = old.and_then(|o| o.pointer("/status/conditions")).cloned();
    let conditions = prev_conditions.unwrap_or_else(|| {
        json!([
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
        ])
    });
    let mut stored: Vec<Value> = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(s) = storage
        && !stored.contains(&s)
    {
        stored.push(s);
    }
    crd["status"] =
        json!({"acceptedNames": names, "conditions": conditions, "storedVersions": stored});
    if crate::meta::deletion_timestamp(crd).is_none() && old.is_none() {
        let mut f = crate::meta::finalizers(crd);
        if !f.iter().any(|x| x == CLEANUP_FINALIZER) {
            f.push(CLEANUP_FINALIZER.to_string());
        }
        crate::meta::set_finalizers(crd, &f);
    }
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The resource types served for a set of stored CRDs.
pub fn custom_types(crds: &[Arc<Value>]) -> Vec<ResourceType> {
    let mut out = Vec::new();
    for crd in crds {
        let Some(spec) = crd.get("spec") else {
            continue;
        };
        let group = spec
            .get("group")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let names = spec.get("names").cloned().unwrap_or_else(|| json!({}));
        let plural = names
            .get("plural")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if group.is_empty() || plural.is_empty() || kind.is_empty() {
            continue;
        }
        let singular = names
            .get("singular")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase());
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        let Some(versions) = spec.get("versions").and_then(Value::as_array) else {
            continue;
        };
        for v in versions {
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let version = v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if version.is_empty() {
                continue;
            }
            let scale = v.pointer("/subresources/scale").map(|s| ScalePaths {
                spec_replicas: s
                    .get("specReplicasPath")
                    .and_then(Value::as_str)
                    .unwrap_or(".spec.replicas")
                    .to_string(),
                status_replicas: s
                    .get("statusReplicasPath")
                    .and_then(Value::as_str)
                    .unwrap_or(".status.replicas")
                    .to_string(),
                label_selector: s
                    .get("labelSelectorPath")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
            out.push(ResourceType {
                group: group.clone(),
                version,
                resource: plural.clone(),
                kind: kind.clone(),
                singular: singular.clone(),
                namespaced,
                short_names: strs(names.get("shortNames")),
                categories: strs(names.get("categories")),
                status: v.pointer("/subresources/status").is_some(),
                scale,
                generation: true,
                custom: Some(Arc::new(CustomInfo {
                    schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                    printer_columns: v
                        .get("additionalPrinterColumns")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    crd_name: crate::meta::name(crd).to_string(),
                })),
                storage_version: v.get("storage").and_then(Value::as_bool) == Some(true),
            });
        }
    }
    out
}
