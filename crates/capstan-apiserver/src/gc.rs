//! Garbage collection and the namespace / CRD finalizers, as the controller-manager and the
//! apiextensions server would do them: dependents of deleted owners (background), the
//! `foregroundDeletion` and `orphan` finalizers, namespace content removal, CRD instance cleanup.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::error::ApiResult;
use crate::meta;
use crate::ops::{Cluster, DeleteOptions, Propagation, Sub};
use crate::registry::ResourceType;

const MANAGER: &str = "generic-garbage-collector";
const PERIOD: Duration = Duration::from_secs(5);

/// The GC loop: runs after every deletion notice and periodically.
pub async fn run(cluster: Arc<Cluster>) {
    loop {
        tokio::select! {
            _ = cluster.gc_wake.notified() => {}
            _ = tokio::time::sleep(PERIOD) => {}
        }
        // Let a burst of deletions settle.
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..20 {
            let c = cluster.clone();
            match tokio::task::spawn_blocking(move || pass(&c)).await {
                Ok(Ok(true)) => continue,
                Ok(Ok(false)) => break,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "garbage collection pass failed");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collection task failed");
                    break;
                }
            }
        }
    }
}

struct Obj {
    rt: Arc<ResourceType>,
    o: Arc<Value>,
}

fn ignore_not_found<T>(r: ApiResult<T>) -> ApiResult<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// One pass. Returns whether anything changed (so another pass may be needed).
pub fn pass(cluster: &Cluster) -> ApiResult<bool> {
    let types = cluster.registry.storage_types();
    let by_key: HashMap<String, Arc<ResourceType>> =
        types.iter().map(|t| (t.store_key(), t.clone())).collect();
    // Only objects with ownerReferences, finalizers or a deletionTimestamp are decoded.
    let (all_uids, relevant) = cluster.store.gc_view();
    let all: Vec<Obj> = relevant
        .into_iter()
        .filter_map(|(k, o)| by_key.get(&k).map(|rt| Obj { rt: rt.clone(), o }))
        .collect();
    let uids: HashSet<&str> = all_uids.iter().map(|u| &**u).collect();
    let mut dependents: HashMap<&str, Vec<&Obj>> = HashMap::new();
    for x in &all {
        for r in
            x.o.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        {
            if let Some(u) = r.get("uid").and_then(Value::as_str) {
                dependents.entry(u).or_default().push(x);
            }
        }
    }
    let mut changed = false;
    let bg = DeleteOptions {
        propagation: Some(Propagation::Background),
        ..Default::default()
    };
    for x in &all {
        let (ns, name) = (meta::namespace(&x.o), meta::name(&x.o));
        let terminating = meta::deletion_timestamp(&x.o).is_some();
        let finalizers = meta::finalizers(&x.o);
        // Dangling dependents: every owner is gone.
        let owners = meta::owner_uids(&x.o);
        if !owners.is_empty() && !terminating && owners.iter().all(|u| !uids.contains(u.as_str())) {
            ignore_not_found(cluster.delete(&x.rt, ns, name, &bg))?;
            changed = true;
            continue;
        }
        if !terminating {
            continue;
        }
        let uid = meta::uid(&x.o);
        let deps = dependents.get(uid).cloned().unwrap_or_default();
        if finalizers.iter().any(|f| f == "orphan") {
            for d in &deps {
                ignore_not_found(cluster.mutate(
                    &d.rt,
                    meta::namespace(&d.o),
                    meta::name(&d.o),
                    Sub::Main,
                    MANAGER,
                    |v| {
                        if let Some(refs) = v
                            .pointer_mut("/metadata/ownerReferences")
                            .and_then(Value::as_array_mut)
                        {
                            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
                        }
                        if v.pointer("/metadata/ownerReferences")
                            .and_then(Value::as_array)
                            .is_some_and(Vec::is_empty)
                            && let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut)
                        {
                            m.remove("ownerReferences");
                        }
                    },
                ))?;
            }
            remove_finalizer(cluster, x, "orphan")?;
            changed = true;
        } else if finalizers.iter().any(|f| f == "foregroundDeletion") {
            let fg = DeleteOptions {
                propagation: Some(Propagation::Foreground),
                ..Default::default()
            };
            for d in deps
                .iter()
                .filter(|d| meta::deletion_timestamp(&d.o).is_none())
            {
                ignore_not_found(cluster.delete(
                    &d.rt,
                    meta::namespace(&d.o),
                    meta::name(&d.o),
                    &fg,
                ))?;
                changed = true;
            }
            if deps.is_empty() {
                remove_finalizer(cluster, x, "foregroundDeletion")?;
                changed = true;
            }
        }
        if x.rt.store_key() == crate::ops::NS_KEY && finalizers.is_empty() {
            changed |= clean_namespace(cluster, &types, name)?;
        }
        if x.rt.store_key() == crate::ops::CRD_KEY
            && finalizers
                .iter()
                .any(|f| f == "customresourcecleanup.apiextensions.k8s.io")
        {
            changed |= clean_crd(cluster, x)?;
        }
    }
    Ok(changed)
}

fn remove_finalizer(cluster: &Cluster, x: &Obj, f: &str) -> ApiResult<()> {
    ignore_not_found(cluster.mutate(
        &x.rt,
        meta::namespace(&x.o),
        meta::name(&x.o),
        Sub::Main,
        MANAGER,
        |v| {
            let rest: Vec<String> = meta::finalizers(v).into_iter().filter(|x| x != f).collect();
            meta::set_finalizers(v, &rest);
        },
    ))
}

fn clean_namespace(cluster: &Cluster, types: &[Arc<ResourceType>], ns: &str) -> ApiResult<bool> {
    let mut remaining = 0usize;
    let bg = DeleteOptions {
        propagation: Some(Propagation::Background),
        ..Default::default()
    };
    for rt in types.iter().filter(|t| t.namespaced) {
        let (objs, _) = cluster.store.list(&rt.store_key(), Some(ns));
        for o in objs {
            remaining += 1;
            if meta::deletion_timestamp(&o).is_none() {
                ignore_not_found(cluster.delete(rt, ns, meta::name(&o), &bg))?;
            }
        }
    }
    if remaining == 0 {
        return cluster.finalize_namespace(ns);
    }
    Ok(true)
}

fn clean_crd(cluster: &Cluster, x: &Obj) -> ApiResult<bool> {
    let group =
        x.o.pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
    let plural =
        x.o.pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("");
    let rt = cluster
        .registry
        .storage_types()
        .into_iter()
        .find(|t| t.group == group && t.resource == plural && t.custom.is_some());
    if let Some(rt) = rt {
        let (objs, _) = cluster.store.list(&rt.store_key(), None);
        if !objs.is_empty() {
            let bg = DeleteOptions {
                propagation: Some(Propagation::Background),
                ..Default::default()
            };
            for o in objs
                .iter()
                .filter(|o| meta::deletion_timestamp(o).is_none())
            {
                ignore_not_found(cluster.delete(&rt, meta::namespace(o), meta::name(o), &bg))?;
            }
            return Ok(true);
        }
    }
    remove_finalizer(cluster, x, "customresourcecleanup.apiextensions.k8s.io")?;
    cluster.refresh_crds();
    Ok(true)
}
