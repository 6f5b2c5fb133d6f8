//! The token controller (the controller-manager's `serviceaccount-token` controller): fills
//! `kubernetes.io/service-account-token` Secrets with a token for their ServiceAccount, deletes token
//! Secrets whose ServiceAccount is gone (or was recreated with another uid), and deletes the token
//! Secrets of a deleted ServiceAccount.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{SA_NAME, SA_UID, SECRET_TYPE, ServiceAccountIdentity, Tokens, stored};
use crate::error::ApiResult;
use crate::meta;
use crate::ops::{Cluster, DeleteOptions, Sub};
use crate::store::EventType;

const MANAGER: &str = "kube-controller-manager";
const SECRETS: &str = "/secrets";
const ACCOUNTS: &str = "/serviceaccounts";
/// A periodic pass catches anything a lagging event stream missed.
const RESYNC: Duration = Duration::from_secs(30);

/// What happened to one token Secret in a pass.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Unchanged,
    Filled,
    Deleted,
}

fn ignore_not_found<T>(r: ApiResult<T>) -> ApiResult<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Brings one Secret in line with its ServiceAccount.
pub(crate) fn sync_secret(
    cluster: &Cluster,
    tokens: &Tokens,
    ns: &str,
    name: &str,
) -> ApiResult<Outcome> {
    let Some(secret) = stored(cluster, "secrets", ns, name) else {
        return Ok(Outcome::Unchanged);
    };
    if secret.get("type").and_then(Value::as_str) != Some(SECRET_TYPE)
        || meta::deletion_timestamp(&secret).is_some()
    {
        return Ok(Outcome::Unchanged);
    }
    let Some(rt) = cluster.registry.lookup("", "v1", "secrets") else {
        return Ok(Outcome::Unchanged);
    };
    let sa_name = meta::annotation(&secret, SA_NAME).unwrap_or_default();
    let account = stored(cluster, "serviceaccounts", ns, sa_name)
        .filter(|a| meta::deletion_timestamp(a).is_none());
    let recorded_uid = meta::annotation(&secret, SA_UID).unwrap_or_default();
    let account = match account {
        Some(a) if recorded_uid.is_empty() || recorded_uid == meta::uid(&a) => a,
        _ => {
            // no such ServiceAccount (any more): the token Secret is deleted, as Kubernetes does
            tracing::info!(
                namespace = ns,
                secret = name,
                serviceaccount = sa_name,
                "deleting a token Secret of a missing ServiceAccount"
            );
            ignore_not_found(cluster.delete(&rt, ns, name, &DeleteOptions::default()))?;
            return Ok(Outcome::Deleted);
        }
    };
    let has = |k: &str| {
        secret
            .pointer(&format!("/data/{}", k.replace('/', "~1")))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    let complete = has("token")
        && has("namespace")
        && (tokens.ca_pem.is_none() || has("ca.crt"))
        && !recorded_uid.is_empty();
    if complete {
        return Ok(Outcome::Unchanged);
    }
    let identity = ServiceAccountIdentity {
        namespace: ns.to_string(),
        name: sa_name.to_string(),
        uid: meta::uid(&account).to_string(),
    };
    let fresh = tokens.secret_data(&identity, name);
    cluster.mutate(&rt, ns, name, Sub::Main, MANAGER, |v| {
        if !v.get("data").is_some_and(Value::is_object) {
            v["data"] = json!({});
        }
        if let Some(data) = v["data"].as_object_mut() {
            for (k, value) in fresh {
                let missing = data
                    .get(&k)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
                if missing {
                    data.insert(k, value);
                }
            }
        }
        let m = meta::metadata_mut(v);
        let annotations = m.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(SA_UID.into(), json!(identity.uid));
        }
    })?;
    Ok(Outcome::Filled)
}

/// Deletes the token Secrets of ServiceAccount `sa_name` in `ns` (it was deleted).
fn delete_tokens_of(cluster: &Cluster, ns: &str, sa_name: &str) -> ApiResult<usize> {
    let Some(rt) = cluster.registry.lookup("", "v1", "secrets") else {
        return Ok(0);
    };
    let (secrets, _) = cluster.store.list(SECRETS, Some(ns));
    let mut n = 0;
    for s in secrets {
        if s.get("type").and_then(Value::as_str) == Some(SECRET_TYPE)
            && meta::annotation(&s, SA_NAME) == Some(sa_name)
        {
            ignore_not_found(cluster.delete(&rt, ns, meta::name(&s), &DeleteOptions::default()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// One pass over every token Secret.
pub(crate) fn resync(cluster: &Cluster, tokens: &Tokens) {
    let (secrets, _) = cluster.store.list(SECRETS, None);
    for s in secrets {
        if s.get("type").and_then(Value::as_str) != Some(SECRET_TYPE) {
            continue;
        }
        if let Err(e) = sync_secret(cluster, tokens, meta::namespace(&s), meta::name(&s)) {
            tracing::warn!(error = %e, secret = meta::name(&s), "token controller: sync failed");
        }
    }
}

/// The controller loop.
pub async fn run(cluster: Arc<Cluster>, tokens: Arc<Tokens>) {
    let mut rx = cluster.store.subscribe_all();
    {
        let (c, t) = (cluster.clone(), tokens.clone());
        let _ = tokio::task::spawn_blocking(move || resync(&c, &t)).await;
    }
    let mut tick = tokio::time::interval(RESYNC);
    tick.tick().await;
    loop {
        let work: Option<(EventType, crate::store::ObjKey, Value)> = tokio::select! {
            _ = tick.tick() => None,
            msg = rx.recv() => match msg {
                Ok(ev) if ev.key.rkey == SECRETS || ev.key.rkey == ACCOUNTS => {
                    Some((ev.etype, ev.key.clone(), ev.object()))
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => None,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let (c, t) = (cluster.clone(), tokens.clone());
        let result = tokio::task::spawn_blocking(move || -> ApiResult<()> {
            match work {
                None => resync(&c, &t),
                Some((etype, key, _)) if key.rkey == SECRETS => {
                    if etype != EventType::Deleted {
                        sync_secret(&c, &t, &key.ns, &key.name)?;
                    }
                }
                Some((EventType::Deleted, key, _)) => {
                    let n = delete_tokens_of(&c, &key.ns, &key.name)?;
                    if n > 0 {
                        tracing::info!(namespace = %key.ns, serviceaccount = %key.name, secrets = n, "deleted the token Secrets of a deleted ServiceAccount");
                    }
                }
                Some((_, key, obj)) => {
                    // a ServiceAccount appeared or changed: its token Secrets may be waiting for it
                    if meta::deletion_timestamp(&obj).is_some() {
                        delete_tokens_of(&c, &key.ns, &key.name)?;
                    }
                }
            }
            Ok(())
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "token controller step failed"),
            Err(e) => tracing::warn!(error = %e, "token controller task failed"),
        }
    }
}
