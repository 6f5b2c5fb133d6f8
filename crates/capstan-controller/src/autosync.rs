//! Automated sync decisions (pure): a new commit syncs; drift is reverted only with selfHeal, with
//! backoff; a revision whose last sync failed (its retries included) is not tried again.

use std::time::Duration;

use capstan_types::{
    Application, Operation, OperationInitiator, OperationPhase, RetryStrategy, SyncOperation,
    SyncOperationResource, SyncStatusCode,
};

use crate::compare::Comparison;

/// What auto-sync wants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Nothing to do.
    Nothing,
    /// Not now; look again after this long (self-heal backoff).
    Later(Duration),
    /// Start this operation.
    Sync(Box<Operation>),
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The resources a self-heal syncs: the ones not in sync (hooks aside), as Argo CD selects them.
fn out_of_sync(comparison: &Comparison) -> Vec<SyncOperationResource> {
    comparison
        .resources
        .iter()
        .filter(|r| !r.hook && r.status != SyncStatusCode::Synced)
        .map(|r| SyncOperationResource {
            group: Some(r.key.group.clone()).filter(|g| !g.is_empty()),
            kind: r.key.kind.clone(),
            name: r.key.name.clone(),
            namespace: Some(r.key.namespace.clone()).filter(|n| !n.is_empty()),
            extra: Default::default(),
        })
        .collect()
}

/// Decides for an application that was just compared.
pub(crate) fn decide(
    app: &Application,
    comparison: &Comparison,
    revision: &str,
    desired_count: usize,
    backoff: (Duration, u32, Duration),
    now: chrono::DateTime<chrono::Utc>,
) -> Decision {
    let Some(automated) = app
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.automated.as_ref())
    else {
        return Decision::Nothing;
    };
    if automated.enabled == Some(false)
        || app.operation.is_some()
        || app.metadata.deletion_timestamp.is_some()
    {
        return Decision::Nothing;
    }
    if comparison.sync_status != SyncStatusCode::OutOfSync {
        return Decision::Nothing;
    }
    if desired_count == 0 && automated.allow_empty != Some(true) {
        return Decision::Nothing;
    }
    let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
    if let Some(state) = state
        && state.phase == OperationPhase::Running
    {
        return Decision::Nothing;
    }
    let mut attempts = 0;
    if let Some(state) = state
        && state.sync_result.as_ref().map(|r| r.revision.as_str()) == Some(revision)
    {
        if state.phase != OperationPhase::Succeeded {
            // the last sync of this revision failed (after its retries): it is not tried again
            // until a new commit or a manual sync; status shows a SyncError condition
            return Decision::Nothing;
        }
        if automated.self_heal != Some(true) {
            return Decision::Nothing;
        }
        attempts = state
            .operation
            .sync
            .as_ref()
            .and_then(|s| s.auto_heal_attempts_count)
            .unwrap_or(0)
            + 1;
        let (first, factor, cap) = backoff;
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(20);
        let delay = first
            .saturating_mul(factor.saturating_pow(exponent))
            .min(cap);
        if let Some(finished) = state.finished_at.as_deref().and_then(parse_time) {
            let ready = finished + chrono::Duration::from_std(delay).unwrap_or_default();
            if ready > now {
                return Decision::Later((ready - now).to_std().unwrap_or(delay));
            }
        }
    }
    Decision::Sync(Box::new(Operation {
        sync: Some(SyncOperation {
            revision: Some(revision.to_string()),
            prune: Some(automated.prune == Some(true)),
            auto_heal_attempts_count: (attempts > 0).then_some(attempts),
            // a self-heal syncs only what drifted (and so runs no hooks)
            resources: (attempts > 0).then(|| out_of_sync(comparison)),
            sync_options: Some(app.spec.sync_options().to_vec()).filter(|o| !o.is_empty()),
            ..Default::default()
        }),
        // Argo CD retries an automated sync 5 times unless the application says otherwise
        retry: Some(
            app.spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.retry.clone())
                .unwrap_or_else(|| RetryStrategy {
                    limit: Some(crate::retry::AUTOMATED_DEFAULT_LIMIT),
                    ..Default::default()
                }),
        ),
        initiated_by: Some(OperationInitiator {
            username: None,
            automated: Some(true),
            extra: Default::default(),
        }),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BACKOFF: (Duration, u32, Duration) =
        (Duration::from_secs(2), 3, Duration::from_secs(300));

    fn app(extra_status: serde_json::Value, self_heal: bool) -> Application {
        capstan_types::decode(&json!({"metadata": {"name": "a"},
            "spec": {"project": "default", "destination": {"server": "https://x", "namespace": "n"},
                "source": {"repoURL": "https://x"},
                "syncPolicy": {"automated": {"prune": true, "selfHeal": self_heal}}},
            "status": extra_status}))
        .unwrap()
    }

    fn cmp(status: SyncStatusCode) -> Comparison {
        let key = |name: &str| capstan_sync::ResourceKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "n".into(),
            name: name.into(),
        };
        let resource = |name: &str, status: SyncStatusCode| crate::compare::ResourceState {
            key: key(name),
            version: "v1".into(),
            target: None,
            live: None,
            status,
            hook: false,
            requires_pruning: false,
            wave: 0,
            health: None,
            diff: None,
            ignore_extraneous: false,
        };
        Comparison {
            resources: vec![
                resource("drifted", status),
                resource("fine", SyncStatusCode::Synced),
            ],
            sync_status: status,
            health: capstan_types::HealthStatus::Healthy,
            conditions: vec![],
        }
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        parse_time("2026-01-01T00:01:00Z").unwrap()
    }

    fn state(phase: &str, revision: &str, automated: bool, finished: &str) -> serde_json::Value {
        json!({"operationState": {"operation": {"sync": {"revision": revision}, "initiatedBy": {"automated": automated}},
            "phase": phase, "startedAt": "2026-01-01T00:00:00Z", "finishedAt": finished,
            "syncResult": {"revision": revision}}})
    }

    #[test]
    fn new_revision_syncs_with_prune() {
        let d = decide(
            &app(json!({}), false),
            &cmp(SyncStatusCode::OutOfSync),
            "abc",
            1,
            BACKOFF,
            now(),
        );
        let Decision::Sync(op) = d else {
            panic!("{d:?}")
        };
        assert_eq!(op.sync.as_ref().unwrap().prune, Some(true));
        assert_eq!(op.initiated_by.as_ref().unwrap().automated, Some(true));
        assert_eq!(
            decide(
                &app(json!({}), false),
                &cmp(SyncStatusCode::Synced),
                "abc",
                1,
                BACKOFF,
                now()
            ),
            Decision::Nothing
        );
        assert_eq!(
            decide(
                &app(json!({}), false),
                &cmp(SyncStatusCode::OutOfSync),
                "abc",
                0,
                BACKOFF,
                now()
            ),
            Decision::Nothing
        );
    }

    #[test]
    fn drift_needs_self_heal_and_backs_off() {
        let synced = state("Succeeded", "abc", true, "2026-01-01T00:00:59Z");
        assert_eq!(
            decide(
                &app(synced.clone(), false),
                &cmp(SyncStatusCode::OutOfSync),
                "abc",
                1,
                BACKOFF,
                now()
            ),
            Decision::Nothing
        );
        // finished 1 s ago, first backoff is 2 s
        assert!(matches!(
            decide(
                &app(synced, true),
                &cmp(SyncStatusCode::OutOfSync),
                "abc",
                1,
                BACKOFF,
                now()
            ),
            Decision::Later(_)
        ));
        let old = state("Succeeded", "abc", true, "2026-01-01T00:00:00Z");
        let Decision::Sync(op) = decide(
            &app(old, true),
            &cmp(SyncStatusCode::OutOfSync),
            "abc",
            1,
            BACKOFF,
            now(),
        ) else {
            panic!()
        };
        let sync = op.sync.unwrap();
        assert_eq!(sync.auto_heal_attempts_count, Some(1));
        // only the drifted resource is synced
        let selected: Vec<&str> = sync
            .resources
            .as_deref()
            .unwrap()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(selected, ["drifted"]);
    }

    #[test]
    fn failed_automated_revision_is_not_retried() {
        let failed = state("Failed", "abc", true, "2026-01-01T00:00:00Z");
        assert_eq!(
            decide(
                &app(failed.clone(), true),
                &cmp(SyncStatusCode::OutOfSync),
                "abc",
                1,
                BACKOFF,
                now()
            ),
            Decision::Nothing
        );
        // a new commit is tried
        assert!(matches!(
            decide(
                &app(failed, true),
                &cmp(SyncStatusCode::OutOfSync),
                "def",
                1,
                BACKOFF,
                now()
            ),
            Decision::Sync(_)
        ));
    }

    #[test]
    fn automated_operation_carries_retry_and_sync_options() {
        let Decision::Sync(op) = decide(
            &app(json!({}), false),
            &cmp(SyncStatusCode::OutOfSync),
            "abc",
            1,
            BACKOFF,
            now(),
        ) else {
            panic!()
        };
        assert_eq!(
            op.retry.as_ref().unwrap().limit,
            Some(5),
            "Argo CD's default"
        );
        let mut with_retry = app(json!({}), false);
        let policy = with_retry.spec.sync_policy.as_mut().unwrap();
        policy.retry = Some(RetryStrategy {
            limit: Some(2),
            ..Default::default()
        });
        policy.sync_options = Some(vec!["CreateNamespace=true".into()]);
        let Decision::Sync(op) = decide(
            &with_retry,
            &cmp(SyncStatusCode::OutOfSync),
            "abc",
            1,
            BACKOFF,
            now(),
        ) else {
            panic!()
        };
        assert_eq!(op.retry.unwrap().limit, Some(2));
        assert_eq!(
            op.sync.unwrap().sync_options.unwrap(),
            ["CreateNamespace=true"]
        );
    }

    #[test]
    fn a_failed_manual_sync_of_the_revision_also_stops_auto_sync() {
        let failed = state("Failed", "abc", false, "2026-01-01T00:00:00Z");
        assert_eq!(
            decide(
                &app(failed, false),
                &cmp(SyncStatusCode::OutOfSync),
                "abc",
                1,
                BACKOFF,
                now()
            ),
            Decision::Nothing
        );
    }
}
