//! Watch streams as Server-Sent Events, in the shape Argo CD's grpc-gateway streams them: one
//! `data: {"result": ...}` message per change.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::auth::session::Auth;
use crate::cache::{CachedApp, Change, ChangeKind, Snapshot};
use crate::error::{ApiError, ApiResult};
use crate::rbac::Authorizer;
use crate::routes::applications::{filter_from_query, load_cached_authorized};
use crate::routes::query_pairs;
use crate::routes::resources::tree;
use crate::state::AppState;

fn receiver_stream(rx: mpsc::Receiver<String>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(rx, |mut rx| async move {
        let text = rx.recv().await?;
        Some((Ok(Event::default().data(text)), rx))
    })
}

fn event_text(kind: ChangeKind, app: &CachedApp) -> String {
    let mut text = String::with_capacity(app.json.len() + 48);
    text.push_str("{\"result\":{\"type\":\"");
    text.push_str(kind.as_str());
    text.push_str("\",\"application\":");
    text.push_str(&String::from_utf8_lossy(&app.json));
    text.push_str("}}");
    text
}

/// Waits for the Application cache's initial list and subscribes to it.
async fn subscribe(state: &AppState) -> ApiResult<(Snapshot, broadcast::Receiver<Change>)> {
    if !state.apps.wait_synced(Duration::from_secs(30)).await {
        return Err(ApiError::Unavailable(
            "the application cache has not finished its initial list; try again".into(),
        ));
    }
    state
        .apps
        .subscribe()
        .ok_or_else(|| ApiError::Unavailable("the application cache is not ready".into()))
}

/// `GET /api/v1/stream/applications?name=&projects=&selector=&repo=`: ADDED, MODIFIED and DELETED
/// events of the Applications the caller may get (the current ones first, as ADDED), from the
/// Application cache.
pub async fn applications(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let pairs = query_pairs(query.as_deref());
    let filter = filter_from_query(&pairs)?;
    let (snapshot, mut changes) = subscribe(&state).await?;
    let (tx, rx) = mpsc::channel::<String>(64);
    tokio::spawn(async move {
        // name -> resourceVersion of what this stream has sent
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut pending: Vec<Change> = snapshot
            .apps
            .into_iter()
            .map(|app| Change {
                kind: ChangeKind::Added,
                app,
            })
            .collect();
        loop {
            if !pending.is_empty() {
                let Ok(authorizer) = Authorizer::new(&state, &p).await else {
                    return;
                };
                for change in pending.drain(..) {
                    let app = &change.app;
                    if !filter.matches(app)
                        || !authorizer.allows("applications", "get", &app.rbac_object())
                    {
                        // an Application that left the caller's view is gone for this stream
                        if seen.remove(&app.name).is_some()
                            && tx.send(event_text(ChangeKind::Deleted, app)).await.is_err()
                        {
                            return;
                        }
                        continue;
                    }
                    let kind = match change.kind {
                        ChangeKind::Deleted => {
                            if seen.remove(&app.name).is_none() {
                                continue;
                            }
                            ChangeKind::Deleted
                        }
                        _ => match seen.insert(app.name.clone(), app.resource_version.clone()) {
                            None => ChangeKind::Added,
                            Some(rv) if rv == app.resource_version => continue,
                            Some(_) => ChangeKind::Modified,
                        },
                    };
                    if tx.send(event_text(kind, app)).await.is_err() {
                        return;
                    }
                }
            }
            let change = tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                c = changes.recv() => c,
            };
            match change {
                Ok(c) => pending.push(c),
                Err(broadcast::error::RecvError::Closed) => return,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // too slow: catch up from the current state
                    let Some((snapshot, rx)) = state.apps.subscribe() else {
                        return;
                    };
                    changes = rx;
                    let present: HashSet<&str> =
                        snapshot.apps.iter().map(|a| a.name.as_str()).collect();
                    let gone: Vec<String> = seen
                        .keys()
                        .filter(|n| !present.contains(n.as_str()))
                        .cloned()
                        .collect();
                    for name in gone {
                        seen.remove(&name);
                        let text = format!(
                            "{{\"result\":{{\"type\":\"DELETED\",\"application\":{}}}}}",
                            json!({"metadata": {"name": name}})
                        );
                        if tx.send(text).await.is_err() {
                            return;
                        }
                    }
                    pending.extend(snapshot.apps.into_iter().map(|app| Change {
                        kind: ChangeKind::Modified,
                        app,
                    }));
                }
            }
        }
    });
    Ok(Sse::new(receiver_stream(rx).boxed())
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// `GET /api/v1/stream/applications/{name}/resource-tree`: the tree now and after each change
/// (checked when the Application changes, and every few seconds for its children).
pub async fn resource_tree(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    let (_, mut changes) = subscribe(&state).await?;
    let (tx, rx) = mpsc::channel::<String>(16);
    tokio::spawn(async move {
        let mut current = app;
        let mut last: Option<Value> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        loop {
            if let Ok(t) = tree(&state, &current).await
                && last.as_ref() != Some(&t)
            {
                if tx.send(json!({"result": t}).to_string()).await.is_err() {
                    return;
                }
                last = Some(t);
            }
            tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = tick.tick() => {}
                c = changes.recv() => match c {
                    Ok(c) if c.app.name == name => {
                        if c.kind == ChangeKind::Deleted {
                            return;
                        }
                        current = c.app.value.clone();
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        match state.apps.get(&name) {
                            Some(Some(a)) => current = a.value.clone(),
                            _ => return,
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    });
    Ok(Sse::new(receiver_stream(rx).boxed())
        .keep_alive(KeepAlive::default())
        .into_response())
}
