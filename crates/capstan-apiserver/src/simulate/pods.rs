//! Pods, as a scheduler and kubelet would move them: scheduled, then Running and Ready after
//! the configured delay, or stuck in ImagePullBackOff for an image that cannot be pulled;
//! Pods of Jobs (and other non-restarting Pods) terminate after running.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Requeue, Sim, event};
use crate::error::ApiResult;
use crate::meta;
use crate::registry::ResourceType;
use crate::store::ObjKey;

/// Annotation: exit code of a simulated container that terminates (Job Pods).
pub const EXIT_CODE_ANNOTATION: &str = "simulate.capstan.dev/exit-code";

/// An image that the simulated kubelet cannot pull: registry host `capstan.invalid`, or tag `fail`.
pub fn image_fails(image: &str) -> bool {
    let host_invalid = image
        .split('/')
        .next()
        .is_some_and(|h| h == "capstan.invalid" || h.starts_with("capstan.invalid:"));
    let last = image.rsplit('/').next().unwrap_or("");
    let tag = last
        .split('@')
        .next()
        .unwrap_or("")
        .split_once(':')
        .map(|(_, t)| t);
    host_invalid || tag == Some("fail")
}

fn containers(p: &Value) -> Vec<Value> {
    p.pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn pod_ip(p: &Value) -> String {
    let h = super::short_hash(&json!(meta::uid(p)));
    let b = h.as_bytes();
    format!("10.244.{}.{}", b[0] % 250, (b[1] % 250) + 2)
}

fn terminates(p: &Value) -> bool {
    let job_owned = p
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|r| {
            r.iter()
                .any(|o| o.get("kind").and_then(Value::as_str) == Some("Job"))
        });
    job_owned
        || p.pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .is_some_and(|r| r != "Always")
}

fn cond(ty: &str, status: &str, now: &str) -> Value {
    json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": now})
}

pub fn pod(sim: &Sim, rt: &ResourceType, key: &ObjKey, p: &Value) -> ApiResult<Requeue> {
    let phase = p
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    let now = meta::now();
    let delay = sim.config.ready_delay;
    let node = p
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("capstan-node-0")
        .to_string();
    let images: Vec<String> = containers(p)
        .iter()
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect();
    let start = p
        .pointer("/status/startTime")
        .cloned()
        .unwrap_or(json!(now));
    match phase {
        "" => {
            let statuses: Vec<Value> = containers(p)
                .iter()
                .map(|c| json!({"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": false, "restartCount": 0, "started": false, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}))
                .collect();
            let status = json!({
                "phase": "Pending",
                "conditions": [cond("PodScheduled", "True", &now), cond("Initialized", "True", &now), cond("Ready", "False", &now), cond("ContainersReady", "False", &now)],
                "hostIP": "10.0.0.1",
                "hostIPs": [{"ip": "10.0.0.1"}],
                "startTime": now,
                "containerStatuses": statuses,
                "qosClass": "BestEffort"
            });
            if let Ok(mut seen) = sim.pod_seen.lock() {
                seen.insert(key.clone(), Instant::now());
            }
            sim.set_status(rt, p, status)?;
            event(
                sim,
                p,
                "Pod",
                "Normal",
                "Scheduled",
                &format!(
                    "Successfully assigned {}/{} to {node}",
                    meta::namespace(p),
                    meta::name(p)
                ),
                "default-scheduler",
            );
            Ok(Some(delay))
        }
        "Pending" => {
            let seen_at = sim
                .pod_seen
                .lock()
                .ok()
                .map(|mut s| *s.entry(key.clone()).or_insert_with(Instant::now))
                .unwrap_or_else(Instant::now);
            let elapsed = seen_at.elapsed();
            if elapsed < delay {
                return Ok(Some(delay - elapsed));
            }
            if let Some(bad) = images.iter().find(|i| image_fails(i)) {
                let already = p
                    .pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.pointer("/state/waiting/reason").and_then(Value::as_str)
                                == Some("ImagePullBackOff")
                        })
                    });
                if already {
                    return Ok(None);
                }
                let statuses: Vec<Value> = containers(p)
                    .iter()
                    .map(|c| {
                        let img = c.get("image").and_then(Value::as_str).unwrap_or("");
                        let state = if image_fails(img) {
                            json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{img}\"")}})
                        } else {
                            json!({"running": {"startedAt": now}})
                        };
                        json!({"name": c.get("name"), "image": img, "imageID": "", "ready": false, "restartCount": 0, "started": !image_fails(img), "state": state, "lastState": {}})
                    })
                    .collect();
                let mut status = p.get("status").cloned().unwrap_or_else(|| json!({}));
                status["containerStatuses"] = json!(statuses);
                status["conditions"] = json!([
                    cond("PodScheduled", "True", &now),
                    cond("Initialized", "True", &now),
                    json!({"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": now, "reason": "ContainersNotReady", "message": "containers with unready status"}),
                    json!({"type": "ContainersReady", "status": "False", "lastProbeTime": null, "lastTransitionTime": now, "reason": "ContainersNotReady", "message": "containers with unready status"})
                ]);
                sim.set_status(rt, p, status)?;
                event(
                    sim,
                    p,
                    "Pod",
                    "Warning",
                    "Failed",
                    &format!(
                        "Failed to pull image \"{bad}\": simulated pull failure (image matches the capstan failure rule)"
                    ),
                    "kubelet",
                );
                return Ok(None);
            }
            let statuses: Vec<Value> = containers(p)
                .iter()
                .map(|c| json!({"name": c.get("name"), "image": c.get("image"), "imageID": format!("{}@sha256:simulated", c.get("image").and_then(Value::as_str).unwrap_or("")), "containerID": format!("simulated://{}", meta::uid(p)), "ready": true, "restartCount": 0, "started": true, "state": {"running": {"startedAt": now}}, "lastState": {}}))
                .collect();
            let ip = pod_ip(p);
            let status = json!({
                "phase": "Running",
                "conditions": [cond("PodReadyToStartContainers", "True", &now), cond("Initialized", "True", &now), cond("Ready", "True", &now), cond("ContainersReady", "True", &now), cond("PodScheduled", "True", &now)],
                "hostIP": "10.0.0.1",
                "hostIPs": [{"ip": "10.0.0.1"}],
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": start,
                "containerStatuses": statuses,
                "qosClass": "BestEffort"
            });
            sim.set_status(rt, p, status)?;
            event(
                sim,
                p,
                "Pod",
                "Normal",
                "Started",
                "Started container (simulated)",
                "kubelet",
            );
            if terminates(p) {
                if let Ok(mut seen) = sim.pod_seen.lock() {
                    seen.insert(key.clone(), Instant::now());
                }
                return Ok(Some(delay.max(Duration::from_millis(50))));
            }
            if let Ok(mut seen) = sim.pod_seen.lock() {
                seen.remove(key);
            }
            Ok(None)
        }
        "Running" if terminates(p) => {
            let seen_at = sim
                .pod_seen
                .lock()
                .ok()
                .map(|mut s| *s.entry(key.clone()).or_insert_with(Instant::now))
                .unwrap_or_else(Instant::now);
            let elapsed = seen_at.elapsed();
            if elapsed < delay {
                return Ok(Some(delay - elapsed));
            }
            let code: i64 = meta::annotation(p, EXIT_CODE_ANNOTATION)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let (phase, reason) = if code == 0 {
                ("Succeeded", "Completed")
            } else {
                ("Failed", "Error")
            };
            let statuses: Vec<Value> = containers(p)
                .iter()
                .map(|c| json!({"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": false, "restartCount": 0, "started": false, "state": {"terminated": {"exitCode": code, "reason": reason, "startedAt": start, "finishedAt": now}}, "lastState": {}}))
                .collect();
            let mut status = p.get("status").cloned().unwrap_or_else(|| json!({}));
            status["phase"] = json!(phase);
            status["containerStatuses"] = json!(statuses);
            status["conditions"] = json!([
                cond("Initialized", "True", &now),
                json!({"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": now, "reason": "PodCompleted"}),
                json!({"type": "ContainersReady", "status": "False", "lastProbeTime": null, "lastTransitionTime": now, "reason": "PodCompleted"}),
                cond("PodScheduled", "True", &now)
            ]);
            sim.set_status(rt, p, status)?;
            if let Ok(mut seen) = sim.pod_seen.lock() {
                seen.remove(key);
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_rule() {
        assert!(image_fails("capstan.invalid/nginx:1.27"));
        assert!(image_fails("nginx:fail"));
        assert!(image_fails("registry.example.com:5000/team/app:fail"));
        assert!(!image_fails("nginx:1.27"));
        assert!(!image_fails("registry.example.com:5000/app"));
        assert!(!image_fails("failing/app:latest"));
    }
}
