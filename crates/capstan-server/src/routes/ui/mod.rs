//! The web UI's HTTP handlers: they authenticate from the `argocd.token` cookie, read data the way
//! the REST handlers do (mostly by calling them), check RBAC per action, and render pages with
//! `capstan-ui`. Every UI response carries the security headers of `capstan_ui::security`.
//! Changes made from pages go to the REST API (from `app.js`), except logging in and creating an
//! application, which are plain form posts.

mod apps;
mod settings;
mod stream;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use capstan_ui::model::AppSummary;
use capstan_ui::pages::{self, Perm};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Principal;
use crate::auth::session::{self, authenticate};
use crate::error::ApiError;
use crate::rbac;
use crate::routes::applications;
use crate::state::AppState;
use apps::{
    app_page, create_page, create_submit, diff_page, list_page, params_submit, resource_page,
};
use settings::{
    accounts_page, clusters_page, project_edit, project_page, projects_page, repositories_page,
    settings_index, user_info,
};

/// The UI's routes (pages, form posts, the badge and the embedded assets).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/applications", get(list_page))
        .route("/applications/new", get(create_page).post(create_submit))
        .route("/applications/{name}", get(app_page))
        .route("/applications/{name}/resource", get(resource_page))
        .route("/applications/{name}/diff", get(diff_page))
        .route("/applications/{name}/parameters", post(params_submit))
        .route("/settings", get(settings_index))
        .route("/settings/repositories", get(repositories_page))
        .route("/settings/clusters", get(clusters_page))
        .route("/settings/projects", get(projects_page))
        .route("/settings/projects/{name}", get(project_page))
        .route("/settings/projects/{name}/edit", post(project_edit))
        .route("/settings/accounts", get(accounts_page))
        .route("/user-info", get(user_info))
        .route("/api/badge", get(badge))
        .route("/ui/stream/applications", get(stream::applications))
        .route("/ui/static/{file}", get(asset))
        .layer(axum::middleware::from_fn(same_origin_posts))
        .layer(axum::middleware::from_fn(security_headers))
        // the API's repository test (Argo CD's `POST /api/v1/repositories/{repo}/validate`); the
        // repository URL is a wildcard, so it shares the path of `GET`/`DELETE` in routes/mod.rs
        .route(
            "/api/v1/repositories/{*repo}",
            post(crate::routes::repositories::validate),
        )
}

/// Whether the request's `Origin` (or, without one, `Referer`) names this server (`Host`). Browsers
/// send `Origin` on every form post; a page of another site, or of a sibling subdomain (which
/// `SameSite` cookies do not tell apart), names itself.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|o| url::Url::parse(o).ok());
    origin.is_some_and(|u| {
        let authority = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return false,
        };
        matches!(u.scheme(), "http" | "https")
            && !host.is_empty()
            && authority.eq_ignore_ascii_case(host)
    })
}

/// CSRF protection of the UI's own form posts (log in, log out, create, edit): every request that
/// is not a read must come from a page of this server, with or without a session cookie (a forged
/// login would log the victim into the attacker's account). The REST API has its own check for
/// cookie sessions (`check_csrf`).
async fn same_origin_posts(request: Request, next: Next) -> Response {
    let read = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if read || same_origin(request.headers()) {
        return next.run(request).await;
    }
    html(
        StatusCode::FORBIDDEN,
        pages::error_page(
            None,
            403,
            "CSRF check failed: this form must be sent from a page of this server (Origin)",
        ),
    )
}

/// The session cookie's attributes: `HttpOnly; SameSite=Strict`, and `Secure` when the server is
/// reached over HTTPS (its configured `url`, or a proxy's `X-Forwarded-Proto`).
fn cookie_attributes(state: &AppState, headers: &HeaderMap) -> &'static str {
    let https_url = state
        .settings()
        .cm
        .url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https_url || forwarded {
        "Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Strict"
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in capstan_ui::security::headers() {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(super) fn redirect(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

pub(super) fn path_and_query(path: &str, query: &Option<String>) -> String {
    match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// A page's failure: a redirect to the login page, or an error page with the API's status and words.
pub(super) enum PageError {
    /// Not logged in: to the login page, coming back to this address.
    Login(String),
    /// The API's error, for the user (if known).
    Api(Option<String>, ApiError),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login(return_url) => redirect(&format!(
                "/login?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return_url", &return_url)
                    .finish()
            )),
            PageError::Api(user, e) => {
                let (_, status) = e.codes();
                html(
                    status,
                    pages::error_page(user, status.as_u16(), &e.to_string()),
                )
            }
        }
    }
}

pub(super) type PageResult = Result<Response, PageError>;

/// The caller, or a redirect to the login page that comes back to `here`.
pub(super) async fn user(
    state: &AppState,
    headers: &HeaderMap,
    here: String,
) -> Result<Principal, PageError> {
    match authenticate(state, headers).await {
        Ok(p) => Ok(p),
        Err(ApiError::Unauthenticated(_)) => Err(PageError::Login(here)),
        Err(e) => Err(PageError::Api(None, e)),
    }
}

pub(super) fn api_err(p: &Principal) -> impl Fn(ApiError) -> PageError + '_ {
    move |e| PageError::Api(Some(p.subject.clone()), e)
}

pub(super) async fn perm(
    state: &AppState,
    p: &Principal,
    resource: &str,
    action: &str,
    object: &str,
) -> Perm {
    let allowed = rbac::allowed(state, p, resource, action, object)
        .await
        .unwrap_or(false);
    Perm::new(allowed, resource, action, object)
}

async fn root() -> Response {
    redirect("/applications")
}

// --- login and logout -----------------------------------------------------------------------------

fn sso_name(state: &AppState) -> Option<String> {
    let settings = state.settings();
    crate::auth::oidc::OidcSettings::from_settings(&settings)
        .ok()
        .flatten()
        .map(|o| {
            if o.name.is_empty() {
                "SSO".to_string()
            } else {
                o.name
            }
        })
}

async fn login_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs = crate::routes::query_pairs(query.as_deref());
    let return_url = capstan_ui::links::safe_return_path(
        &crate::routes::query_one(&pairs, "return_url").unwrap_or_default(),
    );
    html(
        StatusCode::OK,
        pages::login::render(&pages::login::LoginView {
            return_url,
            sso_name: sso_name(&state),
            ..Default::default()
        }),
    )
}

/// The login form.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_url: String,
}

async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let return_url = capstan_ui::links::safe_return_path(&form.return_url);
    match session::login(&state, form.username.trim(), &form.password, peer.ip()).await {
        Ok(token) => {
            let max_age = state.settings().cm.session_duration.as_secs();
            let cookie = format!(
                "argocd.token={token}; Max-Age={max_age}; {}",
                cookie_attributes(&state, &headers)
            );
            let mut response = redirect(&return_url);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => {
            let (_, status) = e.codes();
            html(
                status,
                pages::login::render(&pages::login::LoginView {
                    return_url,
                    username: form.username,
                    error: Some(e.to_string()),
                    sso_name: sso_name(&state),
                }),
            )
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = redirect("/login");
    let cookie = format!(
        "argocd.token=; Max-Age=0; {}",
        cookie_attributes(&state, &headers)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

pub(super) fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub(super) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

// --- badge and assets ----------------------------------------------------------------------------

/// `GET /api/badge?name=&revision=&showAppName=&keepFullRevision=`: public, as in Argo CD, and only
/// when `statusbadge.enabled` is true (otherwise the badge says Unknown).
async fn badge(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs = crate::routes::query_pairs(query.as_deref());
    let flag = |k: &str| crate::routes::query_one(&pairs, k).as_deref() == Some("true");
    let name = crate::routes::query_one(&pairs, "name").unwrap_or_default();
    let mut badge = capstan_ui::badge::Badge {
        health: "Unknown".into(),
        sync: "Unknown".into(),
        app_name: flag("showAppName").then(|| name.clone()),
        revision: None,
        not_found: false,
    };
    if state.settings().cm.status_badge_enabled {
        match applications::load_cached(&state, &name).await {
            Ok(app) => {
                let summary = AppSummary::from_json(&app);
                badge.health = summary.health;
                badge.sync = summary.sync;
                if flag("revision") {
                    let rev = text(&app, "/status/operationState/syncResult/revision");
                    if !rev.is_empty() {
                        badge.revision = Some(capstan_ui::badge::short_revision(
                            &rev,
                            flag("keepFullRevision"),
                        ));
                    }
                }
            }
            Err(_) => badge.not_found = true,
        }
    }
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        capstan_ui::badge::render(&badge),
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match capstan_ui::assets::get(&file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
