//! The applications list: filters kept in the URL, counts by status, tiles or a compact list, one
//! page at a time, updated live by `app.js` from the applications event stream.

use std::collections::BTreeMap;

use maud::{Markup, html};

use crate::filters::{ListQuery, Page, View};
use crate::links::repo_web_url;
use crate::model::AppSummary;
use crate::pages::{
    Perm, Section, Shell, action_button, health_badge, op_badge, page, short_rev, sync_badge,
};

const SYNC_STATUSES: &[&str] = &["Synced", "OutOfSync", "Unknown"];
const HEALTH_STATUSES: &[&str] = &[
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
];

/// What the list page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView {
    /// Logged-in user.
    pub user: String,
    /// The filters.
    pub query: ListQuery,
    /// The page of applications.
    pub page: Page,
    /// Whether the user may create applications (in some project).
    pub can_create: Perm,
    /// Whether the user may sync each application on the page, by name (a missing name: not allowed).
    pub sync_perms: BTreeMap<String, Perm>,
}

fn link(query: &ListQuery) -> String {
    let q = query.to_query();
    if q.is_empty() {
        "/applications".to_string()
    } else {
        format!("/applications?{q}")
    }
}

fn app_href(name: &str) -> String {
    format!("/applications/{}", urlencode_path(name))
}

/// A path segment, percent-encoded.
pub fn urlencode_path(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn repo(app: &AppSummary) -> Markup {
    html! {
        @match repo_web_url(&app.repo) {
            Some(href) => a href=(href) rel="noopener noreferrer" { (app.repo) },
            None => span { (app.repo) },
        }
    }
}

fn sync_button(app: &AppSummary, perms: &BTreeMap<String, Perm>) -> Markup {
    let denied = Perm::new(
        false,
        "applications",
        "sync",
        &format!("{}/{}", app.project, app.name),
    );
    let perm = perms.get(&app.name).unwrap_or(&denied);
    action_button(
        "Sync",
        "POST",
        &format!("/api/v1/applications/{}/sync", urlencode_path(&app.name)),
        "{}",
        perm,
        &[("done", "Sync requested")],
    )
}

fn tile(app: &AppSummary, perms: &BTreeMap<String, Perm>) -> Markup {
    html! {
        li class="tile" data-app=(app.name) data-health=(app.health) {
            h2 { a href=(app_href(&app.name)) { (app.name) } }
            p.badges { (health_badge(&app.health)) " " (sync_badge(&app.sync)) " " (op_badge(&app.operation_phase)) }
            dl {
                dt { "Project" } dd { (app.project) }
                dt { "Repository" } dd.repo { (repo(app)) }
                dt { "Path" } dd { (app.path) }
                dt { "Target" } dd { (app.target_revision) @if !app.revision.is_empty() { " (" (short_rev(&app.revision)) ")" } }
                dt { "Destination" } dd { (app.cluster) @if !app.namespace.is_empty() { " / " (app.namespace) } }
                @if app.auto_sync { dt { "Sync policy" } dd { "Automated" } }
            }
            p.tile-actions { (sync_button(app, perms)) }
        }
    }
}

fn row(app: &AppSummary, perms: &BTreeMap<String, Perm>) -> Markup {
    html! {
        tr data-app=(app.name) {
            td { a href=(app_href(&app.name)) { (app.name) } }
            td { (app.project) }
            td { (health_badge(&app.health)) }
            td { (sync_badge(&app.sync)) " " (op_badge(&app.operation_phase)) }
            td.repo { (repo(app)) }
            td { (app.path) }
            td { (app.cluster) }
            td { (app.namespace) }
            td { (sync_button(app, perms)) }
        }
    }
}

fn checkbox_group(legend: &str, name: &str, options: &[String], selected: &[String]) -> Markup {
    html! {
        fieldset.filter {
            legend { (legend) }
            @for o in options {
                label.check {
                    input type="checkbox" name=(name) value=(o) checked[selected.contains(o)];
                    " " (o)
                }
            }
        }
    }
}

fn filters(view: &ListView) -> Markup {
    let q = &view.query;
    let c = &view.page.counts;
    let owned = |list: &[&str]| list.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    html! {
        form.filters #filters method="get" action="/applications" role="search" {
            @if q.view == View::List { input type="hidden" name="view" value="list"; }
            label for="search" { "Search" }
            input #search type="search" name="search" value=(q.search) placeholder="name, repository, path";
            label for="labels" { "Labels" }
            input #labels name="labels" value=(q.labels.join(",")) placeholder="team=web,tier";
            (checkbox_group("Sync status", "sync", &owned(SYNC_STATUSES), &q.sync))
            (checkbox_group("Health status", "health", &owned(HEALTH_STATUSES), &q.health))
            (checkbox_group("Projects", "proj", &c.projects, &q.projects))
            (checkbox_group("Clusters", "cluster", &c.clusters, &q.clusters))
            (checkbox_group("Namespaces", "namespace", &c.namespaces, &q.namespaces))
            button type="submit" { "Apply filters" }
            @if q.is_filtered() { " " a href=(link(&ListQuery { view: q.view, ..ListQuery::parse("") })) { "Clear" } }
        }
    }
}

fn counts(view: &ListView) -> Markup {
    let c = &view.page.counts;
    let q = &view.query;
    let by = |key: &str, status: &str| {
        let mut filtered = q.with_page(1);
        match key {
            "sync" => filtered.sync = vec![status.to_string()],
            _ => filtered.health = vec![status.to_string()],
        }
        link(&filtered)
    };
    html! {
        p.counts #counts aria-label="Counts" {
            strong data-count="total" { (c.total) } " applications"
            @for (status, n) in &c.sync {
                " · " a href=(by("sync", status)) { (status) ": " span data-count={ "sync-" (status) } { (n) } }
            }
            @for (status, n) in &c.health {
                " · " a href=(by("health", status)) { (status) ": " span data-count={ "health-" (status) } { (n) } }
            }
        }
    }
}

fn pager(view: &ListView) -> Markup {
    let (page, pages) = (view.page.page, view.page.pages);
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 {
                a rel="prev" href=(link(&view.query.with_page(page - 1))) { "← Previous" }
            }
            span { "Page " (page) " of " (pages) }
            @if page < pages {
                a rel="next" href=(link(&view.query.with_page(page + 1))) { "Next →" }
            }
        }
    }
}

/// Renders the list page.
pub fn render(view: &ListView) -> String {
    let q = &view.query;
    // the compact stream of the list, starting with the current status of this page's applications
    let names: Vec<&str> = view.page.items.iter().map(|a| a.name.as_str()).collect();
    let stream = format!(
        "/ui/stream/applications?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("names", &names.join(","))
            .finish()
    );
    let shell = Shell {
        title: "Applications".into(),
        user: Some(view.user.clone()),
        section: Section::Applications,
        stream: Some(stream),
        live: Some("list"),
    };
    page(
        &shell,
        html! {
            div.toolbar {
                h1 { "Applications" }
                @if view.can_create.allowed {
                    a.button.primary href="/applications/new" { "+ New app" }
                } @else {
                    span.button.disabled title=[view.can_create.tooltip()] aria-disabled="true" { "+ New app" }
                }
                span.views {
                    a href=(link(&q.with_view(View::Tiles))) aria-current=[(q.view == View::Tiles).then_some("true")] { "Tiles" }
                    a href=(link(&q.with_view(View::List))) aria-current=[(q.view == View::List).then_some("true")] { "List" }
                }
            }
            details.filter-panel open[q.is_filtered()] {
                summary { "Filters" @if q.is_filtered() { " (active)" } }
                (filters(view))
            }
            div #live {
                (counts(view))
                @if view.page.items.is_empty() {
                    p.empty { @if q.is_filtered() { "No applications match the filters." } @else { "No applications yet." } }
                } @else if q.view == View::Tiles {
                    ul.tiles { @for app in &view.page.items { (tile(app, &view.sync_perms)) } }
                } @else {
                    table.apps {
                        thead { tr { th { "Name" } th { "Project" } th { "Health" } th { "Sync" } th { "Repository" } th { "Path" } th { "Cluster" } th { "Namespace" } th { span.visually-hidden { "Actions" } } } }
                        tbody { @for app in &view.page.items { (row(app, &view.sync_perms)) } }
                    }
                }
                (pager(view))
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::paginate;
    use serde_json::json;

    fn apps() -> Vec<AppSummary> {
        ["guestbook", "helm-guestbook", "javascript-app"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                AppSummary::from_json(&json!({
                    "metadata": {"name": name},
                    "spec": {"project": "default",
                        "source": {"repoURL": if i == 2 { "javascript:alert(1)" } else { "https://github.com/argoproj/argocd-example-apps.git" },
                            "path": name, "targetRevision": "HEAD"},
                        "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}},
                    "status": {"health": {"status": if i == 1 { "Degraded" } else { "Healthy" }},
                        "sync": {"status": "Synced", "revision": "0123456789012345678901234567890123456789"}}
                }))
            })
            .collect()
    }

    fn view(query: &str) -> ListView {
        let query = ListQuery::parse(query);
        ListView {
            user: "admin".into(),
            page: paginate(apps(), &query),
            query,
            can_create: Perm::yes(),
            sync_perms: [("guestbook".to_string(), Perm::yes())].into(),
        }
    }

    #[test]
    fn tiles_page() {
        insta::assert_snapshot!(crate::pages::stable(render(&view(""))));
    }

    #[test]
    fn list_view_with_filters_and_paging() {
        let html = render(&view("view=list&per_page=1&page=2&health=Healthy"));
        assert!(html.contains("<table class=\"apps\">"));
        assert!(html.contains("data-app=\"javascript-app\""));
        assert!(!html.contains("data-app=\"guestbook\""));
        assert!(html.contains("Page 2 of 2"));
        assert!(
            html.contains("href=\"/applications?health=Healthy&amp;view=list&amp;per_page=1\"")
        );
        // an unsafe repository URL is text, not a link
        assert!(!html.contains("href=\"javascript:"));
        assert!(html.contains(">javascript:alert(1)<"));
    }

    #[test]
    fn create_denied_is_shown_disabled() {
        let mut v = view("");
        v.can_create = Perm::new(false, "applications", "create", "*/*");
        let html = render(&v);
        assert!(html.contains("aria-disabled=\"true\""));
        assert!(html.contains("You do not have permission: applications, create, */*"));
        // sync allowed on guestbook only
        assert_eq!(
            html.matches("You do not have permission: applications, sync, default/")
                .count(),
            2
        );
    }
}
