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

/// Masked copies of a desired and a live Secret (other kinds are returned unchanged).
pub fn hide_secret_data(
    target: Option<&Value>,
    live: Option<&Value>,
) -> (Option<Value>, Option<Value>) {
    if !is_secret(target) && !is_secret(live) {
        return (target.cloned(), live.cloned());
    }
    let mut target = target.cloned();
    let mut live = live.cloned();
    let mut last_applied: Option<Value> = live
        .as_ref()
        .and_then(|l| l.pointer("/metadata/annotations"))
        .and_then(|a| a.get(LAST_APPLIED_CONFIGURATION))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok());

    let mut keys = BTreeSet::new();
    for obj in [target.as_mut(), live.as_mut(), last_applied.as_mut()]
        .into_iter()
        .flatten()
    {
        normalize_secret(obj);
        if let Some(Value::Object(data)) = obj.get("data") {
            keys.extend(data.keys().cloned());
        }
    }
    for key in &keys {
        let mut next = REPLACEMENT.to_string();
        let mut masks: BTreeMap<String, String> = BTreeMap::new();
        for obj in [target.as_mut(), live.as_mut(), last_applied.as_mut()]
            .into_iter()
            .flatten()
        {
            let Some(Value::Object(data)) = obj.get_mut("data") else {
                continue;
            };
            let Some(value) = data.get_mut(key) else {
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
    if let (Some(live), Some(last_applied)) = (live.as_mut(), last_applied)
        && let Some(Value::Object(annotations)) = live.pointer_mut("/metadata/annotations")
    {
        annotations.insert(
            LAST_APPLIED_CONFIGURATION.to_string(),
            Value::String(last_applied.to_string()),
        );
    }
    (target, live)
}
