//! The web UI's HTTP handlers: they authenticate from the `argocd.token` cookie, read data the way
//! the REST handlers do (mostly by calling them), check RBAC per action, and render pages with
//! `capstan-ui`. Every UI response carries the security headers of `capstan_ui::security`.
//! Changes made from pages go to the REST API (from `app.js`), except logging in and creating an
//! application, which are plain form posts.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use capstan_ui::create::AppForm;
use capstan_ui::filters::{ListQuery, paginate_json};
use capstan_ui::model::{AppDetail, AppSummary};
use capstan_ui::pages::{self, Perm};
use capstan_ui::tree::{ResourceRef, TreeFilter};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Principal;
use crate::auth::session::{self, Auth, authenticate, check_csrf};
use crate::body::JsonBody;
use crate::cache::AppFilter;
use crate::error::ApiError;
use crate::rbac;
use crate::routes::applications::{self, rbac_object};
use crate::routes::{account, clusters, managed, projects, repositories, resources};
use crate::state::AppState;

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
        .route("/settings", get(settings_index))
        .route("/settings/repositories", get(repositories_page))
        .route("/settings/clusters", get(clusters_page))
        .route("/settings/projects", get(projects_page))
        .route("/settings/projects/{name}", get(project_page))
        .route("/settings/accounts", get(accounts_page))
        .route("/user-info", get(user_info))
        .route("/api/badge", get(badge))
        .route("/ui/static/{file}", get(asset))
        .layer(axum::middleware::from_fn(security_headers))
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

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn redirect(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

fn path_and_query(path: &str, query: &Option<String>) -> String {
    match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// A page's failure: a redirect to the login page, or an error page with the API's status and words.
enum PageError {
    Login(String),
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

type PageResult = Result<Response, PageError>;

/// The caller, or a redirect to the login page that comes back to `here`.
async fn user(state: &AppState, headers: &HeaderMap, here: String) -> Result<Principal, PageError> {
    match authenticate(state, headers).await {
        Ok(p) => Ok(p),
        Err(ApiError::Unauthenticated(_)) => Err(PageError::Login(here)),
        Err(e) => Err(PageError::Api(None, e)),
    }
}

fn api_err(p: &Principal) -> impl Fn(ApiError) -> PageError + '_ {
    move |e| PageError::Api(Some(p.subject.clone()), e)
}

async fn perm(state: &AppState, p: &Principal, resource: &str, action: &str, object: &str) -> Perm {
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
    Form(form): Form<LoginForm>,
) -> Response {
    let return_url = capstan_ui::links::safe_return_path(&form.return_url);
    match session::login(&state, form.username.trim(), &form.password, peer.ip()).await {
        Ok(token) => {
            let max_age = state.settings().cm.session_duration.as_secs();
            let cookie = format!(
                "argocd.token={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"
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

async fn logout() -> Response {
    let mut response = redirect("/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("argocd.token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
    response
}

// --- applications -------------------------------------------------------------------------------

async fn list_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> PageResult {
    let p = user(&state, &headers, path_and_query("/applications", &query)).await?;
    let list_query = ListQuery::parse(query.as_deref().unwrap_or_default());
    let filter = AppFilter {
        projects: list_query.projects.clone(),
        ..AppFilter::default()
    };
    let snapshot = state
        .visible_applications(&p, &filter)
        .await
        .map_err(api_err(&p))?;
    let values: Vec<&Value> = snapshot.apps.iter().map(|a| &a.value).collect();
    let page = paginate_json(&values, &list_query);
    let mut sync_perms = std::collections::BTreeMap::new();
    for app in &page.items {
        let object = format!("{}/{}", app.project, app.name);
        sync_perms.insert(
            app.name.clone(),
            perm(&state, &p, "applications", "sync", &object).await,
        );
    }
    let can_create = perm(&state, &p, "applications", "create", "*/*").await;
    // a user who may create in some project only still gets the form: the API decides per project
    let can_create = if can_create.allowed || !snapshot.apps.is_empty() {
        Perm::yes()
    } else {
        can_create
    };
    Ok(html(
        StatusCode::OK,
        pages::apps::render(&pages::apps::ListView {
            user: p.subject.clone(),
            query: list_query,
            page,
            can_create,
            sync_perms,
        }),
    ))
}

async fn app_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let here = path_and_query(&pages::app::app_path(&name), &query);
    let p = user(&state, &headers, here).await?;
    let app = applications::load_authorized(&state, &p, &name, "get")
        .await
        .map_err(api_err(&p))?;
    let object = rbac_object(&app);
    let (tree_json, tree_error) = match resources::tree(&state, &app).await {
        Ok(t) => (t, None),
        Err(e) => (Value::Null, Some(e.to_string())),
    };
    let status_resources = app
        .pointer("/status/resources")
        .cloned()
        .unwrap_or(Value::Null);
    let settings = state.settings();
    let badge_url = settings.cm.status_badge_enabled.then(|| {
        // absolute when the server's external URL is known (for READMEs elsewhere)
        let base = settings
            .cm
            .url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/');
        format!(
            "{base}/api/badge?name={}&revision=true",
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        )
    });
    let view = pages::app::AppView {
        user: p.subject.clone(),
        app: AppDetail::from_json(&app),
        tree: capstan_ui::tree::build(&tree_json, &status_resources),
        filter: TreeFilter::parse(query.as_deref().unwrap_or_default()),
        tree_error,
        perms: pages::app::AppPerms {
            sync: perm(&state, &p, "applications", "sync", &object).await,
            delete: perm(&state, &p, "applications", "delete", &object).await,
            get: Perm::yes(),
            update: perm(&state, &p, "applications", "update", &object).await,
        },
        badge_url,
        spec_json: serde_json::to_string_pretty(&app["spec"]).unwrap_or_default(),
    };
    Ok(html(StatusCode::OK, pages::app::render(&view)))
}

/// The managed resources of an application with their diffs, through the REST handler.
async fn managed_items(
    state: &AppState,
    p: &Principal,
    name: &str,
) -> Result<Vec<Value>, ApiError> {
    let axum::Json(v) = managed::managed_resources(
        State(state.clone()),
        Auth(p.clone()),
        Path(name.to_string()),
        RawQuery(None),
    )
    .await?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

fn item_ref(item: &Value) -> ResourceRef {
    let s = |k: &str| item[k].as_str().unwrap_or_default().to_string();
    ResourceRef {
        group: s("group"),
        kind: s("kind"),
        namespace: s("namespace"),
        name: s("name"),
    }
}

fn state_yaml(text: Option<&str>) -> Option<String> {
    let v: Value = serde_json::from_str(text?).ok()?;
    (!v.is_null()).then(|| capstan_diff::output::to_yaml(&v))
}

async fn resource_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let here = path_and_query(&format!("{}/resource", pages::app::app_path(&name)), &query);
    let p = user(&state, &headers, here).await?;
    let q = query.as_deref().unwrap_or_default();
    let Some(id) = ResourceRef::from_query(q) else {
        return Err(PageError::Api(
            Some(p.subject.clone()),
            ApiError::InvalidArgument("the resource is named by kind and name in the URL".into()),
        ));
    };
    let tab = pages::resource::Tab::parse(
        &crate::routes::query_one(&crate::routes::query_pairs(Some(q)), "tab").unwrap_or_default(),
    );
    let app = applications::load_authorized(&state, &p, &name, "get")
        .await
        .map_err(api_err(&p))?;
    let mut errors = Vec::new();
    let tree_json = resources::tree(&state, &app).await.unwrap_or_else(|e| {
        errors.push(format!("resource tree: {e}"));
        Value::Null
    });
    let status_resources = app
        .pointer("/status/resources")
        .cloned()
        .unwrap_or(Value::Null);
    let tree = capstan_ui::tree::build(&tree_json, &status_resources);
    let node = tree.nodes.iter().find(|n| n.id == id);
    let (mut live_yaml, mut desired_yaml, mut diff) = (None, None, String::new());
    let managed = node.is_some_and(|n| n.managed);
    if managed {
        match managed_items(&state, &p, &name).await {
            Ok(items) => {
                if let Some(item) = items.iter().find(|i| item_ref(i) == id) {
                    live_yaml = state_yaml(item["liveState"].as_str());
                    desired_yaml = state_yaml(item["targetState"].as_str());
                    diff = item["diff"].as_str().unwrap_or_default().to_string();
                }
            }
            Err(e) => errors.push(format!("desired state: {e}")),
        }
    }
    if live_yaml.is_none() {
        // a child (Pod, ReplicaSet, ...): read it from the cluster, with the version the tree gives
        let version = tree_json["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| {
                n["kind"] == id.kind.as_str()
                    && n["name"] == id.name.as_str()
                    && n["namespace"] == id.namespace.as_str()
            })
            .and_then(|n| n["version"].as_str())
            .unwrap_or("v1")
            .to_string();
        let av = resources::api_version(&id.group, &version);
        if let Ok(rt) = state.client.resolve(&av, &id.kind).await {
            let ns = (!id.namespace.is_empty()).then_some(id.namespace.as_str());
            if let Ok(Some(obj)) = state.client.get(&rt, ns, &id.name).await {
                let (masked, _) = capstan_diff::mask::hide_secret_data(Some(&obj), None);
                live_yaml = masked.map(|m| capstan_diff::output::to_yaml(&m));
            }
        }
    }
    let events = if tab == pages::resource::Tab::Events {
        resource_events(&state, &id).await
    } else {
        Vec::new()
    };
    let object = rbac_object(&app);
    let view = pages::resource::ResourceView {
        user: p.subject.clone(),
        app: name.clone(),
        health: node.map(|n| n.health.clone()).unwrap_or_default(),
        health_message: node.map(|n| n.health_message.clone()).unwrap_or_default(),
        sync: node.map(|n| n.sync.clone()).unwrap_or_default(),
        id,
        tab,
        live_yaml,
        desired_yaml,
        diff,
        events,
        errors,
        sync_perm: perm(&state, &p, "applications", "sync", &object).await,
    };
    Ok(html(StatusCode::OK, pages::resource::render(&view)))
}

async fn resource_events(state: &AppState, id: &ResourceRef) -> Vec<pages::resource::EventRow> {
    let Ok(rt) = state.client.resolve("v1", "Event").await else {
        return Vec::new();
    };
    let ns = (!id.namespace.is_empty()).then_some(id.namespace.as_str());
    let Ok((items, _)) = state.client.list(&rt, ns, None).await else {
        return Vec::new();
    };
    let s = |v: &Value, p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    items
        .iter()
        .filter(|e| {
            s(e, "/involvedObject/kind") == id.kind && s(e, "/involvedObject/name") == id.name
        })
        .map(|e| pages::resource::EventRow {
            kind: s(e, "/type"),
            reason: s(e, "/reason"),
            message: s(e, "/message"),
            count: e["count"].as_i64().unwrap_or(1),
            last: {
                let last = s(e, "/lastTimestamp");
                if last.is_empty() {
                    s(e, "/eventTime")
                } else {
                    last
                }
            },
        })
        .collect()
}

async fn diff_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> PageResult {
    let p = user(
        &state,
        &headers,
        format!("{}/diff", pages::app::app_path(&name)),
    )
    .await?;
    applications::load_authorized(&state, &p, &name, "get")
        .await
        .map_err(api_err(&p))?;
    let (items, error) = match managed_items(&state, &p, &name).await {
        Ok(items) => (
            items
                .iter()
                .filter(|i| i["modified"].as_bool().unwrap_or(false))
                .map(|i| pages::resource::DiffItem {
                    id: item_ref(i),
                    diff: i["diff"].as_str().unwrap_or_default().to_string(),
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    Ok(html(
        StatusCode::OK,
        pages::resource::render_app_diff(&p.subject, &name, &items, error.as_deref()),
    ))
}

async fn project_names(state: &AppState, p: &Principal) -> Vec<String> {
    match projects::list(State(state.clone()), Auth(p.clone())).await {
        Ok(axum::Json(v)) => v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i.pointer("/metadata/name").and_then(Value::as_str))
            .map(String::from)
            .collect(),
        Err(_) => vec!["default".to_string()],
    }
}

async fn repo_urls(state: &AppState, p: &Principal) -> Vec<String> {
    match repositories::list(State(state.clone()), Auth(p.clone()), RawQuery(None)).await {
        Ok(axum::Json(v)) => v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["repo"].as_str())
            .map(String::from)
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn create_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/applications/new".into()).await?;
    let view = pages::create::CreateView {
        user: p.subject.clone(),
        form: AppForm::default(),
        projects: project_names(&state, &p).await,
        repos: repo_urls(&state, &p).await,
        error: None,
    };
    Ok(html(StatusCode::OK, pages::create::render(&view)))
}

async fn create_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<AppForm>,
) -> PageResult {
    let p = user(&state, &headers, "/applications/new".into()).await?;
    check_csrf(&axum::http::Method::POST, &headers).map_err(api_err(&p))?;
    let result = match form.to_application() {
        Ok(app) => applications::create(
            State(state.clone()),
            Auth(p.clone()),
            RawQuery(None),
            JsonBody(app),
        )
        .await
        .map(|axum::Json(created)| created)
        .map_err(|e| (e.codes().1, e.to_string())),
        Err(e) => Err((StatusCode::BAD_REQUEST, e.to_string())),
    };
    match result {
        Ok(created) => {
            let name = created
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(redirect(&pages::app::app_path(name)))
        }
        Err((status, message)) => {
            let view = pages::create::CreateView {
                user: p.subject.clone(),
                projects: project_names(&state, &p).await,
                repos: repo_urls(&state, &p).await,
                form,
                error: Some(message),
            };
            Ok(html(status, pages::create::render(&view)))
        }
    }
}

// --- settings -----------------------------------------------------------------------------------

async fn settings_index(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/settings".into()).await?;
    Ok(html(StatusCode::OK, pages::settings::index(&p.subject)))
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

async fn repositories_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
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

async fn clusters_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
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

async fn projects_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
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

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

async fn project_page(
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

async fn accounts_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
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

async fn user_info(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = user(&state, &headers, "/user-info".into()).await?;
    let issuer = p.claims.as_ref().map(|c| c.iss.clone()).unwrap_or_default();
    Ok(html(
        StatusCode::OK,
        pages::settings::user_info(&p.subject, &p.groups, &issuer),
    ))
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
