//! The HTTP routes, one module per API group.

pub mod account;
pub mod actions;
pub mod applications;
pub mod clusters;
pub mod logs;
pub mod managed;
pub mod projects;
pub mod repositories;
pub mod resources;
pub mod session;
pub mod settings;
pub mod sso;
pub mod stream;
pub mod ui;
pub mod webhook;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::state::AppState;

/// The query string as (key, value) pairs; keys may repeat (`projects=a&projects=b`).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Every value of `key` (comma-separated values are split too).
pub fn query_all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// The first value of `key`.
pub fn query_one(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// All API routes.
pub fn router(state: AppState) -> Router {
    let webhook_limit = state.config.webhook_max_body;
    Router::new()
        .route("/healthz", get(settings::healthz))
        .route("/api/version", get(settings::version))
        .route("/api/v1/settings", get(settings::settings))
        .route("/swagger.json", get(settings::swagger))
        .route(
            "/api/v1/session",
            post(session::create).delete(session::delete),
        )
        .route("/api/v1/session/userinfo", get(session::userinfo))
        .route("/auth/login", get(sso::login))
        .route("/auth/callback", get(sso::callback))
        .route("/api/v1/account", get(account::list))
        .route(
            "/api/v1/account/password",
            axum::routing::put(account::update_password),
        )
        .route(
            "/api/v1/account/can-i/{resource}/{action}/{*subresource}",
            get(account::can_i),
        )
        .route("/api/v1/account/{name}", get(account::get_one))
        .route("/api/v1/account/{name}/token", post(account::create_token))
        .route(
            "/api/v1/account/{name}/token/{id}",
            delete(account::delete_token),
        )
        .route(
            "/api/v1/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/api/v1/applications/{name}",
            get(applications::get_one)
                .put(applications::update)
                .patch(applications::patch)
                .delete(applications::delete),
        )
        .route(
            "/api/v1/applications/{name}/spec",
            axum::routing::put(applications::update_spec),
        )
        .route("/api/v1/applications/{name}/sync", post(applications::sync))
        .route(
            "/api/v1/applications/{name}/rollback",
            post(applications::rollback),
        )
        .route(
            "/api/v1/applications/{name}/operation",
            delete(applications::terminate),
        )
        .route(
            "/api/v1/applications/{name}/resource-tree",
            get(resources::resource_tree),
        )
        .route(
            "/api/v1/applications/{name}/managed-resources",
            get(managed::managed_resources),
        )
        .route(
            "/api/v1/applications/{name}/manifests",
            get(resources::manifests),
        )
        .route("/api/v1/applications/{name}/events", get(resources::events))
        .route(
            "/api/v1/applications/{name}/resource",
            get(resources::live_resource),
        )
        .route(
            "/api/v1/applications/{name}/resource/actions",
            get(actions::list).post(actions::run),
        )
        .route(
            "/api/v1/applications/{name}/resource/actions/v2",
            post(actions::run),
        )
        .route(
            "/api/v1/applications/{name}/pods/{pod}/logs",
            get(logs::pod_logs),
        )
        .route("/api/v1/stream/applications", get(stream::applications))
        .route(
            "/api/v1/stream/applications/{name}/resource-tree",
            get(stream::resource_tree),
        )
        .route(
            "/api/v1/projects",
            get(projects::list).post(projects::create),
        )
        .route(
            "/api/v1/projects/{name}",
            get(projects::get_one)
                .put(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/api/v1/projects/{name}/roles/{role}/token",
            post(projects::create_token),
        )
        .route(
            "/api/v1/projects/{name}/roles/{role}/token/{iat}",
            delete(projects::delete_token),
        )
        .route(
            "/api/v1/repositories",
            get(repositories::list).post(repositories::create),
        )
        .route(
            "/api/v1/repositories/{*repo}",
            get(repositories::get_one).delete(repositories::delete),
        )
        .route(
            "/api/v1/repocreds",
            get(repositories::list_creds).post(repositories::create_creds),
        )
        .route(
            "/api/v1/repocreds/{*url}",
            delete(repositories::delete_creds),
        )
        .route(
            "/api/v1/clusters",
            get(clusters::list).post(clusters::create),
        )
        .route(
            "/api/v1/clusters/{*server}",
            get(clusters::get_one)
                .delete(clusters::delete)
                .post(clusters::post_action),
        )
        .route(
            "/api/webhook",
            post(webhook::receive).layer(DefaultBodyLimit::max(webhook_limit)),
        )
        .merge(ui::router())
        .layer(DefaultBodyLimit::max(4 * 1024 * 1024))
        .with_state(state)
}

/// The metrics port: `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(settings::metrics))
        .with_state(state)
}
