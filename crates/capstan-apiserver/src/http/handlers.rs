//! Object handlers: list, get, create, update, patch, delete on items and collections.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::body::{decode_object, decode_patch, parse_json};
use super::{AppState, Query, ResourceReq, json_response, table, watch};
use crate::error::{ApiError, ApiResult};
use crate::ops::{
    Cluster, DeleteOptions, FieldValidation, Outcome, Sub, WriteOpts, parse_propagation, present,
    scale_of,
};
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};

pub async fn handle(
    st: &AppState,
    req: ResourceReq,
    method: Method,
    q: &Query,
    headers: &HeaderMap,
    accept: &str,
    body: Bytes,
) -> ApiResult<Response> {
    let cluster = st.cluster.clone();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ResourceReq { rt, ns, name, sub } = req;
    if rt.group == "authorization.k8s.io" {
        return review(&rt, method, &ct, &body);
    }
    if sub.as_deref() == Some("log") && rt.store_key() == "/pods" && method == Method::GET {
        let name = name.unwrap_or_default();
        return pod_log(&cluster, &rt, ns.as_deref().unwrap_or(""), &name, q);
    }
    if sub.as_deref() == Some("token") && rt.store_key() == "/serviceaccounts" {
        if method != Method::POST {
            return Err(ApiError::method_not_allowed());
        }
        let request = decode_object(&ct, &body)?;
        let (ns, name) = (ns.unwrap_or_default(), name.unwrap_or_default());
        let tokens = st.tokens.clone();
        let out = blocking(move || tokens.token_request(&cluster, &ns, &name, request)).await?;
        return Ok(json_response(StatusCode::CREATED, &out));
    }
    let sub = match sub.as_deref() {
        None => Sub::Main,
        Some("status") if rt.status => Sub::Status,
        Some("scale") if rt.scale.is_some() => Sub::Scale,
        Some("finalize") if rt.store_key() == crate::ops::NS_KEY => Sub::Main,
        Some(_) => return Err(ApiError::path_not_found()),
    };
    let ns_s = ns.clone().unwrap_or_default();
    if rt.namespaced && ns.is_none() && !matches!(method, Method::GET) {
        return Err(ApiError::method_not_allowed());
    }
    match (method, name) {
        (Method::GET, None) => {
            if q.flag("watch") {
                return watch::watch(st, rt, ns, q, accept).await;
            }
            list(&cluster, &rt, ns.as_deref(), q, accept)
        }
        (Method::POST, None) => {
            let opts = write_opts(q, &ua)?;
            let obj = decode_object(&ct, &body)?;
            let out = blocking(move || cluster.create(&rt, &ns_s, obj, &opts)).await?;
            Ok(write_response(StatusCode::CREATED, &out))
        }
        (Method::DELETE, None) => {
            let opts = delete_opts(q, &body)?;
            let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
            let fields = FieldSelector::parse(
                q.get("fieldSelector").unwrap_or(""),
                &rt.kind,
                rt.custom.is_some(),
            )?;
            let items = blocking(move || {
                cluster.delete_collection(&rt, ns.as_deref(), &labels, &fields, &opts)
            })
            .await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"deleted": items.len()}}),
            ))
        }
        (Method::GET, Some(name)) => {
            let obj = cluster.get(&rt, &ns_s, &name)?;
            if sub == Sub::Scale {
                return Ok(json_response(StatusCode::OK, &scale_of(&rt, &obj)?));
            }
            if table::wants_table(accept) {
                let rv = crate::meta::resource_version(&obj).to_string();
                return Ok(json_response(
                    StatusCode::OK,
                    &table::table(&rt, &[obj], &rv),
                ));
            }
            Ok(json_response(StatusCode::OK, &obj))
        }
        (Method::PUT, Some(name)) => {
            let opts = write_opts(q, &ua)?;
            let obj = decode_object(&ct, &body)?;
            let out = blocking(move || cluster.update(&rt, &ns_s, &name, obj, &opts, sub)).await?;
            Ok(write_response(StatusCode::OK, &out))
        }
        (Method::PATCH, Some(name)) => {
            let opts = write_opts(q, &ua)?;
            let (pt, patch) = decode_patch(&ct, &body, q.flag("force"))?;
            let out =
                blocking(move || cluster.patch(&rt, &ns_s, &name, pt, patch, &opts, sub)).await?;
            let code = if out.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(write_response(code, &out))
        }
        (Method::DELETE, Some(name)) => {
            let opts = delete_opts(q, &body)?;
            let obj = blocking(move || cluster.delete(&rt, &ns_s, &name, &opts)).await?;
            Ok(json_response(StatusCode::OK, &obj))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("request task failed: {e}")))?
}

fn write_response(code: StatusCode, out: &Outcome) -> Response {
    let mut r = json_response(code, &out.object);
    for w in &out.warnings {
        if let Ok(h) = HeaderValue::from_str(&format!("299 - \"{}\"", w.replace('"', "'"))) {
            r.headers_mut().append(header::WARNING, h);
        }
    }
    r
}

fn dry_run(q: &Query) -> ApiResult<bool> {
    match q.get("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::new(
            422,
            "Invalid",
            format!("Invalid value: \"{other}\": supported values: \"All\""),
        )),
    }
}

fn write_opts(q: &Query, ua: &str) -> ApiResult<WriteOpts> {
    let validation = match q.get("fieldValidation") {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}"
            )));
        }
    };
    let field_manager = q
        .get("fieldManager")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            let prefix = ua.split('/').next().unwrap_or("").trim();
            (!prefix.is_empty()).then(|| prefix.to_string())
        });
    if let Some(m) = &field_manager
        && m.len() > 128
    {
        return Err(ApiError::bad_request(
            "fieldManager: Too long: may not be more than 128 bytes",
        ));
    }
    Ok(WriteOpts {
        dry_run: dry_run(q)?,
        field_manager,
        validation,
    })
}

fn delete_opts(q: &Query, body: &Bytes) -> ApiResult<DeleteOptions> {
    let mut opts = if body.is_empty() {
        DeleteOptions::default()
    } else {
        DeleteOptions::from_body(&parse_json(body)?)?
    };
    if let Some(p) = q.get("propagationPolicy") {
        opts.propagation = Some(parse_propagation(p)?);
    }
    if dry_run(q)? {
        opts.dry_run = true;
    }
    Ok(opts)
}

fn list(
    cluster: &Arc<Cluster>,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    q: &Query,
    accept: &str,
) -> ApiResult<Response> {
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(
        q.get("fieldSelector").unwrap_or(""),
        &rt.kind,
        rt.custom.is_some(),
    )?;
    let (raws, rv) = cluster.store.list_raw(&rt.store_key(), ns);
    let rv = rv.to_string();
    let filtering = !labels.is_empty() || !fields.is_empty();
    if table::wants_table(accept) {
        let items: Vec<Value> = raws
            .iter()
            .map(|r| crate::store::decode(r))
            .filter(|o| labels.matches(o) && fields.matches(o))
            .map(|o| present(rt, &o))
            .collect();
        return Ok(json_response(
            StatusCode::OK,
            &table::table(rt, &items, &rv),
        ));
    }
    // Build the list from the stored bytes: one object decoded at a time (only to filter or to
    // relabel another served version), so listing many objects needs little memory.
    let api_version = rt.api_version();
    let head = json!({"kind": format!("{}List", rt.kind), "apiVersion": api_version, "metadata": {"resourceVersion": rv}});
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let mut body =
        Vec::with_capacity(head.len() + raws.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
    body.extend_from_slice(&head[..head.len().saturating_sub(1)]);
    body.extend_from_slice(b",\"items\":[");
    let mut first = true;
    let needle = format!("\"apiVersion\":\"{api_version}\"");
    for raw in &raws {
        let same_version = raw
            .windows(needle.len())
            .take(64)
            .any(|w| w == needle.as_bytes());
        let item: Option<std::borrow::Cow<'_, [u8]>> = if filtering || !same_version {
            let o = crate::store::decode(raw);
            if !(labels.matches(&o) && fields.matches(&o)) {
                None
            } else if same_version {
                Some(std::borrow::Cow::Borrowed(&raw[..]))
            } else {
                Some(std::borrow::Cow::Owned(
                    serde_json::to_vec(&present(rt, &o)).unwrap_or_default(),
                ))
            }
        } else {
            Some(std::borrow::Cow::Borrowed(&raw[..]))
        };
        if let Some(item) = item {
            if !first {
                body.push(b',');
            }
            first = false;
            body.extend_from_slice(&item);
        }
    }
    body.extend_from_slice(b"]}");
    let mut r = Response::new(axum::body::Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// `pods/log`: the simulated kubelet has no containers, so the log is a fixed text naming the
/// container and image (404 for an unknown container, 400 while the Pod is not running).
fn pod_log(
    cluster: &Arc<Cluster>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    q: &Query,
) -> ApiResult<Response> {
    let pod = cluster.get(rt, ns, name)?;
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let container = match q.get("container") {
        Some(c) => containers
            .iter()
            .find(|x| x.get("name").and_then(Value::as_str) == Some(c))
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!("container {c} is not valid for pod {name}"))
            })?,
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}"
            )));
        }
    };
    let cname = container.get("name").and_then(Value::as_str).unwrap_or("");
    let waiting = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(cname))
        })
        .and_then(|c| c.pointer("/state/waiting/reason"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(reason) = waiting.or_else(|| {
        pod.pointer("/status/containerStatuses")
            .is_none()
            .then(|| "ContainerCreating".to_string())
    }) {
        return Err(ApiError::bad_request(format!(
            "container \"{cname}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    let image = container.get("image").and_then(Value::as_str).unwrap_or("");
    let text = format!("capstan simulated container {cname} (image {image}) started\n");
    let mut r = Response::new(axum::body::Body::from(text));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(r)
}

/// `SelfSubjectAccessReview` / `SelfSubjectRulesReview` (`kubectl auth can-i`): the server has
/// no RBAC, so everything is allowed. Nothing is stored.
fn review(rt: &ResourceType, method: Method, ct: &str, body: &Bytes) -> ApiResult<Response> {
    if method != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    // The answer does not depend on the request, so protobuf bodies need not be decoded.
    let mut obj = if super::body::media_type(ct) == "application/vnd.kubernetes.protobuf" {
        json!({"metadata": {}, "spec": {}})
    } else {
        decode_object(ct, body)?
    };
    if !obj.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    obj["status"] = if rt.kind == "SelfSubjectRulesReview" {
        json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false
        })
    } else {
        json!({"allowed": true, "reason": "capstan apiserver does not enforce RBAC"})
    };
    Ok(json_response(StatusCode::CREATED, &obj))
}
