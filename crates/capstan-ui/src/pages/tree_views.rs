//! The resources of the application page, in one of three views: the tree (indented, by
//! ownerReferences), a flat list (the default above [`LIST_VIEW_THRESHOLD`] nodes), and a graph
//! (SVG boxes and edges from the Application to its resources and their children, drawn on the
//! server: no script, no external asset). Tree and list can be grouped by kind, parent or health;
//! the graph collapses sibling leaves of one kind when grouped by kind.

use maud::{Markup, html};

use crate::graph::{self, GraphItem, NODE_HEIGHT, NODE_WIDTH};
use crate::pages::app::{AppView, LIST_VIEW_THRESHOLD, app_path};
use crate::pages::{external_link, health_badge, sync_badge};
use crate::tree::{Group, ResourceRef, TreeNode};

/// Which view the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Indented tree.
    Tree,
    /// Flat table.
    List,
    /// SVG graph.
    Graph,
}

impl Mode {
    /// The view the URL asks for; a very large application gets the list unless the URL asks for
    /// the tree or the graph.
    pub fn of(view: &AppView) -> Mode {
        let f = &view.filter;
        if f.graph {
            Mode::Graph
        } else if f.list || view.tree.nodes.len() > LIST_VIEW_THRESHOLD && !f.tree {
            Mode::List
        } else {
            Mode::Tree
        }
    }
}

fn node_link(app: &str, id: &ResourceRef) -> String {
    format!("{}/resource?{}", app_path(app), id.to_query())
}

fn node_links(n: &TreeNode) -> Markup {
    html! {
        @for url in &n.links { " " span.node-link { (external_link(url, url)) } }
    }
}

/// The filter form (kind, health, sync, name, view, grouping), kept in the URL.
pub fn filters(view: &AppView, mode: Mode) -> Markup {
    let f = &view.filter;
    html! {
        form.filters.inline method="get" action=(app_path(&view.app.summary.name)) role="search" aria-label="Resource filters" {
            label for="tree-kind" { "Kind" }
            select #tree-kind name="kind" {
                option value="" { "All kinds" }
                @for (kind, n) in view.tree.kinds() {
                    option value=(kind) selected[f.kinds.contains(&kind)] { (kind) " (" (n) ")" }
                }
            }
            label for="tree-health" { "Health" }
            select #tree-health name="health" {
                option value="" { "Any" }
                @for h in ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"] {
                    option value=(h) selected[f.health.iter().any(|x| x == h)] { (h) }
                }
            }
            label for="tree-sync" { "Sync" }
            select #tree-sync name="sync" {
                option value="" { "Any" }
                @for s in ["Synced", "OutOfSync"] {
                    option value=(s) selected[f.sync.iter().any(|x| x == s)] { (s) }
                }
            }
            label for="tree-q" { "Name" }
            input #tree-q type="search" name="q" value=(f.text);
            label for="tree-view" { "View" }
            select #tree-view name="view" {
                option value="tree" selected[mode == Mode::Tree] { "Tree" }
                option value="graph" selected[mode == Mode::Graph] { "Graph" }
                option value="list" selected[mode == Mode::List] { "List" }
            }
            label for="tree-group" { "Group by" }
            select #tree-group name="group" {
                @for (value, label) in [(Group::None, "Nothing"), (Group::Kind, "Kind"), (Group::Parent, "Parent"), (Group::Health, "Health")] {
                    option value=(value.as_str()) selected[f.group == value] { (label) }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

/// The resources in the chosen view.
pub fn render(view: &AppView, mode: Mode) -> Markup {
    match (mode, view.filter.group) {
        (Mode::Graph, group) => graph_view(view, group),
        (Mode::Tree, Group::None) => tree_view(view),
        (Mode::List, Group::None) => list_view(view),
        (_, _) => grouped_view(view),
    }
}

fn tree_view(view: &AppView) -> Markup {
    let t = &view.tree;
    let keep = t.visible(&view.filter);
    let app = &view.app.summary.name;
    // iterative pre-order: (node, depth); a visited set guards against repeated children
    let mut rows: Vec<(usize, usize)> = Vec::new();
    let mut seen = vec![false; t.nodes.len()];
    let mut stack: Vec<(usize, usize)> = t.roots.iter().rev().map(|r| (*r, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        if seen[i] || !keep[i] {
            continue;
        }
        seen[i] = true;
        rows.push((i, depth));
        for c in t.nodes[i].children.iter().rev() {
            stack.push((*c, depth + 1));
        }
    }
    html! {
        ul.tree #tree aria-label="Resource tree" {
            li.node.root {
                span.kind { "Application" } " " strong { (app) } " " (health_badge(&view.app.summary.health)) " " (sync_badge(&view.app.summary.sync))
            }
            @for (i, depth) in rows {
                @let n = &t.nodes[i];
                li class={ "node depth-" (depth.min(8) + 1) } data-kind=(n.id.kind) data-name=(n.id.name) {
                    a href=(node_link(app, &n.id)) {
                        span.kind { (n.id.kind) } " " (n.id.name)
                    }
                    " "
                    @if !n.health.is_empty() { (health_badge(&n.health)) " " }
                    @if !n.sync.is_empty() { (sync_badge(&n.sync)) }
                    @if !n.health_message.is_empty() { span.message { " " (n.health_message) } }
                    (node_links(n))
                }
            }
        }
    }
}

fn rows_table(view: &AppView, nodes: &[usize], label: &str, id: Option<&str>) -> Markup {
    let app = &view.app.summary.name;
    html! {
        table.resources id=[id] aria-label=(label) {
            thead { tr { th { "Kind" } th { "Name" } th { "Namespace" } th { "Health" } th { "Sync" } } }
            tbody {
                @for i in nodes {
                    @let n = &view.tree.nodes[*i];
                    tr data-kind=(n.id.kind) data-name=(n.id.name) {
                        td { (n.id.kind) }
                        td { a href=(node_link(app, &n.id)) { (n.id.name) } (node_links(n)) }
                        td { (n.id.namespace) }
                        td { @if !n.health.is_empty() { (health_badge(&n.health)) } }
                        td { @if !n.sync.is_empty() { (sync_badge(&n.sync)) } }
                    }
                }
            }
        }
    }
}

fn list_view(view: &AppView) -> Markup {
    let nodes: Vec<usize> = (0..view.tree.nodes.len())
        .filter(|i| view.filter.matches(&view.tree.nodes[*i]))
        .collect();
    rows_table(view, &nodes, "Resources", Some("tree"))
}

fn grouped_view(view: &AppView) -> Markup {
    let sections = view.tree.grouped(&view.filter);
    html! {
        div.groups #tree data-group=(view.filter.group.as_str()) {
            @if sections.is_empty() { p.message { "No resources match." } }
            @for (label, nodes) in &sections {
                section.group data-group-label=(label) aria-label=(label) {
                    h3 { (label) " " span.count { "(" (nodes.len()) ")" } }
                    (rows_table(view, nodes, label, None))
                }
            }
        }
    }
}

/// The first `max` characters of `text` (with an ellipsis when cut).
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn status_class(health: &str) -> String {
    let cleaned: String = health
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if cleaned.is_empty() {
        "gstripe st-unknown".into()
    } else {
        format!("gstripe st-{cleaned}")
    }
}

fn graph_view(view: &AppView, group: Group) -> Markup {
    let t = &view.tree;
    let keep = t.visible(&view.filter);
    let g = graph::layout(t, &keep, group);
    let app = &view.app.summary;
    let base = app_path(&app.name);
    let half = NODE_HEIGHT / 2;
    html! {
        div.graph-scroll {
            svg.graph #tree xmlns="http://www.w3.org/2000/svg" role="group" aria-label="Resource graph"
                width=(g.width) height=(g.height) viewBox={ "0 0 " (g.width) " " (g.height) } {
                g.edges {
                    @for (from, to) in &g.edges {
                        @let (a, b) = (&g.nodes[*from], &g.nodes[*to]);
                        @let (x1, y1, x2, y2) = (a.x + NODE_WIDTH, a.y + half, b.x, b.y + half);
                        @let mid = (x1 + x2) / 2;
                        path.edge d={ "M" (x1) " " (y1) " C" (mid) " " (y1) " " (mid) " " (y2) " " (x2) " " (y2) } {}
                    }
                }
                @for p in &g.nodes {
                    @match &p.item {
                        GraphItem::Application => {
                            g.gnode.app data-kind="Application" data-name=(app.name) {
                                title { "Application " (app.name) ": " (app.health) ", " (app.sync) }
                                rect.gbox x=(p.x) y=(p.y) width=(NODE_WIDTH) height=(NODE_HEIGHT) rx="6" {}
                                rect class=(status_class(&app.health)) x=(p.x) y=(p.y) width="6" height=(NODE_HEIGHT) rx="2" {}
                                text.gkind x=(p.x + 12) y=(p.y + 16) { "Application · " (app.sync) }
                                text.gname x=(p.x + 12) y=(p.y + 33) { (clip(&app.name, 30)) }
                            }
                        }
                        GraphItem::Node(i) => {
                            @let n = &t.nodes[*i];
                            a.gnode href=(node_link(&app.name, &n.id)) data-kind=(n.id.kind) data-name=(n.id.name) {
                                title {
                                    (n.id.kind) " " @if !n.id.namespace.is_empty() { (n.id.namespace) "/" } (n.id.name)
                                    @if !n.health.is_empty() { ": " (n.health) }
                                    @if !n.sync.is_empty() { ", " (n.sync) }
                                    @if !n.health_message.is_empty() { " — " (n.health_message) }
                                }
                                rect.gbox x=(p.x) y=(p.y) width=(NODE_WIDTH) height=(NODE_HEIGHT) rx="6" {}
                                rect class=(status_class(&n.health)) x=(p.x) y=(p.y) width="6" height=(NODE_HEIGHT) rx="2" {}
                                text.gkind x=(p.x + 12) y=(p.y + 16) {
                                    (clip(&n.id.kind, 18)) @if !n.sync.is_empty() { " · " (n.sync) }
                                }
                                text.gname x=(p.x + 12) y=(p.y + 33) { (clip(&n.id.name, 30)) }
                            }
                        }
                        GraphItem::Group { kind, nodes } => {
                            @let href = format!("{base}?{}", url::form_urlencoded::Serializer::new(String::new())
                                .append_pair("view", "list").append_pair("kind", kind).finish());
                            @let worst = nodes.iter().map(|i| t.nodes[*i].health.as_str())
                                .find(|h| *h == "Degraded").or_else(|| nodes.iter().map(|i| t.nodes[*i].health.as_str())
                                .find(|h| *h == "Progressing" || *h == "Missing")).unwrap_or("Healthy");
                            a.gnode.ggroup href=(href) data-kind=(kind) data-count=(nodes.len()) {
                                title { (nodes.len()) " " (kind) " resources (grouped): open the list" }
                                rect.gbox x=(p.x) y=(p.y) width=(NODE_WIDTH) height=(NODE_HEIGHT) rx="6" {}
                                rect class=(status_class(worst)) x=(p.x) y=(p.y) width="6" height=(NODE_HEIGHT) rx="2" {}
                                text.gkind x=(p.x + 12) y=(p.y + 16) { (clip(kind, 18)) " · group" }
                                text.gname x=(p.x + 12) y=(p.y + 33) { (nodes.len()) " × " (clip(kind, 22)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppDetail;
    use crate::pages::Perm;
    use crate::pages::app::{AppPerms, render as render_page};
    use crate::tree::{TreeFilter, build};
    use serde_json::json;

    fn view(query: &str) -> AppView {
        let app = json!({"metadata": {"name": "shop"}, "spec": {"project": "default"},
            "status": {"health": {"status": "Degraded"}, "sync": {"status": "OutOfSync"},
                "resources": [
                    {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web", "status": "Synced"},
                    {"kind": "Service", "namespace": "d", "name": "web", "status": "OutOfSync"}]}});
        let tree = json!({"nodes": [
            {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web", "uid": "d", "health": {"status": "Degraded"}},
            {"group": "apps", "kind": "ReplicaSet", "namespace": "d", "name": "web-1", "uid": "r", "parentRefs": [{"uid": "d"}], "health": {"status": "Degraded"}},
            {"kind": "Pod", "namespace": "d", "name": "web-1-a", "uid": "p1", "parentRefs": [{"uid": "r"}], "health": {"status": "Healthy"}},
            {"kind": "Pod", "namespace": "d", "name": "web-1-b", "uid": "p2", "parentRefs": [{"uid": "r"}], "health": {"status": "Degraded"}},
            {"kind": "Service", "namespace": "d", "name": "web", "uid": "s", "health": {"status": "Healthy"},
             "networkingInfo": {"externalURLs": ["https://shop.example/", "javascript:alert(1)"]}}
        ]});
        AppView {
            user: "admin".into(),
            tree: build(&tree, &app["status"]["resources"]),
            app: AppDetail::from_json(&app),
            filter: TreeFilter::parse(query),
            tree_error: None,
            perms: AppPerms {
                sync: Perm::yes(),
                delete: Perm::yes(),
                get: Perm::yes(),
                update: Perm::yes(),
            },
            badge_url: None,
            spec_json: "{}".into(),
            params: Vec::new(),
        }
    }

    #[test]
    fn graph_view_draws_nodes_and_edges_without_inline_style() {
        let html = render_page(&view("view=graph"));
        assert!(html.contains("<svg class=\"graph\" id=\"tree\""), "{html}");
        // Application, Deployment, Service, ReplicaSet, 2 Pods; 5 edges
        assert_eq!(html.matches("class=\"gbox\"").count(), 6);
        assert_eq!(html.matches("class=\"edge\"").count(), 5);
        assert!(html.contains("data-kind=\"Pod\" data-name=\"web-1-b\""));
        assert!(html.contains("<option value=\"graph\" selected>Graph</option>"));
        assert!(!html.contains(" style="), "no inline style (CSP)");
    }

    #[test]
    fn graph_grouped_by_kind_collapses_the_pods() {
        let html = render_page(&view("view=graph&group=kind"));
        assert!(
            html.contains("data-kind=\"Pod\" data-count=\"2\""),
            "{html}"
        );
        assert!(html.contains("href=\"/applications/shop?view=list&amp;kind=Pod\""));
        assert_eq!(html.matches("class=\"gbox\"").count(), 5);
    }

    #[test]
    fn tree_and_list_grouped_by_kind_parent_and_health() {
        let html = render_page(&view("group=kind"));
        for label in ["Deployment", "Pod", "ReplicaSet", "Service"] {
            assert!(
                html.contains(&format!("data-group-label=\"{label}\"")),
                "{label}"
            );
        }
        let html = render_page(&view("view=list&group=parent"));
        let first = html.find("data-group-label=\"Application\"").unwrap();
        let rs = html.find("data-group-label=\"ReplicaSet/web-1\"").unwrap();
        assert!(first < rs, "the Application's own resources first");
        let html = render_page(&view("group=health&health=Degraded"));
        assert!(html.contains("data-group-label=\"Degraded\""));
        assert!(!html.contains("data-group-label=\"Healthy\""));
    }

    #[test]
    fn only_http_external_urls_of_resources_become_links() {
        let html = render_page(&view(""));
        assert!(html.contains("href=\"https://shop.example/\""), "{html}");
        assert!(!html.contains("href=\"javascript:"));
        assert!(html.contains("javascript:alert(1)"), "shown as text");
    }
}
