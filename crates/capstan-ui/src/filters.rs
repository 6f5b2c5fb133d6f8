//! The applications list's filters, view and page, kept in the URL
//! (`/applications?proj=a&health=Degraded&labels=team=x&search=web&view=list&page=2`), and the
//! counts by status that the list shows.

use std::collections::BTreeMap;

use crate::model::AppSummary;

/// Applications per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: usize = 60;
/// The largest page size accepted.
pub const MAX_PER_PAGE: usize = 500;

/// Tiles or a compact list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Tiles.
    #[default]
    Tiles,
    /// A compact table.
    List,
}

/// The list's filters and position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    /// Projects (any of).
    pub projects: Vec<String>,
    /// Destination clusters (any of).
    pub clusters: Vec<String>,
    /// Destination namespaces (any of).
    pub namespaces: Vec<String>,
    /// Sync statuses (any of).
    pub sync: Vec<String>,
    /// Health statuses (any of).
    pub health: Vec<String>,
    /// Label selectors, each `key=value`, `key!=value` or `key` (all of).
    pub labels: Vec<String>,
    /// Free text matched against name, repository, path and namespace (case-insensitive).
    pub search: String,
    /// View.
    pub view: View,
    /// Page, from 1.
    pub page: usize,
    /// Page size.
    pub per_page: usize,
}

fn split_values(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

impl ListQuery {
    /// Reads a query string (without the `?`). Unknown keys and bad numbers are ignored.
    pub fn parse(query: &str) -> ListQuery {
        let mut q = ListQuery {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            ..ListQuery::default()
        };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "proj" | "project" | "projects" => q.projects.extend(split_values(&v)),
                "cluster" => q.clusters.extend(split_values(&v)),
                "namespace" => q.namespaces.extend(split_values(&v)),
                "sync" => q.sync.extend(split_values(&v)),
                "health" => q.health.extend(split_values(&v)),
                // a label value may contain a comma only when given as repeated parameters
                "labels" | "label" => q.labels.extend(split_values(&v)),
                "search" => q.search = v.trim().to_string(),
                "view" => q.view = if v == "list" { View::List } else { View::Tiles },
                "page" => q.page = v.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                "per_page" => {
                    q.per_page = v
                        .parse()
                        .ok()
                        .filter(|p| *p >= 1)
                        .map(|p: usize| p.min(MAX_PER_PAGE))
                        .unwrap_or(DEFAULT_PER_PAGE)
                }
                _ => {}
            }
        }
        q
    }

    /// The query string of this state (without `?`), in a stable order; defaults are left out.
    pub fn to_query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (key, values) in [
            ("proj", &self.projects),
            ("cluster", &self.clusters),
            ("namespace", &self.namespaces),
            ("sync", &self.sync),
            ("health", &self.health),
            ("labels", &self.labels),
        ] {
            for v in values {
                out.append_pair(key, v);
            }
        }
        if !self.search.is_empty() {
            out.append_pair("search", &self.search);
        }
        if self.view == View::List {
            out.append_pair("view", "list");
        }
        if self.per_page != DEFAULT_PER_PAGE {
            out.append_pair("per_page", &self.per_page.to_string());
        }
        if self.page > 1 {
            out.append_pair("page", &self.page.to_string());
        }
        out.finish()
    }

    /// The same filters on another page.
    pub fn with_page(&self, page: usize) -> ListQuery {
        ListQuery {
            page,
            ..self.clone()
        }
    }

    /// The same filters in another view, from the first page.
    pub fn with_view(&self, view: View) -> ListQuery {
        ListQuery {
            view,
            page: 1,
            ..self.clone()
        }
    }

    /// Whether any filter is set.
    pub fn is_filtered(&self) -> bool {
        !(self.projects.is_empty()
            && self.clusters.is_empty()
            && self.namespaces.is_empty()
            && self.sync.is_empty()
            && self.health.is_empty()
            && self.labels.is_empty()
            && self.search.is_empty())
    }

    /// Whether an application passes every filter.
    pub fn matches(&self, app: &AppSummary) -> bool {
        let any = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        any(&self.projects, &app.project)
            && any(&self.clusters, &app.cluster)
            && any(&self.namespaces, &app.namespace)
            && any(&self.sync, &app.sync)
            && any(&self.health, &app.health)
            && self.labels.iter().all(|l| label_matches(l, &app.labels))
            && (self.search.is_empty() || {
                let needle = self.search.to_lowercase();
                [
                    &app.name,
                    &app.repo,
                    &app.path,
                    &app.namespace,
                    &app.project,
                ]
                .iter()
                .any(|h| h.to_lowercase().contains(&needle))
            })
    }
}

/// One label requirement: `key=value`, `key==value`, `key!=value`, `key` (exists) or `!key`.
pub fn label_matches(requirement: &str, labels: &BTreeMap<String, String>) -> bool {
    let r = requirement.trim();
    if let Some((k, v)) = r.split_once("!=") {
        return labels.get(k.trim()).map(String::as_str) != Some(v.trim());
    }
    if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
        return labels.get(k.trim()).map(String::as_str) == Some(v.trim());
    }
    if let Some(k) = r.strip_prefix('!') {
        return !labels.contains_key(k.trim());
    }
    labels.contains_key(r)
}

/// Counts of the filtered applications by status, and the values offered in the filter menus.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counts {
    /// Applications that pass the filters.
    pub total: usize,
    /// By sync status.
    pub sync: BTreeMap<String, usize>,
    /// By health status.
    pub health: BTreeMap<String, usize>,
    /// Every project seen (before filtering).
    pub projects: Vec<String>,
    /// Every cluster seen.
    pub clusters: Vec<String>,
    /// Every namespace seen.
    pub namespaces: Vec<String>,
}

/// One page of the filtered list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The applications on this page, by name.
    pub items: Vec<AppSummary>,
    /// Counts.
    pub counts: Counts,
    /// This page (clamped to the last one).
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
}

/// Filters, counts, sorts by name and cuts out the requested page. Takes the applications by value
/// so a large list is not copied.
pub fn paginate(apps: Vec<AppSummary>, query: &ListQuery) -> Page {
    let mut counts = Counts::default();
    let mut projects = std::collections::BTreeSet::new();
    let mut clusters = std::collections::BTreeSet::new();
    let mut namespaces = std::collections::BTreeSet::new();
    let mut kept: Vec<AppSummary> = Vec::new();
    for app in apps {
        if !projects.contains(&app.project) {
            projects.insert(app.project.clone());
        }
        if !clusters.contains(&app.cluster) {
            clusters.insert(app.cluster.clone());
        }
        if !namespaces.contains(&app.namespace) {
            namespaces.insert(app.namespace.clone());
        }
        if query.matches(&app) {
            *counts.sync.entry(app.sync.clone()).or_default() += 1;
            *counts.health.entry(app.health.clone()).or_default() += 1;
            kept.push(app);
        }
    }
    counts.total = kept.len();
    counts.projects = projects.into_iter().collect();
    counts.clusters = clusters.into_iter().filter(|c| !c.is_empty()).collect();
    counts.namespaces = namespaces.into_iter().filter(|n| !n.is_empty()).collect();
    kept.sort_by(|a, b| a.name.cmp(&b.name));
    let per_page = query.per_page.max(1);
    let pages = kept.len().div_ceil(per_page).max(1);
    let page = query.page.clamp(1, pages);
    let items: Vec<AppSummary> = kept
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Page {
        items,
        counts,
        page,
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(
        name: &str,
        project: &str,
        health: &str,
        sync: &str,
        labels: &[(&str, &str)],
    ) -> AppSummary {
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        AppSummary::from_json(&json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"project": project, "source": {"repoURL": format!("https://git/{name}")},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "ns"}},
            "status": {"health": {"status": health}, "sync": {"status": sync}}
        }))
    }

    #[test]
    fn query_round_trips() {
        let q = ListQuery::parse(
            "proj=a,b&health=Degraded&labels=team%3Dx&labels=tier&search=%20web%20&view=list&page=3&per_page=10&junk=1",
        );
        assert_eq!(q.projects, ["a", "b"]);
        assert_eq!(q.labels, ["team=x", "tier"]);
        assert_eq!(q.search, "web");
        assert_eq!(q.view, View::List);
        assert_eq!((q.page, q.per_page), (3, 10));
        assert_eq!(ListQuery::parse(&q.to_query()), q);
        assert_eq!(
            q.to_query(),
            "proj=a&proj=b&health=Degraded&labels=team%3Dx&labels=tier&search=web&view=list&per_page=10&page=3"
        );
    }

    #[test]
    fn bad_numbers_fall_back() {
        let q = ListQuery::parse("page=0&per_page=100000");
        assert_eq!((q.page, q.per_page), (1, MAX_PER_PAGE));
        let q = ListQuery::parse("page=x&per_page=-1");
        assert_eq!((q.page, q.per_page), (1, DEFAULT_PER_PAGE));
        assert_eq!(ListQuery::parse("").to_query(), "");
    }

    #[test]
    fn labels_select() {
        let labels: BTreeMap<String, String> = [("team".to_string(), "x".to_string())].into();
        assert!(label_matches("team=x", &labels));
        assert!(label_matches("team==x", &labels));
        assert!(!label_matches("team=y", &labels));
        assert!(label_matches("team!=y", &labels));
        assert!(label_matches("team", &labels));
        assert!(!label_matches("!team", &labels));
        assert!(label_matches("!tier", &labels));
    }

    #[test]
    fn filters_count_and_page() {
        let apps: Vec<AppSummary> = (0..25)
            .map(|i| {
                app(
                    &format!("app-{i:02}"),
                    if i % 2 == 0 { "even" } else { "odd" },
                    if i % 5 == 0 { "Degraded" } else { "Healthy" },
                    "Synced",
                    &[("i", &i.to_string())],
                )
            })
            .collect();
        let page = paginate(
            apps.clone(),
            &ListQuery::parse("proj=even&per_page=5&page=2"),
        );
        assert_eq!(page.counts.total, 13);
        assert_eq!(page.pages, 3);
        assert_eq!(page.items[0].name, "app-10");
        assert_eq!(page.counts.health.get("Degraded"), Some(&3));
        assert_eq!(page.counts.projects, ["even", "odd"]);
        let page = paginate(apps.clone(), &ListQuery::parse("per_page=10&page=99"));
        assert_eq!((page.page, page.pages, page.items.len()), (3, 3, 5));
        let page = paginate(apps.clone(), &ListQuery::parse("search=APP-2&labels=i=21"));
        let names: Vec<&str> = page.items.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["app-21"]);
        let page = paginate(Vec::new(), &ListQuery::parse(""));
        assert_eq!((page.page, page.pages, page.counts.total), (1, 1, 0));
    }
}
