//! Deployments, ReplicaSets, StatefulSets and DaemonSets, as the controller-manager runs them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Requeue, Sim, event, owner_ref, short_hash};
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::ops::Sub;
use crate::registry::ResourceType;

const REV: &str = "deployment.kubernetes.io/revision";

fn int(o: &Value, ptr: &str, default: i64) -> i64 {
    o.pointer(ptr).and_then(Value::as_i64).unwrap_or(default)
}

pub(crate) fn pod_ready(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// A condition that keeps its timestamps while nothing about it changes.
pub(crate) fn condition(
    old_status: Option<&Value>,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    with_update_time: bool,
) -> Value {
    let now = meta::now();
    let old = old_status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
        });
    let same_status = old.is_some_and(|c| c.get("status").and_then(Value::as_str) == Some(status));
    let unchanged = same_status
        && old.is_some_and(|c| {
            c.get("reason").and_then(Value::as_str) == Some(reason)
                && c.get("message").and_then(Value::as_str) == Some(message)
        });
    let transition = if same_status {
        old.and_then(|c| c.get("lastTransitionTime"))
            .cloned()
            .unwrap_or(json!(now))
    } else {
        json!(now)
    };
    let mut c = json!({"type": ty, "status": status});
    if with_update_time {
        let upd = if unchanged {
            old.and_then(|c| c.get("lastUpdateTime"))
                .cloned()
                .unwrap_or(json!(now))
        } else {
            json!(now)
        };
        c["lastUpdateTime"] = upd;
    }
    c["lastTransitionTime"] = transition;
    c["reason"] = json!(reason);
    c["message"] = json!(message);
    c
}

fn rt(sim: &Sim, g: &str, r: &str) -> ApiResult<Arc<ResourceType>> {
    sim.rt(g, "v1", r)
        .ok_or_else(|| ApiError::internal(format!("{r} not registered")))
}

/// A Pod from a workload's template.
pub(crate) fn pod_from_template(
    template: &Value,
    name: &str,
    ns: &str,
    owner: Value,
    node: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut labels: Map<String, Value> = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert(k.to_string(), json!(v));
    }
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    spec["nodeName"] = json!(node);
    let mut md =
        json!({"name": name, "namespace": ns, "labels": labels, "ownerReferences": [owner]});
    if let Some(a) = template.pointer("/metadata/annotations") {
        md["annotations"] = a.clone();
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec})
}

fn put_nonzero(m: &mut Map<String, Value>, k: &str, v: i64) {
    if v != 0 {
        m.insert(k.into(), json!(v));
    }
}

pub fn deployment(sim: &Sim, drt: &ResourceType, d: &Value) -> ApiResult<Requeue> {
    let (ns, name) = (meta::namespace(d), meta::name(d));
    let replicas = int(d, "/spec/replicas", 1);
    let template = d
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = short_hash(&template);
    let rs_rt = rt(sim, "apps", "replicasets")?;
    let new_name = format!("{name}-{hash}");
    let owned = sim.owned("apps/replicasets", ns, meta::uid(d));
    let max_rev = owned
        .iter()
        .filter_map(|r| meta::annotation(r, REV).and_then(|s| s.parse::<i64>().ok()))
        .max()
        .unwrap_or(0);
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    let existing = owned.iter().find(|r| meta::name(r) == new_name).cloned();
    match &existing {
        None if !paused => {
            let mut tmpl = template.clone();
            tmpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut sel = d
                .pointer("/spec/selector")
                .cloned()
                .unwrap_or_else(|| json!({}));
            sel["matchLabels"]["pod-template-hash"] = json!(hash);
            let mut labels = template
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or_else(|| json!({}));
            labels["pod-template-hash"] = json!(hash);
            let rs = json!({
                "metadata": {
                    "name": new_name, "namespace": ns, "labels": labels,
                    "annotations": {REV: (max_rev + 1).to_string(), "deployment.kubernetes.io/desired-replicas": replicas.to_string(), "deployment.kubernetes.io/max-replicas": replicas.to_string()},
                    "ownerReferences": [owner_ref("apps/v1", "Deployment", d)]
                },
                "spec": {"replicas": replicas, "selector": sel, "template": tmpl}
            });
            sim.create(&rs_rt, ns, rs)?;
            event(
                sim,
                d,
                "Deployment",
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled up replica set {new_name} from 0 to {replicas}"),
                "deployment-controller",
            );
            return Ok(Some(Duration::from_millis(50)));
        }
        Some(rs) if !paused && int(rs, "/spec/replicas", 1) != replicas => {
            let from = int(rs, "/spec/replicas", 1);
            sim.cluster
                .mutate(&rs_rt, ns, &new_name, Sub::Main, super::MANAGER, |v| {
                    v["spec"]["replicas"] = json!(replicas);
                    v["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                        json!(replicas.to_string());
                })?;
            let verb = if replicas > from { "up" } else { "down" };
            event(
                sim,
                d,
                "Deployment",
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled {verb} replica set {new_name} from {from} to {replicas}"),
                "deployment-controller",
            );
        }
        _ => {}
    }
    if !paused && existing.is_some() {
        for old in owned
            .iter()
            .filter(|r| meta::name(r) != new_name && int(r, "/spec/replicas", 0) > 0)
        {
            let from = int(old, "/spec/replicas", 0);
            sim.cluster.mutate(
                &rs_rt,
                ns,
                meta::name(old),
                Sub::Main,
                super::MANAGER,
                |v| v["spec"]["replicas"] = json!(0),
            )?;
            event(
                sim,
                d,
                "Deployment",
                "Normal",
                "ScalingReplicaSet",
                &format!(
                    "Scaled down replica set {} from {from} to 0",
                    meta::name(old)
                ),
                "deployment-controller",
            );
        }
    }
    // Status from the (fresh) ReplicaSets.
    let owned = sim.owned("apps/replicasets", ns, meta::uid(d));
    let sum = |p: &str| owned.iter().map(|r| int(r, p, 0)).sum::<i64>();
    let new_rs = owned.iter().find(|r| meta::name(r) == new_name);
    let updated = new_rs.map(|r| int(r, "/status/replicas", 0)).unwrap_or(0);
    let total = sum("/status/replicas");
    let ready = sum("/status/readyReplicas");
    let available = sum("/status/availableReplicas");
    let new_observed =
        new_rs.is_some_and(|r| int(r, "/status/observedGeneration", 0) >= meta::generation(r));
    let complete =
        new_observed && updated == replicas && total == replicas && available == replicas;
    let old_status = d.get("status");
    let avail_cond = if available >= replicas {
        condition(
            old_status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            true,
        )
    } else {
        condition(
            old_status,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            true,
        )
    };
    let deadline = int(d, "/spec/progressDeadlineSeconds", 600);
    let old_prog = old_status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Progressing"))
        })
        .cloned();
    let rs_msg = format!("ReplicaSet \"{new_name}\"");
    let mut requeue = None;
    let prog_cond = if complete {
        condition(
            old_status,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("{rs_msg} has successfully progressed."),
            true,
        )
    } else if paused {
        condition(
            old_status,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
            true,
        )
    } else {
        let exceeded_before = old_prog.as_ref().is_some_and(|c| {
            c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
                && c.get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.contains(&rs_msg))
        });
        let progressing = condition(
            old_status,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("{rs_msg} is progressing."),
            true,
        );
        let since = progressing
            .get("lastUpdateTime")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        let elapsed = since
            .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
            .unwrap_or(0);
        if exceeded_before || elapsed > deadline {
            condition(
                old_status,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("{rs_msg} has timed out progressing."),
                true,
            )
        } else {
            requeue = Some(
                sim.config
                    .ready_delay
                    .clamp(Duration::from_millis(100), Duration::from_secs(1)),
            );
            progressing
        }
    };
    let mut st = Map::new();
    st.insert("observedGeneration".into(), json!(meta::generation(d)));
    put_nonzero(&mut st, "replicas", total);
    put_nonzero(&mut st, "updatedReplicas", updated);
    put_nonzero(&mut st, "readyReplicas", ready);
    put_nonzero(&mut st, "availableReplicas", available);
    put_nonzero(
        &mut st,
        "unavailableReplicas",
        (replicas - available).max(0),
    );
    st.insert("conditions".into(), json!([avail_cond, prog_cond]));
    sim.set_status(drt, d, Value::Object(st))?;
    Ok(requeue)
}

pub fn replicaset(sim: &Sim, rsrt: &ResourceType, rs: &Value) -> ApiResult<Requeue> {
    let (ns, name) = (meta::namespace(rs), meta::name(rs));
    let want = int(rs, "/spec/replicas", 1).max(0) as usize;
    let pod_rt = rt(sim, "", "pods")?;
    let mut pods: Vec<Arc<Value>> = sim
        .owned("/pods", ns, meta::uid(rs))
        .into_iter()
        .filter(|p| meta::deletion_timestamp(p).is_none())
        .collect();
    let template = rs
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if pods.len() < want {
        for _ in pods.len()..want {
            let pname = format!("{name}-{}", &crate::ops::random_suffix());
            let p = pod_from_template(
                &template,
                &pname,
                ns,
                owner_ref("apps/v1", "ReplicaSet", rs),
                &super::node_name(0),
                &[],
            );
            sim.create(&pod_rt, ns, p)?;
            event(
                sim,
                rs,
                "ReplicaSet",
                "Normal",
                "SuccessfulCreate",
                &format!("Created pod: {pname}"),
                "replicaset-controller",
            );
        }
    } else if pods.len() > want {
        pods.sort_by_key(|p| (pod_ready(p), std::cmp::Reverse(meta::name(p).to_string())));
        for p in pods.iter().take(pods.len() - want) {
            sim.delete(&pod_rt, p)?;
            event(
                sim,
                rs,
                "ReplicaSet",
                "Normal",
                "SuccessfulDelete",
                &format!("Deleted pod: {}", meta::name(p)),
                "replicaset-controller",
            );
        }
    }
    let pods: Vec<Arc<Value>> = sim
        .owned("/pods", ns, meta::uid(rs))
        .into_iter()
        .filter(|p| meta::deletion_timestamp(p).is_none())
        .collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let mut st = Map::new();
    st.insert("replicas".into(), json!(pods.len()));
    put_nonzero(&mut st, "fullyLabeledReplicas", pods.len() as i64);
    put_nonzero(&mut st, "readyReplicas", ready);
    put_nonzero(&mut st, "availableReplicas", ready);
    st.insert("observedGeneration".into(), json!(meta::generation(rs)));
    sim.set_status(rsrt, rs, Value::Object(st))?;
    Ok(None)
}

pub fn statefulset(sim: &Sim, srt: &ResourceType, s: &Value) -> ApiResult<Requeue> {
    let (ns, name) = (meta::namespace(s), meta::name(s));
    let want = int(s, "/spec/replicas", 1).max(0);
    let template = s
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let revision = format!("{name}-{}", short_hash(&template));
    let pod_rt = rt(sim, "", "pods")?;
    let pods: Vec<Arc<Value>> = sim
        .owned("/pods", ns, meta::uid(s))
        .into_iter()
        .filter(|p| meta::deletion_timestamp(p).is_none())
        .collect();
    for i in 0..want {
        let pname = format!("{name}-{i}");
        match pods.iter().find(|p| meta::name(p) == pname) {
            None => {
                let labels = [
                    ("controller-revision-hash", revision.clone()),
                    ("statefulset.kubernetes.io/pod-name", pname.clone()),
                    ("apps.kubernetes.io/pod-index", i.to_string()),
                ];
                let p = pod_from_template(
                    &template,
                    &pname,
                    ns,
                    owner_ref("apps/v1", "StatefulSet", s),
                    &super::node_name(0),
                    &labels,
                );
                sim.create(&pod_rt, ns, p)?;
                event(
                    sim,
                    s,
                    "StatefulSet",
                    "Normal",
                    "SuccessfulCreate",
                    &format!("create Pod {pname} in StatefulSet {name} successful"),
                    "statefulset-controller",
                );
            }
            Some(p)
                if p.pointer("/metadata/labels/controller-revision-hash")
                    .and_then(Value::as_str)
                    != Some(revision.as_str()) =>
            {
                sim.delete(&pod_rt, p)?;
            }
            _ => {}
        }
    }
    for p in pods.iter().filter(|p| {
        meta::name(p)
            .rsplit_once('-')
            .and_then(|(_, i)| i.parse::<i64>().ok())
            .is_none_or(|i| i >= want)
    }) {
        sim.delete(&pod_rt, p)?;
    }
    let pods: Vec<Arc<Value>> = sim
        .owned("/pods", ns, meta::uid(s))
        .into_iter()
        .filter(|p| meta::deletion_timestamp(p).is_none())
        .collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let updated = pods
        .iter()
        .filter(|p| {
            p.pointer("/metadata/labels/controller-revision-hash")
                .and_then(Value::as_str)
                == Some(revision.as_str())
        })
        .count() as i64;
    let done = updated == want && ready == want;
    let current_rev = if done {
        revision.clone()
    } else {
        s.pointer("/status/currentRevision")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| revision.clone())
    };
    let mut st = Map::new();
    st.insert("observedGeneration".into(), json!(meta::generation(s)));
    st.insert("replicas".into(), json!(pods.len()));
    put_nonzero(&mut st, "readyReplicas", ready);
    put_nonzero(
        &mut st,
        "currentReplicas",
        if done {
            ready
        } else {
            pods.len() as i64 - updated
        },
    );
    put_nonzero(&mut st, "updatedReplicas", updated);
    put_nonzero(&mut st, "availableReplicas", ready);
    st.insert("currentRevision".into(), json!(current_rev));
    st.insert("updateRevision".into(), json!(revision));
    st.insert("collisionCount".into(), json!(0));
    sim.set_status(srt, s, Value::Object(st))?;
    Ok(None)
}

pub fn daemonset(sim: &Sim, dsrt: &ResourceType, ds: &Value) -> ApiResult<Requeue> {
    let (ns, name) = (meta::namespace(ds), meta::name(ds));
    let template = ds
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let revision = short_hash(&template);
    let pod_rt = rt(sim, "", "pods")?;
    let nodes: Vec<String> = (0..sim.config.nodes).map(super::node_name).collect();
    let pods: Vec<Arc<Value>> = sim
        .owned("/pods", ns, meta::uid(ds))
        .into_iter()
        .filter(|p| meta::deletion_timestamp(p).is_none())
        .collect();
    for node in &nodes {
        let on_node: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node.as_str()))
            .collect();
        let current = on_node.iter().any(|p| {
            p.pointer("/metadata/labels/controller-revision-hash")
                .and_then(Value::as_str)
                == Some(revision.as_str())
        });
        for p in on_node.iter().filter(|p| {
            p.pointer("/metadata/labels/controller-revision-hash")
                .and_then(Value::as_str)
                != Some(revision.as_str())
        }) {
            sim.delete(&pod_rt, p)?;
        }
        if !current {
            let pname = format!("{name}-{}", crate::ops::random_suffix());
            let p = pod_from_template(
                &template,
                &pname,
                ns,
                owner_ref("apps/v1", "DaemonSet", ds),
                node,
                &[
                    ("controller-revision-hash", revision.clone()),
                    ("pod-template-generation", meta::generation(ds).to_string()),
                ],
            );
            sim.create(&pod_rt, ns, p)?;
            event(
                sim,
                ds,
                "DaemonSet",
                "Normal",
                "SuccessfulCreate",
                &format!("Created pod: {pname}"),
                "daemonset-controller",
            );
        }
    }
    let pods: Vec<Arc<Value>> = sim
        .owned("/pods", ns, meta::uid(ds))
        .into_iter()
        .filter(|p| meta::deletion_timestamp(p).is_none())
        .collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let updated = pods
        .iter()
        .filter(|p| {
            p.pointer("/metadata/labels/controller-revision-hash")
                .and_then(Value::as_str)
                == Some(revision.as_str())
        })
        .count() as i64;
    let desired = nodes.len() as i64;
    let mut st = Map::new();
    st.insert("currentNumberScheduled".into(), json!(pods.len()));
    st.insert("numberMisscheduled".into(), json!(0));
    st.insert("desiredNumberScheduled".into(), json!(desired));
    st.insert("numberReady".into(), json!(ready));
    st.insert("observedGeneration".into(), json!(meta::generation(ds)));
    put_nonzero(&mut st, "updatedNumberScheduled", updated);
    put_nonzero(&mut st, "numberAvailable", ready);
    put_nonzero(&mut st, "numberUnavailable", (desired - ready).max(0));
    sim.set_status(dsrt, ds, Value::Object(st))?;
    Ok(None)
}
