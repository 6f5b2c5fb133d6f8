//! Jobs: Pods run to completion; the Job becomes Complete, or Failed when its Pods fail
//! (annotation `simulate.capstan.dev/fail: "true"` on the Job makes every Pod exit 1).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::apps::{condition, pod_from_template};
use super::{Requeue, Sim, event, owner_ref};
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::registry::ResourceType;

/// Annotation on a Job that makes its simulated Pods fail.
pub const FAIL_ANNOTATION: &str = "simulate.capstan.dev/fail";

fn finished(j: &Value) -> bool {
    j.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                matches!(
                    c.get("type").and_then(Value::as_str),
                    Some("Complete" | "Failed")
                ) && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

pub fn job(sim: &Sim, jrt: &ResourceType, j: &Value) -> ApiResult<Requeue> {
    if finished(j) || j.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let (ns, name) = (meta::namespace(j), meta::name(j));
    let completions = j
        .pointer("/spec/completions")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(1);
    let parallelism = j
        .pointer("/spec/parallelism")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(1);
    let backoff = j
        .pointer("/spec/backoffLimit")
        .and_then(Value::as_i64)
        .unwrap_or(6);
    let fail = meta::annotation(j, FAIL_ANNOTATION) == Some("true");
    let pod_rt = sim
        .rt("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods not registered"))?;
    let pods: Vec<Arc<Value>> = sim.owned("/pods", ns, meta::uid(j));
    let phase = |p: &Value| {
        p.pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let active = pods
        .iter()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .count() as i64;
    let now = meta::now();
    let old_status = j.get("status");
    let start = old_status
        .and_then(|s| s.get("startTime"))
        .cloned()
        .unwrap_or(json!(now));
    let mut st = Map::new();
    st.insert("startTime".into(), start);
    if succeeded >= completions {
        st.insert("completionTime".into(), json!(now));
        st.insert("succeeded".into(), json!(succeeded));
        if failed > 0 {
            st.insert("failed".into(), json!(failed));
        }
        st.insert("ready".into(), json!(0));
        st.insert("terminating".into(), json!(0));
        st.insert("uncountedTerminatedPods".into(), json!({}));
        st.insert(
            "conditions".into(),
            json!([
                condition(
                    old_status,
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    false
                ),
                condition(
                    old_status,
                    "Complete",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    false
                )
            ]),
        );
        sim.set_status(jrt, j, Value::Object(st))?;
        event(
            sim,
            j,
            "Job",
            "Normal",
            "Completed",
            "Job completed",
            "job-controller",
        );
        return Ok(None);
    }
    if failed > backoff {
        st.insert("failed".into(), json!(failed));
        if succeeded > 0 {
            st.insert("succeeded".into(), json!(succeeded));
        }
        st.insert("ready".into(), json!(0));
        st.insert("terminating".into(), json!(0));
        st.insert("uncountedTerminatedPods".into(), json!({}));
        st.insert(
            "conditions".into(),
            json!([
                condition(
                    old_status,
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    false
                ),
                condition(
                    old_status,
                    "Failed",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    false
                )
            ]),
        );
        sim.set_status(jrt, j, Value::Object(st))?;
        event(
            sim,
            j,
            "Job",
            "Warning",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            "job-controller",
        );
        return Ok(None);
    }
    let need = (completions - succeeded).min(parallelism) - active;
    let mut template = j
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if fail {
        template["metadata"]["annotations"][super::pods::EXIT_CODE_ANNOTATION] = json!("1");
    }
    let mut created = 0;
    for _ in 0..need.max(0) {
        let pname = format!("{name}-{}", crate::ops::random_suffix());
        let p = pod_from_template(
            &template,
            &pname,
            ns,
            owner_ref("batch/v1", "Job", j),
            &super::node_name(0),
            &[],
        );
        sim.create(&pod_rt, ns, p)?;
        event(
            sim,
            j,
            "Job",
            "Normal",
            "SuccessfulCreate",
            &format!("Created pod: {pname}"),
            "job-controller",
        );
        created += 1;
    }
    let ready = pods.iter().filter(|p| super::apps::pod_ready(p)).count() as i64;
    if active + created > 0 {
        st.insert("active".into(), json!(active + created));
    }
    if succeeded > 0 {
        st.insert("succeeded".into(), json!(succeeded));
    }
    if failed > 0 {
        st.insert("failed".into(), json!(failed));
    }
    st.insert("ready".into(), json!(ready));
    st.insert("terminating".into(), json!(0));
    st.insert("uncountedTerminatedPods".into(), json!({}));
    sim.set_status(jrt, j, Value::Object(st))?;
    Ok(None)
}
