//! Settings pages (repositories, clusters, projects, accounts) and the user info page.

use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use capstan_ui::pages;

use super::{PageResult, api_err, html, perm, redirect, strings, text, user};
use crate::auth::session::Auth;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::routes::{account, clusters, projects, repositories};
use crate::state::AppState;
use capstan_ui::pages::apps::urlencode_path;

pub(super) async fn settings_index(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> PageResult {
    let p = user(&state, &headers, "/settings".into()).await?;
    Ok(html(StatusCode::OK, pages::settings::index(&p.subject)))
}

pub(super) async fn repositories_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> PageResult {
    let p = user(&state, &headers, "/settings/repositories".into()).await?;
    let axum::Json(v) = repositories::list(State(state.clone()), Auth(p.clone()), RawQuery(None))
        .await
        .map_err(api_err(&p))?;
    let rows: Vec<pages::settings::RepoRow> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| pages::settings::RepoRow {
            url: text(r, "/repo"),
            kind: {
                let t = text(r, "/type");
                if t.is_empty() { "git".into() } else { t }
            },
            name: text(r, "/name"),
            project: text(r, "/project"),
            status: text(r, "/connectionState/status"),
        })
        .collect();
    let create = perm(&state, &p, "repositories", "create", "*").await;
    let delete = perm(&state, &p, "repositories", "delete", "*").await;
    Ok(html(
        StatusCode::OK,
        pages::settings::repositories(&p.subject, &rows, &create, &delete),
    ))
}

/// A count from the cluster's `info`, empty when the controller has published none.
fn number(c: &serde_json::Value, pointer: &str) -> String {
    c.pointer(pointer)
        .and_then(serde_json::Value::as_u64)
        .map(|n| n.to_string())
        .unwrap_or_default()
}

pub(super) async fn clusters_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/settings/clusters".into()).await?;
    let axum::Json(v) = clusters::list(State(state.clone()), Auth(p.clone()))
        .await
        .map_err(api_err(&p))?;
    let rows: Vec<pages::settings::ClusterRow> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| pages::settings::ClusterRow {
            name: text(c, "/name"),
            server: text(c, "/server"),
            status: text(c, "/connectionState/status"),
            message: text(c, "/connectionState/message"),
            version: {
                let v = text(c, "/serverVersion");
                if v.is_empty() {
                    text(c, "/info/serverVersion")
                } else {
                    v
                }
            },
            applications: number(c, "/info/applicationsCount"),
            apis: number(c, "/info/cacheInfo/apisCount"),
            resources: number(c, "/info/cacheInfo/resourcesCount"),
            last_sync: text(c, "/info/cacheInfo/lastCacheSyncTime"),
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        pages::settings::clusters(&p.subject, &rows),
    ))
}

pub(super) async fn projects_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/settings/projects".into()).await?;
    let axum::Json(v) = projects::list(State(state.clone()), Auth(p.clone()))
        .await
        .map_err(api_err(&p))?;
    let rows: Vec<pages::settings::ProjectRow> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| pages::settings::ProjectRow {
            name: text(x, "/metadata/name"),
            description: text(x, "/spec/description"),
        })
        .collect();
    Ok(html(
        StatusCode::OK,
        pages::settings::projects(&p.subject, &rows),
    ))
}

pub(super) async fn project_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> PageResult {
    let p = user(&state, &headers, format!("/settings/projects/{name}")).await?;
    let axum::Json(x) =
        projects::get_one(State(state.clone()), Auth(p.clone()), Path(name.clone()))
            .await
            .map_err(api_err(&p))?;
    let view = capstan_ui::project_edit::ProjectView::from_json(&x);
    let update = perm(&state, &p, "projects", "update", &name).await;
    Ok(html(
        StatusCode::OK,
        pages::project::render(&p.subject, &view, &update),
    ))
}

/// `POST /settings/projects/{name}/edit`: one edit of the project page's forms (add or remove a
/// source repository, destination, role or sync window), applied to the project read now and saved
/// through the API's project update (`projects, update`).
pub(super) async fn project_edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(edit): Form<capstan_ui::project_edit::ProjectEdit>,
) -> PageResult {
    let here = format!("/settings/projects/{}", urlencode_path(&name));
    let p = user(&state, &headers, here.clone()).await?;
    let axum::Json(x) =
        projects::get_one(State(state.clone()), Auth(p.clone()), Path(name.clone()))
            .await
            .map_err(api_err(&p))?;
    let project = capstan_ui::project_edit::apply(&x, &edit)
        .map_err(|e| api_err(&p)(ApiError::InvalidArgument(e.to_string())))?;
    let _saved = projects::update(
        State(state.clone()),
        Auth(p.clone()),
        Path(name.clone()),
        JsonBody(projects::ProjectRequest {
            project,
            upsert: false,
        }),
    )
    .await
    .map_err(api_err(&p))?;
    Ok(redirect(&here))
}

pub(super) async fn accounts_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/settings/accounts".into()).await?;
    let axum::Json(v) = account::list(State(state.clone()), Auth(p.clone()))
        .await
        .map_err(api_err(&p))?;
    let rows: Vec<pages::settings::AccountRow> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| pages::settings::AccountRow {
            name: text(a, "/name"),
            enabled: a["enabled"].as_bool().unwrap_or(false),
            capabilities: strings(&a["capabilities"]),
            tokens: a["tokens"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| text(t, "/id"))
                .collect(),
        })
        .collect();
    let update = perm(&state, &p, "accounts", "update", "*").await;
    Ok(html(
        StatusCode::OK,
        pages::settings::accounts(&p.subject, &rows, &update),
    ))
}

pub(super) async fn user_info(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/user-info".into()).await?;
    let issuer = p.claims.as_ref().map(|c| c.iss.clone()).unwrap_or_default();
    Ok(html(
        StatusCode::OK,
        pages::settings::user_info(&p.subject, &p.groups, &issuer),
    ))
}
