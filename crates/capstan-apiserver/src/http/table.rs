//! `meta.k8s.io/v1 Table` output for `kubectl get` (Accept `…;as=Table;…`).

use serde_json::{Value, json};

use crate::registry::ResourceType;

pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|p| {
        let params: Vec<&str> = p.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

fn age(o: &Value) -> String {
    let Some(ts) = o
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
    else {
        return "<unknown>".into();
    };
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 2 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn s(o: &Value, ptr: &str) -> Value {
    match o.pointer(ptr) {
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v.clone(),
        Some(v) if !v.is_null() => json!(v.to_string()),
        _ => json!("<none>"),
    }
}

fn n(o: &Value, ptr: &str) -> i64 {
    o.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

type Col = (&'static str, &'static str);

fn columns(rt: &ResourceType) -> Vec<(String, String)> {
    let fixed: &[Col] = match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => &[("Status", "string")],
        ("", "ConfigMap") => &[("Data", "integer")],
        ("", "Secret") => &[("Type", "string"), ("Data", "integer")],
        ("", "Pod") => &[
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
        ],
        ("", "Service") => &[
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
        ],
        ("", "PersistentVolumeClaim") => &[("Status", "string"), ("Volume", "string")],
        ("", "Event") => &[
            ("Type", "string"),
            ("Reason", "string"),
            ("Object", "string"),
            ("Message", "string"),
        ],
        ("apps", "Deployment") => &[
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        ("apps", "ReplicaSet") => &[
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
        ],
        ("apps", "StatefulSet") => &[("Ready", "string")],
        ("apps", "DaemonSet") => &[
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
        ],
        ("batch", "Job") => &[("Status", "string"), ("Completions", "string")],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => &[("Created At", "date")],
        _ => &[],
    };
    let mut cols = vec![("Name".to_string(), "string".to_string())];
    cols.extend(fixed.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    if let Some(c) = &rt.custom {
        for pc in &c.printer_columns {
            let name = pc
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !name.is_empty() && !name.eq_ignore_ascii_case("age") {
                cols.push((
                    name,
                    pc.get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("string")
                        .to_string(),
                ));
            }
        }
    }
    if rt.kind != "CustomResourceDefinition" {
        cols.push(("Age".to_string(), "string".to_string()));
    }
    cols
}

fn cells(rt: &ResourceType, o: &Value) -> Vec<Value> {
    let mut c = vec![json!(crate::meta::name(o))];
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => c.push(s(o, "/status/phase")),
        ("", "ConfigMap") => c.push(json!(
            o.get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
        )),
        ("", "Secret") => {
            c.push(s(o, "/type"));
            c.push(json!(
                o.get("data")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
            ));
        }
        ("", "Pod") => {
            let total = o
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let statuses = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ready = statuses
                .iter()
                .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
                .count();
            let reason = statuses
                .iter()
                .find_map(|s| s.pointer("/state/waiting/reason").and_then(Value::as_str))
                .map(str::to_string)
                .unwrap_or_else(|| {
                    o.pointer("/status/phase")
                        .and_then(Value::as_str)
                        .unwrap_or("Pending")
                        .to_string()
                });
            c.push(json!(format!("{ready}/{total}")));
            c.push(json!(reason));
            c.push(json!("0"));
        }
        ("", "Service") => {
            c.push(s(o, "/spec/type"));
            c.push(s(o, "/spec/clusterIP"));
            let ext = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|i| {
                            i.get("ip")
                                .or_else(|| i.get("hostname"))
                                .and_then(Value::as_str)
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|x| !x.is_empty())
                .unwrap_or_else(|| "<none>".into());
            c.push(json!(ext));
            let ports = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let port = p.get("port").map(|v| v.to_string()).unwrap_or_default();
                            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                            match p.get("nodePort") {
                                Some(np) => format!("{port}:{np}/{proto}"),
                                None => format!("{port}/{proto}"),
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            c.push(json!(ports));
        }
        ("", "PersistentVolumeClaim") => {
            c.push(s(o, "/status/phase"));
            c.push(s(o, "/spec/volumeName"));
        }
        ("", "Event") => {
            c.push(s(o, "/type"));
            c.push(s(o, "/reason"));
            let obj = format!(
                "{}/{}",
                o.pointer("/involvedObject/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase(),
                o.pointer("/involvedObject/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            );
            c.push(json!(obj));
            c.push(s(o, "/message"));
        }
        ("apps", "Deployment") => {
            c.push(json!(format!(
                "{}/{}",
                n(o, "/status/readyReplicas"),
                n(o, "/spec/replicas")
            )));
            c.push(json!(n(o, "/status/updatedReplicas")));
            c.push(json!(n(o, "/status/availableReplicas")));
        }
        ("apps", "ReplicaSet") => {
            c.push(json!(n(o, "/spec/replicas")));
            c.push(json!(n(o, "/status/replicas")));
            c.push(json!(n(o, "/status/readyReplicas")));
        }
        ("apps", "StatefulSet") => c.push(json!(format!(
            "{}/{}",
            n(o, "/status/readyReplicas"),
            n(o, "/spec/replicas")
        ))),
        ("apps", "DaemonSet") => {
            c.push(json!(n(o, "/status/desiredNumberScheduled")));
            c.push(json!(n(o, "/status/currentNumberScheduled")));
            c.push(json!(n(o, "/status/numberReady")));
        }
        ("batch", "Job") => {
            let status = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.get("status").and_then(Value::as_str) == Some("True"))
                })
                .and_then(|c| c.get("type").and_then(Value::as_str))
                .unwrap_or("Running");
            c.push(json!(status));
            c.push(json!(format!(
                "{}/{}",
                n(o, "/status/succeeded"),
                o.pointer("/spec/completions")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            )));
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            c.push(s(o, "/metadata/creationTimestamp"))
        }
        _ => {}
    }
    if let Some(cinfo) = &rt.custom {
        for pc in &cinfo.printer_columns {
            let name = pc.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() || name.eq_ignore_ascii_case("age") {
                continue;
            }
            let path = pc.get("jsonPath").and_then(Value::as_str).unwrap_or("");
            let ptr = format!("/{}", path.trim_start_matches('.').replace('.', "/"));
            c.push(s(o, &ptr));
        }
    }
    if rt.kind != "CustomResourceDefinition" {
        c.push(json!(age(o)));
    }
    c
}

fn partial(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({}))})
}

/// A Table of `objects`.
pub fn table(rt: &ResourceType, objects: &[Value], rv: &str) -> Value {
    let defs: Vec<Value> = columns(rt)
        .into_iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            let mut d =
                json!({"name": name, "type": ty, "format": "", "description": "", "priority": 0});
            if i == 0 {
                d["format"] = json!("name");
            }
            d
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({"cells": cells(rt, o), "object": partial(o)}))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": defs,
        "rows": rows
    })
}
