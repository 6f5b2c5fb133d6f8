//! Masking of Secret values in diff output, as Argo CD's `HideSecretData`: every value of `data` (after
//! moving `stringData` into `data`) is replaced by `++++++++`; equal values get equal masks and
//! different values get masks of different lengths (8, 12, 16, ... `+`), so a change stays visible
//! without revealing anything. The last-applied-configuration annotation of the live object is masked
//! the same way.

use std::collections::{BTreeMap, BTreeSet};

use capstan_types::annotations::LAST_APPLIED_CONFIGURATION;
use serde_json::Value;

use crate::normalize::{group_kind, normalize_secret};

/// The first mask.
pub const REPLACEMENT: &str = "++++++++";

fn is_secret(obj: Option<&Value>) -> bool {
    obj.is_some_and(|o| group_kind(o) == ("", "Secret"))
}

/// The parsed last-applied-configuration; `None` (masked entirely) unless it is a JSON object.
fn last_applied(obj: Option<&Value>) -> Option<Value> {
    obj?.pointer("/metadata/annotations")?
        .get(LAST_APPLIED_CONFIGURATION)?
        .as_str()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .filter(Value::is_object)
}

/// Writes the masked last-applied-configuration back. An annotation that could not be parsed is replaced
/// by the mask (its content might hold secret values).
fn put_last_applied(obj: Option<&mut Value>, masked: Option<Value>) {
    let Some(Value::Object(annotations)) = obj.and_then(|o| o.pointer_mut("/metadata/annotations"))
    else {
        return;
    };
    if !annotations.contains_key(LAST_APPLIED_CONFIGURATION) {
        return;
    }
    let text = masked.map_or_else(|| REPLACEMENT.to_string(), |v| v.to_string());
    annotations.insert(LAST_APPLIED_CONFIGURATION.to_string(), Value::String(text));
}

/// Writes a replacement text for the last-applied-configuration annotation, where there is one.
fn put_last_applied_text(obj: Option<&mut Value>, text: Option<Value>) {
    let Some(Value::Object(annotations)) = obj.and_then(|o| o.pointer_mut("/metadata/annotations"))
    else {
        return;
    };
    if let (true, Some(text)) = (annotations.contains_key(LAST_APPLIED_CONFIGURATION), text) {
        annotations.insert(LAST_APPLIED_CONFIGURATION.to_string(), text);
    }
}

/// Masked copies of a desired and a live Secret (other kinds are returned unchanged).
pub fn hide_secret_data(
    target: Option<&Value>,
    live: Option<&Value>,
) -> (Option<Value>, Option<Value>) {
    hide_secret_data_with(target, live, &BTreeSet::new())
}

/// [`hide_secret_data`], also masking the Secret annotations listed in argocd-cm's
/// `resource.sensitive.mask.annotations`. Listing the last-applied-configuration annotation replaces
/// it by the mask entirely.
pub fn hide_secret_data_with(
    target: Option<&Value>,
    live: Option<&Value>,
    hide_annotations: &BTreeSet<String>,
) -> (Option<Value>, Option<Value>) {
    if !is_secret(target) && !is_secret(live) {
        return (target.cloned(), live.cloned());
    }
    let mut target = target.cloned();
    let mut live = live.cloned();
    let mut live_applied = last_applied(live.as_ref());
    let mut target_applied = last_applied(target.as_ref());

    let mut keys = BTreeSet::new();
    for obj in [
        target.as_mut(),
        live.as_mut(),
        live_applied.as_mut(),
        target_applied.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        normalize_secret(obj);
        if let Some(Value::Object(data)) = obj.get("data") {
            keys.extend(data.keys().cloned());
        }
    }
    let mut objects = [
        target.as_mut(),
        live.as_mut(),
        live_applied.as_mut(),
        target_applied.as_mut(),
    ];
    mask_values(&mut objects, &["data"], &keys);
    // a `data` that is not a map (an invalid Secret) cannot be masked key by key: all of it goes
    for obj in objects.iter_mut().flatten() {
        if let Some(data) = obj.get_mut("data")
            && !data.is_object()
            && !data.is_null()
        {
            *data = Value::String(REPLACEMENT.to_string());
        }
    }
    let annotations: BTreeSet<String> = hide_annotations
        .iter()
        .filter(|a| a.as_str() != LAST_APPLIED_CONFIGURATION)
        .cloned()
        .collect();
    mask_values(&mut objects, &["metadata", "annotations"], &annotations);
    if hide_annotations.contains(LAST_APPLIED_CONFIGURATION) {
        let replaced = Some(Value::String(REPLACEMENT.to_string()));
        put_last_applied_text(live.as_mut(), replaced.clone());
        put_last_applied_text(target.as_mut(), replaced);
    } else {
        put_last_applied(live.as_mut(), live_applied);
        put_last_applied(target.as_mut(), target_applied);
    }
    (target, live)
}

/// Replaces the values of `keys` in the map at `path` of each object: equal values get equal masks.
fn mask_values(objects: &mut [Option<&mut Value>], path: &[&str], keys: &BTreeSet<String>) {
    for key in keys {
        let mut next = REPLACEMENT.to_string();
        let mut masks: BTreeMap<String, String> = BTreeMap::new();
        for obj in objects.iter_mut().flatten() {
            let Some(Value::Object(map)) = path.iter().try_fold(&mut **obj, |v, k| v.get_mut(*k))
            else {
                continue;
            };
            let Some(value) = map.get_mut(key) else {
                continue;
            };
            let plain = match &*value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let mask = masks.entry(plain).or_insert_with(|| {
                let mask = next.clone();
                next.push_str("++++");
                mask
            });
            *value = Value::String(mask.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_data_and_non_object_last_applied_are_masked_whole() {
        let marker = "invalid-secret-marker";
        let live = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": serde_json::Value::String(marker.into()).to_string()
            }},
            "data": [marker]});
        let target = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "data": marker, "stringData": [marker]});
        let (t, l) = hide_secret_data(Some(&target), Some(&live));
        let text = format!("{} {}", t.unwrap(), l.unwrap());
        assert!(!text.contains(marker), "{text}");
    }
}
