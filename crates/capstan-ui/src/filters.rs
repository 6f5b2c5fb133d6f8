//! The applications list's filters, view and page, kept in the URL
//! (`/applications?proj=a&health=Degraded&labels=team=x&search=web&view=list&page=2`), and the
//! counts by status that the list shows.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{AppKey, AppSummary, LabelsRef};

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
    pub fn matches(&self, app: &AppKey<'_>) -> bool {
        let any = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        any(&self.projects, app.project)
            && any(&self.clusters, app.cluster)
            && any(&self.namespaces, app.namespace)
            && any(&self.sync, app.sync)
            && any(&self.health, app.health)
            && self.labels.iter().all(|l| label_matches(l, &app.labels))
            && (self.search.is_empty() || {
                let needle = self.search.to_lowercase();
                [app.name, app.repo, app.path, app.namespace, app.project]
                    .iter()
                    .any(|h| contains_ignore_case(h, &needle))
            })
    }
}

/// Whether `haystack` contains `needle_lower` (already lowercase), ignoring ASCII case without
/// allocating for ASCII text.
fn contains_ignore_case(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
        return h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle_lower)
}

/// One label requirement: `key=value`, `key==value`, `key!=value`, `key` (exists) or `!key`.
pub fn label_matches(requirement: &str, labels: &LabelsRef<'_>) -> bool {
    let r = requirement.trim();
    if let Some((k, v)) = r.split_once("!=") {
        return labels.get(k.trim()) != Some(v.trim());
    }
    if let Some((k, v)) = r.split_once("==").or_else(|| r.split_once('=')) {
        return labels.get(k.trim()) == Some(v.trim());
    }
    if let Some(k) = r.strip_prefix('!') {
        return labels.get(k.trim()).is_none();
    }
    labels.get(r).is_some()
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

/// Filters, counts, sorts by name and cuts out the requested page of view models.
pub fn paginate(apps: Vec<AppSummary>, query: &ListQuery) -> Page {
    let refs: Vec<&AppSummary> = apps.iter().collect();
    paginate_by(&refs, query, |a| a.key(), |a| (*a).clone())
}

/// [`paginate`] over Application objects: only the applications of the page become
/// [`AppSummary`]s; filtering, counting and sorting borrow from the objects.
pub fn paginate_json(apps: &[&Value], query: &ListQuery) -> Page {
    paginate_by(
        apps,
        query,
        |a| AppKey::from_json(a),
        |a| AppSummary::from_json(a),
    )
}

fn paginate_by<T>(
    apps: &[T],
    query: &ListQuery,
    key: impl for<'a> Fn(&'a T) -> AppKey<'a>,
    build: impl Fn(&T) -> AppSummary,
) -> Page {
    let mut counts = Counts::default();
    let mut projects = std::collections::BTreeSet::new();
    let mut clusters = std::collections::BTreeSet::new();
    let mut namespaces = std::collections::BTreeSet::new();
    let mut sync: BTreeMap<&str, usize> = BTreeMap::new();
    let mut health: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kept: Vec<(&str, &T)> = Vec::new();
    for app in apps {
        let k = key(app);
        projects.insert(k.project);
        clusters.insert(k.cluster);
        namespaces.insert(k.namespace);
        if query.matches(&k) {
            *sync.entry(k.sync).or_default() += 1;
            *health.entry(k.health).or_default() += 1;
            kept.push((k.name, app));
        }
    }
    counts.total = kept.len();
    counts.sync = sync.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    counts.health = health
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    counts.projects = projects.into_iter().map(String::from).collect();
    counts.clusters = clusters
        .into_iter()
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    counts.namespaces = namespaces
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    kept.sort_by(|a, b| a.0.cmp(b.0));
    let per_page = query.per_page.max(1);
    let pages = kept.len().div_ceil(per_page).max(1);
    let page = query.page.clamp(1, pages);
    let items: Vec<AppSummary> = kept
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(_, app)| build(app))
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
        let owned: BTreeMap<String, String> = [("team".to_string(), "x".to_string())].into();
        let labels = LabelsRef::Owned(&owned);
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

    #[test]
    fn json_and_view_model_pagination_agree() {
        let values: Vec<serde_json::Value> = (0..30)
            .map(|i| json!({
                "metadata": {"name": format!("a-{:02}", 29 - i), "labels": {"i": (i % 3).to_string()}},
                "spec": {"project": if i % 2 == 0 { "even" } else { "odd" },
                    "source": {"repoURL": "https://Git.Example/R"}},
                "status": {"health": {"status": if i % 4 == 0 { "Degraded" } else { "Healthy" }}}
            }))
            .collect();
        let refs: Vec<&serde_json::Value> = values.iter().collect();
        let summaries: Vec<AppSummary> = values.iter().map(AppSummary::from_json).collect();
        for q in [
            "",
            "proj=odd&per_page=4&page=2",
            "labels=i=1&search=git.example",
            "health=Degraded&labels=!i",
            "search=A-1",
        ] {
            let q = ListQuery::parse(q);
            assert_eq!(
                paginate_json(&refs, &q),
                paginate(summaries.clone(), &q),
                "{q:?}"
            );
        }
        let p = paginate_json(&refs, &ListQuery::parse("search=A-1"));
        assert_eq!(p.counts.total, 10);
    }
}
