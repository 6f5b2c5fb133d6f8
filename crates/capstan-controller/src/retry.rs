//! Retries of failed sync operations (pure), as Argo CD does them: a failed operation whose
//! `operation.retry.limit` allows another attempt goes back to Running with `retryCount` raised, the
//! message "<failure>. Retrying attempt #N at <time>." and `finishedAt` set to the failure time; the
//! next attempt starts once `duration * factor^(retryCount-1)` (capped at `maxDuration`) has passed.

use std::time::Duration;

use capstan_types::{OperationPhase, OperationState, RetryStrategy};
use chrono::{DateTime, Utc};

/// Argo CD's defaults when `backoff` leaves a field out: 5 s, factor 2, at most 3 minutes.
pub(crate) const DEFAULT_DURATION: Duration = Duration::from_secs(5);
/// Default factor.
pub(crate) const DEFAULT_FACTOR: i64 = 2;
/// Default cap.
pub(crate) const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(180);
/// The retry limit of an automated sync when `spec.syncPolicy.retry` is not set.
pub(crate) const AUTOMATED_DEFAULT_LIMIT: i64 = 5;

/// The time of the attempt after `retry_count` earlier retries, counted from `last_attempt`.
/// A backoff field that does not parse is an error naming it.
pub(crate) fn next_retry_at(
    strategy: &RetryStrategy,
    last_attempt: DateTime<Utc>,
    retry_count: i64,
) -> Result<DateTime<Utc>, String> {
    let backoff = strategy.backoff.as_ref();
    let parse = |field: &str, text: Option<&String>, default: Duration| match text
        .map(String::as_str)
        .filter(|t| !t.is_empty())
    {
        None => Ok(default),
        Some(t) => capstan_types::duration::parse_duration(t)
            .map_err(|e| format!("retry.backoff.{field}: {e}")),
    };
    let duration = parse(
        "duration",
        backoff.and_then(|b| b.duration.as_ref()),
        DEFAULT_DURATION,
    )?;
    let max = parse(
        "maxDuration",
        backoff.and_then(|b| b.max_duration.as_ref()),
        DEFAULT_MAX_DURATION,
    )?;
    let factor = backoff.and_then(|b| b.factor).unwrap_or(DEFAULT_FACTOR);
    let exponent = i32::try_from(retry_count.clamp(0, 64)).unwrap_or(64);
    let mut wait = duration.as_secs_f64() * (factor as f64).powi(exponent);
    if !max.is_zero() {
        wait = wait.min(max.as_secs_f64());
    }
    // a huge or negative product (factor 0, overflow) is bounded rather than refused
    let wait = if wait.is_finite() && wait > 0.0 {
        Duration::from_secs_f64(wait.min(1e9))
    } else {
        Duration::ZERO
    };
    Ok(last_attempt + chrono::Duration::from_std(wait).unwrap_or_default())
}

/// True when the strategy allows another retry after `retry_count` retries (a negative limit is
/// unlimited, 0 or absent means none).
pub(crate) fn allows_retry(strategy: Option<&RetryStrategy>, retry_count: i64) -> bool {
    match strategy.and_then(|s| s.limit) {
        Some(limit) if limit < 0 => true,
        Some(limit) => retry_count < limit,
        None => false,
    }
}

/// Turns a failed operation into a pending retry when its strategy allows one, as Argo CD does.
/// Returns the time of the next attempt; otherwise marks how many retries were made.
pub(crate) fn after_failure(
    state: &mut OperationState,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let count = state.retry_count.unwrap_or(0);
    let message = state.message.clone().unwrap_or_default();
    if !allows_retry(state.operation.retry.as_ref(), count) {
        if count > 0 {
            state.message = Some(format!("{message} (retried {count} times)."));
        }
        return None;
    }
    let strategy = state.operation.retry.clone().unwrap_or_default();
    state.finished_at = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    match next_retry_at(&strategy, now, count) {
        Err(err) => {
            state.phase = OperationPhase::Failed;
            state.message = Some(format!("{message} (failed to retry: {err})"));
            None
        }
        Ok(at) => {
            state.phase = OperationPhase::Running;
            state.retry_count = Some(count + 1);
            state.message = Some(format!(
                "{message}. Retrying attempt #{} at {}.",
                count + 1,
                at.format("%-I:%M%p")
            ));
            Some(at)
        }
    }
}

/// For an operation waiting for its next attempt (Running with `finishedAt` set): how long to
/// wait still, or `None` when the attempt is due.
pub(crate) fn pending_wait(
    state: &OperationState,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, String> {
    let Some(finished) = state.finished_at.as_deref() else {
        return Ok(None);
    };
    let finished = DateTime::parse_from_rfc3339(finished)
        .map_err(|e| format!("operationState.finishedAt {finished:?}: {e}"))?
        .with_timezone(&Utc);
    let strategy = state.operation.retry.clone().unwrap_or_default();
    // retryCount was raised when the failure was recorded; the wait is the one computed then
    let at = next_retry_at(
        &strategy,
        finished,
        state.retry_count.unwrap_or(1).saturating_sub(1),
    )?;
    Ok((at > now).then(|| (at - now).to_std().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategy(value: serde_json::Value) -> RetryStrategy {
        serde_json::from_value(value).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn backoff_grows_by_factor_and_is_capped() {
        let s = strategy(
            json!({"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}),
        );
        let start = at("2026-01-01T00:00:00Z");
        let waits: Vec<i64> = (0..8)
            .map(|n| (next_retry_at(&s, start, n).unwrap() - start).num_seconds())
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 180, 180]);
        // defaults: 5 s, factor 2, 3 min
        let d = RetryStrategy::default();
        assert_eq!(
            (next_retry_at(&d, start, 1).unwrap() - start).num_seconds(),
            10
        );
        // plain numbers are seconds
        let s = strategy(json!({"backoff": {"duration": "7", "factor": 3}}));
        assert_eq!(
            (next_retry_at(&s, start, 2).unwrap() - start).num_seconds(),
            63
        );
        let bad = strategy(json!({"backoff": {"duration": "soon"}}));
        let err = next_retry_at(&bad, start, 0).unwrap_err();
        assert!(err.contains("retry.backoff.duration"), "{err}");
    }

    #[test]
    fn limits() {
        let s = |limit: i64| strategy(json!({ "limit": limit }));
        assert!(!allows_retry(None, 0));
        assert!(!allows_retry(Some(&s(0)), 0));
        assert!(allows_retry(Some(&s(2)), 1));
        assert!(!allows_retry(Some(&s(2)), 2));
        assert!(allows_retry(Some(&s(-1)), 1000));
    }

    fn failed(retry: serde_json::Value, count: Option<i64>) -> OperationState {
        serde_json::from_value(json!({"operation": {"sync": {}, "retry": retry},
            "phase": "Failed", "message": "one or more objects failed to apply",
            "startedAt": "2026-01-01T00:00:00Z", "retryCount": count}))
        .unwrap()
    }

    #[test]
    fn a_failure_becomes_a_retry_until_the_limit() {
        let now = at("2026-01-01T14:05:00Z");
        let mut state = failed(json!({"limit": 2}), None);
        let next = after_failure(&mut state, now).unwrap();
        assert_eq!((next - now).num_seconds(), 5);
        assert_eq!(state.phase, OperationPhase::Running);
        assert_eq!(state.retry_count, Some(1));
        assert_eq!(
            state.message.as_deref(),
            Some("one or more objects failed to apply. Retrying attempt #1 at 2:05PM.")
        );
        assert_eq!(state.finished_at.as_deref(), Some("2026-01-01T14:05:00Z"));
        // still waiting 1 s later, due 5 s later
        let wait = pending_wait(&state, at("2026-01-01T14:05:01Z")).unwrap();
        assert_eq!(wait, Some(Duration::from_secs(4)));
        assert_eq!(
            pending_wait(&state, at("2026-01-01T14:05:05Z")).unwrap(),
            None
        );

        let mut state = failed(json!({"limit": 2}), Some(2));
        assert!(after_failure(&mut state, now).is_none());
        assert_eq!(state.phase, OperationPhase::Failed);
        assert_eq!(
            state.message.as_deref(),
            Some("one or more objects failed to apply (retried 2 times).")
        );

        let mut state = failed(json!({}), None);
        assert!(after_failure(&mut state, now).is_none());
        assert_eq!(
            state.message.as_deref(),
            Some("one or more objects failed to apply")
        );
    }
}
