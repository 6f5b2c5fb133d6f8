//! Watch streams as Server-Sent Events, in the shape Argo CD's grpc-gateway streams them: one
//! `data: {"result": ...}` message per change.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use capstan_kube::{WatchEvent, watch_resource};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::auth::Principal;
use crate::auth::session::Auth;
use crate::error::ApiResult;
use crate::rbac;
use crate::routes::applications::{load_authorized, project_of, rbac_object};
use crate::routes::resources::tree;
use crate::routes::{query_all, query_one, query_pairs};
use crate::state::AppState;

fn receiver_stream(rx: mpsc::Receiver<Value>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(rx, |mut rx| async move {
        let value = rx.recv().await?;
        Some((Ok(Event::default().data(value.to_string())), rx))
    })
}

struct Filters {
    name: Option<String>,
    projects: Vec<String>,
}

impl Filters {
    fn matches(&self, app: &Value) -> bool {
        if let Some(n) = &self.name
            && app.pointer("/metadata/name").and_then(Value::as_str) != Some(n.as_str())
        {
            return false;
        }
        self.projects.is_empty() || self.projects.contains(&project_of(app))
    }
}

async fn visible(state: &AppState, p: &Principal, app: &Value) -> bool {
    rbac::allowed(state, p, "applications", "get", &rbac_object(app))
        .await
        .unwrap_or(false)
}

/// `GET /api/v1/stream/applications?name=&projects=&selector=`: ADDED, MODIFIED and DELETED events
/// of the Applications the caller may get (the current ones first, as ADDED).
pub async fn applications(
    State(state): State<AppState>,
    Auth(p): Auth,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let filters = Filters {
        name: query_one(&pairs, "name").filter(|n| !n.is_empty()),
        projects: {
            let mut v = query_all(&pairs, "projects");
            v.extend(query_all(&pairs, "project"));
            v
        },
    };
    let selector = query_one(&pairs, "selector").filter(|s| !s.is_empty());
    let (tx, rx) = mpsc::channel::<Value>(64);
    tokio::spawn(async move {
        let stream = watch_resource(
            &state.client,
            state.types.app.clone(),
            Some(&state.config.namespace),
            selector.as_deref(),
        );
        futures::pin_mut!(stream);
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let event = tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                e = stream.next() => e,
            };
            let Some(event) = event else { return };
            let (kind, app) = match event {
                Ok(WatchEvent::Listed(app)) | Ok(WatchEvent::Applied(app)) => {
                    let name = app
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let kind = if seen.insert(name) {
                        "ADDED"
                    } else {
                        "MODIFIED"
                    };
                    (kind, app)
                }
                Ok(WatchEvent::Deleted(app)) => {
                    if let Some(n) = app.pointer("/metadata/name").and_then(Value::as_str) {
                        seen.remove(n);
                    }
                    ("DELETED", app)
                }
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "application watch");
                    continue;
                }
            };
            if !filters.matches(&app) || !visible(&state, &p, &app).await {
                continue;
            }
            let message = json!({"result": {"type": kind, "application": app}});
            if tx.send(message).await.is_err() {
                return;
            }
        }
    });
    Sse::new(receiver_stream(rx).boxed())
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `GET /api/v1/stream/applications/{name}/resource-tree`: the tree now and after each change
/// (checked when the Application changes, and every few seconds for its children).
pub async fn resource_tree(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let app = load_authorized(&state, &p, &name, "get").await?;
    let (tx, rx) = mpsc::channel::<Value>(16);
    tokio::spawn(async move {
        let stream = watch_resource(
            &state.client,
            state.types.app.clone(),
            Some(&state.config.namespace),
            None,
        );
        futures::pin_mut!(stream);
        let mut current = app;
        let mut last: Option<Value> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        loop {
            if let Ok(t) = tree(&state, &current).await
                && last.as_ref() != Some(&t)
            {
                if tx.send(json!({"result": t})).await.is_err() {
                    return;
                }
                last = Some(t);
            }
            tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = tick.tick() => {}
                e = stream.next() => match e {
                    None => return,
                    Some(Ok(WatchEvent::Applied(a))) | Some(Ok(WatchEvent::Listed(a)))
                        if a.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str()) => {
                        current = a;
                    }
                    Some(Ok(WatchEvent::Deleted(a)))
                        if a.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str()) => {
                        return;
                    }
                    _ => {}
                }
            }
        }
    });
    Ok(Sse::new(receiver_stream(rx).boxed())
        .keep_alive(KeepAlive::default())
        .into_response())
}
