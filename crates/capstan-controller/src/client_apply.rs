//! Client-side apply, Argo CD's default and Capstan's alternative to server-side apply
//! (`ServerSideApply=false`): as `kubectl apply` does it, the desired object is stored in the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation and sent as a three-way patch
//! computed from that last applied configuration, the desired object and the live object: fields
//! removed since the last apply are deleted, fields other writers added are left alone. Built-in
//! kinds get a strategic merge patch, other kinds a JSON merge patch. A missing object is created.

use capstan_kube::{KubeError, PatchOptions};
use serde_json::{Map, Value};

use crate::clusters::ClusterState;

/// kubectl's annotation with the last applied configuration.
pub(crate) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn text<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The object to send: `desired` with the annotation holding `desired` itself (without the
/// annotation, as kubectl stores it).
pub(crate) fn with_last_applied(desired: &Value) -> Result<Value, String> {
    let mut stored = desired.clone();
    if let Some(annotations) = stored
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty()
            && let Some(meta) = stored.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("annotations");
        }
    }
    let text = serde_json::to_string(&stored).map_err(|e| e.to_string())?;
    let mut out = desired.clone();
    let meta = out
        .as_object_mut()
        .ok_or("the desired object is not a JSON object")?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let meta = meta.as_object_mut().ok_or("metadata is not an object")?;
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    annotations
        .as_object_mut()
        .ok_or("metadata.annotations is not an object")?
        .insert(LAST_APPLIED.to_string(), Value::String(text));
    Ok(out)
}

/// The last applied configuration of a live object (none when absent or not valid JSON, as
/// kubectl then computes a two-way patch).
pub(crate) fn last_applied(live: &Value) -> Option<Value> {
    let raw = live
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()?;
    serde_json::from_str::<Value>(raw)
        .ok()
        .filter(Value::is_object)
}

/// Keeps the additions and changes of a merge patch (drops its deletions).
fn changes_only(patch: &Value) -> Option<Value> {
    match patch {
        Value::Null => None,
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| changes_only(v).map(|v| (k.clone(), v)))
                .collect();
            // an empty object that is itself a change (a new empty map) is kept by the caller
            Some(Value::Object(kept))
        }
        other => Some(other.clone()),
    }
}

/// Keeps the deletions (`null`s) of a merge patch.
fn deletions_only(patch: &Value) -> Option<Value> {
    match patch {
        Value::Null => Some(Value::Null),
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| deletions_only(v).map(|v| (k.clone(), v)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        _ => None,
    }
}

fn overlay(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => overlay(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, t) => *b = t,
    }
}

fn prune_empty(patch: &mut Value, current: &Value) {
    if let Value::Object(map) = patch {
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let Some(child) = map.get_mut(&key) else {
                continue;
            };
            let in_current = current.get(&key).unwrap_or(&Value::Null);
            prune_empty(child, in_current);
            // `{}` left where the live object already has a map means "no change"
            if child.as_object().is_some_and(Map::is_empty) && in_current.is_object() {
                map.remove(&key);
            }
        }
    }
}

/// kubectl's three-way JSON merge patch for kinds without strategic merge information: what
/// changed from `current` to `modified`, plus the deletions from `original` to `modified`.
pub(crate) fn three_way_merge_patch(
    original: Option<&Value>,
    modified: &Value,
    current: &Value,
) -> Value {
    let mut patch = changes_only(&capstan_patch::create_merge_patch(current, modified))
        .unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(original) = original
        && let Some(deletions) =
            deletions_only(&capstan_patch::create_merge_patch(original, modified))
    {
        overlay(&mut patch, deletions);
    }
    prune_empty(&mut patch, current);
    patch
}

/// The patch that applies `desired` (with its last-applied annotation) over `live`.
pub(crate) fn patch_for(desired: &Value, live: &Value) -> Result<(Value, bool), String> {
    let modified = with_last_applied(desired)?;
    let original = last_applied(live);
    let api_version = text(desired, "apiVersion");
    let kind = text(desired, "kind");
    if capstan_patch::has_strategic_merge_info(api_version, kind) {
        let patch = capstan_patch::three_way_strategic_patch(
            original.as_ref(),
            &modified,
            live,
            api_version,
            kind,
        )
        .map_err(|e| e.to_string())?;
        Ok((patch, true))
    } else {
        Ok((
            three_way_merge_patch(original.as_ref(), &modified, live),
            false,
        ))
    }
}

/// Applies `desired` client-side: creates it when `live` is None, else patches it.
pub(crate) async fn apply(
    cluster: &ClusterState,
    desired: &Value,
    live: Option<&Value>,
    dry_run: bool,
    field_manager: &str,
) -> Result<Value, KubeError> {
    let Some(live) = live else {
        let obj = with_last_applied(desired).map_err(KubeError::InvalidObject)?;
        return cluster.client.create(&obj, dry_run).await;
    };
    let (patch, strategic) = patch_for(desired, live).map_err(KubeError::InvalidObject)?;
    if patch.as_object().is_some_and(Map::is_empty) {
        return Ok(live.clone());
    }
    let (rt, namespace, name) = cluster.client.locate(desired).await?;
    cluster
        .client
        .patch(
            &rt,
            namespace.as_deref(),
            &name,
            &patch,
            &PatchOptions {
                strategic,
                dry_run,
                field_manager: Some(field_manager.to_string()),
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_annotation_holds_the_desired_object_without_itself() {
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let out = with_last_applied(&desired).unwrap();
        let stored = last_applied(&out).unwrap();
        assert_eq!(stored, desired);
        // applying again does not nest the annotation
        let again = with_last_applied(&out).unwrap();
        assert_eq!(last_applied(&again).unwrap(), desired);
    }

    #[test]
    fn three_way_strategic_patch_deletes_removed_fields_and_keeps_others() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "1"}});
        let live_base = with_last_applied(&old).unwrap();
        let mut live = live_base.clone();
        live["data"]["other"] = json!("set by someone else");
        live["metadata"]["resourceVersion"] = json!("7");
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
        let (patch, strategic) = patch_for(&desired, &live).unwrap();
        assert!(strategic);
        let patched =
            capstan_patch::apply_strategic_merge_patch(&live, &patch, "v1", "ConfigMap").unwrap();
        assert_eq!(
            patched["data"],
            json!({"a": "2", "other": "set by someone else"})
        );
        assert_eq!(last_applied(&patched).unwrap(), desired);
    }

    #[test]
    fn three_way_merge_patch_for_custom_resources() {
        let original = json!({"spec": {"a": 1, "b": 2, "list": [1, 2]}});
        let current = json!({"spec": {"a": 1, "b": 2, "c": 3, "list": [1, 2]}, "status": {"x": 1}});
        let modified = json!({"spec": {"a": 5, "list": [3]}});
        let patch = three_way_merge_patch(Some(&original), &modified, &current);
        assert_eq!(patch, json!({"spec": {"a": 5, "b": null, "list": [3]}}));
        let applied = capstan_patch::apply_merge_patch(&current, &patch);
        assert_eq!(
            applied,
            json!({"spec": {"a": 5, "c": 3, "list": [3]}, "status": {"x": 1}})
        );
        // nothing to do: an empty patch
        let same = three_way_merge_patch(Some(&modified), &modified, &current_with(&modified));
        assert_eq!(same, json!({}));
    }

    fn current_with(modified: &Value) -> Value {
        let mut c = modified.clone();
        c["status"] = json!({"ready": true});
        c
    }

    #[test]
    fn a_custom_resource_gets_a_json_merge_patch() {
        let desired = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}});
        let live = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
        let (patch, strategic) = patch_for(&desired, &live).unwrap();
        assert!(!strategic);
        assert_eq!(patch["spec"]["size"], 2);
        assert!(patch["metadata"]["annotations"][LAST_APPLIED].is_string());
    }
}
