//! The comparison itself (gitops-engine `Diff`): normalise, predict the live object, compare.

use capstan_types::annotations::{LAST_APPLIED_CONFIGURATION, SYNC_OPTIONS};
use serde::Serialize;
use std::sync::Arc;

use serde_json::Value;

use crate::DiffError;
use crate::fast::{WalkCtx, differs};
use crate::ignore::CompiledRule;
use crate::managed_fields::{self, FieldSet, PathElem};
use crate::merge::{MergeCtx, predict};
use crate::normalize::{self, group_kind, is_builtin_group, is_empty_or_zero};
use crate::options::DiffOptions;

/// The result of comparing one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffResult {
    /// True when the live object differs from what the desired state would make it.
    pub modified: bool,
    /// The live object after normalisation (`null` when there is no live object).
    pub normalized_live: Value,
    /// The live object as the desired state would make it (`null` when the resource is not desired).
    pub predicted_live: Value,
}

/// Compiled options; build once and compare many objects.
#[derive(Debug)]
pub struct Differ {
    opts: DiffOptions,
    rules: Vec<CompiledRule>,
}

impl Differ {
    /// Compiles the ignoreDifferences rules (globs, jq programs).
    pub fn new(opts: DiffOptions) -> Result<Self, DiffError> {
        let rules = opts
            .ignore_differences
            .iter()
            .map(CompiledRule::compile)
            .collect::<Result<_, _>>()?;
        Ok(Differ { opts, rules })
    }

    /// The options in force.
    pub fn options(&self) -> &DiffOptions {
        &self.opts
    }

    /// Compares a desired object with a live object. With `server_side_diff` (from the options or the
    /// resource's compare-options annotation), use [`Differ::server_side_diff`] instead.
    pub fn diff(
        &self,
        desired: Option<&Value>,
        live: Option<&Value>,
    ) -> Result<DiffResult, DiffError> {
        let (desired, live) = match (desired, live) {
            (None, None) => return Err(DiffError::NothingToCompare),
            (Some(d), None) => {
                let predicted = self.normalized(d, None)?;
                return Ok(DiffResult {
                    modified: true,
                    normalized_live: Value::Null,
                    predicted_live: predicted,
                });
            }
            (None, Some(l)) => {
                let normalized = self.normalized(l, Some(l))?;
                return Ok(DiffResult {
                    modified: false,
                    normalized_live: normalized,
                    predicted_live: Value::Null,
                });
            }
            (Some(d), Some(l)) => (d, l),
        };
        let orig = self.last_applied(desired, live)?;
        let mut desired_n = self.normalized(desired, Some(live))?;
        let live_n = self.normalized(live, Some(live))?;
        let mut orig_n = match orig {
            Some(o) => Some(self.normalized(&o, Some(live))?),
            None => None,
        };
        // The namespace is set on live objects but often not in manifests or last-applied; an empty
        // annotations map in last-applied does not mean "remove all annotations".
        for (obj, is_orig) in
            std::iter::once((&mut desired_n, false)).chain(orig_n.as_mut().map(|o| (o, true)))
        {
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
                if is_orig
                    && meta
                        .get("annotations")
                        .is_some_and(|a| is_empty_or_zero(a, false))
                {
                    meta.remove("annotations");
                }
            }
        }
        let ctx = MergeCtx {
            builtin: is_builtin_group(group_kind(live).0),
        };
        let predicted = predict(orig_n.as_ref(), &desired_n, &live_n, ctx);
        Ok(DiffResult {
            modified: predicted != live_n,
            normalized_live: live_n,
            predicted_live: predicted,
        })
    }

    /// Only the `modified` flag of [`Differ::diff`], computed without building the normalised and
    /// predicted objects when no ignoreDifferences rule matches and the kind needs no kind-specific
    /// normalisation (the common case; several times faster). Same answer as `diff(..)?.modified`.
    pub fn is_modified(
        &self,
        desired: Option<&Value>,
        live: Option<&Value>,
    ) -> Result<bool, DiffError> {
        let (Some(d), Some(l)) = (desired, live) else {
            return Ok(self.diff(desired, live)?.modified);
        };
        let special_kind = matches!(
            group_kind(d),
            ("", "Secret" | "Endpoints") | ("rbac.authorization.k8s.io", "Role" | "ClusterRole")
        );
        if special_kind || self.rules.iter().any(|r| r.matches(d) || r.matches(l)) {
            return Ok(self.diff(desired, live)?.modified);
        }
        let orig = self.last_applied(d, l)?;
        let orig = orig.as_deref();
        let ctx = WalkCtx {
            merge: MergeCtx {
                builtin: is_builtin_group(group_kind(l).0),
            },
            drop_status: normalize::status_ignored(
                l,
                self.opts.compare.ignore_resource_status_field,
            ),
        };
        Ok(differs(orig, d, l, ctx))
    }

    /// Whether this resource is compared server-side: the resource's
    /// `argocd.argoproj.io/compare-options: ServerSideDiff=true|false` wins over the options.
    /// When true, run a server-side apply dry run and call [`Differ::diff_resource`] with its result.
    pub fn wants_server_side_diff(&self, desired: Option<&Value>) -> bool {
        desired
            .and_then(|d| crate::CompareOptionsAnnotation::of(d).server_side_diff)
            .unwrap_or(self.opts.server_side_diff)
    }

    /// The comparison Argo CD would make for this resource: a server-side diff against
    /// `predicted_live` when [`Differ::wants_server_side_diff`] and a dry-run result is given, the
    /// three-way comparison otherwise.
    pub fn diff_resource(
        &self,
        desired: Option<&Value>,
        live: Option<&Value>,
        predicted_live: Option<&Value>,
    ) -> Result<DiffResult, DiffError> {
        match predicted_live {
            Some(predicted) if self.wants_server_side_diff(desired) => {
                self.server_side_diff(desired, live, predicted)
            }
            _ => self.diff(desired, live),
        }
    }

    /// Server-side diff: compares the live object with `predicted_live`, the result of a server-side
    /// apply dry run of the desired object. Unless `include_mutation_webhook` is set, fields of the dry
    /// run result that Capstan's field manager does not own (changes by mutating webhooks) are taken
    /// from the live object.
    pub fn server_side_diff(
        &self,
        desired: Option<&Value>,
        live: Option<&Value>,
        predicted_live: &Value,
    ) -> Result<DiffResult, DiffError> {
        let (Some(_), Some(live)) = (desired, live) else {
            return self.diff(desired, live);
        };
        let include_webhook = self.opts.include_mutation_webhook
            || desired
                .is_some_and(|d| crate::CompareOptionsAnnotation::of(d).include_mutation_webhook);
        let mut predicted = predicted_live.clone();
        if !include_webhook
            && let Some(owned) = managed_fields::owned_by(
                predicted_live,
                std::slice::from_ref(&self.opts.manager),
                None,
            )
        {
            predicted = revert_unowned(predicted_live, Some(live), &owned).unwrap_or(Value::Null);
        }
        let predicted_n = self.normalized(&predicted, Some(live))?;
        let live_n = self.normalized(live, Some(live))?;
        Ok(DiffResult {
            modified: predicted_n != live_n,
            normalized_live: live_n,
            predicted_live: predicted_n,
        })
    }

    /// The full normalisation of one object: server metadata, status, kind-specific rules, and the
    /// matching ignoreDifferences rules (trusted managers are looked up in `live`'s managedFields).
    pub fn normalized(&self, obj: &Value, live: Option<&Value>) -> Result<Value, DiffError> {
        let matching: Vec<&CompiledRule> = self.rules.iter().filter(|r| r.matches(obj)).collect();
        let managers: Vec<String> = matching
            .iter()
            .flat_map(|r| r.managers.iter().cloned())
            .collect();
        let drop_status =
            normalize::status_ignored(obj, self.opts.compare.ignore_resource_status_field);
        let mut out = normalize::clone_without_server_fields(obj, drop_status);
        if !managers.is_empty()
            && let Some(owned) = live.and_then(|l| managed_fields::owned_by(l, &managers, None))
        {
            managed_fields::remove_owned(&mut out, &owned);
        }
        normalize::normalize_kind(&mut out, self.opts.compare.ignore_aggregated_roles);
        for rule in matching {
            rule.apply(&mut out)?;
        }
        Ok(out)
    }

    /// What was applied before: fields owned by our manager for server-side applied resources,
    /// otherwise the last-applied-configuration annotation (ignored when it is not valid JSON, as
    /// Argo CD falls back to a two-way diff).
    fn last_applied(&self, desired: &Value, live: &Value) -> Result<Option<Arc<Value>>, DiffError> {
        let ssa = self.opts.server_side_apply
            || desired
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(SYNC_OPTIONS))
                .and_then(Value::as_str)
                .is_some_and(|s| s.split(',').any(|o| o.trim() == "ServerSideApply=true"));
        if ssa
            && let Some(owned) = managed_fields::owned_by(
                live,
                std::slice::from_ref(&self.opts.manager),
                Some("Apply"),
            )
        {
            return Ok(Some(Arc::new(managed_fields::skeleton(&owned))));
        }
        let Some(raw) = live
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(LAST_APPLIED_CONFIGURATION))
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        Ok(crate::applied_cache::parse(raw))
    }
}

/// Live values restricted to the paths the dry-run result still has: a field the dry run removed is
/// removed, a field only the dry run has (not owned by us) is not added.
fn intersect_live(predicted: &Value, live: &Value) -> Value {
    match (predicted, live) {
        (Value::Object(p), Value::Object(l)) => Value::Object(
            p.iter()
                .filter_map(|(k, pv)| l.get(k).map(|lv| (k.clone(), intersect_live(pv, lv))))
                .collect(),
        ),
        (Value::Array(p), Value::Array(l)) if p.len() == l.len() => Value::Array(
            p.iter()
                .zip(l)
                .map(|(pv, lv)| intersect_live(pv, lv))
                .collect(),
        ),
        _ => live.clone(),
    }
}

/// The dry-run result with fields not owned by our manager taken from live (dropped when live lacks
/// them): mutating-webhook changes do not count as differences (gitops-engine `removeWebhookMutation`).
fn revert_unowned(predicted: &Value, live: Option<&Value>, owned: &FieldSet) -> Option<Value> {
    if owned.is_leaf() {
        return Some(predicted.clone());
    }
    match predicted {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, pv) in map {
                let lv = live.and_then(|l| l.get(k));
                let child = owned
                    .children
                    .iter()
                    .find(|(e, _)| matches!(e, PathElem::Field(f) if f == k))
                    .map(|(_, c)| c);
                let value = match child {
                    Some(child) => revert_unowned(pv, lv, child),
                    None if k == "apiVersion" || k == "kind" => Some(pv.clone()),
                    None => lv.map(|l| intersect_live(pv, l)),
                };
                if let Some(v) = value {
                    out.insert(k.clone(), v);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => {
            let live_items = live.and_then(Value::as_array);
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let child = owned.children.iter().find(|(e, _)| match e {
                    PathElem::Key(key) => key.iter().all(|(k, v)| item.get(k) == Some(v)),
                    PathElem::Value(v) => v == item,
                    PathElem::Index(idx) => *idx == i,
                    PathElem::Field(_) => false,
                });
                let live_item = live_items.and_then(|l| match child.map(|(e, _)| e) {
                    Some(PathElem::Key(key)) => l
                        .iter()
                        .find(|li| key.iter().all(|(k, v)| li.get(k) == Some(v))),
                    _ => l.iter().find(|li| *li == item),
                });
                let value = match child {
                    Some((_, c)) => revert_unowned(item, live_item, c),
                    None => live_item.map(|l| intersect_live(item, l)),
                };
                if let Some(v) = value {
                    out.push(v);
                }
            }
            Some(Value::Array(out))
        }
        other => Some(other.clone()),
    }
}
