//! AppProject restrictions checked when an Application is created or updated: the source repositories
//! (`spec.sourceRepos`) and destinations (`spec.destinations`) it may use. Patterns are globs; a
//! pattern starting with `!` denies, and a deny wins over any allow, as in Argo CD.

use globset::GlobBuilder;
use serde_json::Value;

fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher().is_match(text))
        .unwrap_or(false)
}

fn normalize_repo(url: &str) -> String {
    url.trim()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_lowercase()
}

/// Allowed when some pattern allows and no `!` pattern matches.
fn allowed_by(patterns: &[&str], text: &str) -> bool {
    let mut allowed = false;
    for p in patterns {
        if let Some(deny) = p.strip_prefix('!') {
            if glob_match(deny, text) {
                return false;
            }
        } else if glob_match(p, text) {
            allowed = true;
        }
    }
    allowed
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// The sources of an Application spec (`source` and `sources`).
pub fn sources(spec: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(s) = spec.get("source").filter(|s| s.is_object()) {
        out.push(s.clone());
    }
    if let Some(list) = spec.get("sources").and_then(Value::as_array) {
        out.extend(list.iter().cloned());
    }
    out
}

/// A repository URL whose path could be read differently by a glob and by Git or an HTTP client:
/// dot segments (`/../`, `/./`, also percent-encoded), backslashes, whitespace or control
/// characters. A project's `https://github.com/org/*` must not admit
/// `https://github.com/org/../other/repo`.
fn ambiguous_repo_url(url: &str) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("whitespace or control characters");
    }
    if url.contains('\\') {
        return Some("a backslash");
    }
    let lower = url.to_lowercase();
    if lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") {
        return Some("percent-encoded dots or slashes");
    }
    let path = lower.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    if path.split(['/', ':']).any(|seg| seg == ".." || seg == ".") {
        return Some("'.' or '..' path segments");
    }
    None
}

/// Checks an Application spec against its project; the error names the field and the project.
pub fn check(project: &Value, spec: &Value) -> Result<(), String> {
    let name = project
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let repos = strings(&project["spec"]["sourceRepos"]);
    let repo_patterns: Vec<String> = repos
        .iter()
        .map(|r| match r.strip_prefix('!') {
            Some(d) => format!("!{}", normalize_repo(d)),
            None => normalize_repo(r),
        })
        .collect();
    let repo_refs: Vec<&str> = repo_patterns.iter().map(String::as_str).collect();
    let srcs = sources(spec);
    if srcs.is_empty() {
        return Err("spec.source or spec.sources is required".into());
    }
    for source in &srcs {
        let url = source["repoURL"].as_str().unwrap_or_default();
        if url.is_empty() {
            return Err("spec.source.repoURL is required".into());
        }
        if let Some(why) = ambiguous_repo_url(url) {
            return Err(format!(
                "application repo {url} is not permitted in project '{name}': the URL contains {why}"
            ));
        }
        if !allowed_by(&repo_refs, &normalize_repo(url)) {
            return Err(format!(
                "application repo {url} is not permitted in project '{name}'"
            ));
        }
    }
    let dest = &spec["destination"];
    let server = dest["server"].as_str().unwrap_or_default();
    let dest_name = dest["name"].as_str().unwrap_or_default();
    let namespace = dest["namespace"].as_str().unwrap_or_default();
    if server.is_empty() && dest_name.is_empty() {
        return Err("spec.destination.server or spec.destination.name is required".into());
    }
    if !server.is_empty() && !dest_name.is_empty() {
        // which one a component follows must not decide whether the project allows it
        return Err(
            "application destination can't have both name and server defined: spec.destination"
                .into(),
        );
    }
    let mut allowed = false;
    for d in project["spec"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let p_server = d["server"].as_str().unwrap_or_default();
        let p_name = d["name"].as_str().unwrap_or_default();
        let p_ns = d["namespace"].as_str().unwrap_or_default();
        let (server_pat, server_deny) = match p_server.strip_prefix('!') {
            Some(s) => (s, true),
            None => (p_server, false),
        };
        let (ns_pat, ns_deny) = match p_ns.strip_prefix('!') {
            Some(s) => (s, true),
            None => (p_ns, false),
        };
        let target_matches =
            (!server_pat.is_empty() && !server.is_empty() && glob_match(server_pat, server))
                || (!p_name.is_empty()
                    && !dest_name.is_empty()
                    && glob_match(p_name.trim_start_matches('!'), dest_name));
        let ns_matches = glob_match(ns_pat, namespace);
        if server_deny || ns_deny || p_name.starts_with('!') {
            if target_matches && ns_matches {
                allowed = false;
                break;
            }
        } else if target_matches && ns_matches {
            allowed = true;
        }
    }
    if !allowed {
        let target = if server.is_empty() { dest_name } else { server };
        return Err(format!(
            "application destination server '{target}' and namespace '{namespace}' do not match any of the allowed destinations in project '{name}'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project() -> Value {
        json!({"metadata": {"name": "team"}, "spec": {
            "sourceRepos": ["https://github.com/org/*", "!https://github.com/org/secret"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}]
        }})
    }

    fn spec(repo: &str, ns: &str) -> Value {
        json!({"source": {"repoURL": repo, "path": "."},
               "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}})
    }

    #[test]
    fn sources_and_destinations() {
        assert!(
            check(
                &project(),
                &spec("https://github.com/org/app.git", "team-a")
            )
            .is_ok()
        );
        let err = check(&project(), &spec("https://github.com/org/secret", "team-a")).unwrap_err();
        assert!(err.contains("not permitted in project 'team'"), "{err}");
        assert!(check(&project(), &spec("https://gitlab.com/x", "team-a")).is_err());
        let err = check(
            &project(),
            &spec("https://github.com/org/app", "kube-system"),
        )
        .unwrap_err();
        assert!(err.contains("namespace 'kube-system'"), "{err}");
    }

    #[test]
    fn dot_segments_and_double_destinations_are_refused() {
        for url in [
            "https://github.com/org/../other/repo",
            "https://github.com/org/./x/../../evil",
            "https://github.com/org/%2e%2e/evil",
            "https://github.com/org/x%2F..%2Fevil",
            "https://github.com/org/a b",
            "https://github.com/org\\..\\evil",
        ] {
            let err = check(&project(), &spec(url, "team-a")).unwrap_err();
            assert!(err.contains("not permitted"), "{url}: {err}");
        }
        let mut both = spec("https://github.com/org/app", "team-a");
        both["destination"]["name"] = json!("prod");
        assert!(
            check(&project(), &both)
                .unwrap_err()
                .contains("both name and server")
        );
    }
}
