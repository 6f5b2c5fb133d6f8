//! Sync windows of a project (pure), evaluated as Argo CD does (`SyncWindows.Matches` / `Active` /
//! `CanSync`): a window applies to an application when one of its `applications`, `namespaces` or
//! `clusters` globs matches (all of the given lists with `andOperator`); it is active when one of
//! its cron start times (5 fields, in its `timeZone`) lies within the last `duration`.
//!
//! No matching window: every sync may run. An active deny window blocks, unless the sync is manual
//! and every active deny window has `manualSync`. Otherwise an active allow window lets it run; and
//! when allow windows match but none is active, only a manual sync with `manualSync` on all of them
//! may run.
//!
//! Public so the API server can report an application's windows and refuse a blocked manual sync.

use std::str::FromStr;

use capstan_types::{AppProject, Application, SyncWindow, SyncWindowKind};
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::projects::glob_match;

/// Argo CD's operation message while a window blocks a sync.
pub const BLOCKED_MESSAGE: &str = "Sync operation blocked by sync window";

fn describe(index: usize, window: &SyncWindow) -> String {
    format!(
        "syncWindows[{index}] ({} {:?})",
        window.kind.map(|k| k.as_str()).unwrap_or("?"),
        window.schedule.as_deref().unwrap_or_default()
    )
}

fn any_glob(patterns: &[String], value: &str) -> bool {
    !value.is_empty() && patterns.iter().any(|p| glob_match(p, value))
}

/// True when the window applies to the application.
pub fn matches(window: &SyncWindow, app: &Application) -> bool {
    let dest = &app.spec.destination;
    let apps = window.applications.as_deref().unwrap_or_default();
    let namespaces = window.namespaces.as_deref().unwrap_or_default();
    let clusters = window.clusters.as_deref().unwrap_or_default();
    let checks = [
        (!apps.is_empty()).then(|| any_glob(apps, app.name())),
        (!namespaces.is_empty())
            .then(|| any_glob(namespaces, dest.namespace.as_deref().unwrap_or_default())),
        (!clusters.is_empty()).then(|| {
            any_glob(clusters, dest.name.as_deref().unwrap_or_default())
                || any_glob(clusters, dest.server.as_deref().unwrap_or_default())
        }),
    ];
    let given: Vec<bool> = checks.into_iter().flatten().collect();
    if given.is_empty() {
        return false;
    }
    if window.and_operator == Some(true) {
        given.iter().all(|m| *m)
    } else {
        given.iter().any(|m| *m)
    }
}

fn parse_schedule(index: usize, window: &SyncWindow) -> Result<Cron, String> {
    let schedule = window.schedule.as_deref().unwrap_or_default();
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(schedule)
        .map_err(|e| {
            format!(
                "{}: schedule is not a 5-field cron expression: {e}",
                describe(index, window)
            )
        })
}

/// True when the window is open at `now`. A schedule, duration or time zone that does not parse is
/// an error naming the window.
pub fn is_active(index: usize, window: &SyncWindow, now: DateTime<Utc>) -> Result<bool, String> {
    let cron = parse_schedule(index, window)?;
    let duration_text = window.duration.as_deref().unwrap_or_default();
    let duration = capstan_types::duration::parse_duration(duration_text)
        .map_err(|e| format!("{}: duration: {e}", describe(index, window)))?;
    let duration = chrono::Duration::from_std(duration)
        .map_err(|e| format!("{}: duration: {e}", describe(index, window)))?;
    let zone = match window.time_zone.as_deref().filter(|z| !z.is_empty()) {
        None => chrono_tz::UTC,
        Some(name) => chrono_tz::Tz::from_str(name).map_err(|_| {
            format!(
                "{}: timeZone {name:?} is not a known time zone",
                describe(index, window)
            )
        })?,
    };
    // the latest start before now that is less than `duration` ago: the first start after
    // (now - duration) must come before now
    let from = (now - duration).with_timezone(&zone);
    match cron.find_next_occurrence(&from, false) {
        Ok(start) => Ok(start.with_timezone(&Utc) < now),
        Err(croner::errors::CronError::TimeSearchLimitExceeded) => Ok(false),
        Err(e) => Err(format!("{}: {e}", describe(index, window))),
    }
}

/// Whether the project's windows let this application sync now. `Err` names a window that cannot
/// be evaluated; such a window blocks, as in Argo CD.
pub fn can_sync(
    project: &AppProject,
    app: &Application,
    manual: bool,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let windows = project.spec.sync_windows.as_deref().unwrap_or_default();
    let mut active_deny: Vec<&SyncWindow> = Vec::new();
    let mut active_allow = false;
    let mut inactive_allow: Vec<&SyncWindow> = Vec::new();
    for (index, window) in windows.iter().enumerate() {
        if !matches(window, app) {
            continue;
        }
        let active = is_active(index, window, now)?;
        match (window.kind, active) {
            (Some(SyncWindowKind::Deny), true) => active_deny.push(window),
            (Some(SyncWindowKind::Allow), true) => active_allow = true,
            (Some(SyncWindowKind::Allow), false) => inactive_allow.push(window),
            (None, _) => {
                return Err(format!(
                    "{}: kind must be allow or deny",
                    describe(index, window)
                ));
            }
            _ => {}
        }
    }
    let manual_enabled = |list: &[&SyncWindow]| list.iter().all(|w| w.manual_sync == Some(true));
    if !active_deny.is_empty() {
        return Ok(manual && manual_enabled(&active_deny));
    }
    if active_allow {
        return Ok(true);
    }
    if !inactive_allow.is_empty() {
        return Ok(manual && manual_enabled(&inactive_allow));
    }
    Ok(true)
}

/// Whether an operation that started at `started_at` may go on at `now` (checked between its
/// steps). Where [`can_sync`] says no, `syncOverrun` lets it go on: past an active deny window
/// when every active deny window has `syncOverrun` and none was active yet when the operation
/// started; past the end of allow windows when one with `syncOverrun` was active when it started.
pub fn can_continue(
    project: &AppProject,
    app: &Application,
    manual: bool,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    if can_sync(project, app, manual, now)? {
        return Ok(true);
    }
    let windows = project.spec.sync_windows.as_deref().unwrap_or_default();
    let mut active_deny = 0;
    let mut deny_overrun = true;
    let mut allow_at_start_with_overrun = false;
    for (index, window) in windows.iter().enumerate() {
        if !matches(window, app) {
            continue;
        }
        let overrun = window.sync_overrun == Some(true);
        match window.kind {
            Some(SyncWindowKind::Deny) if is_active(index, window, now)? => {
                active_deny += 1;
                deny_overrun &= overrun && !is_active(index, window, started_at)?;
            }
            Some(SyncWindowKind::Allow) if overrun && is_active(index, window, started_at)? => {
                allow_at_start_with_overrun = true;
            }
            _ => {}
        }
    }
    if active_deny > 0 {
        return Ok(deny_overrun);
    }
    Ok(allow_at_start_with_overrun)
}

/// The windows of an application, as Argo CD's `GET /api/v1/applications/{name}/syncwindows`
/// reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationWindows<'a> {
    /// Windows that apply to the application.
    pub assigned: Vec<&'a SyncWindow>,
    /// Those of them open now.
    pub active: Vec<&'a SyncWindow>,
    /// Whether a manual sync may run now.
    pub can_sync: bool,
}

/// The windows of `app` in `project` at `now`. A window that cannot be evaluated is an error
/// naming it.
pub fn application_windows<'a>(
    project: &'a AppProject,
    app: &Application,
    now: DateTime<Utc>,
) -> Result<ApplicationWindows<'a>, String> {
    let windows = project.spec.sync_windows.as_deref().unwrap_or_default();
    let mut assigned = Vec::new();
    let mut active = Vec::new();
    for (index, window) in windows.iter().enumerate() {
        if !matches(window, app) {
            continue;
        }
        assigned.push(window);
        if is_active(index, window, now)? {
            active.push(window);
        }
    }
    Ok(ApplicationWindows {
        assigned,
        active,
        can_sync: can_sync(project, app, true, now)?,
    })
}

/// `None` when the sync may run; otherwise the operation message saying why it waits. An
/// operation already under way (`started_at`) is judged by [`can_continue`].
pub(crate) fn blocked_message(
    project: &AppProject,
    app: &Application,
    manual: bool,
    started_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<String> {
    let verdict = match started_at {
        Some(started) => can_continue(project, app, manual, started, now),
        None => can_sync(project, app, manual, now),
    };
    match verdict {
        Ok(true) => None,
        Ok(false) => Some(BLOCKED_MESSAGE.to_string()),
        Err(err) => Some(format!("{BLOCKED_MESSAGE}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn project(windows: Value) -> AppProject {
        capstan_types::decode(&json!({"metadata": {"name": "p"}, "spec": {"syncWindows": windows}}))
            .unwrap()
    }

    fn app(name: &str, ns: &str) -> Application {
        capstan_types::decode(&json!({"metadata": {"name": name}, "spec": {"project": "p",
            "source": {"repoURL": "https://x"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}}}))
        .unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window(value: Value) -> SyncWindow {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn active_within_duration_after_a_start() {
        let w = window(json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "1h"}));
        assert!(!is_active(0, &w, at("2026-03-02T21:59:00Z")).unwrap());
        assert!(is_active(0, &w, at("2026-03-02T22:00:30Z")).unwrap());
        assert!(is_active(0, &w, at("2026-03-02T22:59:00Z")).unwrap());
        assert!(!is_active(0, &w, at("2026-03-02T23:00:01Z")).unwrap());
        // a window crossing midnight
        let w = window(json!({"kind": "deny", "schedule": "30 23 * * *", "duration": "2h"}));
        assert!(is_active(0, &w, at("2026-03-03T01:00:00Z")).unwrap());
        // weekdays only (2026-03-07 is a Saturday)
        let w = window(json!({"kind": "allow", "schedule": "0 9 * * 1-5", "duration": "8h"}));
        assert!(is_active(0, &w, at("2026-03-06T12:00:00Z")).unwrap());
        assert!(!is_active(0, &w, at("2026-03-07T12:00:00Z")).unwrap());
    }

    #[test]
    fn time_zone_shifts_the_schedule() {
        // 22:00 in Berlin is 21:00 UTC in winter (CET, UTC+1)
        let w = window(
            json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
            "timeZone": "Europe/Berlin"}),
        );
        assert!(is_active(0, &w, at("2026-01-10T21:30:00Z")).unwrap());
        assert!(!is_active(0, &w, at("2026-01-10T22:30:00Z")).unwrap());
        let bad = window(
            json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
            "timeZone": "Mars/Olympus"}),
        );
        let err = is_active(3, &bad, at("2026-01-10T21:30:00Z")).unwrap_err();
        assert!(
            err.contains("syncWindows[3]") && err.contains("Mars/Olympus"),
            "{err}"
        );
    }

    #[test]
    fn bad_schedule_and_duration_are_named() {
        let w = window(json!({"kind": "deny", "schedule": "0 22 * *", "duration": "1h"}));
        let err = is_active(1, &w, at("2026-01-10T21:30:00Z")).unwrap_err();
        assert!(
            err.contains("syncWindows[1]") && err.contains("cron"),
            "{err}"
        );
        let w = window(json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "an hour"}));
        let err = is_active(0, &w, at("2026-01-10T21:30:00Z")).unwrap_err();
        assert!(err.contains("duration"), "{err}");
    }

    #[test]
    fn matching_by_application_namespace_and_cluster() {
        let a = app("prod-web", "web");
        let w = |v: Value| window(v);
        assert!(matches(&w(json!({"applications": ["prod-*"]})), &a));
        assert!(!matches(&w(json!({"applications": ["dev-*"]})), &a));
        assert!(matches(&w(json!({"namespaces": ["we?"]})), &a));
        assert!(matches(
            &w(json!({"clusters": ["https://kubernetes.*"]})),
            &a
        ));
        // or by default, and with andOperator
        let mixed = json!({"applications": ["prod-*"], "namespaces": ["other"]});
        assert!(matches(&w(mixed.clone()), &a));
        let mut and = mixed;
        and["andOperator"] = json!(true);
        assert!(!matches(&w(and), &a));
        // a window without selectors matches nothing
        assert!(!matches(&w(json!({"kind": "deny"})), &a));
    }

    #[test]
    fn deny_allow_and_manual_sync() {
        let now = at("2026-03-02T22:30:00Z");
        let a = app("web", "web");
        let deny = |manual: bool| {
            json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
                "applications": ["*"], "manualSync": manual})
        };
        let allow = |schedule: &str, manual: bool| {
            json!({"kind": "allow", "schedule": schedule, "duration": "1h",
                "applications": ["*"], "manualSync": manual})
        };
        // no windows
        assert!(can_sync(&project(json!([])), &a, false, now).unwrap());
        // an active deny blocks automated syncs; manual ones only with manualSync
        let p = project(json!([deny(false)]));
        assert!(!can_sync(&p, &a, false, now).unwrap());
        assert!(!can_sync(&p, &a, true, now).unwrap());
        let p = project(json!([deny(true)]));
        assert!(!can_sync(&p, &a, false, now).unwrap());
        assert!(can_sync(&p, &a, true, now).unwrap());
        // deny wins over an active allow
        let p = project(json!([deny(false), allow("0 22 * * *", false)]));
        assert!(!can_sync(&p, &a, false, now).unwrap());
        // an active allow permits
        let p = project(json!([allow("0 22 * * *", false)]));
        assert!(can_sync(&p, &a, false, now).unwrap());
        // only inactive allows: blocked, manual only with manualSync
        let p = project(json!([allow("0 8 * * *", false)]));
        assert!(!can_sync(&p, &a, false, now).unwrap());
        assert!(!can_sync(&p, &a, true, now).unwrap());
        let p = project(json!([allow("0 8 * * *", true)]));
        assert!(can_sync(&p, &a, true, now).unwrap());
        // windows of other applications do not apply
        let p = project(
            json!([{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
            "applications": ["other"]}]),
        );
        assert!(can_sync(&p, &a, false, now).unwrap());
        assert_eq!(
            blocked_message(&project(json!([deny(false)])), &a, false, None, now).as_deref(),
            Some(BLOCKED_MESSAGE)
        );
        let broken = project(
            json!([{"kind": "deny", "schedule": "nope", "duration": "1h",
            "applications": ["*"]}]),
        );
        let message = blocked_message(&broken, &a, true, None, now).unwrap();
        assert!(
            message.starts_with("Sync operation blocked by sync window: syncWindows[0]"),
            "{message}"
        );
    }

    #[test]
    fn sync_overrun_lets_a_running_sync_go_on() {
        let a = app("web", "web");
        let started = at("2026-03-02T21:50:00Z");
        let now = at("2026-03-02T22:10:00Z");
        let deny = |overrun: bool| {
            json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
                "applications": ["*"], "syncOverrun": overrun})
        };
        // a deny window opened after the sync started: only with syncOverrun may it go on
        assert!(!can_continue(&project(json!([deny(false)])), &a, false, started, now).unwrap());
        assert!(can_continue(&project(json!([deny(true)])), &a, false, started, now).unwrap());
        // started inside the deny window (held, then let through manually): overrun does not apply
        let inside = at("2026-03-02T22:05:00Z");
        assert!(!can_continue(&project(json!([deny(true)])), &a, false, inside, now).unwrap());
        // an allow window that closed while the sync ran
        let allow = |overrun: bool| {
            json!({"kind": "allow", "schedule": "0 21 * * *", "duration": "1h",
                "applications": ["*"], "syncOverrun": overrun})
        };
        assert!(!can_continue(&project(json!([allow(false)])), &a, false, started, now).unwrap());
        assert!(can_continue(&project(json!([allow(true)])), &a, false, started, now).unwrap());
        assert_eq!(
            blocked_message(&project(json!([deny(true)])), &a, false, Some(started), now),
            None
        );
        assert_eq!(
            blocked_message(&project(json!([deny(true)])), &a, false, None, now).as_deref(),
            Some(BLOCKED_MESSAGE)
        );
    }

    #[test]
    fn application_windows_for_the_api() {
        let a = app("web", "web");
        let now = at("2026-03-02T22:30:00Z");
        let p = project(json!([
            {"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "applications": ["web"], "manualSync": true},
            {"kind": "allow", "schedule": "0 8 * * *", "duration": "1h", "applications": ["web"]},
            {"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "applications": ["other"]}
        ]));
        let w = application_windows(&p, &a, now).unwrap();
        assert_eq!(w.assigned.len(), 2);
        assert_eq!(w.active.len(), 1);
        assert_eq!(w.active[0].kind, Some(SyncWindowKind::Deny));
        assert!(w.can_sync, "manual sync allowed by the active deny window");
    }
}
