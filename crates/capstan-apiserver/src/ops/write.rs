//! create, update (PUT) and patch.

use serde_json::{Value, json};

use super::{Cluster, FieldValidation, Outcome, PatchType, Sub, WriteOpts, present, random_suffix};
use crate::error::{ApiError, ApiResult, Cause};
use crate::meta;
use crate::patching::{self, ApplyParams, PatchFailure};
use crate::registry::ResourceType;
use crate::store::{ObjKey, Txn};

/// Server-managed metadata that clients cannot set or change.
const SERVER_META: [&str; 6] = [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

fn manager(opts: &WriteOpts) -> String {
    opts.field_manager
        .clone()
        .unwrap_or_else(|| "unknown".to_string())
}

/// Check and fill apiVersion/kind of a request body.
pub(super) fn check_type_meta(rt: &ResourceType, body: &mut Value) -> ApiResult<()> {
    let Some(m) = body.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    };
    if let Some(av) = m
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        if group != rt.group {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
    }
    if let Some(k) = m
        .get("kind")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        && k != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    m.insert("apiVersion".into(), json!(rt.api_version()));
    m.insert("kind".into(), json!(rt.kind));
    if m.get("metadata")
        .is_some_and(|v| !v.is_object() && !v.is_null())
    {
        return Err(ApiError::bad_request("metadata must be an object"));
    }
    Ok(())
}

fn check_namespace_field(rt: &ResourceType, ns: &str, body: &mut Value) -> ApiResult<()> {
    if rt.namespaced {
        let body_ns = meta::namespace(body).to_string();
        if body_ns.is_empty() {
            meta::metadata_mut(body).insert("namespace".into(), json!(ns));
        } else if body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    } else {
        meta::metadata_mut(body).remove("namespace");
    }
    Ok(())
}

impl Cluster {
    /// Turn a create body into a storable object (everything except the store checks).
    fn prepare_new(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> ApiResult<(Value, Vec<String>)> {
        check_type_meta(rt, &mut obj)?;
        check_namespace_field(rt, ns, &mut obj)?;
        if !meta::resource_version(&obj).is_empty() {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        {
            let m = meta::metadata_mut(&mut obj);
            let name = m
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if name.is_empty()
                && let Some(gn) = m
                    .get("generateName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            {
                let gn = gn.to_string();
                m.insert("name".into(), json!(format!("{gn}{}", random_suffix())));
            }
            for k in SERVER_META {
                m.remove(k);
            }
            m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("creationTimestamp".into(), json!(meta::now()));
            if rt.generation || rt.custom.is_some() {
                m.insert("generation".into(), json!(1));
            }
        }
        if rt.status
            && let Some(m) = obj.as_object_mut()
            && m.contains_key("status")
            && rt.custom.is_some()
        {
            m.remove("status");
        }
        let warnings = self.admit(rt, &mut obj, None, opts)?;
        Ok((obj, warnings))
    }

    /// Defaulting, CRD bookkeeping and validation shared by every write.
    fn admit(
        &self,
        rt: &ResourceType,
        obj: &mut Value,
        old: Option<&Value>,
        opts: &WriteOpts,
    ) -> ApiResult<Vec<String>> {
        let mut warnings = Vec::new();
        if rt.custom.is_none() {
            if let Some(message) = crate::validation::decode::check(&rt.group, &rt.kind, obj) {
                return Err(ApiError::bad_request(message));
            }
            crate::defaults::apply(&rt.group, &rt.kind, obj, old);
            if rt.store_key() == super::CRD_KEY {
                super::crd::prepare(obj, old);
            }
        }
        let name = meta::name(obj).to_string();
        let mut causes = crate::validation::validate(&rt.group, &rt.kind, rt.custom.is_some(), obj);
        let mut unknown = Vec::new();
        if rt.custom.is_none() {
            unknown = crate::validation::fields::unknown(&rt.group, &rt.kind, obj);
            crate::validation::fields::prune(obj, &unknown);
        }
        if let Some(schema) = rt.custom.as_ref().and_then(|c| c.schema.as_ref()) {
            let res = crate::validation::schema::check(schema, obj);
            causes.extend(res.causes);
            unknown = res.unknown;
        }
        if !unknown.is_empty() {
            match opts.validation {
                FieldValidation::Strict => {
                    let list = unknown
                        .iter()
                        .map(|u| format!("unknown field \"{u}\""))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(ApiError::bad_request(format!(
                        "strict decoding error: {list}"
                    )));
                }
                FieldValidation::Warn => {
                    warnings.extend(unknown.iter().map(|u| format!("unknown field \"{u}\"")))
                }
                FieldValidation::Ignore => {}
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
        }
        Ok(warnings)
    }

    pub fn create(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut body: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Outcome> {
        if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        let (obj, warnings) = self.prepare_new(rt, ns, body, opts)?;
        let obj = patching::record_update(
            None,
            &obj,
            &manager(opts),
            &rt.api_version(),
            &rt.kind,
            &meta::now(),
            None,
        );
        let out = self
            .store
            .write(|txn| self.insert(txn, rt, ns, obj, opts))?;
        self.after_write(rt, opts);
        Ok(Outcome {
            object: present(rt, &out),
            created: true,
            warnings,
        })
    }

    fn insert(
        &self,
        txn: &mut Txn<'_>,
        rt: &ResourceType,
        ns: &str,
        obj: Value,
        opts: &WriteOpts,
    ) -> ApiResult<Value> {
        if rt.namespaced {
            self.check_namespace(txn, ns, true)?;
        }
        let name = meta::name(&obj).to_string();
        let key = Self::key(rt, ns, &name);
        if txn.get(&key).is_some() {
            return Err(ApiError::already_exists(&rt.group, &rt.resource, &name));
        }
        if opts.dry_run {
            return Ok(obj);
        }
        Ok((*txn.put(key, obj)).clone())
    }

    fn after_write(&self, rt: &ResourceType, opts: &WriteOpts) {
        if !opts.dry_run && rt.store_key() == super::CRD_KEY {
            self.refresh_crds();
        }
    }

    /// PUT on the object or its status.
    pub fn update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut body: Value,
        opts: &WriteOpts,
        sub: Sub,
    ) -> ApiResult<Outcome> {
        if sub == Sub::Scale {
            return self.update_scale(rt, ns, name, body, opts);
        }
        check_type_meta(rt, &mut body)?;
        let body_name = meta::name(&body).to_string();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        meta::metadata_mut(&mut body).insert("name".into(), json!(name));
        check_namespace_field(rt, ns, &mut body)?;
        let out = self.store.write(|txn| {
            let key = Self::key(rt, ns, name);
            let old = txn
                .get(&key)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.resource, name))?;
            let rv = meta::resource_version(&body);
            if !rv.is_empty() && rv != meta::resource_version(&old) {
                return Err(ApiError::conflict(&rt.group, &rt.resource, name));
            }
            let keep_managed = body.pointer("/metadata/managedFields").is_none();
            if keep_managed && let Some(mf) = old.pointer("/metadata/managedFields") {
                meta::metadata_mut(&mut body).insert("managedFields".into(), mf.clone());
            }
            self.finish_update(txn, rt, key, &old, body, opts, sub, true)
        })?;
        self.after_write(rt, opts);
        Ok(Outcome {
            object: present(rt, &out.object),
            created: false,
            warnings: out.warnings,
        })
    }

    /// PATCH on the object or its status (scale is handled in `scale.rs`).
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        pt: PatchType,
        patch: Value,
        opts: &WriteOpts,
        sub: Sub,
    ) -> ApiResult<Outcome> {
        if sub == Sub::Scale {
            return self.patch_scale(rt, ns, name, pt, patch, opts);
        }
        if pt == PatchType::Strategic && rt.custom.is_some() {
            return Err(
                ApiError::unsupported_media_type("application/strategic-merge-patch+json")
                    .with_details(&rt.group, &rt.resource, name),
            );
        }
        let out = self.store.write(|txn| {
            let key = Self::key(rt, ns, name);
            let Some(old) = txn.get(&key) else {
                let PatchType::Apply { force } = pt else {
                    return Err(ApiError::not_found(&rt.group, &rt.resource, name));
                };
                return self.apply_create(txn, rt, ns, name, patch.clone(), opts, force, sub);
            };
            let old_presented = present(rt, &old);
            let mut new = match pt {
                PatchType::Json => patching::json_patch(&old_presented, &patch)
                    .map_err(|e| patch_err(rt, name, e))?,
                PatchType::Merge => {
                    if !patch.is_object() {
                        return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                    }
                    patching::merge_patch(&old_presented, &patch)
                }
                PatchType::Strategic => {
                    if !patch.is_object() {
                        return Err(ApiError::bad_request(
                            "a strategic merge patch must be a JSON object",
                        ));
                    }
                    patching::strategic_merge_patch(
                        &old_presented,
                        &patch,
                        &rt.api_version(),
                        &rt.kind,
                    )
                    .map_err(|e| patch_err(rt, name, e))?
                }
                PatchType::Apply { force } => {
                    let applied = check_applied(rt, name, patch.clone())?;
                    let mgr = opts
                        .field_manager
                        .clone()
                        .ok_or_else(|| field_manager_required(rt, name))?;
                    let now = meta::now();
                    let params = ApplyParams {
                        manager: &mgr,
                        force,
                        api_version: &rt.api_version(),
                        kind: &rt.kind,
                        now: &now,
                        subresource: sub_name(sub),
                    };
                    patching::server_side_apply(Some(&old_presented), &applied, &params)
                        .map_err(|e| patch_err(rt, name, e))?
                }
            };
            if !new.is_object() {
                return Err(ApiError::bad_request(
                    "the patched object must be a JSON object",
                ));
            }
            check_type_meta(rt, &mut new)?;
            if meta::name(&new) != name {
                return Err(ApiError::bad_request(
                    "metadata.name cannot be changed by a patch",
                ));
            }
            let rv = meta::resource_version(&new);
            if !rv.is_empty() && rv != meta::resource_version(&old) {
                return Err(ApiError::conflict(&rt.group, &rt.resource, name));
            }
            let record = !matches!(pt, PatchType::Apply { .. });
            self.finish_update(txn, rt, key, &old, new, opts, sub, record)
        })?;
        self.after_write(rt, opts);
        Ok(Outcome {
            object: present(rt, &out.object),
            created: out.created,
            warnings: out.warnings,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_create(
        &self,
        txn: &mut Txn<'_>,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        patch: Value,
        opts: &WriteOpts,
        force: bool,
        sub: Sub,
    ) -> ApiResult<Outcome> {
        if sub != Sub::Main {
            return Err(ApiError::not_found(&rt.group, &rt.resource, name));
        }
        let applied = check_applied(rt, name, patch)?;
        let mgr = opts
            .field_manager
            .clone()
            .ok_or_else(|| field_manager_required(rt, name))?;
        let now = meta::now();
        let params = ApplyParams {
            manager: &mgr,
            force,
            api_version: &rt.api_version(),
            kind: &rt.kind,
            now: &now,
            subresource: None,
        };
        let obj = patching::server_side_apply(None, &applied, &params)
            .map_err(|e| patch_err(rt, name, e))?;
        let managed = obj.pointer("/metadata/managedFields").cloned();
        let (mut obj, warnings) = self.prepare_new(rt, ns, obj, opts)?;
        if let Some(mf) = managed {
            meta::metadata_mut(&mut obj).insert("managedFields".into(), mf);
        }
        let object = self.insert(txn, rt, ns, obj, opts)?;
        Ok(Outcome {
            object,
            created: true,
            warnings,
        })
    }

    /// The common tail of PUT and PATCH: subresource rules, immutable metadata, defaulting,
    /// validation, generation, finalizer completion and the no-op check.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish_update(
        &self,
        txn: &mut Txn<'_>,
        rt: &ResourceType,
        key: ObjKey,
        old: &Value,
        mut new: Value,
        opts: &WriteOpts,
        sub: Sub,
        record: bool,
    ) -> ApiResult<Outcome> {
        let name = key.name.clone();
        // Subresource rules.
        if sub == Sub::Status {
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        } else if rt.status {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        // Immutable and server-managed metadata.
        {
            let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
            let m = meta::metadata_mut(&mut new);
            for k in SERVER_META {
                match old_meta.get(k) {
                    Some(v) => m.insert(k.to_string(), v.clone()),
                    None => m.remove(k),
                };
            }
            m.insert("name".into(), json!(name));
            match old_meta.get("namespace") {
                Some(v) => m.insert("namespace".into(), v.clone()),
                None => m.remove("namespace"),
            };
            m.insert(
                "resourceVersion".into(),
                old_meta
                    .get("resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
        }
        if meta::deletion_timestamp(old).is_some() {
            let before = meta::finalizers(old);
            let added: Vec<String> = meta::finalizers(&new)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    &name,
                    vec![Cause::new(
                        "FieldValueForbidden",
                        "metadata.finalizers",
                        format!(
                            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                        ),
                    )],
                ));
            }
        }
        let warnings = self.admit(rt, &mut new, Some(old), opts)?;
        if rt.generation || rt.custom.is_some() {
            let spec_changed =
                strip_for_generation(&new, rt.status) != strip_for_generation(old, rt.status);
            let g = meta::generation(old).max(1);
            meta::metadata_mut(&mut new).insert(
                "generation".into(),
                json!(if spec_changed { g + 1 } else { g }),
            );
        }
        if record {
            new = patching::record_update(
                Some(old),
                &new,
                &manager(opts),
                &rt.api_version(),
                &rt.kind,
                &meta::now(),
                sub_name(sub),
            );
        }
        if same_ignoring_times(old, &new) {
            return Ok(Outcome {
                object: old.clone(),
                created: false,
                warnings,
            });
        }
        if opts.dry_run {
            return Ok(Outcome {
                object: new,
                created: false,
                warnings,
            });
        }
        if meta::deletion_timestamp(&new).is_some()
            && meta::finalizers(&new).is_empty()
            && !namespace_pending(rt, &new)
        {
            let last = txn.delete(key, new);
            self.gc_wake.notify_one();
            return Ok(Outcome {
                object: (*last).clone(),
                created: false,
                warnings,
            });
        }
        let stored = txn.put(key, new);
        Ok(Outcome {
            object: (*stored).clone(),
            created: false,
            warnings,
        })
    }
}

/// A namespace stays while `spec.finalizers` is not empty.
pub(super) fn namespace_pending(rt: &ResourceType, o: &Value) -> bool {
    rt.store_key() == super::NS_KEY
        && o.pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

fn sub_name(sub: Sub) -> Option<&'static str> {
    match sub {
        Sub::Main => None,
        Sub::Status => Some("status"),
        Sub::Scale => Some("scale"),
    }
}

fn field_manager_required(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::invalid(
        &rt.group,
        &rt.kind,
        name,
        vec![Cause::new(
            "FieldValueRequired",
            "fieldManager",
            "Required value: is required for apply patch",
        )],
    )
}

fn check_applied(rt: &ResourceType, name: &str, mut applied: Value) -> ApiResult<Value> {
    if !applied.is_object() {
        return Err(ApiError::bad_request(
            "an apply patch must be a YAML or JSON object",
        ));
    }
    let has_type = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
        && applied
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
    if !has_type {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in an apply patch",
        ));
    }
    check_type_meta(rt, &mut applied)?;
    let n = meta::name(&applied);
    if !n.is_empty() && n != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    meta::metadata_mut(&mut applied).insert("name".into(), json!(name));
    Ok(applied)
}

fn patch_err(rt: &ResourceType, name: &str, e: PatchFailure) -> ApiError {
    match e {
        PatchFailure::Invalid(m) => {
            ApiError::new(422, "Invalid", m).with_details(&rt.group, &rt.kind, name)
        }
        PatchFailure::Conflicts { message, fields } => {
            let causes: Vec<Cause> = fields
                .iter()
                .map(|(mgr, field)| {
                    Cause::new(
                        "FieldManagerConflict",
                        field.clone(),
                        format!("conflict with \"{mgr}\" using {}", rt.api_version()),
                    )
                })
                .collect();
            let mut e =
                ApiError::new(409, "Conflict", message).with_details(&rt.group, &rt.kind, name);
            e.details.causes = causes;
            e
        }
    }
}

fn strip_for_generation(o: &Value, status_sub: bool) -> Value {
    let mut v = o.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if status_sub {
            m.remove("status");
        }
    }
    v
}

fn same_ignoring_times(a: &Value, b: &Value) -> bool {
    fn norm(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(mf) = v
            .pointer_mut("/metadata/managedFields")
            .and_then(Value::as_array_mut)
        {
            for e in mf.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
        if let Some(m) = v.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        v
    }
    norm(a) == norm(b)
}
