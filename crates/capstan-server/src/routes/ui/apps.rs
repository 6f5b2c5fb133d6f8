//! Application pages: the list, one application, one resource, the diff, and the create form.

use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use capstan_ui::create::AppForm;
use capstan_ui::filters::{ListQuery, paginate_json};
use capstan_ui::model::AppDetail;
use capstan_ui::pages::{self, Perm};
use capstan_ui::tree::{ResourceRef, TreeFilter};
use serde_json::Value;

use super::{PageError, PageResult, api_err, html, path_and_query, perm, redirect, user};
use crate::auth::Principal;
use crate::auth::session::{Auth, check_csrf};
use crate::body::JsonBody;
use crate::cache::AppFilter;
use crate::error::ApiError;
use crate::routes::applications::{self, rbac_object};
use crate::routes::{actions, managed, projects, repositories, resources};
use crate::state::AppState;

pub(super) async fn list_page(
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

pub(super) async fn app_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let here = path_and_query(&pages::app::app_path(&name), &query);
    let p = user(&state, &headers, here).await?;
    let app = load_app(&state, &p, &name).await.map_err(api_err(&p))?;
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
        params: capstan_ui::params::sources(&app),
    };
    Ok(html(StatusCode::OK, pages::app::render(&view)))
}

/// The application `name` as the caller may `get` it. A name no Application can have (Kubernetes
/// names are lowercase letters, digits, `-` and `.`; `/` separates a namespace) is not found,
/// without asking the cluster (whose error would name its address).
async fn load_app(state: &AppState, p: &Principal, name: &str) -> Result<Value, ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '/'));
    if !valid {
        return Err(ApiError::NotFound(
            "application not found (not a valid application name)".into(),
        ));
    }
    applications::load_authorized(state, p, name, "get").await
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

pub(super) async fn resource_page(
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
    let app = load_app(&state, &p, &name).await.map_err(api_err(&p))?;
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
    let mut live_metadata: Option<Value> = None;
    let managed = node.is_some_and(|n| n.managed);
    if managed {
        match managed_items(&state, &p, &name).await {
            Ok(items) => {
                if let Some(item) = items.iter().find(|i| item_ref(i) == id) {
                    live_yaml = state_yaml(item["liveState"].as_str());
                    live_metadata = item["liveState"]
                        .as_str()
                        .and_then(|t| serde_json::from_str::<Value>(t).ok())
                        .map(|v| v["metadata"].clone());
                    desired_yaml = state_yaml(item["targetState"].as_str());
                    diff = item["diff"].as_str().unwrap_or_default().to_string();
                }
            }
            Err(e) => errors.push(format!("desired state: {e}")),
        }
    }
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
    let object = rbac_object(&app);
    let actions = if managed {
        resource_actions(&state, &p, &name, &id, &version, &object).await
    } else {
        Vec::new()
    };
    if live_yaml.is_none() {
        // a child (Pod, ReplicaSet, ...): read it from the cluster, with the version the tree gives
        let av = resources::api_version(&id.group, &version);
        if let Ok(rt) = state.client.resolve(&av, &id.kind).await {
            let ns = (!id.namespace.is_empty()).then_some(id.namespace.as_str());
            if let Ok(Some(obj)) = state.client.get(&rt, ns, &id.name).await {
                let (masked, _) = capstan_diff::mask::hide_secret_data(Some(&obj), None);
                live_yaml = masked.map(|m| capstan_diff::output::to_yaml(&m));
                live_metadata = Some(obj["metadata"].clone());
            }
        }
    }
    let events = if tab == pages::resource::Tab::Events {
        resource_events(&state, &id).await
    } else {
        Vec::new()
    };
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
        version,
        actions,
        links: {
            let mut links = live_metadata
                .as_ref()
                .map(capstan_ui::model::annotation_links)
                .unwrap_or_default();
            links.extend(
                node.into_iter()
                    .flat_map(|n| n.links.iter())
                    .map(|u| (u.clone(), u.clone())),
            );
            links
        },
    };
    Ok(html(StatusCode::OK, pages::resource::render(&view)))
}

/// The resource actions of a managed resource, through the REST handler, each with its permission.
async fn resource_actions(
    state: &AppState,
    p: &Principal,
    app: &str,
    id: &ResourceRef,
    version: &str,
    object: &str,
) -> Vec<pages::resource::ActionView> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("namespace", &id.namespace)
        .append_pair("resourceName", &id.name)
        .append_pair("version", version)
        .append_pair("group", &id.group)
        .append_pair("kind", &id.kind)
        .finish();
    let Ok(axum::Json(v)) = actions::list(
        State(state.clone()),
        Auth(p.clone()),
        Path(app.to_string()),
        RawQuery(Some(query)),
    )
    .await
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in v["actions"].as_array().into_iter().flatten() {
        let name = a["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() {
            continue;
        }
        let action = format!("action/{}/{}/{name}", id.group, id.kind);
        out.push(pages::resource::ActionView {
            disabled: a["disabled"].as_bool().unwrap_or(false),
            perm: perm(state, p, "applications", &action, object).await,
            name,
        });
    }
    out
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

/// `POST /applications/{name}/parameters`: the Helm or Kustomize parameters form of one source,
/// applied to the spec read now and saved through the API's spec update (`applications, update`).
pub(super) async fn params_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<capstan_ui::params::ParamsForm>,
) -> PageResult {
    let here = pages::app::app_path(&name);
    let p = user(&state, &headers, here.clone()).await?;
    let app = load_app(&state, &p, &name).await.map_err(api_err(&p))?;
    let spec = capstan_ui::params::apply(&app, &form)
        .map_err(|e| api_err(&p)(ApiError::InvalidArgument(e.to_string())))?;
    let _saved = applications::update_spec(
        State(state.clone()),
        Auth(p.clone()),
        Path(name.clone()),
        JsonBody(spec),
    )
    .await
    .map_err(api_err(&p))?;
    Ok(redirect(&format!("{here}#parameters")))
}

pub(super) async fn diff_page(
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
    load_app(&state, &p, &name).await.map_err(api_err(&p))?;
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

pub(super) async fn create_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
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

pub(super) async fn create_submit(
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
