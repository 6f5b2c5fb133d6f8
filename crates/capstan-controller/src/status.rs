//! Building `status` from a comparison (pure), and deciding whether it changed enough to be written.

use capstan_types::{
    AppHealthStatus, Application, ApplicationCondition, ApplicationConditionType,
    ApplicationSourceType, ApplicationStatus, ApplicationSummary, ComparedTo, OperationPhase,
    ResourceHealth, ResourceStatus, SyncStatus, SyncStatusCode,
};
use serde_json::Value;

use crate::compare::Comparison;

/// What a refresh learned.
pub struct RefreshOutcome<'a> {
    /// The comparison, or the error that prevented it.
    pub comparison: Result<&'a Comparison, String>,
    /// The resolved revision (commit), when generation worked.
    pub revision: Option<&'a str>,
    /// Detected source type.
    pub source_type: Option<ApplicationSourceType>,
    /// Extra conditions (project violations, spec errors).
    pub extra_conditions: Vec<(ApplicationConditionType, String)>,
    /// Now, RFC 3339.
    pub now: &'a str,
}

fn conditions(
    old: &ApplicationStatus,
    new: Vec<(ApplicationConditionType, String)>,
    now: &str,
) -> Option<Vec<ApplicationCondition>> {
    if new.is_empty() {
        return None;
    }
    let previous = old.conditions.as_deref().unwrap_or_default();
    let mut out: Vec<ApplicationCondition> = Vec::new();
    for (kind, message) in new {
        if out
            .iter()
            .any(|c| c.type_ == kind.as_str() && c.message == message)
        {
            continue;
        }
        let since = previous
            .iter()
            .find(|c| c.type_ == kind.as_str() && c.message == message)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| now.to_string());
        out.push(ApplicationCondition {
            type_: kind.as_str().to_string(),
            message,
            last_transition_time: Some(since),
            extra: Default::default(),
        });
    }
    Some(out)
}

fn images(obj: &Value, out: &mut Vec<String>) {
    let specs = [
        "/spec/template/spec",
        "/spec/jobTemplate/spec/template/spec",
        "/spec",
    ];
    for pointer in specs {
        let Some(spec) = obj.pointer(pointer) else {
            continue;
        };
        for list in ["initContainers", "containers"] {
            for c in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(image) = c.get("image").and_then(Value::as_str) {
                    out.push(image.to_string());
                }
            }
        }
        if spec.get("containers").is_some() {
            break;
        }
    }
}

fn external_urls(obj: &Value, out: &mut Vec<String>) {
    if obj.get("kind").and_then(Value::as_str) == Some("Ingress") {
        let tls = obj
            .pointer("/spec/tls")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        for rule in obj
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(host) = rule.get("host").and_then(Value::as_str) {
                out.push(format!("{}://{host}", if tls { "https" } else { "http" }));
            }
        }
    }
}

/// Argo CD's SyncError for an automated application whose last sync of the current revision failed
/// (after its retries): auto-sync does not try that revision again, and says so.
fn failed_sync_condition(
    app: &Application,
    sync_status: SyncStatusCode,
    revision: Option<&str>,
) -> Option<(ApplicationConditionType, String)> {
    let automated = app.spec.sync_policy.as_ref()?.automated.as_ref()?;
    if automated.enabled == Some(false) || app.operation.is_some() {
        return None;
    }
    let state = app.status.as_ref()?.operation_state.as_ref()?;
    let revision = revision?;
    let failed = state.phase.is_completed() && state.phase != OperationPhase::Succeeded;
    let same = state.sync_result.as_ref().map(|r| r.revision.as_str()) == Some(revision);
    (sync_status == SyncStatusCode::OutOfSync && failed && same).then(|| {
        (
            ApplicationConditionType::SyncError,
            format!(
                "Failed sync attempt to {revision}: {}",
                state.message.as_deref().unwrap_or_default()
            ),
        )
    })
}

/// The new status of `app` after a refresh. History and operation state are kept as they are.
pub fn build_status(app: &Application, outcome: &RefreshOutcome<'_>) -> ApplicationStatus {
    let old = app.status.clone().unwrap_or_default();
    let mut status = old.clone();
    status.reconciled_at = Some(outcome.now.to_string());
    let mut new_conditions = outcome.extra_conditions.clone();
    let compared_to = ComparedTo {
        source: app.spec.source.clone(),
        sources: app.spec.sources.clone(),
        destination: Some(app.spec.destination.clone()),
        ignore_differences: app.spec.ignore_differences.clone(),
        extra: Default::default(),
    };
    match &outcome.comparison {
        Ok(cmp) => {
            new_conditions.extend(cmp.conditions.iter().cloned());
            new_conditions.extend(failed_sync_condition(
                app,
                cmp.sync_status,
                outcome.revision,
            ));
            let mut summary_images = Vec::new();
            let mut urls = Vec::new();
            let resources: Vec<ResourceStatus> = cmp
                .resources
                .iter()
                .filter(|r| !r.hook || r.live.is_some())
                .map(|r| {
                    if let Some(live) = &r.live {
                        images(live, &mut summary_images);
                        external_urls(live, &mut urls);
                    }
                    ResourceStatus {
                        group: Some(r.key.group.clone()).filter(|g| !g.is_empty()),
                        version: Some(r.version.clone()),
                        kind: Some(r.key.kind.clone()),
                        namespace: Some(r.key.namespace.clone()).filter(|n| !n.is_empty()),
                        name: Some(r.key.name.clone()),
                        status: Some(r.status),
                        health: r.health.as_ref().map(|h| ResourceHealth {
                            status: Some(h.status),
                            message: Some(h.message.clone()).filter(|m| !m.is_empty()),
                            extra: Default::default(),
                        }),
                        hook: r.hook.then_some(true),
                        requires_pruning: r.requires_pruning.then_some(true),
                        sync_wave: (r.wave != 0).then_some(i64::from(r.wave)),
                        requires_deletion_confirmation: None,
                        extra: Default::default(),
                    }
                })
                .collect();
            summary_images.sort();
            summary_images.dedup();
            urls.sort();
            urls.dedup();
            status.resources = Some(resources);
            status.summary = Some(ApplicationSummary {
                external_urls: Some(urls).filter(|u| !u.is_empty()),
                images: Some(summary_images).filter(|i| !i.is_empty()),
                extra: Default::default(),
            });
            status.sync = Some(SyncStatus {
                status: cmp.sync_status,
                compared_to: Some(compared_to),
                revision: outcome.revision.map(str::to_string),
                revisions: None,
                extra: Default::default(),
            });
            let since = match &old.health {
                Some(h) if h.status == cmp.health => h.last_transition_time.clone(),
                _ => None,
            };
            status.health = Some(AppHealthStatus {
                status: cmp.health,
                message: None,
                last_transition_time: since.or_else(|| Some(outcome.now.to_string())),
                extra: Default::default(),
            });
        }
        Err(message) => {
            new_conditions.push((ApplicationConditionType::ComparisonError, message.clone()));
            status.sync = Some(SyncStatus {
                status: SyncStatusCode::Unknown,
                compared_to: Some(compared_to),
                revision: outcome
                    .revision
                    .map(str::to_string)
                    .or_else(|| old.sync.as_ref().and_then(|s| s.revision.clone())),
                revisions: None,
                extra: Default::default(),
            });
        }
    }
    if outcome.source_type.is_some() {
        status.source_type = outcome.source_type;
    }
    status.conditions = conditions(&old, new_conditions, outcome.now);
    if status.controller_namespace.is_none() {
        status.controller_namespace = app.metadata.namespace.clone();
    }
    status
}

/// True when `new` differs from `old` in anything but `reconciledAt` (a pass that changed nothing
/// writes nothing).
pub fn status_changed(old: Option<&ApplicationStatus>, new: &ApplicationStatus) -> bool {
    let Some(old) = old else { return true };
    let mut a = old.clone();
    let mut b = new.clone();
    a.reconciled_at = None;
    b.reconciled_at = None;
    a != b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Comparison, ResourceState};
    use capstan_sync::ResourceKey;
    use capstan_types::HealthStatus;
    use serde_json::json;

    fn app() -> Application {
        capstan_types::decode(&json!({"metadata": {"name": "a", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                "source": {"repoURL": "https://x", "path": "p"}}}))
        .unwrap()
    }

    fn comparison(status: SyncStatusCode) -> Comparison {
        Comparison {
            resources: vec![ResourceState {
                key: ResourceKey {
                    group: "apps".into(),
                    kind: "Deployment".into(),
                    namespace: "x".into(),
                    name: "web".into(),
                },
                version: "v1".into(),
                target: Some(json!({})),
                live: Some(std::sync::Arc::new(json!({"kind": "Deployment",
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}))),
                status,
                hook: false,
                requires_pruning: false,
                wave: 0,
                health: Some(capstan_health::HealthResult::new(HealthStatus::Healthy, "")),
                diff: None,
                ignore_extraneous: false,
            }],
            sync_status: status,
            health: HealthStatus::Healthy,
            conditions: vec![],
        }
    }

    #[test]
    fn unchanged_refresh_writes_nothing() {
        let mut a = app();
        let cmp = comparison(SyncStatusCode::Synced);
        let outcome = |now| RefreshOutcome {
            comparison: Ok(&cmp),
            revision: Some("abc"),
            source_type: Some(ApplicationSourceType::Directory),
            extra_conditions: vec![],
            now,
        };
        let first = build_status(&a, &outcome("2026-01-01T00:00:00Z"));
        assert!(status_changed(a.status.as_ref(), &first));
        assert_eq!(
            first.summary.as_ref().unwrap().images.as_deref(),
            Some(&["nginx:1.27".to_string()][..])
        );
        a.status = Some(first.clone());
        let second = build_status(&a, &outcome("2026-01-01T00:05:00Z"));
        assert!(
            !status_changed(a.status.as_ref(), &second),
            "only reconciledAt moved"
        );
        let cmp2 = comparison(SyncStatusCode::OutOfSync);
        let third = build_status(
            &a,
            &RefreshOutcome {
                comparison: Ok(&cmp2),
                ..outcome("2026-01-01T00:06:00Z")
            },
        );
        assert!(status_changed(a.status.as_ref(), &third));
    }

    #[test]
    fn comparison_error_is_a_condition_and_unknown() {
        let a = app();
        let status = build_status(
            &a,
            &RefreshOutcome {
                comparison: Err("rendering p: bad.yaml:3:1: malformed YAML".into()),
                revision: None,
                source_type: None,
                extra_conditions: vec![],
                now: "2026-01-01T00:00:00Z",
            },
        );
        assert_eq!(status.sync.unwrap().status, SyncStatusCode::Unknown);
        let conditions = status.conditions.unwrap();
        assert_eq!(conditions[0].type_, "ComparisonError");
        assert!(conditions[0].message.contains("bad.yaml:3:1"));
    }

    #[test]
    fn failed_automated_revision_is_a_sync_error() {
        let mut a: Application = capstan_types::decode(&json!({"metadata": {"name": "a"},
            "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                "source": {"repoURL": "https://x", "path": "p"}, "syncPolicy": {"automated": {}}},
            "status": {"operationState": {"operation": {"sync": {}}, "phase": "Failed",
                "message": "one or more objects failed to apply (retried 5 times).",
                "startedAt": "2026-01-01T00:00:00Z", "syncResult": {"revision": "abc"}}}}))
        .unwrap();
        let cmp = comparison(SyncStatusCode::OutOfSync);
        let outcome = |revision| RefreshOutcome {
            comparison: Ok(&cmp),
            revision: Some(revision),
            source_type: None,
            extra_conditions: vec![],
            now: "2026-01-01T00:01:00Z",
        };
        let status = build_status(&a, &outcome("abc"));
        let conditions = status.conditions.unwrap();
        assert_eq!(conditions[0].type_, "SyncError");
        assert_eq!(
            conditions[0].message,
            "Failed sync attempt to abc: one or more objects failed to apply (retried 5 times)."
        );
        // a new commit: no condition (auto-sync tries it)
        assert!(build_status(&a, &outcome("def")).conditions.is_none());
        // manual sync policy: no condition
        a.spec.sync_policy = None;
        assert!(build_status(&a, &outcome("abc")).conditions.is_none());
    }
}
