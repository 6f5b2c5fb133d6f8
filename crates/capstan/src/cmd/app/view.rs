//! Text views of applications (tables and `get`'s summary), built from the API's JSON so that they
//! can be snapshot-tested from recorded answers.

use serde_json::Value;

use crate::cmd::output::{Table, s};

/// `NAME` as argocd prints it: `namespace/name`.
pub fn qualified_name(app: &Value) -> String {
    let ns = s(app, "/metadata/namespace");
    let name = s(app, "/metadata/name");
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

fn sources(app: &Value) -> Vec<&Value> {
    match app.pointer("/spec/sources").and_then(Value::as_array) {
        Some(many) if !many.is_empty() => many.iter().collect(),
        _ => app.pointer("/spec/source").into_iter().collect(),
    }
}

fn cluster(app: &Value) -> String {
    let server = s(app, "/spec/destination/server");
    if server.is_empty() {
        s(app, "/spec/destination/name").to_string()
    } else {
        server.to_string()
    }
}

fn sync_policy(app: &Value) -> String {
    match app.pointer("/spec/syncPolicy/automated") {
        Some(a) if a.is_object() && a.get("enabled") != Some(&Value::Bool(false)) => {
            let mut p = "Auto".to_string();
            if a.get("prune") == Some(&Value::Bool(true)) {
                p.push_str("-Prune");
            }
            p
        }
        _ => "Manual".into(),
    }
}

fn conditions(app: &Value) -> String {
    let list: Vec<&str> = app
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| s(c, "/type"))
        .collect();
    if list.is_empty() {
        "<none>".into()
    } else {
        list.join(",")
    }
}

/// `app list` table; `wide` adds the source columns.
pub fn list_table(apps: &[Value], wide: bool) -> Table {
    let mut header = vec![
        "NAME",
        "CLUSTER",
        "NAMESPACE",
        "PROJECT",
        "STATUS",
        "HEALTH",
        "SYNCPOLICY",
        "CONDITIONS",
    ];
    if wide {
        header.extend(["REPO", "PATH", "TARGET"]);
    }
    let mut t = Table::new(&header);
    for app in apps {
        let mut row = vec![
            qualified_name(app),
            cluster(app),
            s(app, "/spec/destination/namespace").to_string(),
            s(app, "/spec/project").to_string(),
            s(app, "/status/sync/status").to_string(),
            s(app, "/status/health/status").to_string(),
            sync_policy(app),
            conditions(app),
        ];
        if wide {
            let src = sources(app)
                .first()
                .copied()
                .cloned()
                .unwrap_or(Value::Null);
            row.push(s(&src, "/repoURL").to_string());
            row.push(s(&src, "/path").to_string());
            row.push(s(&src, "/targetRevision").to_string());
        }
        t.row(row);
    }
    t
}

fn resource_key(r: &Value) -> (String, String, String, String) {
    (
        s(r, "/group").to_string(),
        s(r, "/kind").to_string(),
        s(r, "/namespace").to_string(),
        s(r, "/name").to_string(),
    )
}

/// The resources table of `app get` (with the last sync's hook and message per resource).
pub fn resources_table(app: &Value, wide: bool) -> Table {
    let mut header = vec![
        "GROUP",
        "KIND",
        "NAMESPACE",
        "NAME",
        "STATUS",
        "HEALTH",
        "HOOK",
        "MESSAGE",
    ];
    if wide {
        header.insert(0, "WAVE");
        header.insert(0, "PHASE");
    }
    let results: Vec<&Value> = app
        .pointer("/status/operationState/syncResult/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let mut t = Table::new(&header);
    let empty = Vec::new();
    let resources = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for r in resources {
        let k = resource_key(r);
        let result = results.iter().find(|x| resource_key(x) == k);
        let mut row = vec![
            k.0,
            k.1,
            k.2,
            k.3,
            s(r, "/status").to_string(),
            s(r, "/health/status").to_string(),
            result.map(|x| s(x, "/hookType")).unwrap_or("").to_string(),
            result
                .map(|x| s(x, "/message"))
                .unwrap_or("")
                .replace('\n', " "),
        ];
        if wide {
            row.insert(
                0,
                r.get("syncWave").map(Value::to_string).unwrap_or_default(),
            );
            row.insert(
                0,
                result.map(|x| s(x, "/syncPhase")).unwrap_or("").to_string(),
            );
        }
        t.row(row);
    }
    // hooks that ran but are not part of status.resources
    for x in &results {
        if s(x, "/hookType").is_empty()
            || resources.iter().any(|r| resource_key(r) == resource_key(x))
        {
            continue;
        }
        let mut row = vec![
            s(x, "/group").to_string(),
            s(x, "/kind").to_string(),
            s(x, "/namespace").to_string(),
            s(x, "/name").to_string(),
            s(x, "/hookPhase").to_string(),
            String::new(),
            s(x, "/hookType").to_string(),
            s(x, "/message").replace('\n', " "),
        ];
        if wide {
            row.insert(0, String::new());
            row.insert(0, s(x, "/syncPhase").to_string());
        }
        t.row(row);
    }
    t
}

/// The summary printed by `app get` above the resources table.
pub fn summary(app: &Value, server_url: &str) -> String {
    let mut lines: Vec<(String, String)> = vec![
        ("Name".into(), qualified_name(app)),
        ("Project".into(), s(app, "/spec/project").to_string()),
        ("Server".into(), cluster(app)),
        (
            "Namespace".into(),
            s(app, "/spec/destination/namespace").to_string(),
        ),
        (
            "URL".into(),
            format!(
                "{}/applications/{}",
                server_url.trim_end_matches('/'),
                s(app, "/metadata/name")
            ),
        ),
    ];
    let mut out = String::new();
    let field = |out: &mut String, k: &str, v: &str| {
        out.push_str(format!("{:<20}{}\n", format!("{k}:"), v).trim_end());
        out.push('\n');
    };
    for (k, v) in lines.drain(..) {
        field(&mut out, &k, &v);
    }
    out.push_str("Source:\n");
    for src in sources(app) {
        field(&mut out, "- Repo", s(src, "/repoURL"));
        field(&mut out, "  Target", s(src, "/targetRevision"));
        if let Some(p) = src.get("path").and_then(Value::as_str) {
            field(&mut out, "  Path", p);
        }
        if let Some(c) = src.get("chart").and_then(Value::as_str) {
            field(&mut out, "  Chart", c);
        }
    }
    field(&mut out, "Sync Policy", &sync_policy(app));
    let revision = s(app, "/status/sync/revision");
    let short: String = revision.chars().take(7).collect();
    let target = sources(app)
        .first()
        .map(|x| s(x, "/targetRevision"))
        .unwrap_or("");
    let target = if target.is_empty() { "HEAD" } else { target };
    field(
        &mut out,
        "Sync Status",
        &format!(
            "{} to {target}{}",
            s(app, "/status/sync/status"),
            if short.is_empty() {
                String::new()
            } else {
                format!(" ({short})")
            }
        ),
    );
    let health = s(app, "/status/health/status");
    let msg = s(app, "/status/health/message");
    field(
        &mut out,
        "Health Status",
        &if msg.is_empty() {
            health.to_string()
        } else {
            format!("{health} ({msg})")
        },
    );
    if let Some(conds) = app.pointer("/status/conditions").and_then(Value::as_array)
        && !conds.is_empty()
    {
        let mut t = Table::new(&["CONDITION", "MESSAGE"]);
        for c in conds {
            t.row(vec![
                s(c, "/type").to_string(),
                s(c, "/message").replace('\n', " "),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render(false));
    }
    if let Some(op) = app
        .pointer("/status/operationState")
        .filter(|o| o.is_object())
    {
        out.push('\n');
        field(
            &mut out,
            "Operation",
            if op.pointer("/operation/sync").is_some() {
                "Sync"
            } else {
                "Unknown"
            },
        );
        field(&mut out, "Sync Revision", s(op, "/syncResult/revision"));
        field(&mut out, "Phase", s(op, "/phase"));
        field(&mut out, "Start", s(op, "/startedAt"));
        field(&mut out, "Finished", s(op, "/finishedAt"));
        field(&mut out, "Message", &s(op, "/message").replace('\n', " "));
    }
    out
}

/// `app history` table.
pub fn history_table(app: &Value, wide: bool) -> Table {
    let mut header = vec!["ID", "DATE", "REVISION"];
    if wide {
        header.push("SOURCE");
    }
    let mut t = Table::new(&header);
    for h in app
        .pointer("/status/history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let revision = match h.get("revisions").and_then(Value::as_array) {
            Some(revs) if !revs.is_empty() => revs
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => s(h, "/revision").to_string(),
        };
        let mut row = vec![
            h.get("id").map(Value::to_string).unwrap_or_default(),
            s(h, "/deployedAt").to_string(),
            revision,
        ];
        if wide {
            row.push(s(h, "/source/repoURL").to_string());
        }
        t.row(row);
    }
    t
}

/// `app resources` table.
pub fn resource_list_table(app: &Value, wide: bool) -> Table {
    let mut header = vec!["GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"];
    if wide {
        header.extend(["VERSION", "STATUS", "HEALTH"]);
    }
    let mut t = Table::new(&header);
    for r in app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut row = vec![
            s(r, "/group").to_string(),
            s(r, "/kind").to_string(),
            s(r, "/namespace").to_string(),
            s(r, "/name").to_string(),
            "No".to_string(),
        ];
        if wide {
            row.push(s(r, "/version").to_string());
            row.push(s(r, "/status").to_string());
            row.push(s(r, "/health/status").to_string());
        }
        t.row(row);
    }
    t
}
