//! The `/scale` subresource: `autoscaling/v1 Scale` mapped onto the replicas fields.

use serde_json::{Value, json};

use super::{Cluster, Outcome, PatchType, Sub, WriteOpts};
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::patching;
use crate::registry::ResourceType;

fn ptr(path: &str) -> String {
    path.trim_start_matches('.')
        .split('.')
        .fold(String::new(), |acc, p| format!("{acc}/{p}"))
}

fn selector_string(sel: &Value) -> String {
    if let Some(s) = sel.as_str() {
        return s.to_string();
    }
    let mut parts = Vec::new();
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in ml {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let vals: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => parts.push(format!("{key} in ({})", vals.join(","))),
                Some("NotIn") => parts.push(format!("{key} notin ({})", vals.join(","))),
                Some("Exists") => parts.push(key.to_string()),
                Some("DoesNotExist") => parts.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    parts.join(",")
}

/// The Scale object of `obj`.
pub fn scale_of(rt: &ResourceType, obj: &Value) -> ApiResult<Value> {
    let paths = rt.scale.as_ref().ok_or_else(ApiError::path_not_found)?;
    let spec = obj
        .pointer(&ptr(&paths.spec_replicas))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let status = obj
        .pointer(&ptr(&paths.status_replicas))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let selector = if rt.custom.is_some() {
        paths
            .label_selector
            .as_ref()
            .and_then(|p| obj.pointer(&ptr(p)))
            .map(selector_string)
    } else {
        obj.pointer("/spec/selector").map(selector_string)
    };
    let mut st = json!({"replicas": status});
    if let Some(s) = selector {
        st["selector"] = json!(s);
    }
    let m = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"), "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"), "creationTimestamp": m.get("creationTimestamp")
        },
        "spec": {"replicas": spec},
        "status": st
    }))
}

impl Cluster {
    fn write_replicas(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &WriteOpts,
        f: impl FnOnce(&Value) -> ApiResult<Value>,
    ) -> ApiResult<Outcome> {
        let paths = rt.scale.clone().ok_or_else(ApiError::path_not_found)?;
        let out = self.store.write(|txn| {
            let key = Self::key(rt, ns, name);
            let old = txn
                .get(&key)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.resource, name))?;
            let scale = scale_of(rt, &old)?;
            let new_scale = f(&scale)?;
            let rv = meta::resource_version(&new_scale);
            if !rv.is_empty() && rv != meta::resource_version(&old) {
                return Err(ApiError::conflict(&rt.group, &rt.resource, name));
            }
            let replicas = new_scale
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    vec![crate::error::Cause::new(
                        "FieldValueInvalid",
                        "spec.replicas",
                        "Invalid value: must be greater than or equal to 0",
                    )],
                ));
            }
            let mut new = old.as_ref().clone();
            let p = ptr(&paths.spec_replicas);
            let (parent, leaf) = p.rsplit_once('/').unwrap_or(("", ""));
            if new.pointer(parent).is_none() {
                new["spec"] = json!({});
            }
            if let Some(obj) = new.pointer_mut(parent).and_then(Value::as_object_mut) {
                obj.insert(leaf.to_string(), json!(replicas));
            }
            self.finish_update(txn, rt, key, &old, new, opts, Sub::Main, true)
        })?;
        Ok(Outcome {
            object: scale_of(rt, &out.object)?,
            created: false,
            warnings: out.warnings,
        })
    }

    pub(super) fn update_scale(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        body: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Outcome> {
        self.write_replicas(rt, ns, name, opts, |_| Ok(body))
    }

    pub(super) fn patch_scale(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        pt: PatchType,
        patch: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Outcome> {
        self.write_replicas(rt, ns, name, opts, |scale| match pt {
            PatchType::Json => patching::json_patch(scale, &patch)
                .map_err(|e| ApiError::bad_request(e.to_string())),
            PatchType::Merge | PatchType::Strategic | PatchType::Apply { .. } => {
                Ok(patching::merge_patch(scale, &patch))
            }
        })
    }
}
