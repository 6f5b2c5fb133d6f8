//! Server-side apply and field ownership (`metadata.managedFields`), following
//! sigs.k8s.io/structured-merge-diff.
//!
//! List semantics: for built-in kinds, lists with merge keys are associative (`map`) lists keyed
//! by their `x-kubernetes-list-map-keys` (`k:{"name":"web"}`, container ports by
//! `containerPort` and `protocol` with `TCP` as default), `finalizers` is a set (`v:"x"`), other
//! lists are atomic. Objects are granular except the atomic ones (label selectors, Service
//! `selector`). Custom resources: lists atomic, objects granular (no CRD schema is consulted).
//!
//! Not modelled: schema defaulting (the API server defaults objects itself), version
//! conversion of managed fields, and the `x-kubernetes-*` markers of CRD schemas.

mod fieldset;
mod fieldsv1;
mod managed;
mod skeleton;
mod walk;

use serde_json::{Map, Value};

pub use fieldset::{PathElement, Set, path_string};
pub use fieldsv1::{decode as decode_fields_v1, encode as encode_fields_v1};
pub use skeleton::zero_object;

use crate::schema;
use managed::{APPLY, Entry, UPDATE, decode_entries, encode_entries};

/// The manager that owns the fields of an object that had no managedFields when it was first
/// applied to.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Parameters of one server-side apply request.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    /// The `fieldManager` query parameter (required).
    pub manager: &'a str,
    /// The `force` query parameter: take ownership of conflicting fields.
    pub force: bool,
    pub api_version: &'a str,
    pub kind: &'a str,
    /// The time to record, RFC 3339 (`2024-01-02T03:04:05Z`).
    pub now: &'a str,
    /// `Some("status")` for applies to the status subresource.
    pub subresource: Option<&'a str>,
}

/// A field that another manager owns with a different value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    pub manager: String,
    /// The field path in structured-merge-diff notation, e.g. `.spec.replicas` or
    /// `.spec.template.spec.containers[name="web"].image`.
    pub field: String,
}

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change (answer 409 with one
    /// `FieldManagerConflict` cause per entry).
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<FieldConflict>),
    /// The applied configuration or request is invalid (answer 422/400).
    #[error("{0}")]
    Invalid(String),
}

fn conflicts_message(conflicts: &[FieldConflict]) -> String {
    conflict_message(conflicts, None)
}

/// The message of the 409 `Status` the API server returns for apply conflicts, in Kubernetes'
/// wording (`Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`;
/// several conflicts of one manager are listed one per line). `api_version` is the version the
/// conflicting managers used (the request's in practice); without it "using ..." is omitted.
pub fn conflict_message(conflicts: &[FieldConflict], api_version: Option<&str>) -> String {
    let n = conflicts.len();
    let using = api_version
        .map(|v| format!(" using {v}"))
        .unwrap_or_default();
    let mut managers: Vec<&str> = conflicts.iter().map(|c| c.manager.as_str()).collect();
    managers.dedup();
    let mut parts = Vec::new();
    for m in managers {
        let fields: Vec<&str> = conflicts
            .iter()
            .filter(|c| c.manager == m)
            .map(|c| c.field.as_str())
            .collect();
        if let [one] = fields.as_slice() {
            parts.push(format!("conflict with \"{m}\"{using}: {one}"));
        } else {
            let list: Vec<String> = fields.iter().map(|f| format!("- {f}")).collect();
            parts.push(format!(
                "conflicts with \"{m}\"{using}:\n{}",
                list.join("\n")
            ));
        }
    }
    let plural = if n == 1 { "" } else { "s" };
    format!(
        "Apply failed with {n} conflict{plural}: {}",
        parts.join("\n")
    )
}

/// The message of one `FieldManagerConflict` cause (`conflict with "m" using apps/v1`).
pub fn conflict_cause_message(conflict: &FieldConflict, api_version: &str) -> String {
    format!("conflict with \"{}\" using {api_version}", conflict.manager)
}

/// Server-side apply of `applied` (a partial object, the manager's complete intent) by
/// `req.manager` onto `live` (`None` = create).
///
/// Returns the new object with `metadata.managedFields` updated: the manager's `Apply` entry
/// holds exactly the fields of `applied`. Fields the manager applied before and omits now are
/// removed from the object unless another manager owns them. A field owned by another manager
/// whose value would change is a conflict unless `req.force` (then ownership moves). Applying
/// the same configuration again returns `live` unchanged (timestamps included).
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    req: &ApplyRequest,
) -> Result<Value, ApplyError> {
    if req.manager.is_empty() {
        return Err(ApplyError::Invalid(
            "fieldManager is required for apply requests".into(),
        ));
    }
    let Some(cfg) = applied.as_object() else {
        return Err(ApplyError::Invalid(
            "the applied configuration must be a JSON object".into(),
        ));
    };
    if cfg
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::Invalid(
            "metadata.managedFields must be nil in an applied configuration".into(),
        ));
    }
    if !crate::within_depth(applied, crate::MAX_DEPTH)
        || live.is_some_and(|l| !crate::within_depth(l, crate::MAX_DEPTH))
    {
        return Err(ApplyError::Invalid(format!(
            "the object nests deeper than {} levels",
            crate::MAX_DEPTH
        )));
    }
    let ty = schema::root(req.api_version, req.kind);
    let live = live.filter(|v| v.is_object());
    let old_entries = decode_entries(live);
    let live_clean = without_managed_fields(live.unwrap_or(&Value::Object(Map::new())));
    // An existing object nobody owns (created before ownership was tracked, or whose
    // managedFields were cleared) is first adopted by the synthetic "before-first-apply"
    // manager, so applying a different value to an existing field is a conflict.
    let mut entries = old_entries.clone();
    if live.is_some() && old_entries.is_empty() {
        let zero = skeleton::zero_object(req.api_version, req.kind);
        let adopt = walk::compare(Some(&zero), Some(&live_clean), ty);
        let set = owned_fields(&adopt.modified.union(&adopt.added), req.subresource);
        if !set.is_empty() {
            entries.push(Entry {
                manager: BEFORE_FIRST_APPLY.to_string(),
                operation: UPDATE.to_string(),
                api_version: req.api_version.to_string(),
                time: Some(req.now.to_string()),
                subresource: None,
                set,
            });
        }
    }
    let mut config = without_managed_fields(applied);
    // Every stored object has metadata: `metadata: null` in a configuration means "nothing".
    if let Some(obj) = config.as_object_mut()
        && obj.get("metadata").is_some_and(Value::is_null)
    {
        obj.shift_remove("metadata");
    }

    let new_set = walk::to_field_set(&config, ty)
        .map(|s| owned_fields(&s, req.subresource))
        .map_err(|e| ApplyError::Invalid(format!("invalid applied configuration: {e}")))?;
    let mut merged = walk::merge(&live_clean, &config, ty);

    let own = |e: &Entry| e.is(req.manager, APPLY, req.api_version, req.subresource);
    let last_set = entries
        .iter()
        .find(|e| own(e))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    entries.retain(|e| !own(e));
    let mine = Entry {
        manager: req.manager.to_string(),
        operation: APPLY.to_string(),
        api_version: req.api_version.to_string(),
        time: Some(req.now.to_string()),
        subresource: req.subresource.map(str::to_string),
        set: new_set,
    };

    // Remove what this manager applied last time, no longer applies, and nobody else owns.
    if !last_set.is_empty() {
        let managed_all = entries
            .iter()
            .fold(mine.set.clone(), |acc, e| acc.union(&e.set));
        let remove = last_set
            .ensure_named_fields_are_members()
            .difference(&managed_all.ensure_named_fields_are_members());
        walk::remove_items(&mut merged, &remove, ty);
    }

    let cmp = walk::compare(Some(&live_clean), Some(&merged), ty);
    let changed = owned_fields(&cmp.modified.union(&cmp.added), req.subresource);
    let removed = owned_fields(&cmp.removed, req.subresource);
    let mut conflicts = Vec::new();
    for e in &entries {
        for p in e.set.intersection(&changed).paths() {
            conflicts.push(FieldConflict {
                manager: e.manager.clone(),
                field: path_string(&p),
            });
        }
    }
    if !conflicts.is_empty() && !req.force {
        conflicts.sort_by(|a, b| (&a.manager, &a.field).cmp(&(&b.manager, &b.field)));
        conflicts.dedup();
        return Err(ApplyError::Conflicts(conflicts));
    }
    for e in &mut entries {
        e.set = e.set.difference(&changed).difference(&removed);
    }
    entries.push(mine);

    if let Some(live) = live
        && merged == live_clean
        && same_sets(&old_entries, &entries)
    {
        return Ok(live.clone());
    }
    Ok(with_managed_fields(merged, &entries))
}

/// Records a non-apply write (create, update, patch: operation `Update`) by `manager`: fields
/// whose value changed or that were added move to this manager's Update entry and leave the
/// other managers' sets; removed fields leave every set. Returns `new` with managedFields set.
///
/// As in Kubernetes: if `new` carries a non-empty managedFields list different from `old`'s,
/// the client is overwriting ownership and that list is the starting point; `[{}]` strips
/// managedFields from the object altogether; an empty list or none keeps the stored ones.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    api_version: &str,
    kind: &str,
    now: &str,
    subresource: Option<&str>,
) -> Value {
    if !new.is_object() {
        return new.clone();
    }
    let ty = schema::root(api_version, kind);
    let old = old.filter(|v| v.is_object());
    let old_entries = decode_entries(old);
    let managed_of = |v: Option<&Value>| {
        v.and_then(|o| o.get("metadata"))
            .and_then(|m| m.get("managedFields"))
            .cloned()
    };
    let new_mf = managed_of(Some(new));
    if let Some(Value::Array(list)) = &new_mf
        && let [Value::Object(only)] = list.as_slice()
        && only.is_empty()
    {
        // `managedFields: [{}]` strips ownership tracking from the object entirely.
        let mut out = without_managed_fields(new);
        set_managed_fields(&mut out, None);
        return out;
    }
    // An empty list (or null) is treated as "not sent", so that clients unaware of the field
    // never clear it; other managedFields that differ from the stored ones replace them.
    let reset = matches!(&new_mf, Some(Value::Array(list)) if !list.is_empty())
        && new_mf != managed_of(old);
    let mut entries = if reset {
        decode_entries(Some(new))
    } else {
        old_entries.clone()
    };
    let old_clean = match old {
        Some(o) => without_managed_fields(o),
        None => skeleton::zero_object(api_version, kind),
    };
    let new_clean = without_managed_fields(new);
    let cmp = walk::compare(Some(&old_clean), Some(&new_clean), ty);
    let changed = owned_fields(&cmp.modified.union(&cmp.added), subresource);
    let removed = owned_fields(&cmp.removed, subresource);
    for e in &mut entries {
        e.set = e.set.difference(&changed).difference(&removed);
    }
    if !changed.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.is(manager, UPDATE, api_version, subresource))
        {
            Some(e) => {
                e.set = e.set.union(&changed);
                e.time = Some(now.to_string());
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: UPDATE.to_string(),
                api_version: api_version.to_string(),
                time: Some(now.to_string()),
                subresource: subresource.map(str::to_string),
                set: changed,
            }),
        }
    }
    if let Some(o) = old
        && !reset
        && old_clean == new_clean
        && same_sets(&old_entries, &entries)
    {
        let mut out = new_clean;
        set_managed_fields(&mut out, managed_of(Some(o)));
        return out;
    }
    with_managed_fields(new_clean, &entries)
}

/// The field paths `manager` owns in `obj` (all its entries), in structured-merge-diff
/// notation (`.spec.replicas`, `.spec.template.spec.containers[name="web"].image`).
pub fn managed_paths(obj: &Value, manager: &str) -> Vec<String> {
    decode_entries(Some(obj))
        .iter()
        .filter(|e| e.manager == manager)
        .fold(Set::new(), |acc, e| acc.union(&e.set))
        .paths()
        .iter()
        .map(|p| path_string(p))
        .collect()
}

/// The field set an applied configuration would own (what its `Apply` entry records).
pub fn applied_field_set(
    applied: &Value,
    api_version: &str,
    kind: &str,
    subresource: Option<&str>,
) -> Result<Set, ApplyError> {
    walk::to_field_set(
        &without_managed_fields(applied),
        schema::root(api_version, kind),
    )
    .map(|s| owned_fields(&s, subresource))
    .map_err(|e| ApplyError::Invalid(format!("invalid applied configuration: {e}")))
}

fn field(name: &str) -> PathElement {
    PathElement::Field(name.to_string())
}

/// Drops the paths the API server never tracks (identity and bookkeeping metadata,
/// `apiVersion`, `kind`), and the part of the object the (sub)resource does not own: `status`
/// on the main resource, everything but `status` and `metadata` on the status subresource.
fn owned_fields(set: &Set, subresource: Option<&str>) -> Set {
    let mut strip = Set::new();
    strip.insert(&[field("apiVersion")]);
    strip.insert(&[field("kind")]);
    strip.insert(&[field("metadata")]);
    for f in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        strip.insert(&[field("metadata"), field(f)]);
    }
    let mut ignored = Set::new();
    ignored.insert(&[field("metadata"), field("managedFields")]);
    if subresource == Some("status") {
        for pe in set.members.iter().chain(set.children.keys()) {
            if *pe != field("status") && *pe != field("metadata") {
                ignored.insert(std::slice::from_ref(pe));
            }
        }
    } else {
        ignored.insert(&[field("status")]);
    }
    set.difference(&strip).recursive_difference(&ignored)
}

fn same_sets(a: &[Entry], b: &[Entry]) -> bool {
    let key = |e: &Entry| {
        (
            e.manager.clone(),
            e.operation.clone(),
            e.api_version.clone(),
            e.subresource.clone(),
        )
    };
    let mut xs: Vec<_> = a.iter().filter(|e| !e.set.is_empty()).collect();
    let mut ys: Vec<_> = b.iter().filter(|e| !e.set.is_empty()).collect();
    xs.sort_by_key(|e| key(e));
    ys.sort_by_key(|e| key(e));
    xs.len() == ys.len()
        && xs
            .iter()
            .zip(&ys)
            .all(|(x, y)| key(x) == key(y) && x.set == y.set)
}

fn without_managed_fields(v: &Value) -> Value {
    let mut out = v.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("managedFields");
    }
    out
}

fn with_managed_fields(mut obj: Value, entries: &[Entry]) -> Value {
    let encoded = encode_entries(entries);
    let mf = match &encoded {
        Value::Array(a) if a.is_empty() => None,
        _ => Some(encoded),
    };
    set_managed_fields(&mut obj, mf);
    obj
}

fn set_managed_fields(obj: &mut Value, mf: Option<Value>) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match mf {
        Some(mf) => {
            let meta = o
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(m) = meta.as_object_mut() {
                m.insert("managedFields".into(), mf);
            }
        }
        None => {
            if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                m.shift_remove("managedFields");
            }
        }
    }
}
