//! Watch: chunked JSON lines of `{"type", "object"}`, resumable from a resourceVersion,
//! with bookmarks, selectors (objects moving in/out of a selector become ADDED/DELETED),
//! `timeoutSeconds`, and `410 Expired` as an ERROR event when history is gone.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::{AppState, Query, table};
use crate::error::{ApiError, ApiResult};
use crate::ops::present;
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Event, EventType};

const BOOKMARK_EVERY: Duration = Duration::from_secs(10);
const MAX_TIMEOUT: u64 = 1800;

struct Filter {
    rt: Arc<ResourceType>,
    rkey: String,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: bool,
}

impl Filter {
    fn matches(&self, o: &Value) -> bool {
        self.labels.matches(o) && self.fields.matches(o)
    }

    /// The event a watcher sees for a store event, if any.
    fn translate(&self, e: &Event) -> Option<(&'static str, Value)> {
        if e.key.rkey != self.rkey || self.ns.as_deref().is_some_and(|n| n != e.key.ns) {
            return None;
        }
        let obj = e.object();
        let now = self.matches(&obj);
        let selective = !self.labels.is_empty() || !self.fields.is_empty();
        let before = if selective {
            e.prev_object().is_some_and(|p| self.matches(&p))
        } else {
            e.prev.is_some()
        };
        let ty = match e.etype {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => (now || before).then_some("DELETED"),
            EventType::Modified => match (before || e.prev.is_none() && now, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            },
        }?;
        Some((ty, self.render(&obj)))
    }

    fn render(&self, o: &Value) -> Value {
        let p = present(&self.rt, o);
        if self.table {
            let rv = crate::meta::resource_version(&p).to_string();
            table::table(&self.rt, &[p], &rv)
        } else {
            p
        }
    }
}

fn line(ty: &str, object: Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": ty, "object": object})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}),
    )
}

pub async fn watch(
    st: &AppState,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    q: &Query,
    accept: &str,
) -> ApiResult<Response> {
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(
        q.get("fieldSelector").unwrap_or(""),
        &rt.kind,
        rt.custom.is_some(),
    )?;
    let since = match q.get("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {s:?}")))?,
        ),
    };
    let send_initial = q.flag("sendInitialEvents");
    let bookmarks = q.flag("allowWatchBookmarks");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(MAX_TIMEOUT)
        .min(MAX_TIMEOUT);
    let filter = Filter {
        rkey: rt.store_key(),
        rt,
        ns,
        labels,
        fields,
        table: table::wants_table(accept),
    };
    // With sendInitialEvents, a resourceVersion still means "not older than": send the current state.
    let since_for_store = if send_initial { None } else { since };
    let sub = st
        .cluster
        .store
        .subscribe(&filter.rkey, filter.ns.as_deref(), since_for_store)?;
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    match sub {
        Err(expired) => {
            let status = ApiError::gone(format!(
                "too old resource version: {} ({})",
                expired.requested, expired.oldest
            ))
            .to_status();
            let _ = tx.try_send(line("ERROR", status));
        }
        Ok(sub) => {
            let shutdown = st.shutdown.clone();
            tokio::spawn(pump(
                filter,
                sub,
                tx,
                since.unwrap_or(0),
                send_initial,
                bookmarks,
                Duration::from_secs(timeout),
                shutdown,
            ));
        }
    }
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<Bytes, std::convert::Infallible>(b), rx))
    });
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(r)
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    filter: Filter,
    sub: crate::store::Subscription,
    tx: mpsc::Sender<Bytes>,
    since: u64,
    send_initial: bool,
    bookmarks: bool,
    timeout: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let crate::store::Subscription {
        replay,
        snapshot,
        rv,
        mut rx,
    } = sub;
    let mut last_rv = if since == 0 || send_initial {
        rv
    } else {
        since
    };
    for o in snapshot
        .iter()
        .map(|r| crate::store::decode(r))
        .filter(|o| filter.matches(o))
    {
        if tx.send(line("ADDED", filter.render(&o))).await.is_err() {
            return;
        }
    }
    if send_initial && tx.send(bookmark(&filter.rt, rv, true)).await.is_err() {
        return;
    }
    for e in &replay {
        if let Some((ty, obj)) = filter.translate(e)
            && tx.send(line(ty, obj)).await.is_err()
        {
            return;
        }
        last_rv = last_rv.max(e.rv);
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(BOOKMARK_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = shutdown.changed() => return,
            _ = tx.closed() => return,
            _ = tick.tick(), if bookmarks => {
                if tx.send(bookmark(&filter.rt, last_rv, false)).await.is_err() {
                    return;
                }
            }
            msg = rx.recv() => match msg {
                Ok(e) => {
                    if e.rv <= last_rv {
                        continue;
                    }
                    last_rv = e.rv;
                    if let Some((ty, obj)) = filter.translate(&e)
                        && tx.send(line(ty, obj)).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let status = ApiError::gone("the watch fell behind; too old resource version").to_status();
                    let _ = tx.send(line("ERROR", status)).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
