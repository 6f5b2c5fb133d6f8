//! View models: what the pages show, read from Argo CD's JSON objects (Applications, resource trees,
//! managed-resource diffs) without failing on missing fields.

use std::collections::BTreeMap;

use serde_json::Value;

fn s(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn or_unknown(text: String) -> String {
    if text.is_empty() {
        "Unknown".to_string()
    } else {
        text
    }
}

/// One application in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// Name.
    pub name: String,
    /// Project.
    pub project: String,
    /// Health status.
    pub health: String,
    /// Sync status.
    pub sync: String,
    /// Repository URL (of the first source).
    pub repo: String,
    /// Path or chart of the first source.
    pub path: String,
    /// Target revision of the first source.
    pub target_revision: String,
    /// Destination server (or name).
    pub cluster: String,
    /// Destination namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Phase of the current or last operation (`Running`, `Succeeded`, ...), empty when none.
    pub operation_phase: String,
    /// Automated sync is on.
    pub auto_sync: bool,
    /// Synced revision.
    pub revision: String,
}

impl AppSummary {
    /// Reads an Application object.
    pub fn from_json(app: &Value) -> AppSummary {
        let source = app
            .pointer("/spec/source")
            .filter(|v| v.is_object())
            .or_else(|| app.pointer("/spec/sources/0"))
            .cloned()
            .unwrap_or(Value::Null);
        let mut path = s(&source, "/path");
        if path.is_empty() {
            path = s(&source, "/chart");
        }
        let mut cluster = s(app, "/spec/destination/server");
        if cluster.is_empty() {
            cluster = s(app, "/spec/destination/name");
        }
        let project = s(app, "/spec/project");
        let mut revision = s(app, "/status/sync/revision");
        if revision.is_empty() {
            revision = s(app, "/status/sync/revisions/0");
        }
        AppSummary {
            name: s(app, "/metadata/name"),
            project: if project.is_empty() {
                "default".to_string()
            } else {
                project
            },
            health: or_unknown(s(app, "/status/health/status")),
            sync: or_unknown(s(app, "/status/sync/status")),
            repo: s(&source, "/repoURL"),
            path,
            target_revision: {
                let t = s(&source, "/targetRevision");
                if t.is_empty() { "HEAD".to_string() } else { t }
            },
            cluster,
            namespace: s(app, "/spec/destination/namespace"),
            labels: app
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            operation_phase: if app.get("operation").is_some_and(|o| !o.is_null())
                && s(app, "/status/operationState/phase") != "Running"
            {
                "Pending".to_string()
            } else {
                s(app, "/status/operationState/phase")
            },
            auto_sync: app
                .pointer("/spec/syncPolicy/automated")
                .is_some_and(|a| !a.is_null()),
            revision,
        }
    }
}

/// The labels of an application, borrowed from its JSON or from an [`AppSummary`].
#[derive(Debug, Clone, Copy)]
pub enum LabelsRef<'a> {
    /// `metadata.labels` of the JSON object.
    Json(Option<&'a serde_json::Map<String, Value>>),
    /// The labels of a view model.
    Owned(&'a BTreeMap<String, String>),
}

impl<'a> LabelsRef<'a> {
    /// The value of a label.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        match self {
            LabelsRef::Json(m) => m.and_then(|m| m.get(key)).and_then(Value::as_str),
            LabelsRef::Owned(m) => m.get(key).map(String::as_str),
        }
    }
}

/// What the list filters and counts look at, borrowed (no allocation), so that 10,000 applications
/// can be filtered and counted and only one page turned into [`AppSummary`]s.
#[derive(Debug, Clone, Copy)]
pub struct AppKey<'a> {
    /// Name.
    pub name: &'a str,
    /// Project (`default` when unset).
    pub project: &'a str,
    /// Health (`Unknown` when unset).
    pub health: &'a str,
    /// Sync status (`Unknown` when unset).
    pub sync: &'a str,
    /// Destination server, or name.
    pub cluster: &'a str,
    /// Destination namespace.
    pub namespace: &'a str,
    /// Repository of the first source.
    pub repo: &'a str,
    /// Path (or chart) of the first source.
    pub path: &'a str,
    /// Labels.
    pub labels: LabelsRef<'a>,
}

/// `v[k1][k2]...` as a string ("" when missing). Plain lookups: `Value::pointer` allocates for every
/// path segment, which is most of the cost of reading 10,000 applications.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

impl<'a> AppKey<'a> {
    /// Reads an Application object, with the same defaults as [`AppSummary::from_json`].
    pub fn from_json(app: &'a Value) -> AppKey<'a> {
        let null = &Value::Null;
        let spec = app.get("spec").unwrap_or(null);
        let status = app.get("status").unwrap_or(null);
        let metadata = app.get("metadata").unwrap_or(null);
        let destination = spec.get("destination").unwrap_or(null);
        let source = spec
            .get("source")
            .filter(|v| v.is_object())
            .or_else(|| spec.get("sources").and_then(|s| s.get(0)))
            .unwrap_or(null);
        AppKey {
            name: at(metadata, &["name"]),
            project: non_empty(at(spec, &["project"]), "default"),
            health: non_empty(at(status, &["health", "status"]), "Unknown"),
            sync: non_empty(at(status, &["sync", "status"]), "Unknown"),
            cluster: non_empty(at(destination, &["server"]), at(destination, &["name"])),
            namespace: at(destination, &["namespace"]),
            repo: at(source, &["repoURL"]),
            path: non_empty(at(source, &["path"]), at(source, &["chart"])),
            labels: LabelsRef::Json(metadata.get("labels").and_then(Value::as_object)),
        }
    }
}

impl AppSummary {
    /// The borrowed filter view of this summary.
    pub fn key(&self) -> AppKey<'_> {
        AppKey {
            name: &self.name,
            project: &self.project,
            health: &self.health,
            sync: &self.sync,
            cluster: &self.cluster,
            namespace: &self.namespace,
            repo: &self.repo,
            path: &self.path,
            labels: LabelsRef::Owned(&self.labels),
        }
    }
}

/// One entry of the deployment history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Id (for rollback).
    pub id: i64,
    /// Revision.
    pub revision: String,
    /// When it was deployed.
    pub deployed_at: String,
    /// Who started it.
    pub initiated_by: String,
}

/// One resource of the last sync result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedResource {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Result (`Synced`, `SyncFailed`, `Pruned`, ...).
    pub status: String,
    /// Hook phase or phase of the sync (`PreSync`, `Sync`, ...).
    pub phase: String,
    /// Sync wave.
    pub wave: i64,
    /// Message.
    pub message: String,
    /// Hook type, if a hook.
    pub hook_type: String,
}

/// The current or last operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationView {
    /// Phase.
    pub phase: String,
    /// Message.
    pub message: String,
    /// Started at.
    pub started_at: String,
    /// Finished at.
    pub finished_at: String,
    /// Duration in whole seconds, when both times are known.
    pub duration_secs: Option<i64>,
    /// Who started it.
    pub initiated_by: String,
    /// Revision synced.
    pub revision: String,
    /// Resources of the operation in phase and wave order.
    pub resources: Vec<SyncedResource>,
}

/// A condition (error or warning) of the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Type.
    pub kind: String,
    /// Message.
    pub message: String,
}

/// The application page's header and side panels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDetail {
    /// The list view model.
    pub summary: AppSummary,
    /// Health message.
    pub health_message: String,
    /// Sources (repo, path/chart, target revision).
    pub sources: Vec<(String, String, String)>,
    /// Current or last operation.
    pub operation: Option<OperationView>,
    /// Deployment history, newest first.
    pub history: Vec<HistoryEntry>,
    /// Conditions.
    pub conditions: Vec<Condition>,
    /// Revision metadata (author, message) of the synced revision, when the status carries it.
    pub commit_author: String,
    /// Commit message.
    pub commit_message: String,
    /// `spec.info` (name, value); a value becomes a link only when it is an http(s) URL.
    pub info: Vec<(String, String)>,
    /// External links (title, URL text): `link.argocd.argoproj.io/<title>` annotations and
    /// `status.summary.externalURLs`; each becomes a link only when it is an http(s) URL.
    pub links: Vec<(String, String)>,
}

/// The annotation prefix of Argo CD's external links (`link.argocd.argoproj.io/<title>: <url>`).
pub const LINK_ANNOTATION_PREFIX: &str = "link.argocd.argoproj.io/";

/// The external links of an object's annotations, by title.
pub fn annotation_links(metadata: &Value) -> Vec<(String, String)> {
    metadata
        .get("annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let title = k.strip_prefix(LINK_ANNOTATION_PREFIX)?;
            Some((title.to_string(), v.as_str()?.to_string()))
        })
        .collect()
}

fn phase_rank(phase: &str) -> u8 {
    match phase {
        "PreSync" => 0,
        "Sync" => 1,
        "PostSync" => 2,
        "SyncFail" => 3,
        "PostDelete" => 4,
        _ => 5,
    }
}

fn timestamp(text: &str) -> Option<i64> {
    chrono_like_parse(text)
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (what Kubernetes writes) into seconds since the epoch.
fn chrono_like_parse(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // days from civil (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

impl AppDetail {
    /// Reads an Application object.
    pub fn from_json(app: &Value) -> AppDetail {
        let summary = AppSummary::from_json(app);
        let mut sources: Vec<(String, String, String)> = Vec::new();
        let list: Vec<Value> = match app.pointer("/spec/sources").and_then(Value::as_array) {
            Some(a) if !a.is_empty() => a.clone(),
            _ => app.pointer("/spec/source").cloned().into_iter().collect(),
        };
        for src in &list {
            let mut path = s(src, "/path");
            if path.is_empty() {
                path = s(src, "/chart");
            }
            let t = s(src, "/targetRevision");
            sources.push((
                s(src, "/repoURL"),
                path,
                if t.is_empty() { "HEAD".into() } else { t },
            ));
        }
        let operation = app
            .pointer("/status/operationState")
            .filter(|o| o.is_object())
            .map(|op| {
                let mut resources: Vec<SyncedResource> = op
                    .pointer("/syncResult/resources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|r| SyncedResource {
                        kind: s(r, "/kind"),
                        namespace: s(r, "/namespace"),
                        name: s(r, "/name"),
                        status: s(r, "/status"),
                        phase: s(r, "/syncPhase"),
                        wave: r.get("syncWave").and_then(Value::as_i64).unwrap_or(0),
                        message: s(r, "/message"),
                        hook_type: s(r, "/hookType"),
                    })
                    .collect();
                resources.sort_by(|a, b| {
                    (phase_rank(&a.phase), a.wave, &a.kind, &a.name).cmp(&(
                        phase_rank(&b.phase),
                        b.wave,
                        &b.kind,
                        &b.name,
                    ))
                });
                let started_at = s(op, "/startedAt");
                let finished_at = s(op, "/finishedAt");
                let duration_secs = match (timestamp(&started_at), timestamp(&finished_at)) {
                    (Some(a), Some(b)) if b >= a => Some(b - a),
                    _ => None,
                };
                let mut initiated_by = s(op, "/operation/initiatedBy/username");
                if initiated_by.is_empty()
                    && op
                        .pointer("/operation/initiatedBy/automated")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                {
                    initiated_by = "automated sync policy".to_string();
                }
                OperationView {
                    phase: s(op, "/phase"),
                    message: s(op, "/message"),
                    started_at,
                    finished_at,
                    duration_secs,
                    initiated_by,
                    revision: s(op, "/syncResult/revision"),
                    resources,
                }
            });
        let mut history: Vec<HistoryEntry> = app
            .pointer("/status/history")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|h| HistoryEntry {
                id: h.get("id").and_then(Value::as_i64).unwrap_or(0),
                revision: {
                    let r = s(h, "/revision");
                    if r.is_empty() {
                        s(h, "/revisions/0")
                    } else {
                        r
                    }
                },
                deployed_at: s(h, "/deployedAt"),
                initiated_by: s(h, "/initiatedBy/username"),
            })
            .collect();
        history.sort_by_key(|h| std::cmp::Reverse(h.id));
        let conditions = app
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| Condition {
                kind: s(c, "/type"),
                message: s(c, "/message"),
            })
            .collect();
        AppDetail {
            summary,
            health_message: s(app, "/status/health/message"),
            sources,
            operation,
            history,
            conditions,
            commit_author: s(
                app,
                "/status/operationState/syncResult/revisionMetadata/author",
            ),
            commit_message: s(
                app,
                "/status/operationState/syncResult/revisionMetadata/message",
            ),
            info: app
                .pointer("/spec/info")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|i| (s(i, "/name"), s(i, "/value")))
                .collect(),
            links: {
                let mut links = annotation_links(app.get("metadata").unwrap_or(&Value::Null));
                links.extend(
                    app.pointer("/status/summary/externalURLs")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|u| (u.to_string(), u.to_string())),
                );
                links
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_of_a_sparse_application() {
        let app = json!({"metadata": {"name": "a"}, "spec": {}});
        let s = AppSummary::from_json(&app);
        assert_eq!(s.name, "a");
        assert_eq!(s.project, "default");
        assert_eq!(s.health, "Unknown");
        assert_eq!(s.sync, "Unknown");
        assert_eq!(s.target_revision, "HEAD");
    }

    #[test]
    fn summary_of_a_synced_multi_source_application() {
        let app = json!({
            "metadata": {"name": "b", "labels": {"team": "x"}},
            "spec": {"project": "p", "sources": [{"repoURL": "https://r", "chart": "c", "targetRevision": "1.0"}],
                "destination": {"name": "in-cluster", "namespace": "ns"},
                "syncPolicy": {"automated": {}}},
            "status": {"health": {"status": "Healthy"}, "sync": {"status": "Synced", "revisions": ["abc"]},
                "operationState": {"phase": "Succeeded"}}
        });
        let s = AppSummary::from_json(&app);
        assert_eq!(
            (s.path.as_str(), s.cluster.as_str(), s.revision.as_str()),
            ("c", "in-cluster", "abc")
        );
        assert!(s.auto_sync);
        assert_eq!(s.labels.get("team").map(String::as_str), Some("x"));
        assert_eq!(s.operation_phase, "Succeeded");
    }

    #[test]
    fn key_and_summary_agree() {
        for app in [
            json!({"metadata": {"name": "a"}, "spec": {}}),
            json!({"metadata": {"name": "b", "labels": {"x": "1"}},
                "spec": {"project": "p", "sources": [{"repoURL": "r", "chart": "c"}],
                    "destination": {"name": "in-cluster", "namespace": "n"}},
                "status": {"health": {"status": "Degraded"}, "sync": {"status": "OutOfSync"}}}),
        ] {
            let summary = AppSummary::from_json(&app);
            let (k1, k2) = (AppKey::from_json(&app), summary.key());
            assert_eq!(
                (
                    k1.name,
                    k1.project,
                    k1.health,
                    k1.sync,
                    k1.cluster,
                    k1.namespace,
                    k1.repo,
                    k1.path
                ),
                (
                    k2.name,
                    k2.project,
                    k2.health,
                    k2.sync,
                    k2.cluster,
                    k2.namespace,
                    k2.repo,
                    k2.path
                )
            );
            assert_eq!(k1.labels.get("x"), k2.labels.get("x"));
        }
    }

    #[test]
    fn requested_operation_is_pending() {
        let app = json!({"metadata": {"name": "c"}, "operation": {"sync": {}},
            "status": {"operationState": {"phase": "Succeeded"}}});
        assert_eq!(AppSummary::from_json(&app).operation_phase, "Pending");
    }

    #[test]
    fn detail_orders_operation_resources_and_history() {
        let app = json!({
            "metadata": {"name": "d"},
            "spec": {"source": {"repoURL": "https://r", "path": "p"}},
            "status": {
                "operationState": {"phase": "Succeeded", "startedAt": "2024-01-01T00:00:00Z",
                    "finishedAt": "2024-01-01T00:01:05Z",
                    "operation": {"initiatedBy": {"username": "admin"}},
                    "syncResult": {"revision": "abc", "resources": [
                        {"kind": "Job", "name": "post", "syncPhase": "PostSync", "status": "Synced", "hookType": "PostSync"},
                        {"kind": "Service", "name": "s", "syncPhase": "Sync", "syncWave": 1, "status": "Synced"},
                        {"kind": "ConfigMap", "name": "c", "syncPhase": "Sync", "syncWave": 0, "status": "Synced"},
                        {"kind": "Job", "name": "pre", "syncPhase": "PreSync", "status": "Synced"}
                    ]}},
                "history": [{"id": 1, "revision": "a"}, {"id": 2, "revision": "b"}],
                "conditions": [{"type": "SyncError", "message": "boom"}]
            }
        });
        let d = AppDetail::from_json(&app);
        let op = d.operation.unwrap();
        let names: Vec<&str> = op.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["pre", "c", "s", "post"]);
        assert_eq!(op.duration_secs, Some(65));
        assert_eq!(op.initiated_by, "admin");
        assert_eq!(d.history[0].id, 2);
        assert_eq!(d.conditions[0].message, "boom");
        assert_eq!(d.sources[0].2, "HEAD");
    }

    #[test]
    fn timestamps_parse() {
        assert_eq!(chrono_like_parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(chrono_like_parse("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(chrono_like_parse("garbage"), None);
    }
}
