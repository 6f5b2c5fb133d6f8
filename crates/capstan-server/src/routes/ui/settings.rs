//! Settings pages (repositories, clusters, projects, accounts) and the user info page.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use capstan_ui::pages;

use super::{PageResult, api_err, html, perm, strings, text, user};
use crate::auth::session::Auth;
use crate::routes::{account, clusters, projects, repositories};
use crate::state::AppState;

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
    let spec = &x["spec"];
    let view = pages::settings::ProjectView {
        name: name.clone(),
        description: text(spec, "/description"),
        source_repos: strings(&spec["sourceRepos"]),
        destinations: spec["destinations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let server = text(d, "/server");
                (
                    if server.is_empty() {
                        text(d, "/name")
                    } else {
                        server
                    },
                    text(d, "/namespace"),
                )
            })
            .collect(),
        roles: spec["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    text(r, "/name"),
                    strings(&r["policies"]),
                    strings(&r["groups"]),
                )
            })
            .collect(),
        windows: spec["syncWindows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                (
                    text(w, "/kind"),
                    text(w, "/schedule"),
                    text(w, "/duration"),
                    strings(&w["applications"]).join(", "),
                )
            })
            .collect(),
        json: serde_json::to_string_pretty(&x).unwrap_or_default(),
    };
    let update = perm(&state, &p, "projects", "update", &name).await;
    Ok(html(
        StatusCode::OK,
        pages::settings::project(&p.subject, &view, &update),
    ))
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
