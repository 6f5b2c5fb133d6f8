//! A minimal OpenAPI v3: an index of group-versions and, per group-version, the PATCH
//! operation of every resource tagged with its GVK and the `fieldValidation` parameter.
//! That is what kubectl needs to validate server-side (`fieldValidation=Strict`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::json_response;
use crate::error::ApiError;
use crate::registry::Registry;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn document(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = reg.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in &types {
        let item = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.resource)
        } else {
            format!("{prefix}/{}/{{name}}", t.resource)
        };
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let op = json!({
            "patch": {
                "operationId": format!("patch{}", t.kind),
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}
                ],
                "responses": {"200": {"description": "OK"}}
            }
        });
        paths.insert(item, op);
        if let Some(schema) = t.custom.as_ref().and_then(|c| c.schema.clone()) {
            let mut s = schema;
            s["x-kubernetes-group-version-kind"] = json!([gvk]);
            schemas.insert(format!("{}.{}.{}", t.group, t.version, t.kind), s);
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}

fn hash_of(v: &Value) -> String {
    let s = v.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// `GET /openapi/v3`.
pub fn index(reg: &Registry) -> Response {
    let mut paths = Map::new();
    for (g, versions) in reg.groups() {
        for v in versions {
            if let Some(doc) = document(reg, &g, &v) {
                let p = gv_path(&g, &v);
                let url = format!("/openapi/v3/{p}?hash={}", hash_of(&doc));
                paths.insert(p, json!({"serverRelativeURL": url}));
            }
        }
    }
    json_response(StatusCode::OK, &json!({"paths": paths}))
}

/// `GET /openapi/v3/<api/v1 | apis/g/v>`.
pub fn group_version(reg: &Registry, rest: &[&str]) -> Response {
    let (g, v) = match rest {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return ApiError::path_not_found().into_response(),
    };
    match document(reg, g, v) {
        Some(doc) => json_response(StatusCode::OK, &doc),
        None => ApiError::path_not_found().into_response(),
    }
}
