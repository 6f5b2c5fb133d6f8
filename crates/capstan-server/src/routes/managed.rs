//! `GET /api/v1/applications/{name}/managed-resources`: per resource its target, live, normalized and
//! predicted states and whether they differ, compared as the controller compares them: the
//! Application's `ignoreDifferences`, argocd-cm's `resource.customizations.ignoreDifferences.*` and
//! `resource.compareoptions`, server-side apply field ownership, and optionally a server-side diff
//! (a server-side apply dry run of each desired object). Secret values are masked.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use capstan_diff::tracking::{Tracking, app_instance_name};
use capstan_diff::{DiffOptions, Differ, IgnoreDifferencesRule, SystemDiffSettings};
use capstan_kube::ApplyOptions;
use serde_json::{Value, json};

use crate::auth::session::Auth;
use crate::error::{ApiError, ApiResult};
use crate::routes::applications::load_cached_authorized;
use crate::routes::resources::{api_version, desired, s};
use crate::routes::{query_one, query_pairs};
use crate::state::AppState;

/// The field manager of the controller's applies (its default), whose fields count as Capstan's.
pub const CONTROLLER_FIELD_MANAGER: &str = "capstan-controller";

/// Group, kind, namespace and name.
type Key = (String, String, String, String);

/// Desired and live object of one resource.
type Pair = (Option<Value>, Option<Value>);

fn key(obj: &Value) -> Key {
    let av = s(obj, "/apiVersion");
    let group = av.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    (
        group.to_string(),
        s(obj, "/kind").to_string(),
        s(obj, "/metadata/namespace").to_string(),
        s(obj, "/metadata/name").to_string(),
    )
}

/// The Application's own ignoreDifferences rules.
pub fn app_rules(app: &Value) -> ApiResult<Vec<IgnoreDifferencesRule>> {
    let typed: capstan_types::Application = capstan_types::decode(app)
        .map_err(|e| ApiError::Internal(format!("stored application is invalid: {e}")))?;
    Ok(typed
        .spec
        .ignore_differences
        .iter()
        .flatten()
        .map(|r| IgnoreDifferencesRule {
            group: r.group.clone().unwrap_or_default(),
            kind: r.kind.clone(),
            name: r.name.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            json_pointers: r.json_pointers.clone().unwrap_or_default(),
            jq_path_expressions: r.jq_path_expressions.clone().unwrap_or_default(),
            managed_fields_managers: r.managed_fields_managers.clone().unwrap_or_default(),
        })
        .collect())
}

/// argocd-cm's diff settings (an invalid customization is an error naming its key).
pub(crate) async fn system_settings(state: &AppState) -> ApiResult<SystemDiffSettings> {
    let cm = state
        .client
        .get(
            &state.types.config_map,
            Some(&state.config.namespace),
            capstan_settings::names::ARGOCD_CM,
        )
        .await?;
    match cm {
        Some(cm) => SystemDiffSettings::from_config_map(&cm).map_err(|e| {
            ApiError::FailedPrecondition(format!("argocd-cm diff settings are invalid: {e}"))
        }),
        None => Ok(SystemDiffSettings::default()),
    }
}

/// Whether the Application asks for a server-side diff
/// (`argocd.argoproj.io/compare-options: ServerSideDiff=true`).
fn app_wants_server_side_diff(app: &Value) -> bool {
    capstan_diff::CompareOptionsAnnotation::of(app)
        .server_side_diff
        .unwrap_or(false)
}

/// The diff options for an Application: its rules first, then the system-wide ones, as the
/// controller's comparison uses them.
pub fn options_for(
    system: &SystemDiffSettings,
    rules: &[IgnoreDifferencesRule],
    server_side_diff: bool,
) -> DiffOptions {
    let mut options = system.options_for_app(rules);
    options.server_side_apply = true;
    options.manager = CONTROLLER_FIELD_MANAGER.to_string();
    options.server_side_diff = server_side_diff;
    options
}

/// `GET /api/v1/applications/{name}/managed-resources?serverSideDiff=true`.
pub async fn managed_resources(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(query.as_deref());
    let app = load_cached_authorized(&state, &p, &name, "get").await?;
    let (mut objects, _, _) = desired(&state, &app, None).await?;
    // desired objects carry the tracking annotation/label the controller applies with
    let settings = state.settings();
    let tracking = Tracking {
        method: settings.cm.tracking.method.as_str().parse().map_err(
            |e: capstan_diff::tracking::TrackingError| {
                ApiError::FailedPrecondition(format!("argocd-cm tracking method: {e}"))
            },
        )?,
        instance_label_key: settings.cm.tracking.instance_label_key.clone(),
    };
    let instance = app_instance_name(&name, &state.config.namespace, &state.config.namespace);
    for obj in &mut objects {
        tracking
            .set_app_instance(obj, &instance)
            .map_err(|e| ApiError::FailedPrecondition(format!("resource tracking: {e}")))?;
    }
    let system = system_settings(&state).await?;
    let server_side = query_one(&pairs, "serverSideDiff").as_deref() == Some("true")
        || app_wants_server_side_diff(&app);
    let differ = Differ::new(options_for(&system, &app_rules(&app)?, server_side))
        .map_err(|e| ApiError::FailedPrecondition(format!("ignoreDifferences: {e}")))?;
    let client = state.destination_client(&app).await?;
    let mut pairs: BTreeMap<Key, Pair> = BTreeMap::new();
    for obj in objects {
        let live = match client.locate(&obj).await {
            Ok((rt, ns, n)) => client.get(&rt, ns.as_deref(), &n).await.unwrap_or(None),
            Err(_) => None,
        };
        pairs.insert(key(&obj), (Some(obj), live));
    }
    // live resources the status lists but Git no longer has (to be pruned)
    for r in app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let k = (
            s(r, "/group").to_string(),
            s(r, "/kind").to_string(),
            s(r, "/namespace").to_string(),
            s(r, "/name").to_string(),
        );
        if pairs.contains_key(&k) {
            continue;
        }
        let av = api_version(&k.0, s(r, "/version"));
        let Ok(rt) = client.resolve(&av, &k.1).await else {
            continue;
        };
        let live = client
            .get(&rt, (!k.2.is_empty()).then_some(k.2.as_str()), &k.3)
            .await
            .unwrap_or(None);
        if live.is_some() {
            pairs.insert(k, (None, live));
        }
    }
    let mut items = Vec::new();
    for (_, (target, live)) in pairs {
        let predicted = match (&target, &live) {
            (Some(t), Some(_)) if differ.wants_server_side_diff(Some(t)) => client
                .apply(
                    t,
                    &ApplyOptions {
                        force: true,
                        dry_run: true,
                        field_manager: Some(CONTROLLER_FIELD_MANAGER.to_string()),
                    },
                )
                .await
                .map_err(|e| {
                    ApiError::FailedPrecondition(format!("server-side diff (apply dry run): {e}"))
                })
                .map(Some)?,
            _ => None,
        };
        let result = differ
            .diff_resource(target.as_ref(), live.as_ref(), predicted.as_ref())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let d = capstan_diff::output::resource_diff_json_with(
            target.as_ref(),
            live.as_ref(),
            &result,
            &system.mask_annotations,
        );
        items.push(serde_json::to_value(d).map_err(|e| ApiError::Internal(e.to_string()))?);
    }
    Ok(Json(json!({"items": items})))
}
