//! Project restrictions (pure): source repositories, destinations, and which kinds may be deployed.
//! A violation is a message naming the rule; the controller reports it as a condition and never syncs
//! part of an application.

use capstan_types::{AppProject, Application, GroupKind};
use std::collections::HashMap;
use std::sync::RwLock;

use globset::{GlobBuilder, GlobMatcher};
use serde_json::Value;

/// Compiled patterns, shared by every refresh: compiling a glob builds a regex, far dearer than
/// matching it (project and exclusion rules are checked on every refresh of every application).
static COMPILED: std::sync::LazyLock<RwLock<HashMap<String, Option<GlobMatcher>>>> =
    std::sync::LazyLock::new(|| RwLock::new(HashMap::new()));

pub(crate) fn glob_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" || pattern == value {
        return true;
    }
    if !pattern.contains(['*', '?', '[', '{']) {
        return false;
    }
    if let Some(found) = COMPILED.read().ok().and_then(|c| c.get(pattern).cloned()) {
        return found.is_some_and(|m| m.is_match(value));
    }
    let matcher = GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .ok()
        .map(|g| g.compile_matcher());
    let matched = matcher.as_ref().is_some_and(|m| m.is_match(value));
    if let Ok(mut cache) = COMPILED.write() {
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(pattern.to_string(), matcher);
    }
    matched
}

/// The project an application may use when no AppProject object named `default` exists: Argo CD's
/// built-in default project, which allows everything.
pub(crate) fn builtin_default() -> AppProject {
    let mut project = AppProject::default();
    project.metadata.name = Some("default".into());
    project.spec.source_repos = Some(vec!["*".into()]);
    project.spec.destinations = Some(vec![capstan_types::ProjectDestination {
        server: Some("*".into()),
        namespace: Some("*".into()),
        name: Some("*".into()),
        extra: Default::default(),
    }]);
    project.spec.cluster_resource_whitelist = Some(vec![GroupKind {
        group: "*".into(),
        kind: "*".into(),
        extra: Default::default(),
    }]);
    project
}

/// Problems with the application's sources and destination under `project`.
pub(crate) fn check_application(
    app: &Application,
    project: &AppProject,
    destination_server: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let repos = project.spec.source_repos.as_deref().unwrap_or_default();
    for source in app.spec.all_sources() {
        let url = source.repo_url.trim_end_matches('/');
        if !repos
            .iter()
            .any(|r| glob_match(r.trim_end_matches('/'), url))
        {
            problems.push(format!(
                "application repo {} is not permitted in project '{name}' (spec.sourceRepos)",
                capstan_repo::git::url::redact_url(&source.repo_url)
            ));
        }
    }
    let namespace = app
        .spec
        .destination
        .namespace
        .as_deref()
        .unwrap_or_default();
    let dest_name = app.spec.destination.name.as_deref().unwrap_or_default();
    if !destination_permitted(project, destination_server, dest_name, namespace) {
        problems.push(format!(
            "application destination server '{destination_server}' and namespace '{namespace}' do not match any of the allowed destinations in project '{name}' (spec.destinations)"
        ));
    }
    problems
}

/// Whether the project's destinations allow `namespace` on the cluster known by `server` (or by
/// `cluster_name`).
fn destination_permitted(
    project: &AppProject,
    server: &str,
    cluster_name: &str,
    namespace: &str,
) -> bool {
    project
        .spec
        .destinations
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|d| {
            let server_ok = match (&d.server, &d.name) {
                (Some(s), _) if !s.is_empty() && glob_match(s, server) => true,
                (_, Some(n))
                    if !n.is_empty() && !cluster_name.is_empty() && glob_match(n, cluster_name) =>
                {
                    true
                }
                _ => false,
            };
            server_ok && glob_match(d.namespace.as_deref().unwrap_or("*"), namespace)
        })
}

/// A desired namespaced object's own namespace must be a destination of the project too, not only
/// the application's destination namespace (a manifest may name any namespace).
pub fn check_resource_namespace(
    obj: &Value,
    project: &AppProject,
    server: &str,
    cluster_name: &str,
) -> Option<String> {
    let namespace = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if namespace.is_empty() || destination_permitted(project, server, cluster_name, namespace) {
        return None;
    }
    let name = project.metadata.name.as_deref().unwrap_or_default();
    Some(format!(
        "namespace {namespace} is not permitted in project '{name}'"
    ))
}

fn matches_list(list: &[GroupKind], group: &str, kind: &str) -> bool {
    list.iter()
        .any(|gk| glob_match(&gk.group, group) && glob_match(&gk.kind, kind))
}

/// Problems with one desired object's kind under `project`.
pub fn check_resource(obj: &Value, namespaced: bool, project: &AppProject) -> Option<String> {
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let spec = &project.spec;
    let shown = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    };
    if namespaced {
        let white = spec.namespace_resource_whitelist.as_deref();
        if let Some(white) = white
            && !matches_list(white, group, kind)
        {
            return Some(format!(
                "resource {shown} is not permitted in project {name} (namespaceResourceWhitelist)"
            ));
        }
        if matches_list(
            spec.namespace_resource_blacklist
                .as_deref()
                .unwrap_or_default(),
            group,
            kind,
        ) {
            return Some(format!(
                "resource {shown} is not permitted in project {name} (namespaceResourceBlacklist)"
            ));
        }
    } else {
        if !matches_list(
            spec.cluster_resource_whitelist
                .as_deref()
                .unwrap_or_default(),
            group,
            kind,
        ) {
            return Some(format!(
                "cluster-scoped resource {shown} is not permitted in project {name} (clusterResourceWhitelist)"
            ));
        }
        if matches_list(
            spec.cluster_resource_blacklist
                .as_deref()
                .unwrap_or_default(),
            group,
            kind,
        ) {
            return Some(format!(
                "cluster-scoped resource {shown} is not permitted in project {name} (clusterResourceBlacklist)"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(spec: Value) -> AppProject {
        capstan_types::decode(&json!({"metadata": {"name": "team"}, "spec": spec})).unwrap()
    }

    #[test]
    fn an_objects_own_namespace_must_be_a_destination() {
        let p = project(json!({"destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "mine-*"},
            {"name": "far", "namespace": "far-ns"}]}));
        let in_ns = |ns: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": ns}})
        };
        let local = "https://kubernetes.default.svc";
        assert!(check_resource_namespace(&in_ns("mine-a"), &p, local, "in-cluster").is_none());
        assert_eq!(
            check_resource_namespace(&in_ns("kube-system"), &p, local, "in-cluster").as_deref(),
            Some("namespace kube-system is not permitted in project 'team'")
        );
        assert!(check_resource_namespace(&in_ns("far-ns"), &p, "https://far", "far").is_none());
        assert!(check_resource_namespace(&in_ns("mine-a"), &p, "https://far", "far").is_some());
        let cluster_scoped =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}});
        assert!(check_resource_namespace(&cluster_scoped, &p, local, "in-cluster").is_none());
    }

    fn app(repo: &str, ns: &str) -> Application {
        capstan_types::decode(&json!({"metadata": {"name": "a"}, "spec": {"project": "team",
            "source": {"repoURL": repo}, "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}}}))
        .unwrap()
    }

    #[test]
    fn sources_and_destinations() {
        let p = project(json!({"sourceRepos": ["https://github.com/team/*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}]}));
        assert!(
            check_application(
                &app("https://github.com/team/app", "team-a"),
                &p,
                "https://kubernetes.default.svc"
            )
            .is_empty()
        );
        let problems = check_application(
            &app("https://github.com/other/app", "default"),
            &p,
            "https://kubernetes.default.svc",
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("sourceRepos") && problems[1].contains("spec.destinations"));
        assert!(
            check_application(&app("https://x/y", "z"), &builtin_default(), "https://a").is_empty()
        );
    }

    #[test]
    fn kinds() {
        let p = project(
            json!({"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]}),
        );
        let ns = json!({"apiVersion": "v1", "kind": "Namespace"});
        let crb =
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding"});
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota"});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert!(check_resource(&ns, false, &p).is_none());
        assert!(
            check_resource(&crb, false, &p)
                .unwrap()
                .contains("clusterResourceWhitelist")
        );
        assert!(
            check_resource(&quota, true, &p)
                .unwrap()
                .contains("namespaceResourceBlacklist")
        );
        assert!(check_resource(&cm, true, &p).is_none());
    }
}
