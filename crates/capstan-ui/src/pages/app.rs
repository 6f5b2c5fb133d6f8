//! The application page: header (health, sync with revision and commit, last operation, source,
//! destination), actions, operation progress, history with rollback and the resource tree (or a flat
//! list for very large applications).

use maud::{Markup, html};

use crate::links::repo_web_url;
use crate::model::{AppDetail, OperationView};
use crate::pages::apps::urlencode_path;
use crate::pages::tree_views;
use crate::pages::{
    Perm, Section, Shell, action_button, external_link, health_badge, multiline, op_badge, page,
    short_rev, sync_badge,
};
use crate::tree::{Tree, TreeFilter};

/// Above this many nodes the tree is shown as a list unless the URL asks for the tree.
pub const LIST_VIEW_THRESHOLD: usize = 1000;

/// The permissions the page reflects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPerms {
    /// `applications, sync` (sync, rollback, terminate).
    pub sync: Perm,
    /// `applications, delete`.
    pub delete: Perm,
    /// `applications, get` (refresh).
    pub get: Perm,
    /// `applications, update` (edit the spec).
    pub update: Perm,
}

/// What the application page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppView {
    /// Logged-in user.
    pub user: String,
    /// The application.
    pub app: AppDetail,
    /// The resource tree.
    pub tree: Tree,
    /// Tree filters from the URL.
    pub filter: TreeFilter,
    /// Why the tree could not be read, if it could not.
    pub tree_error: Option<String>,
    /// Permissions.
    pub perms: AppPerms,
    /// The status badge URL, when badges are enabled.
    pub badge_url: Option<String>,
    /// The application's spec as pretty JSON, for editing (parameters, Helm values, images).
    pub spec_json: String,
    /// The sources' Helm and Kustomize parameters, for their forms.
    pub params: Vec<crate::params::SourceParams>,
}

/// `/applications/<name>`.
pub fn app_path(name: &str) -> String {
    format!("/applications/{}", urlencode_path(name))
}

pub(crate) fn api_path(name: &str) -> String {
    format!("/api/v1/applications/{}", urlencode_path(name))
}

fn header(view: &AppView) -> Markup {
    let a = &view.app;
    let s = &a.summary;
    html! {
        section.app-header aria-label="Status" {
            div.status-block {
                h2 { "App health" }
                p { (health_badge(&s.health)) }
                @if !a.health_message.is_empty() { p.message { (a.health_message) } }
            }
            div.status-block {
                h2 { "Sync status" }
                p { (sync_badge(&s.sync)) @if !s.revision.is_empty() { " to " code title=(s.revision) { (short_rev(&s.revision)) } } }
                @if !a.commit_author.is_empty() { p.message { "Author: " (a.commit_author) } }
                @if !a.commit_message.is_empty() { p.message { "Comment: " (a.commit_message) } }
            }
            div.status-block {
                h2 { "Last operation" }
                @match &a.operation {
                    Some(op) => {
                        p { (op_badge(&op.phase)) @if let Some(d) = op.duration_secs { " in " (d) " s" } }
                        @if !op.message.is_empty() { p.message data-field="op-message" { (multiline(&op.message)) } }
                        @if !op.initiated_by.is_empty() { p.message { "By " (op.initiated_by) } }
                        @if !op.started_at.is_empty() { p.message { "Started " time { (op.started_at) } } }
                    }
                    None => p { "None yet" },
                }
            }
            div.status-block {
                h2 { "Source" }
                @for (repo, path, target) in &a.sources {
                    p {
                        @match repo_web_url(repo) {
                            Some(href) => a href=(href) rel="noopener noreferrer" { (repo) },
                            None => (repo),
                        }
                        br; (path) " @ " (target)
                    }
                }
                h2 { "Destination" }
                p { (s.cluster) @if !s.namespace.is_empty() { " / " (s.namespace) } }
                p.message { "Project " (s.project) @if s.auto_sync { " · automated sync" } }
            }
            @if !a.links.is_empty() || !a.info.is_empty() {
                div.status-block.app-links {
                    @if !a.links.is_empty() {
                        h2 { "Links" }
                        ul { @for (title, url) in &a.links { li { (external_link(title, url)) } } }
                    }
                    @if !a.info.is_empty() {
                        h2 { "Info" }
                        dl.info {
                            @for (name, value) in &a.info {
                                dt { (name) }
                                dd { @if crate::links::safe_href(value).is_some() { (external_link(value, value)) } @else { (value) } }
                            }
                        }
                    }
                }
            }
        }
        @if !a.conditions.is_empty() {
            ul.conditions {
                @for c in &a.conditions { li.error { strong { (c.kind) } ": " (c.message) } }
            }
        }
    }
}

fn progress(op: &OperationView) -> Markup {
    html! {
        section.operation aria-label="Operation" {
            h2 { "Operation: " (op.phase) }
            @if op.phase == "Running" {
                progress aria-label="Sync in progress" {}
            }
            @if op.resources.is_empty() {
                p.message { "No resources synced yet." }
            } @else {
                table.resources {
                    thead { tr { th { "Phase" } th { "Wave" } th { "Kind" } th { "Name" } th { "Result" } th { "Message" } } }
                    tbody {
                        @for r in &op.resources {
                            tr {
                                td { (r.phase) @if !r.hook_type.is_empty() { " (hook)" } }
                                td { (r.wave) }
                                td { (r.kind) }
                                td { @if !r.namespace.is_empty() { (r.namespace) "/" } (r.name) }
                                td { (r.status) }
                                td { (r.message) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn history(view: &AppView) -> Markup {
    let name = &view.app.summary.name;
    html! {
        section.history aria-label="History" {
            h2 { "History" }
            @if view.app.history.is_empty() {
                p.message { "No deployments yet." }
            } @else {
                table {
                    thead { tr { th { "ID" } th { "Revision" } th { "Deployed" } th { "By" } th { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for (i, h) in view.app.history.iter().enumerate() {
                            tr {
                                td { (h.id) }
                                td { code title=(h.revision) { (short_rev(&h.revision)) } }
                                td { (h.deployed_at) }
                                td { (h.initiated_by) }
                                td {
                                    @if i > 0 {
                                        (action_button("Rollback", "POST", &format!("{}/rollback", api_path(name)),
                                            &format!("{{\"id\":{}}}", h.id), &view.perms.sync,
                                            &[("confirm", "Roll back to this deployment?")]))
                                    } @else { span.message { "current" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn dialogs(view: &AppView) -> Markup {
    let name = &view.app.summary.name;
    let managed: Vec<&crate::tree::TreeNode> =
        view.tree.nodes.iter().filter(|n| n.managed).collect();
    html! {
        dialog #sync-dialog aria-labelledby="sync-title" {
            form.sync-form method="dialog" data-url={ (api_path(name)) "/sync" } {
                h2 #sync-title { "Sync " (name) }
                fieldset {
                    legend { "Options" }
                    label.check { input type="checkbox" name="prune"; " Prune" }
                    label.check { input type="checkbox" name="dryRun"; " Dry run" }
                    label.check { input type="checkbox" name="force"; " Force" }
                    label.check { input type="checkbox" name="ApplyOutOfSyncOnly"; " Apply out of sync only" }
                    label.check { input type="checkbox" name="CreateNamespace"; " Auto-create namespace" }
                    label.check { input type="checkbox" name="ServerSideApply"; " Server-side apply" }
                    label.check { input type="checkbox" name="Replace"; " Replace" }
                    label for="sync-revision" { "Revision" }
                    input #sync-revision name="revision" placeholder=(view.app.sources.first().map(|s| s.2.as_str()).unwrap_or("HEAD"));
                }
                @if !managed.is_empty() {
                    fieldset.sync-resources {
                        legend { "Resources (none checked: all)" }
                        @for n in managed {
                            label.check {
                                input type="checkbox" name="resource" data-group=(n.id.group) data-kind=(n.id.kind) data-namespace=(n.id.namespace) data-name=(n.id.name);
                                " " (n.id.kind) "/" (n.id.name)
                            }
                        }
                    }
                }
                div.buttons {
                    button.primary type="submit" value="sync" { "Synchronize" }
                    button type="submit" value="cancel" formnovalidate { "Cancel" }
                }
            }
        }
        dialog #delete-dialog aria-labelledby="delete-title" {
            form.delete-form method="dialog" data-url=(api_path(name)) data-name=(name) {
                h2 #delete-title { "Delete " (name) "?" }
                label.check { input type="checkbox" name="cascade" checked; " Cascade: also delete the application's resources" }
                label for="delete-policy" { "Propagation policy" }
                select #delete-policy name="propagationPolicy" {
                    option value="foreground" { "Foreground" }
                    option value="background" { "Background" }
                }
                label for="delete-confirm" { "Type the application's name to confirm" }
                input #delete-confirm name="confirm" autocomplete="off";
                div.buttons {
                    button.danger type="submit" value="delete" { "Delete" }
                    button type="submit" value="cancel" formnovalidate { "Cancel" }
                }
            }
        }
    }
}

/// Renders the application page.
pub fn render(view: &AppView) -> String {
    let s = &view.app.summary;
    let name = &s.name;
    let shell = Shell {
        title: name.clone(),
        user: Some(view.user.clone()),
        section: Section::Applications,
        stream: Some(format!(
            "/api/v1/stream/applications?name={}",
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        )),
        live: Some("app"),
    };
    let running = view
        .app
        .operation
        .as_ref()
        .is_some_and(|o| o.phase == "Running");
    let mode = tree_views::Mode::of(view);
    let api = api_path(name);
    page(
        &shell,
        html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/applications" { "Applications" } " / " span { (name) } }
            div.toolbar {
                h1 { (name) }
                button.action #sync-button type="button" data-open="sync-dialog" disabled[!view.perms.sync.allowed]
                    title=[view.perms.sync.tooltip()] data-needs=[(!view.perms.sync.allowed).then_some(view.perms.sync.needs.as_str())]
                    data-url={ (api) "/sync" } { "Sync" }
                (action_button("Refresh", "GET", &format!("{api}?refresh=normal"), "", &view.perms.get, &[("done", "Refresh requested")]))
                (action_button("Hard refresh", "GET", &format!("{api}?refresh=hard"), "", &view.perms.get, &[("done", "Hard refresh requested")]))
                @if view.perms.sync.allowed && !running {
                    button.action #terminate-button type="button" data-method="DELETE" data-url={ (api) "/operation" }
                        data-confirm="Terminate the running operation?" disabled title="No operation is running" { "Terminate" }
                } @else {
                    (action_button("Terminate", "DELETE", &format!("{api}/operation"), "", &view.perms.sync,
                        &[("confirm", "Terminate the running operation?"), ("id", "terminate-button")]))
                }
                a.button href={ (app_path(name)) "/diff" } { "App diff" }
                button.action.danger #delete-button type="button" data-open="delete-dialog" disabled[!view.perms.delete.allowed]
                    title=[view.perms.delete.tooltip()] data-needs=[(!view.perms.delete.allowed).then_some(view.perms.delete.needs.as_str())] { "Delete" }
            }
            div #live data-running=(running) {
                (header(view))
                @if let Some(op) = &view.app.operation { (progress(op)) }
                section.resources-section aria-label="Resources" {
                    h2 { "Resources" }
                    (tree_views::filters(view, mode))
                    @if let Some(e) = &view.tree_error {
                        p.error role="alert" { "The resource tree could not be read: " (e) }
                    }
                    (tree_views::render(view, mode))
                }
                (history(view))
            }
            (crate::pages::params::section(name, &view.params, &view.perms.update))
            details.edit-spec {
                summary { "Edit the spec (JSON)" }
                form.api-form data-method="PUT" data-url={ (api) "/spec" } data-json-field="spec" data-done="reload" {
                    label for="spec-json" { "spec (JSON)" }
                    textarea #spec-json name="spec" rows="18" spellcheck="false" { (view.spec_json) }
                    div.buttons {
                        button.primary type="submit" disabled[!view.perms.update.allowed] title=[view.perms.update.tooltip()] { "Save" }
                    }
                }
            }
            @if let Some(url) = &view.badge_url {
                section.badge-info aria-label="Status badge" {
                    h2 { "Status badge" }
                    p { img src=(url) alt={ "Status of " (name) }; }
                    p { code { "[![App Status](" (url) ")](" (app_path(name)) ")" } }
                }
            }
            (dialogs(view))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::build;
    use serde_json::json;

    fn view(query: &str, allowed: bool) -> AppView {
        let app = json!({
            "metadata": {"name": "guestbook"},
            "spec": {"project": "default", "source": {"repoURL": "https://github.com/argoproj/argocd-example-apps.git", "path": "guestbook", "targetRevision": "HEAD"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}},
            "status": {"health": {"status": "Healthy"}, "sync": {"status": "Synced", "revision": "0123456789012345678901234567890123456789"},
                "resources": [{"group": "apps", "kind": "Deployment", "namespace": "default", "name": "guestbook-ui", "status": "Synced"}],
                "history": [{"id": 1, "revision": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "deployedAt": "2024-01-01T00:00:00Z"},
                            {"id": 2, "revision": "0123456789012345678901234567890123456789", "deployedAt": "2024-01-02T00:00:00Z"}],
                "operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)",
                    "startedAt": "2024-01-02T00:00:00Z", "finishedAt": "2024-01-02T00:00:07Z",
                    "operation": {"initiatedBy": {"username": "admin"}},
                    "syncResult": {"revision": "0123456789012345678901234567890123456789", "resources": [
                        {"group": "apps", "kind": "Deployment", "namespace": "default", "name": "guestbook-ui", "status": "Synced", "syncPhase": "Sync", "message": "deployment.apps/guestbook-ui created"}]}}}
        });
        let tree = json!({"nodes": [
            {"group": "apps", "kind": "Deployment", "namespace": "default", "name": "guestbook-ui", "uid": "d", "health": {"status": "Healthy"}},
            {"group": "apps", "kind": "ReplicaSet", "namespace": "default", "name": "guestbook-ui-1", "uid": "r", "parentRefs": [{"uid": "d"}], "health": {"status": "Healthy"}},
            {"group": "", "kind": "Pod", "namespace": "default", "name": "guestbook-ui-1-x", "uid": "p", "parentRefs": [{"uid": "r"}], "health": {"status": "Healthy"}}
        ]});
        let object = "default/guestbook";
        AppView {
            user: "admin".into(),
            tree: build(&tree, &app["status"]["resources"]),
            app: AppDetail::from_json(&app),
            filter: TreeFilter::parse(query),
            tree_error: None,
            perms: AppPerms {
                sync: Perm::new(allowed, "applications", "sync", object),
                delete: Perm::new(allowed, "applications", "delete", object),
                get: Perm::yes(),
                update: Perm::new(allowed, "applications", "update", object),
            },
            badge_url: None,
            spec_json: serde_json::to_string_pretty(&app["spec"]).unwrap(),
            params: crate::params::sources(&app),
        }
    }

    #[test]
    fn application_page() {
        insta::assert_snapshot!(crate::pages::stable(render(&view("", true))));
    }

    #[test]
    fn read_only_user_sees_disabled_actions() {
        let html = render(&view("", false));
        assert!(html.contains(
            "title=\"You do not have permission: applications, sync, default/guestbook\""
        ));
        assert!(html.contains(
            "title=\"You do not have permission: applications, delete, default/guestbook\""
        ));
        let sync = html.split("id=\"sync-button\"").nth(1).unwrap();
        assert!(sync[..sync.find('>').unwrap()].contains("disabled"));
    }

    #[test]
    fn terminate_is_enabled_only_while_an_operation_runs() {
        let html = render(&view("", true));
        assert!(html.contains("disabled title=\"No operation is running\""));
        let mut running = view("", true);
        if let Some(op) = running.app.operation.as_mut() {
            op.phase = "Running".into();
        }
        let html = render(&running);
        let tag = html.split("id=\"terminate-button\"").nth(1).unwrap();
        assert!(!tag[..tag.find('>').unwrap()].contains("disabled"));
    }

    #[test]
    fn list_view_and_filters() {
        let html = render(&view("view=list&kind=Pod", true));
        assert!(html.contains("<table class=\"resources\" id=\"tree\""));
        assert!(html.contains("data-kind=\"Pod\""));
        assert!(!html.contains("data-kind=\"ReplicaSet\""));
        assert!(html.contains("/applications/guestbook/resource?group=&amp;kind=Pod&amp;namespace=default&amp;name=guestbook-ui-1-x"));
    }
}
