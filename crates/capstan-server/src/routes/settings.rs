//! Public endpoints: health, version, the public subset of the settings, the OpenAPI document and
//! the metrics text.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The version Capstan reports: the Argo CD API level it implements and its own version.
pub const VERSION: &str = concat!("v3.6.0+capstan.", env!("CARGO_PKG_VERSION"));

/// `GET /api/version`: the version only for unauthenticated (and anonymous) callers, as Argo CD
/// answers them; the platform too for a logged-in caller. No tool versions either way.
pub async fn version(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let logged_in = crate::auth::session::authenticate(&state, &headers)
        .await
        .is_ok_and(|p| p.kind != crate::auth::PrincipalKind::Anonymous);
    if !logged_in {
        return Json(json!({ "Version": VERSION }));
    }
    Json(json!({
        "Version": VERSION,
        "Platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

/// `GET /api/v1/settings`: what a client needs before logging in; no secret, no client secret.
pub async fn settings(State(state): State<AppState>) -> Json<Value> {
    let s = state.settings();
    let cm = &s.cm;
    let mut out = json!({
        "url": cm.url.clone().unwrap_or_default(),
        "statusBadgeEnabled": cm.status_badge_enabled,
        "appLabelKey": cm.tracking.instance_label_key,
        "trackingMethod": cm.tracking.method.to_string(),
        "execEnabled": cm.exec_enabled,
        "userLoginsDisabled": !cm.admin_enabled && cm.accounts.values().all(|a| !a.enabled),
        "kustomizeOptions": {"buildOptions": cm.kustomize_build_options.clone().unwrap_or_default()},
        "uiBannerContent": cm.raw.get("ui.bannercontent").cloned().unwrap_or_default(),
        "uiBannerURL": cm.raw.get("ui.bannerurl").cloned().unwrap_or_default(),
        "helpChatURL": cm.raw.get("help.chatUrl").cloned().unwrap_or_default(),
        "helpChatText": cm.raw.get("help.chatText").cloned().unwrap_or_default(),
    });
    if let Some(oidc) = &cm.oidc_config {
        let pick = |k: &str| oidc.get(k).cloned().unwrap_or(Value::Null);
        out["oidcConfig"] = json!({
            "name": pick("name"),
            "issuer": pick("issuer"),
            "clientID": pick("clientID"),
            "cliClientID": pick("cliClientID"),
            "scopes": pick("requestedScopes"),
            "enablePKCEAuthentication": pick("enablePKCEAuthentication"),
        });
    }
    Json(out)
}

/// `GET /swagger.json`.
pub async fn swagger() -> Json<Value> {
    Json(crate::openapi::document())
}

/// `GET /metrics` (metrics port).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
