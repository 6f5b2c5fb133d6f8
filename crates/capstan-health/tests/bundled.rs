//! CronJob and CustomResourceDefinition, which Argo CD assesses with bundled Lua scripts; the expected
//! statuses and messages are those of Argo CD's health_test.yaml for these kinds.

use capstan_health::{HealthOverrides, assess};
use capstan_types::HealthStatus;
use serde_json::{Value, json};

fn cronjob(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": spec, "status": status})
}

fn check(obj: &Value) -> (HealthStatus, String) {
    let h = assess(obj, &HealthOverrides::new()).unwrap();
    (h.status, h.message)
}

#[test]
fn cronjob_cases() {
    let sched = json!({"schedule": "* * * * *"});
    let cases = [
        (
            cronjob(json!({"suspend": true}), json!({})),
            HealthStatus::Suspended,
            "CronJob is Suspended",
        ),
        (
            cronjob(sched.clone(), json!({})),
            HealthStatus::Healthy,
            "CronJob has not been scheduled yet",
        ),
        (
            cronjob(
                sched.clone(),
                json!({"lastScheduleTime": "2024-01-01T10:00:00Z"}),
            ),
            HealthStatus::Healthy,
            "The Cronjob never completed succesfully. It may not be healthy",
        ),
        (
            cronjob(
                sched.clone(),
                json!({"lastScheduleTime": "2024-01-01T10:00:00Z", "lastSuccessfulTime": "2024-01-01T09:00:00Z",
                "active": [{"name": "c-1"}]}),
            ),
            HealthStatus::Healthy,
            "The job is running. Its last execution may not have been successful",
        ),
        (
            cronjob(
                sched.clone(),
                json!({"lastScheduleTime": "2024-01-01T10:00:00Z", "lastSuccessfulTime": "2024-01-01T09:00:00Z"}),
            ),
            HealthStatus::Degraded,
            "CronJob has not completed its last execution successfully",
        ),
        (
            cronjob(
                sched.clone(),
                json!({"lastScheduleTime": "2024-01-01T10:00:00Z", "lastSuccessfulTime": "2024-01-01T10:00:05Z"}),
            ),
            HealthStatus::Healthy,
            "CronJob has completed its last execution successfully",
        ),
    ];
    for (obj, status, message) in cases {
        assert_eq!(check(&obj), (status, message.to_string()), "{obj}");
    }
}

fn crd(conditions: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x.example.com"},
        "status": {"conditions": conditions}})
}

#[test]
fn crd_cases() {
    let established = json!({"type": "Established", "status": "True", "message": "the initial names have been accepted"});
    assert_eq!(
        check(&crd(json!([established.clone()]))),
        (HealthStatus::Healthy, "CRD is healthy".into())
    );
    assert_eq!(
        check(&crd(json!([]))),
        (
            HealthStatus::Progressing,
            "Status conditions not found".into()
        )
    );
    assert_eq!(
        check(&crd(json!([{"type": "Established", "status": "False"}]))),
        (HealthStatus::Degraded, "CRD is not established".into())
    );
    let rejected =
        json!({"type": "NamesAccepted", "status": "False", "message": "plural conflicts"});
    assert_eq!(
        check(&crd(json!([established.clone(), rejected]))),
        (
            HealthStatus::Degraded,
            "CRD names have not been accepted: plural conflicts".into()
        )
    );
    let terminating =
        json!({"type": "Terminating", "status": "True", "message": "instances remain"});
    assert_eq!(
        check(&crd(json!([established.clone(), terminating]))),
        (
            HealthStatus::Progressing,
            "CRD is terminating: instances remain".into()
        )
    );
    let violations =
        json!({"type": "NonStructuralSchema", "status": "True", "message": "bad schema"});
    assert_eq!(
        check(&crd(json!([established, violations]))),
        (
            HealthStatus::Degraded,
            "Schema violations found: bad schema".into()
        )
    );
}

#[test]
fn pod_disruption_budget_cases() {
    let pdb = |status: Value| json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "status": status});
    assert_eq!(
        check(&pdb(json!({}))),
        (HealthStatus::Progressing, "Waiting for status".into())
    );
    assert_eq!(
        check(&pdb(
            json!({"conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods"}]})
        )),
        (
            HealthStatus::Healthy,
            "PodDisruptionBudget has SufficientPods".into()
        )
    );
    assert_eq!(
        check(&pdb(
            json!({"conditions": [{"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods"}]})
        )),
        (
            HealthStatus::Healthy,
            "PodDisruptionBudget has InsufficientPods".into()
        )
    );
    assert_eq!(
        check(&pdb(
            json!({"conditions": [{"type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed"}]})
        )),
        (
            HealthStatus::Degraded,
            "PodDisruptionBudget has SyncFailed".into()
        )
    );
}
