//! One resource of an application (summary, live manifest, desired manifest, diff, events), reached
//! by a deep link `/applications/<app>/resource?group=&kind=&namespace=&name=&tab=`, and the whole
//! application's diff.

use maud::{Markup, html};

use crate::pages::app::app_path;
use crate::pages::apps::urlencode_path;
use crate::pages::{
    Perm, Section, Shell, action_button, external_link, health_badge, page, sync_badge,
};
use crate::tree::ResourceRef;

/// The tabs of the resource panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Summary.
    Summary,
    /// Live manifest.
    Live,
    /// Desired manifest.
    Desired,
    /// Diff.
    Diff,
    /// Events.
    Events,
}

impl Tab {
    /// From the `tab` query parameter (summary when unknown).
    pub fn parse(text: &str) -> Tab {
        match text {
            "live" => Tab::Live,
            "desired" => Tab::Desired,
            "diff" => Tab::Diff,
            "events" => Tab::Events,
            _ => Tab::Summary,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Tab::Summary => "summary",
            Tab::Live => "live",
            Tab::Desired => "desired",
            Tab::Diff => "diff",
            Tab::Events => "events",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Summary => "Summary",
            Tab::Live => "Live manifest",
            Tab::Desired => "Desired manifest",
            Tab::Diff => "Diff",
            Tab::Events => "Events",
        }
    }
}

/// One Kubernetes event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// `Normal` or `Warning`.
    pub kind: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Count.
    pub count: i64,
    /// Last seen.
    pub last: String,
}

/// A resource action (restart, pause, scale, ... or a Lua action of argocd-cm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionView {
    /// Action name.
    pub name: String,
    /// Not available in the resource's current state.
    pub disabled: bool,
    /// `applications, action/<group>/<kind>/<name>, <project>/<app>`.
    pub perm: Perm,
}

/// What the resource page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceView {
    /// Logged-in user.
    pub user: String,
    /// Application name.
    pub app: String,
    /// The resource.
    pub id: ResourceRef,
    /// Health status.
    pub health: String,
    /// Health message.
    pub health_message: String,
    /// Sync status (empty when not managed).
    pub sync: String,
    /// Selected tab.
    pub tab: Tab,
    /// Live manifest as YAML (Secret values masked), if the resource exists.
    pub live_yaml: Option<String>,
    /// Desired manifest as YAML (masked), if managed and rendered.
    pub desired_yaml: Option<String>,
    /// Unified diff (masked), empty when equal.
    pub diff: String,
    /// Events about the resource.
    pub events: Vec<EventRow>,
    /// Errors reading any of the above.
    pub errors: Vec<String>,
    /// May sync the application.
    pub sync_perm: Perm,
    /// API version of the resource (for actions).
    pub version: String,
    /// Resource actions available on it.
    pub actions: Vec<ActionView>,
    /// External links (title, URL text) of its `link.argocd.argoproj.io/*` annotations and
    /// external URLs; links only when http(s).
    pub links: Vec<(String, String)>,
}

/// A unified diff, each line classed for colour (`+` added, `-` removed, `@@` hunk).
pub fn diff_block(diff: &str) -> Markup {
    html! {
        pre.diff {
            code {
                @for line in diff.lines() {
                    @let class = if line.starts_with("+++") || line.starts_with("---") { "file" }
                        else if line.starts_with('+') { "add" }
                        else if line.starts_with('-') { "del" }
                        else if line.starts_with("@@") { "hunk" }
                        else { "ctx" };
                    span class=(class) { (line) } "\n"
                }
            }
        }
    }
}

fn yaml_block(text: &Option<String>, missing: &str) -> Markup {
    html! {
        @match text {
            Some(t) => pre.manifest { code { (t) } },
            None => p.message { (missing) },
        }
    }
}

/// The resource's own URL with another tab.
pub fn resource_href(app: &str, id: &ResourceRef, tab: Tab) -> String {
    format!(
        "{}/resource?{}&tab={}",
        app_path(app),
        id.to_query(),
        tab.key()
    )
}

/// Renders the resource page.
pub fn render(view: &ResourceView) -> String {
    let id = &view.id;
    let title = format!("{}/{}", id.kind, id.name);
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/applications" { "Applications" } " / "
            a href=(app_path(&view.app)) { (view.app) } " / "
            span { (title) }
        }
        div.toolbar {
            h1 { (title) }
            @if !view.sync.is_empty() {
                (action_button("Sync this resource", "POST",
                    &format!("/api/v1/applications/{}/sync", urlencode_path(&view.app)),
                    &serde_json::json!({"resources": [{"group": id.group, "kind": id.kind, "namespace": id.namespace, "name": id.name}]}).to_string(),
                    &view.sync_perm, &[("done", "Sync requested")]))
            }
        }
        @if !view.actions.is_empty() {
            div.toolbar.resource-actions aria-label="Resource actions" {
                span { "Actions:" }
                @for a in &view.actions {
                    @if a.disabled {
                        button type="button" disabled title="Not available in the resource's current state" { (a.name) }
                    } @else {
                        (action_button(&a.name, "POST",
                            &format!("/api/v1/applications/{}/resource/actions/v2", urlencode_path(&view.app)),
                            &serde_json::json!({"action": a.name, "resourceName": id.name, "namespace": id.namespace,
                                "group": id.group, "kind": id.kind, "version": view.version}).to_string(),
                            &a.perm, &[("confirm", "Run this action?"), ("done", "Action done")]))
                    }
                }
            }
        }
        p.badges {
            @if !view.health.is_empty() { (health_badge(&view.health)) " " }
            @if !view.sync.is_empty() { (sync_badge(&view.sync)) }
        }
        @for e in &view.errors { p.error role="alert" { (e) } }
        nav.tabs aria-label="Resource views" {
            @for tab in [Tab::Summary, Tab::Live, Tab::Desired, Tab::Diff, Tab::Events] {
                a href=(resource_href(&view.app, id, tab)) aria-current=[(tab == view.tab).then_some("page")] { (tab.label()) }
            }
        }
        section.tab-panel #panel {
            @match view.tab {
                Tab::Summary => {
                    dl.summary {
                        dt { "Kind" } dd { (id.kind) }
                        dt { "Group" } dd { @if id.group.is_empty() { "(core)" } @else { (id.group) } }
                        dt { "Namespace" } dd { (id.namespace) }
                        dt { "Name" } dd { (id.name) }
                        dt { "Health" } dd { (view.health) @if !view.health_message.is_empty() { " — " (view.health_message) } }
                        dt { "Sync" } dd { @if view.sync.is_empty() { "not managed directly" } @else { (view.sync) } }
                        @if !view.links.is_empty() {
                            dt { "Links" }
                            dd.resource-links { @for (title, url) in &view.links { (external_link(title, url)) " " } }
                        }
                    }
                }
                Tab::Live => (yaml_block(&view.live_yaml, "The resource does not exist in the cluster.")),
                Tab::Desired => (yaml_block(&view.desired_yaml, "The resource is not in the desired state (not managed, or to be pruned).")),
                Tab::Diff => {
                    @if view.diff.is_empty() {
                        p.message #no-diff { "No differences." }
                    } @else {
                        (diff_block(&view.diff))
                    }
                }
                Tab::Events => {
                    @if view.events.is_empty() {
                        p.message { "No events." }
                    } @else {
                        table.events {
                            thead { tr { th { "Type" } th { "Reason" } th { "Message" } th { "Count" } th { "Last seen" } } }
                            tbody {
                                @for e in &view.events {
                                    tr { td { (e.kind) } td { (e.reason) } td { (e.message) } td { (e.count) } td { (e.last) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        &Shell::new(
            format!("{title} · {}", view.app),
            Some(view.user.clone()),
            Section::Applications,
        ),
        body,
    )
}

/// One modified resource in the application diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffItem {
    /// The resource.
    pub id: ResourceRef,
    /// The unified diff.
    pub diff: String,
}

/// Renders the whole application's diff.
pub fn render_app_diff(user: &str, app: &str, items: &[DiffItem], error: Option<&str>) -> String {
    page(
        &Shell::new(
            format!("Diff · {app}"),
            Some(user.to_string()),
            Section::Applications,
        ),
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href="/applications" { "Applications" } " / " a href=(app_path(app)) { (app) } " / " span { "Diff" }
            }
            h1 { "Diff of " (app) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if items.is_empty() && error.is_none() {
                p.message #no-diff { "The live state matches the desired state." }
            }
            @for item in items {
                section.diff-item {
                    h2 { a href=(resource_href(app, &item.id, Tab::Diff)) { (item.id.kind) "/" (item.id.name) } }
                    (diff_block(&item.diff))
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(tab: Tab) -> ResourceView {
        ResourceView {
            user: "admin".into(),
            app: "guestbook".into(),
            id: ResourceRef {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: "default".into(),
                name: "guestbook-ui".into(),
            },
            health: "Healthy".into(),
            health_message: String::new(),
            sync: "OutOfSync".into(),
            tab,
            live_yaml: Some("spec:\n  replicas: 1\n".into()),
            desired_yaml: Some("spec:\n  replicas: 2\n".into()),
            diff: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n spec:\n-  replicas: 1\n+  replicas: 2\n".into(),
            events: vec![],
            errors: vec![],
            sync_perm: Perm::yes(),
            version: "v1".into(),
            links: vec![
                ("grafana".into(), "https://grafana.example/d".into()),
                ("x".into(), "javascript:alert(1)".into()),
            ],
            actions: vec![
                ActionView {
                    name: "restart".into(),
                    disabled: false,
                    perm: Perm::new(
                        false,
                        "applications",
                        "action/apps/Deployment/restart",
                        "default/guestbook",
                    ),
                },
                ActionView {
                    name: "resume".into(),
                    disabled: true,
                    perm: Perm::yes(),
                },
            ],
        }
    }

    #[test]
    fn diff_tab() {
        insta::assert_snapshot!(crate::pages::stable(render(&view(Tab::Diff))));
    }

    #[test]
    fn tabs_link_to_each_other_and_manifests_are_escaped() {
        let mut v = view(Tab::Live);
        v.live_yaml = Some("data:\n  x: <script>\n".into());
        let html = render(&v);
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("tab=diff"));
        assert!(html.contains("aria-current=\"page\">Live manifest"));
        assert_eq!(Tab::parse("nonsense"), Tab::Summary);
        assert!(html.contains("You do not have permission: applications, action/apps/Deployment/restart, default/guestbook"));
        assert!(
            html.contains("Not available in the resource&#39;s current state")
                || html.contains("Not available in the resource's current state")
        );
        assert!(html.contains("/api/v1/applications/guestbook/resource/actions/v2"));
    }

    #[test]
    fn summary_links_only_http_urls() {
        let html = render(&view(Tab::Summary));
        assert!(html.contains("href=\"https://grafana.example/d\""));
        assert!(!html.contains("href=\"javascript:"));
        assert!(html.contains("x: javascript:alert(1)"));
    }

    #[test]
    fn app_diff_lists_modified_resources() {
        let html = render_app_diff(
            "admin",
            "guestbook",
            &[DiffItem {
                id: view(Tab::Diff).id,
                diff: "-a\n+b\n".into(),
            }],
            None,
        );
        assert!(html.contains("<span class=\"del\">-a</span>"));
        assert!(html.contains("<span class=\"add\">+b</span>"));
        let empty = render_app_diff("admin", "guestbook", &[], None);
        assert!(empty.contains("matches the desired state"));
    }
}
