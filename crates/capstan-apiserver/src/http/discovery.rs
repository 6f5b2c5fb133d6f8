//! Discovery: legacy (`APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`) and
//! aggregated (`APIGroupDiscoveryList` v2 / v2beta1), negotiated from `Accept`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AppState, json_response};
use crate::error::ApiError;
use crate::registry::{Registry, ResourceType};

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn aggregated_version(accept: &str) -> Option<&'static str> {
    let asks = |v: &str| {
        let want = format!("v={v}");
        accept.split(',').any(|part| {
            let params: Vec<&str> = part.split(';').map(str::trim).collect();
            params.contains(&"g=apidiscovery.k8s.io") && params.contains(&want.as_str())
        })
    };
    if asks("v2") {
        Some("v2")
    } else if asks("v2beta1") {
        Some("v2beta1")
    } else {
        None
    }
}

fn aggregated_response(version: &str, items: Vec<Value>) -> Response {
    let v = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items
    });
    let mut r = Response::new(Body::from(serde_json::to_vec(&v).unwrap_or_default()));
    *r.status_mut() = StatusCode::OK;
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    if let Ok(h) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(header::CONTENT_TYPE, h);
    }
    r
}

fn kind_ref(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let mut subs = Vec::new();
    if t.status {
        subs.push(json!({"subresource": "status", "responseKind": kind_ref(&t.group, &t.version, &t.kind), "verbs": ["get", "patch", "update"]}));
    }
    if t.scale.is_some() {
        subs.push(json!({"subresource": "scale", "responseKind": kind_ref("autoscaling", "v1", "Scale"), "verbs": ["get", "patch", "update"]}));
    }
    if t.store_key() == "/pods" {
        subs.push(json!({"subresource": "log", "responseKind": kind_ref("", "v1", "Pod"), "verbs": ["get"]}));
    }
    if t.store_key() == "/serviceaccounts" {
        subs.push(json!({"subresource": "token", "responseKind": kind_ref("authentication.k8s.io", "v1", "TokenRequest"), "verbs": ["create"]}));
    }
    let mut r = json!({
        "resource": t.resource,
        "responseKind": kind_ref(&t.group, &t.version, &t.kind),
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular,
        "verbs": verbs_of(&t.kind),
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    if !subs.is_empty() {
        r["subresources"] = Value::Array(subs);
    }
    r
}

fn aggregated_group(reg: &Registry, group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| {
            let res: Vec<Value> = reg
                .in_group_version(group, v)
                .iter()
                .map(|t| aggregated_resource(t))
                .collect();
            json!({"version": v, "resources": res, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": vs})
}

/// `GET /api`.
pub fn api(st: &AppState, accept: &str) -> Response {
    let reg = &st.cluster.registry;
    if let Some(v) = aggregated_version(accept) {
        return aggregated_response(v, vec![aggregated_group(reg, "", &["v1".to_string()])]);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": st.server_address}]
        }),
    )
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = vs.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": vs, "preferredVersion": preferred})
}

/// `GET /apis`.
pub fn apis(st: &AppState, accept: &str) -> Response {
    let reg = &st.cluster.registry;
    let groups: Vec<(String, Vec<String>)> = reg
        .groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .collect();
    if let Some(v) = aggregated_version(accept) {
        let items = groups
            .iter()
            .map(|(g, vs)| aggregated_group(reg, g, vs))
            .collect();
        return aggregated_response(v, items);
    }
    let list: Vec<Value> = groups.iter().map(|(g, vs)| group_json(g, vs)).collect();
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}),
    )
}

/// `GET /apis/<group>`.
pub fn group(reg: &Registry, group: &str) -> Response {
    match reg.groups().into_iter().find(|(g, _)| g == group) {
        Some((g, vs)) => {
            let mut v = group_json(&g, &vs);
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            json_response(StatusCode::OK, &v)
        }
        None => ApiError::path_not_found().into_response(),
    }
}

/// `GET /api/v1` and `GET /apis/<group>/<version>`.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Response {
    let types = reg.in_group_version(group, version);
    if types.is_empty() {
        return ApiError::path_not_found().into_response();
    }
    let mut resources = Vec::new();
    for t in &types {
        let mut r = json!({
            "name": t.resource,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": verbs_of(&t.kind),
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.status {
            resources.push(json!({"name": format!("{}/status", t.resource), "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
        if t.scale.is_some() {
            resources.push(json!({"name": format!("{}/scale", t.resource), "singularName": "", "namespaced": t.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
        if t.store_key() == "/pods" {
            resources.push(json!({"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}));
        }
        if t.store_key() == "/serviceaccounts" {
            resources.push(json!({"name": "serviceaccounts/token", "singularName": "", "namespaced": true, "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json_response(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// Review kinds (access reviews, token reviews) can only be created; every other kind serves all verbs.
fn verbs_of(kind: &str) -> serde_json::Value {
    if kind.ends_with("Review") {
        serde_json::json!(["create"])
    } else {
        serde_json::json!(VERBS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let both = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(both), Some("v2"));
        let beta = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(beta), Some("v2beta1"));
        assert_eq!(aggregated_version("application/json"), None);
        assert_eq!(aggregated_version(""), None);
    }
}
