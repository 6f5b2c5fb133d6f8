//! A project as the settings page shows it (source repositories, destinations, roles with their
//! policies and groups, sync windows) and the edits its forms post: add or remove a source
//! repository, a destination, a role (adding one with an existing name replaces it) or a sync
//! window. Pure: the server applies an edit to the AppProject it read and saves it through the
//! API's project update (RBAC `projects, update`).

use serde::Deserialize;
use serde_json::{Map, Value, json};

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// One destination.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Destination {
    /// Server URL.
    pub server: String,
    /// Cluster name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// One project role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Role {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Policy lines (`p, proj:<project>:<role>, <resource>, <action>, <object>, <effect>`).
    pub policies: Vec<String>,
    /// SSO groups.
    pub groups: Vec<String>,
}

/// One sync window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Window {
    /// `allow` or `deny`.
    pub kind: String,
    /// Cron schedule.
    pub schedule: String,
    /// Duration (`1h`, `30m`, ...).
    pub duration: String,
    /// Application name patterns.
    pub applications: Vec<String>,
    /// Namespace patterns.
    pub namespaces: Vec<String>,
    /// Cluster patterns.
    pub clusters: Vec<String>,
    /// Manual syncs allowed during a deny window.
    pub manual_sync: bool,
    /// Time zone of the schedule.
    pub time_zone: String,
}

/// A project's page model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Source repositories.
    pub source_repos: Vec<String>,
    /// Destinations.
    pub destinations: Vec<Destination>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Sync windows.
    pub windows: Vec<Window>,
    /// The whole project as JSON (for the JSON editor).
    pub json: String,
}

impl ProjectView {
    /// Reads an AppProject.
    pub fn from_json(project: &Value) -> ProjectView {
        let null = Value::Null;
        let spec = project.get("spec").unwrap_or(&null);
        let list = |key: &str| {
            spec.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        };
        ProjectView {
            name: project
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            description: text(spec, "description"),
            source_repos: strings(spec.get("sourceRepos")),
            destinations: list("destinations")
                .map(|d| Destination {
                    server: text(d, "server"),
                    name: text(d, "name"),
                    namespace: text(d, "namespace"),
                })
                .collect(),
            roles: list("roles")
                .map(|r| Role {
                    name: text(r, "name"),
                    description: text(r, "description"),
                    policies: strings(r.get("policies")),
                    groups: strings(r.get("groups")),
                })
                .collect(),
            windows: list("syncWindows")
                .map(|w| Window {
                    kind: text(w, "kind"),
                    schedule: text(w, "schedule"),
                    duration: text(w, "duration"),
                    applications: strings(w.get("applications")),
                    namespaces: strings(w.get("namespaces")),
                    clusters: strings(w.get("clusters")),
                    manual_sync: w
                        .get("manualSync")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    time_zone: text(w, "timeZone"),
                })
                .collect(),
            json: serde_json::to_string_pretty(project).unwrap_or_default(),
        }
    }
}

/// A posted edit of a project (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ProjectEdit {
    /// `add-repo`, `remove-repo`, `add-destination`, `remove-destination`, `add-role`,
    /// `remove-role`, `add-window` or `remove-window`.
    #[serde(default)]
    pub op: String,
    /// Position in the list, for removals of destinations and windows.
    #[serde(default)]
    pub index: String,
    /// Source repository URL (pattern).
    #[serde(default)]
    pub repo: String,
    /// Destination server.
    #[serde(default)]
    pub server: String,
    /// Destination cluster name.
    #[serde(default)]
    pub dest_name: String,
    /// Destination namespace.
    #[serde(default)]
    pub namespace: String,
    /// Role name.
    #[serde(default)]
    pub role: String,
    /// Role description.
    #[serde(default)]
    pub description: String,
    /// Role policies, one per line.
    #[serde(default)]
    pub policies: String,
    /// Role groups, one per line.
    #[serde(default)]
    pub groups: String,
    /// Window kind.
    #[serde(default)]
    pub kind: String,
    /// Window schedule.
    #[serde(default)]
    pub schedule: String,
    /// Window duration.
    #[serde(default)]
    pub duration: String,
    /// Window applications (comma-separated or one per line).
    #[serde(default)]
    pub applications: String,
    /// Window namespaces.
    #[serde(default)]
    pub namespaces: String,
    /// Window clusters.
    #[serde(default)]
    pub clusters: String,
    /// Window manual sync (`true` when checked).
    #[serde(default)]
    pub manual_sync: String,
    /// Window time zone.
    #[serde(default)]
    pub time_zone: String,
}

/// Why an edit cannot be applied; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A required field is empty.
    #[error("{0}: required")]
    Required(&'static str),
    /// An unknown operation.
    #[error("op: unknown edit '{0}'")]
    Op(String),
    /// An index that is not in the list.
    #[error("index: no {what} at position '{index}'")]
    Index {
        /// Destination or window.
        what: &'static str,
        /// The index given.
        index: String,
    },
    /// A field with a wrong value.
    #[error("{field}: {message}")]
    Invalid {
        /// Field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn items(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn required(value: &str, field: &'static str) -> Result<String, EditError> {
    let v = value.trim();
    if v.is_empty() {
        Err(EditError::Required(field))
    } else {
        Ok(v.to_string())
    }
}

/// A Go duration as sync windows take it: one or more `<number><h|m|s>`.
fn valid_duration(d: &str) -> bool {
    let mut digits = false;
    let mut any = false;
    for c in d.chars() {
        if c.is_ascii_digit() {
            digits = true;
        } else if matches!(c, 'h' | 'm' | 's') && digits {
            digits = false;
            any = true;
        } else {
            return false;
        }
    }
    any && !digits
}

fn check_policy(project: &str, role: &str, line: usize, text: &str) -> Result<(), EditError> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let subject = format!("proj:{project}:{role}");
    let bad = |message: String| EditError::Invalid {
        field: "policies",
        message: format!("line {line}: {message}"),
    };
    if fields.len() != 6 || fields[0] != "p" {
        return Err(bad(format!(
            "expected 'p, {subject}, <resource>, <action>, <object>, allow|deny', got '{text}'"
        )));
    }
    if fields[1] != subject {
        return Err(bad(format!(
            "the subject must be '{subject}', not '{}'",
            fields[1]
        )));
    }
    if !fields[4].starts_with(&format!("{project}/")) {
        return Err(bad(format!(
            "the object must be in this project ('{project}/...'), not '{}'",
            fields[4]
        )));
    }
    if !matches!(fields[5], "allow" | "deny") {
        return Err(bad(format!(
            "the effect must be allow or deny, not '{}'",
            fields[5]
        )));
    }
    Ok(())
}

/// The array `spec[key]` (made one when missing or not an array).
fn list<'a>(spec: &'a mut Map<String, Value>, key: &str) -> Result<&'a mut Vec<Value>, EditError> {
    let entry = spec.entry(key.to_string()).or_insert_with(|| json!([]));
    if !entry.is_array() {
        *entry = json!([]);
    }
    entry.as_array_mut().ok_or(EditError::Required("spec"))
}

fn remove_at(list: &mut Vec<Value>, index: &str, what: &'static str) -> Result<(), EditError> {
    let i: usize = index.trim().parse().map_err(|_| EditError::Index {
        what,
        index: index.to_string(),
    })?;
    if i >= list.len() {
        return Err(EditError::Index {
            what,
            index: index.to_string(),
        });
    }
    list.remove(i);
    Ok(())
}

/// The project with the edit applied.
pub fn apply(project: &Value, edit: &ProjectEdit) -> Result<Value, EditError> {
    let mut project = project.clone();
    let name = project
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !project.get("spec").is_some_and(Value::is_object) {
        project["spec"] = json!({});
    }
    let spec: &mut Map<String, Value> = match project.get_mut("spec").and_then(Value::as_object_mut)
    {
        Some(s) => s,
        None => return Err(EditError::Required("spec")),
    };
    match edit.op.as_str() {
        "add-repo" => {
            let repo = required(&edit.repo, "repo")?;
            let repos = list(spec, "sourceRepos")?;
            if !repos.iter().any(|r| r.as_str() == Some(&repo)) {
                repos.push(Value::String(repo));
            }
        }
        "remove-repo" => {
            let repo = required(&edit.repo, "repo")?;
            list(spec, "sourceRepos")?.retain(|r| r.as_str() != Some(&repo));
        }
        "add-destination" => {
            let namespace = required(&edit.namespace, "namespace")?;
            let mut d = Map::new();
            match (edit.server.trim(), edit.dest_name.trim()) {
                ("", "") => return Err(EditError::Required("server")),
                (server, "") => {
                    d.insert("server".into(), json!(server));
                }
                ("", cluster) => {
                    d.insert("name".into(), json!(cluster));
                }
                _ => {
                    return Err(EditError::Invalid {
                        field: "server",
                        message: "give a server URL or a cluster name, not both".into(),
                    });
                }
            }
            d.insert("namespace".into(), json!(namespace));
            list(spec, "destinations")?.push(Value::Object(d));
        }
        "remove-destination" => remove_at(list(spec, "destinations")?, &edit.index, "destination")?,
        "add-role" => {
            let role = required(&edit.role, "role")?;
            if !role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(EditError::Invalid {
                    field: "role",
                    message: format!("'{role}' may contain only letters, digits, '-' and '_'"),
                });
            }
            let policies: Vec<String> = edit
                .policies
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            for (i, p) in policies.iter().enumerate() {
                check_policy(&name, &role, i + 1, p)?;
            }
            let roles = list(spec, "roles")?;
            // an existing role keeps its JWT tokens
            let existing = roles
                .iter()
                .position(|r| r.get("name").and_then(Value::as_str) == Some(&role));
            let mut value = existing
                .map(|i| roles[i].clone())
                .unwrap_or_else(|| json!({"name": role}));
            value["description"] = json!(edit.description.trim());
            value["policies"] = json!(policies);
            value["groups"] = json!(items(&edit.groups));
            match existing {
                Some(i) => roles[i] = value,
                None => roles.push(value),
            }
        }
        "remove-role" => {
            let role = required(&edit.role, "role")?;
            list(spec, "roles")?.retain(|r| r.get("name").and_then(Value::as_str) != Some(&role));
        }
        "add-window" => {
            let kind = required(&edit.kind, "kind")?;
            if kind != "allow" && kind != "deny" {
                return Err(EditError::Invalid {
                    field: "kind",
                    message: format!("must be allow or deny, not '{kind}'"),
                });
            }
            let schedule = required(&edit.schedule, "schedule")?;
            if schedule.split_whitespace().count() != 5 {
                return Err(EditError::Invalid {
                    field: "schedule",
                    message: format!(
                        "'{schedule}' is not a cron schedule of five fields (minute hour day month weekday)"
                    ),
                });
            }
            let duration = required(&edit.duration, "duration")?;
            if !valid_duration(&duration) {
                return Err(EditError::Invalid {
                    field: "duration",
                    message: format!("'{duration}' is not a duration such as 1h, 30m or 1h30m"),
                });
            }
            let (apps, namespaces, clusters) = (
                items(&edit.applications),
                items(&edit.namespaces),
                items(&edit.clusters),
            );
            if apps.is_empty() && namespaces.is_empty() && clusters.is_empty() {
                return Err(EditError::Invalid {
                    field: "applications",
                    message: "a window needs applications, namespaces or clusters".into(),
                });
            }
            let mut w = json!({"kind": kind, "schedule": schedule, "duration": duration});
            for (key, values) in [
                ("applications", apps),
                ("namespaces", namespaces),
                ("clusters", clusters),
            ] {
                if !values.is_empty() {
                    w[key] = json!(values);
                }
            }
            if edit.manual_sync == "true" || edit.manual_sync == "on" {
                w["manualSync"] = json!(true);
            }
            if !edit.time_zone.trim().is_empty() {
                w["timeZone"] = json!(edit.time_zone.trim());
            }
            list(spec, "syncWindows")?.push(w);
        }
        "remove-window" => remove_at(list(spec, "syncWindows")?, &edit.index, "sync window")?,
        other => return Err(EditError::Op(other.to_string())),
    }
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Value {
        json!({"metadata": {"name": "team"}, "spec": {
            "sourceRepos": ["https://git/a"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}],
            "roles": [{"name": "ci", "policies": ["p, proj:team:ci, applications, sync, team/*, allow"],
                       "jwtTokens": [{"iat": 1}]}],
            "syncWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "applications": ["*"]}]}})
    }

    fn edit(op: &str) -> ProjectEdit {
        ProjectEdit {
            op: op.into(),
            ..ProjectEdit::default()
        }
    }

    #[test]
    fn reads_a_project() {
        let v = ProjectView::from_json(&project());
        assert_eq!(v.roles[0].policies.len(), 1);
        assert_eq!(v.windows[0].applications, ["*"]);
        assert_eq!(v.destinations[0].namespace, "team-*");
    }

    #[test]
    fn repos_and_destinations() {
        let p = apply(
            &project(),
            &ProjectEdit {
                repo: "https://git/b".into(),
                ..edit("add-repo")
            },
        )
        .unwrap();
        assert_eq!(
            p["spec"]["sourceRepos"],
            json!(["https://git/a", "https://git/b"])
        );
        let p = apply(
            &p,
            &ProjectEdit {
                repo: "https://git/a".into(),
                ..edit("remove-repo")
            },
        )
        .unwrap();
        assert_eq!(p["spec"]["sourceRepos"], json!(["https://git/b"]));
        let p = apply(
            &p,
            &ProjectEdit {
                dest_name: "prod".into(),
                namespace: "web".into(),
                ..edit("add-destination")
            },
        )
        .unwrap();
        assert_eq!(
            p["spec"]["destinations"][1],
            json!({"name": "prod", "namespace": "web"})
        );
        let p = apply(
            &p,
            &ProjectEdit {
                index: "0".into(),
                ..edit("remove-destination")
            },
        )
        .unwrap();
        assert_eq!(p["spec"]["destinations"].as_array().unwrap().len(), 1);
        assert_eq!(
            apply(
                &p,
                &ProjectEdit {
                    index: "5".into(),
                    ..edit("remove-destination")
                }
            )
            .unwrap_err()
            .to_string(),
            "index: no destination at position '5'"
        );
    }

    #[test]
    fn roles_are_added_replaced_and_checked() {
        let p = apply(
            &project(),
            &ProjectEdit {
                role: "ci".into(),
                policies: "p, proj:team:ci, applications, get, team/*, allow\n".into(),
                groups: "devs, ops".into(),
                ..edit("add-role")
            },
        )
        .unwrap();
        let role = &p["spec"]["roles"][0];
        assert_eq!(role["groups"], json!(["devs", "ops"]));
        assert_eq!(
            role["policies"],
            json!(["p, proj:team:ci, applications, get, team/*, allow"])
        );
        assert_eq!(role["jwtTokens"], json!([{"iat": 1}]), "tokens kept");
        let err = apply(
            &project(),
            &ProjectEdit {
                role: "ci".into(),
                policies: "p, proj:other:ci, applications, get, other/*, allow".into(),
                ..edit("add-role")
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "policies: line 1: the subject must be 'proj:team:ci', not 'proj:other:ci'"
        );
        let p = apply(
            &project(),
            &ProjectEdit {
                role: "ci".into(),
                ..edit("remove-role")
            },
        )
        .unwrap();
        assert_eq!(p["spec"]["roles"], json!([]));
    }

    #[test]
    fn windows_are_added_removed_and_checked() {
        let add = ProjectEdit {
            kind: "allow".into(),
            schedule: "0 8 * * 1-5".into(),
            duration: "10h".into(),
            namespaces: "web, api".into(),
            clusters: "in-cluster".into(),
            manual_sync: "true".into(),
            time_zone: "Europe/Paris".into(),
            ..edit("add-window")
        };
        let p = apply(&project(), &add).unwrap();
        assert_eq!(
            p["spec"]["syncWindows"][1],
            json!({"kind": "allow", "schedule": "0 8 * * 1-5", "duration": "10h",
                   "namespaces": ["web", "api"], "clusters": ["in-cluster"], "manualSync": true,
                   "timeZone": "Europe/Paris"})
        );
        let p = apply(
            &p,
            &ProjectEdit {
                index: "0".into(),
                ..edit("remove-window")
            },
        )
        .unwrap();
        assert_eq!(p["spec"]["syncWindows"].as_array().unwrap().len(), 1);
        assert_eq!(p["spec"]["syncWindows"][0]["kind"], "allow");
        let bad = |e: ProjectEdit| apply(&project(), &e).unwrap_err().to_string();
        assert_eq!(
            bad(ProjectEdit {
                kind: "maybe".into(),
                ..add.clone()
            }),
            "kind: must be allow or deny, not 'maybe'"
        );
        assert!(
            bad(ProjectEdit {
                schedule: "* *".into(),
                ..add.clone()
            })
            .starts_with("schedule: ")
        );
        assert!(
            bad(ProjectEdit {
                duration: "1 hour".into(),
                ..add.clone()
            })
            .starts_with("duration: ")
        );
        assert!(
            bad(ProjectEdit {
                duration: "h".into(),
                ..add.clone()
            })
            .starts_with("duration: ")
        );
        assert!(
            bad(ProjectEdit {
                namespaces: String::new(),
                clusters: String::new(),
                ..add.clone()
            })
            .starts_with("applications: ")
        );
        assert_eq!(bad(edit("explode")), "op: unknown edit 'explode'");
        assert!(valid_duration("1h30m") && !valid_duration("30") && !valid_duration(""));
    }
}
