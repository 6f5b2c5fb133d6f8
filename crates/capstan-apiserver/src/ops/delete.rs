//! DELETE: preconditions, propagation policies, finalizers and deletionTimestamp.

use serde_json::{Value, json};

use super::{Cluster, present};
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

/// The parts of `DeleteOptions` the server honours.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Parse a `DeleteOptions` body (JSON), tolerating an empty body.
    pub fn from_body(v: &Value) -> ApiResult<Self> {
        let mut o = Self::default();
        if v.is_null() {
            return Ok(o);
        }
        if !v.is_object() {
            return Err(ApiError::bad_request("DeleteOptions must be an object"));
        }
        o.propagation = match v.get("propagationPolicy").and_then(Value::as_str) {
            None => None,
            Some(p) => Some(parse_propagation(p)?),
        };
        if o.propagation.is_none()
            && v.get("orphanDependents").and_then(Value::as_bool) == Some(true)
        {
            o.propagation = Some(Propagation::Orphan);
        }
        o.precondition_uid = v
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        o.precondition_rv = v
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(dr) = v.get("dryRun").and_then(Value::as_array) {
            for d in dr {
                match d.as_str() {
                    Some("All") => o.dry_run = true,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "unsupported dryRun value {other:?}"
                        )));
                    }
                }
            }
        }
        Ok(o)
    }
}

pub fn parse_propagation(p: &str) -> ApiResult<Propagation> {
    match p {
        "Background" => Ok(Propagation::Background),
        "Foreground" => Ok(Propagation::Foreground),
        "Orphan" => Ok(Propagation::Orphan),
        other => Err(ApiError::bad_request(format!(
            "unsupported propagationPolicy {other:?}: supported values: Background, Foreground, Orphan"
        ))),
    }
}

impl Cluster {
    /// Delete one object. Returns the object (final state, or the terminating object).
    pub fn delete(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Value> {
        let out = self.store.write(|txn| {
            let key = Self::key(rt, ns, name);
            let old = txn.get(&key).ok_or_else(|| ApiError::not_found(&rt.group, &rt.resource, name))?;
            if let Some(uid) = &opts.precondition_uid
                && uid != meta::uid(&old)
            {
                return Err(ApiError::new(409, "Conflict", format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    crate::error::qualified(&rt.group, &rt.resource), meta::uid(&old)
                )).with_details(&rt.group, &rt.resource, name));
            }
            if let Some(rv) = &opts.precondition_rv
                && rv != meta::resource_version(&old)
            {
                return Err(ApiError::conflict(&rt.group, &rt.resource, name));
            }
            let mut finalizers = meta::finalizers(&old);
            let policy = opts.propagation.unwrap_or_default();
            let wanted = match policy {
                Propagation::Orphan => Some("orphan"),
                Propagation::Foreground => Some("foregroundDeletion"),
                Propagation::Background => None,
            };
            let is_ns = rt.store_key() == super::NS_KEY;
            if let Some(f) = wanted
                && !is_ns
                && !finalizers.iter().any(|x| x == f)
            {
                finalizers.push(f.to_string());
            }
            let terminating = meta::deletion_timestamp(&old).is_some();
            if finalizers.is_empty() && !is_ns {
                if opts.dry_run {
                    return Ok(old.as_ref().clone());
                }
                return Ok((*txn.delete(key, old.as_ref().clone())).clone());
            }
            let mut new = old.as_ref().clone();
            meta::set_finalizers(&mut new, &finalizers);
            if !terminating {
                let m = meta::metadata_mut(&mut new);
                m.insert("deletionTimestamp".into(), json!(meta::now()));
                m.insert("deletionGracePeriodSeconds".into(), json!(0));
                if rt.generation || rt.custom.is_some() {
                    let g = m.get("generation").and_then(Value::as_i64).unwrap_or(1);
                    m.insert("generation".into(), json!(g + 1));
                }
                if is_ns {
                    new["status"] = json!({"phase": "Terminating"});
                }
            }
            if new == *old || opts.dry_run {
                return Ok(new);
            }
            Ok((*txn.put(key, new)).clone())
        })?;
        if !opts.dry_run {
            self.gc_wake.notify_one();
            if rt.store_key() == super::CRD_KEY {
                self.refresh_crds();
            }
        }
        Ok(present(rt, &out))
    }

    /// DELETE on a collection: every object matching the selectors.
    pub fn delete_collection(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        opts: &DeleteOptions,
    ) -> ApiResult<Vec<Value>> {
        let (objs, _) = self.store.list(&rt.store_key(), ns);
        let mut out = Vec::new();
        for o in objs
            .iter()
            .filter(|o| labels.matches(o) && fields.matches(o))
        {
            match self.delete(rt, meta::namespace(o), meta::name(o), opts) {
                Ok(v) => out.push(v),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

impl Cluster {
    /// Read-modify-write of one object by a server component (GC, simulation), with the
    /// usual update semantics. Returns the stored object, or `None` when it does not exist.
    pub fn mutate(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        sub: super::Sub,
        manager: &str,
        f: impl FnOnce(&mut Value),
    ) -> ApiResult<Option<Value>> {
        let opts = super::WriteOpts {
            field_manager: Some(manager.to_string()),
            ..Default::default()
        };
        let out = self.store.write(|txn| {
            let key = Self::key(rt, ns, name);
            let Some(old) = txn.get(&key) else {
                return Ok(None);
            };
            let mut new = old.as_ref().clone();
            f(&mut new);
            self.finish_update(txn, rt, key, &old, new, &opts, sub, true)
                .map(|o| Some(o.object))
        })?;
        if rt.store_key() == super::CRD_KEY {
            self.refresh_crds();
        }
        Ok(out)
    }

    /// Remove a terminating namespace once it is empty (the namespace controller's last step).
    pub fn finalize_namespace(&self, name: &str) -> ApiResult<bool> {
        let key = crate::store::ObjKey::new(super::NS_KEY, "", name);
        self.store.write(|txn| {
            let Some(old) = txn.get(&key) else {
                return Ok(false);
            };
            if meta::deletion_timestamp(&old).is_none() || !meta::finalizers(&old).is_empty() {
                return Ok(false);
            }
            let mut last = old.as_ref().clone();
            last["spec"] = json!({});
            txn.delete(key, last);
            Ok(true)
        })
    }
}
