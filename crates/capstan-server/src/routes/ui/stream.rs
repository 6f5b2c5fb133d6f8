//! `GET /ui/stream/applications?names=a,b`: the applications list's live updates, as Server-Sent
//! Events of a few bytes each (`{"type":"MODIFIED","name":..,"health":..,"sync":..,"op":..}`)
//! instead of whole Applications, fed by the Application cache. The current status of the named
//! applications (the page's tiles) comes first, so nothing that changed between rendering the page
//! and subscribing is missed; then every change of an application the caller may `get`. A
//! `RESYNC` event asks the page to reload its list (after this stream fell behind).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use capstan_ui::model::AppKey;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use crate::auth::session::authenticate;
use crate::cache::{CachedApp, ChangeKind};
use crate::rbac::Authorizer;
use crate::routes::{query_all, query_pairs};
use crate::state::AppState;

/// The compact event of one application.
fn event(kind: &str, app: &CachedApp) -> String {
    let key = AppKey::from_json(&app.value);
    let mut op = app
        .value
        .pointer("/status/operationState/phase")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if app.value.get("operation").is_some_and(|o| !o.is_null()) && op != "Running" {
        op = "Pending";
    }
    json!({"type": kind, "name": app.name, "health": key.health, "sync": key.sync, "op": op})
        .to_string()
}

/// The stream (401 without a session, like the API's streams).
pub(super) async fn applications(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let names = query_all(&query_pairs(query.as_deref()), "names");
    if !state.apps.wait_synced(Duration::from_secs(30)).await {
        return crate::error::ApiError::Unavailable(
            "the application cache has not finished its initial list; try again".into(),
        )
        .into_response();
    }
    let Some((snapshot, mut changes)) = state.apps.subscribe() else {
        return crate::error::ApiError::Unavailable("the application cache is not ready".into())
            .into_response();
    };
    let (tx, rx) = mpsc::channel::<String>(256);
    tokio::spawn(async move {
        let Ok(authorizer) = Authorizer::new(&state, &principal).await else {
            return;
        };
        for app in snapshot.apps.iter().filter(|a| names.contains(&a.name)) {
            if authorizer.allows("applications", "get", &app.rbac_object())
                && tx.send(event("MODIFIED", app)).await.is_err()
            {
                return;
            }
        }
        drop(snapshot);
        loop {
            let change = tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tx.closed() => return,
                c = changes.recv() => c,
            };
            let text = match change {
                Ok(c) => {
                    if !authorizer.allows("applications", "get", &c.app.rbac_object()) {
                        continue;
                    }
                    let kind = match c.kind {
                        ChangeKind::Added => "ADDED",
                        ChangeKind::Modified => "MODIFIED",
                        ChangeKind::Deleted => "DELETED",
                    };
                    event(kind, &c.app)
                }
                Err(broadcast::error::RecvError::Closed) => return,
                Err(broadcast::error::RecvError::Lagged(_)) => r#"{"type":"RESYNC"}"#.to_string(),
            };
            if tx.send(text).await.is_err() {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let text = rx.recv().await?;
        Some((Ok::<_, Infallible>(Event::default().data(text)), rx))
    });
    Sse::new(stream.boxed())
        .keep_alive(KeepAlive::default())
        .into_response()
}
