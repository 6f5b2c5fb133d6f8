//! Waiting for an application: `app wait`, `app sync`, `app rollback` and `app delete --wait`.
//! Polls the application once a second; on a terminal it shows each resource (phase, wave, sync
//! and health) as it changes above a progress bar with the elapsed time, otherwise plain lines.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use capstan_client::watch::AppEvent;
use capstan_client::{ApiClient, ClientError};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::cmd::output::s;

/// What to wait for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    pub sync: bool,
    pub health: bool,
    pub operation: bool,
    pub deleted: bool,
}

/// How a wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// Everything wanted was reached; the last application seen (None when deleted).
    Done(Option<Value>),
    /// The operation ended as Failed or Error (with its message).
    Failed(Value, String),
    /// The timeout passed; the text says what was still pending.
    TimedOut(String),
}

const TERMINAL: [&str; 3] = ["Succeeded", "Failed", "Error"];

fn operation_done(app: &Value) -> bool {
    app.get("operation").is_none_or(Value::is_null)
        && TERMINAL.contains(&s(app, "/status/operationState/phase"))
}

/// One line per resource: `phase  wave  group/kind  namespace/name  sync  health  message`.
pub fn resource_lines(app: &Value) -> BTreeMap<String, String> {
    let mut lines = BTreeMap::new();
    let results: Vec<&Value> = app
        .pointer("/status/operationState/syncResult/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let id = |r: &Value| {
        let g = s(r, "/group");
        let kind = if g.is_empty() {
            s(r, "/kind").to_string()
        } else {
            format!("{g}/{}", s(r, "/kind"))
        };
        let ns = s(r, "/namespace");
        let name = if ns.is_empty() {
            s(r, "/name").to_string()
        } else {
            format!("{ns}/{}", s(r, "/name"))
        };
        format!("{kind} {name}")
    };
    for r in app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = id(r);
        let result = results.iter().find(|x| id(x) == key);
        let phase = result.map(|x| s(x, "/syncPhase")).unwrap_or("");
        let wave = r.get("syncWave").and_then(Value::as_i64).unwrap_or(0);
        let msg = result
            .map(|x| s(x, "/message"))
            .unwrap_or("")
            .replace('\n', " ");
        let phase = if phase.is_empty() { "Sync" } else { phase };
        lines.insert(
            key.clone(),
            format!(
                "{phase:<8} wave {wave:<3} {key}  {}  {}  {msg}",
                s(r, "/status"),
                s(r, "/health/status")
            )
            .trim_end()
            .to_string(),
        );
    }
    for x in results.iter().filter(|x| !s(x, "/hookType").is_empty()) {
        let key = id(x);
        lines.entry(key.clone()).or_insert_with(|| {
            format!(
                "{:<8} hook {} {key}  {}  {}",
                s(x, "/syncPhase"),
                s(x, "/hookType"),
                s(x, "/hookPhase"),
                s(x, "/message").replace('\n', " ")
            )
            .trim_end()
            .to_string()
        });
    }
    lines
}

/// Lines sort by phase (PreSync, Sync, PostSync, SyncFail), then wave, then resource.
pub fn display_order(line: &str) -> (u8, i64, String) {
    let mut words = line.split_whitespace();
    let rank = match words.next() {
        Some("PreSync") => 0,
        Some("Sync") => 1,
        Some("PostSync") => 2,
        Some("SyncFail") => 3,
        _ => 4,
    };
    let wave = match (words.next(), words.next()) {
        (Some("wave"), Some(n)) => n.parse().unwrap_or(0),
        _ => 0,
    };
    (rank, wave, line.to_string())
}

/// The progress bar's look: elapsed time, bar, resources ready, state.
pub const BAR_TEMPLATE: &str =
    "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} resources ready  {msg}";

/// What is still missing, for the timeout message.
pub fn pending(app: Option<&Value>, want: Want) -> String {
    let Some(app) = app else {
        return "the application was never read".into();
    };
    let mut out = Vec::new();
    if want.deleted {
        out.push("the application still exists".to_string());
    }
    if want.operation && !operation_done(app) {
        let phase = s(app, "/status/operationState/phase");
        out.push(format!(
            "operation {}",
            if phase.is_empty() {
                "not started"
            } else {
                phase
            }
        ));
    }
    let items: Vec<&Value> = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if want.sync && s(app, "/status/sync/status") != "Synced" {
        let names: Vec<String> = items
            .iter()
            .filter(|r| s(r, "/status") != "Synced")
            .map(|r| format!("{}/{} {}", s(r, "/kind"), s(r, "/name"), s(r, "/status")))
            .collect();
        out.push(format!(
            "sync {} [{}]",
            s(app, "/status/sync/status"),
            names.join(", ")
        ));
    }
    if want.health && s(app, "/status/health/status") != "Healthy" {
        let names: Vec<String> = items
            .iter()
            .filter(|r| {
                let h = s(r, "/health/status");
                !h.is_empty() && h != "Healthy"
            })
            .map(|r| {
                format!(
                    "{}/{} {}",
                    s(r, "/kind"),
                    s(r, "/name"),
                    s(r, "/health/status")
                )
            })
            .collect();
        out.push(format!(
            "health {} [{}]",
            s(app, "/status/health/status"),
            names.join(", ")
        ));
    }
    out.join("; ")
}

fn reached(app: &Value, want: Want) -> bool {
    (!want.operation || operation_done(app))
        && (!want.sync || s(app, "/status/sync/status") == "Synced")
        && (!want.health || s(app, "/status/health/status") == "Healthy")
        && !want.deleted
}

/// Follows the Application (its event stream, or polling when the stream is unavailable) until
/// `want` is reached, the operation fails, or `timeout` passes.
pub fn wait(
    client: &ApiClient,
    name: &str,
    want: Want,
    timeout: Duration,
    tty: bool,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let bar = tty.then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(BAR_TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<Value> = None;
    let mut last_state = String::new();
    // changes arrive over the server's event stream; polling is the fallback when it is unavailable
    let mut events = client.watch_application(name).ok();
    let mut first = true;
    let outcome = loop {
        let fetched = if first {
            first = false;
            Some(client.get_application(name, None))
        } else if let Some(rx) = &events {
            let remaining = timeout.saturating_sub(start.elapsed());
            match rx.recv_timeout(remaining.min(Duration::from_secs(1))) {
                Ok(AppEvent::Changed(app)) => Some(Ok(app)),
                Ok(AppEvent::Deleted) => Some(Err(ClientError::NotFound(format!(
                    "application {name} was deleted"
                )))),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    events = None;
                    Some(client.get_application(name, None))
                }
            }
        } else {
            std::thread::sleep(Duration::from_millis(if tty { 500 } else { 1000 }));
            Some(client.get_application(name, None))
        };
        match fetched {
            None => {}
            Some(Ok(app)) => {
                // a queued operation: the operation state shown is still the previous one's
                let queued = want.operation
                    && app.get("operation").is_some_and(|o| !o.is_null())
                    && TERMINAL.contains(&s(&app, "/status/operationState/phase"));
                let lines = if queued {
                    shown.clone()
                } else {
                    resource_lines(&app)
                };
                let mut changed: Vec<&String> = lines
                    .iter()
                    .filter(|(k, line)| shown.get(*k) != Some(*line))
                    .map(|(_, line)| line)
                    .collect();
                changed.sort_by_key(|l| display_order(l));
                for line in changed {
                    let text = format!("{:>5}s  {line}", start.elapsed().as_secs());
                    match &bar {
                        Some(b) => b.println(text),
                        None => println!("{text}"),
                    }
                }
                shown = lines;
                let state = format!(
                    "operation {}  sync {}  health {}",
                    nonempty(s(&app, "/status/operationState/phase")),
                    nonempty(s(&app, "/status/sync/status")),
                    nonempty(s(&app, "/status/health/status"))
                );
                if let Some(b) = &bar {
                    let items: Vec<&Value> = app
                        .pointer("/status/resources")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .collect();
                    b.set_length(items.len() as u64);
                    b.set_position(
                        items
                            .iter()
                            .filter(|r| {
                                s(r, "/status") == "Synced"
                                    && matches!(s(r, "/health/status"), "" | "Healthy")
                            })
                            .count() as u64,
                    );
                    b.set_message(state.clone());
                } else if state != last_state {
                    println!("{:>5}s  {state}", start.elapsed().as_secs());
                }
                last_state = state;
                let failed = want.operation
                    && operation_done(&app)
                    && s(&app, "/status/operationState/phase") != "Succeeded";
                if failed {
                    let msg = s(&app, "/status/operationState/message").replace('\n', " ");
                    break Outcome::Failed(app, msg);
                }
                if reached(&app, want) {
                    break Outcome::Done(Some(app));
                }
                last = Some(app);
            }
            Some(Err(ClientError::NotFound(_))) if want.deleted => break Outcome::Done(None),
            Some(Err(e)) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                return Err(e.into());
            }
        }
        if start.elapsed() >= timeout {
            break Outcome::TimedOut(format!(
                "timed out after {}s waiting for application '{name}': still pending: {}",
                timeout.as_secs(),
                pending(last.as_ref(), want)
            ));
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(outcome)
}

fn nonempty(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn progress_lines_by_phase_and_wave() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        let app = json!({"status": {
            "resources": [
                {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web", "status": "OutOfSync",
                 "health": {"status": "Missing"}, "syncWave": 2},
                {"kind": "ConfigMap", "namespace": "d", "name": "cfg", "status": "Synced",
                 "health": {"status": "Healthy"}, "syncWave": -1},
            ],
            "operationState": {"syncResult": {"resources": [
                {"group": "batch", "kind": "Job", "namespace": "d", "name": "migrate", "hookType": "PreSync",
                 "hookPhase": "Running", "syncPhase": "PreSync", "message": "job running"},
            ]}},
        }});
        let mut lines: Vec<String> = resource_lines(&app).into_values().collect();
        lines.sort_by_key(|l| display_order(l));
        assert_eq!(
            lines,
            vec![
                "PreSync  hook PreSync batch/Job d/migrate  Running  job running",
                "Sync     wave -1  ConfigMap d/cfg  Synced  Healthy",
                "Sync     wave 2   apps/Deployment d/web  OutOfSync  Missing",
            ]
        );
    }

    #[test]
    fn pending_names_the_missing_parts() {
        let app = json!({
            "status": {
                "sync": {"status": "OutOfSync"},
                "health": {"status": "Progressing"},
                "operationState": {"phase": "Running"},
                "resources": [
                    {"kind": "Deployment", "name": "web", "status": "OutOfSync", "health": {"status": "Progressing"}},
                    {"kind": "Service", "name": "web", "status": "Synced", "health": {"status": "Healthy"}},
                ],
            }
        });
        let want = Want {
            sync: true,
            health: true,
            operation: true,
            deleted: false,
        };
        assert_eq!(
            pending(Some(&app), want),
            "operation Running; sync OutOfSync [Deployment/web OutOfSync]; health Progressing [Deployment/web Progressing]"
        );
        assert!(!reached(&app, want));
        let done = json!({"status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded"}}});
        assert!(reached(&done, want));
        let queued = json!({"operation": {"sync": {}}, "status": {"sync": {"status": "Synced"},
            "health": {"status": "Healthy"}, "operationState": {"phase": "Succeeded"}}});
        assert!(!reached(&queued, want), "a queued operation is not done");
    }
}
