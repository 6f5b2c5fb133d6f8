//! A project's settings page: source repositories, destinations, roles (policies and groups) and
//! sync windows, each with forms to add and remove, posted to `/settings/projects/{name}/edit`
//! (same-origin form posts; the server saves the project through the API's project update), and
//! the whole project as JSON for anything else.

use maud::{Markup, html};

use crate::pages::apps::urlencode_path;
use crate::pages::{Perm, Section, Shell, page};
use crate::project_edit::ProjectView;

fn remove_button(action: &str, fields: &[(&str, &str)], label: &str, update: &Perm) -> Markup {
    html! {
        form.inline-remove method="post" action=(action) {
            @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
            button.danger type="submit" disabled[!update.allowed] title=[update.tooltip()] aria-label=(label) { "Remove" }
        }
    }
}

fn save(label: &str, update: &Perm) -> Markup {
    html! {
        div.buttons { button.primary type="submit" disabled[!update.allowed] title=[update.tooltip()] { (label) } }
    }
}

/// The project page.
pub fn render(user: &str, p: &ProjectView, update: &Perm) -> String {
    let action = format!("/settings/projects/{}/edit", urlencode_path(&p.name));
    page(
        &Shell::new(
            format!("Project {}", p.name),
            Some(user.to_string()),
            Section::Settings,
        ),
        html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/settings" { "Settings" } " / " a href="/settings/projects" { "Projects" } " / " span { (p.name) } }
            h1 { "Project " (p.name) }
            @if !p.description.is_empty() { p { (p.description) } }

            section #source-repos aria-labelledby="repos-title" {
                h2 #repos-title { "Source repositories" }
                @if p.source_repos.is_empty() { p.message { "None: no repository may be used." } }
                ul.editable {
                    @for r in &p.source_repos {
                        li data-repo=(r) { code { (r) } " " (remove_button(&action, &[("op", "remove-repo"), ("repo", r)], &format!("Remove {r}"), update)) }
                    }
                }
                form.add-form method="post" action=(action) {
                    input type="hidden" name="op" value="add-repo";
                    label for="add-repo" { "Repository URL or pattern (* for any)" }
                    input #add-repo name="repo" required;
                    (save("Add repository", update))
                }
            }

            section #destinations aria-labelledby="dest-title" {
                h2 #dest-title { "Destinations" }
                table {
                    thead { tr { th { "Server" } th { "Name" } th { "Namespace" } th { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for (i, d) in p.destinations.iter().enumerate() {
                            tr data-destination=(i) {
                                td { (d.server) } td { (d.name) } td { (d.namespace) }
                                td { (remove_button(&action, &[("op", "remove-destination"), ("index", &i.to_string())], "Remove destination", update)) }
                            }
                        }
                    }
                }
                form.add-form method="post" action=(action) {
                    input type="hidden" name="op" value="add-destination";
                    label for="dest-server" { "Server URL (or leave empty and give a cluster name)" }
                    input #dest-server name="server" placeholder="https://kubernetes.default.svc";
                    label for="dest-name" { "Cluster name" }
                    input #dest-name name="dest_name";
                    label for="dest-namespace" { "Namespace (pattern)" }
                    input #dest-namespace name="namespace" required;
                    (save("Add destination", update))
                }
            }

            section #roles aria-labelledby="roles-title" {
                h2 #roles-title { "Roles" }
                @if p.roles.is_empty() { p.message { "No roles." } }
                @for r in &p.roles {
                    section.role data-role=(r.name) {
                        h3 { (r.name) }
                        @if !r.description.is_empty() { p.message { (r.description) } }
                        @if !r.groups.is_empty() { p { "Groups: " (r.groups.join(", ")) } }
                        ul { @for line in &r.policies { li { code { (line) } } } }
                        details.edit-role {
                            summary { "Edit " (r.name) }
                            form.edit-role-form method="post" action=(action) {
                                input type="hidden" name="op" value="add-role";
                                input type="hidden" name="role" value=(r.name);
                                label for={ "role-description-" (r.name) } { "Description" }
                                input id={ "role-description-" (r.name) } name="description" value=(r.description);
                                label for={ "role-policies-" (r.name) } { "Policies, one per line" }
                                textarea id={ "role-policies-" (r.name) } name="policies" rows="4" spellcheck="false" { (r.policies.join("\n")) }
                                label for={ "role-groups-" (r.name) } { "Groups (comma-separated)" }
                                input id={ "role-groups-" (r.name) } name="groups" value=(r.groups.join(", "));
                                (save("Save role", update))
                            }
                        }
                        (remove_button(&action, &[("op", "remove-role"), ("role", &r.name)], &format!("Remove role {}", r.name), update))
                    }
                }
                form.add-form method="post" action=(action) {
                    input type="hidden" name="op" value="add-role";
                    h3 { "Add or replace a role" }
                    label for="role-name" { "Name" }
                    input #role-name name="role" required;
                    label for="role-description" { "Description" }
                    input #role-description name="description";
                    label for="role-policies" { "Policies, one per line: p, proj:" (p.name) ":<role>, applications, get, " (p.name) "/*, allow" }
                    textarea #role-policies name="policies" rows="4" spellcheck="false" {}
                    label for="role-groups" { "Groups (comma-separated)" }
                    input #role-groups name="groups";
                    (save("Save role", update))
                }
            }

            section #sync-windows aria-labelledby="windows-title" {
                h2 #windows-title { "Sync windows" }
                @if p.windows.is_empty() { p.message { "No sync windows." } }
                @else {
                    table {
                        thead { tr { th { "Kind" } th { "Schedule" } th { "Duration" } th { "Time zone" } th { "Applications" } th { "Namespaces" } th { "Clusters" } th { "Manual sync" } th { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for (i, w) in p.windows.iter().enumerate() {
                                tr data-window=(i) {
                                    td { (w.kind) } td { (w.schedule) } td { (w.duration) } td { (w.time_zone) }
                                    td { (w.applications.join(", ")) } td { (w.namespaces.join(", ")) } td { (w.clusters.join(", ")) }
                                    td { (if w.manual_sync { "yes" } else { "no" }) }
                                    td { (remove_button(&action, &[("op", "remove-window"), ("index", &i.to_string())], "Remove sync window", update)) }
                                }
                            }
                        }
                    }
                }
                form.add-form #add-window method="post" action=(action) {
                    input type="hidden" name="op" value="add-window";
                    h3 { "Add a sync window" }
                    label for="window-kind" { "Kind" }
                    select #window-kind name="kind" { option value="allow" { "allow" } option value="deny" { "deny" } }
                    label for="window-schedule" { "Schedule (cron: minute hour day month weekday)" }
                    input #window-schedule name="schedule" required placeholder="0 22 * * *";
                    label for="window-duration" { "Duration" }
                    input #window-duration name="duration" required placeholder="1h";
                    label for="window-apps" { "Applications (comma-separated patterns)" }
                    input #window-apps name="applications";
                    label for="window-namespaces" { "Namespaces" }
                    input #window-namespaces name="namespaces";
                    label for="window-clusters" { "Clusters" }
                    input #window-clusters name="clusters";
                    label for="window-tz" { "Time zone (default UTC)" }
                    input #window-tz name="time_zone" placeholder="Europe/Paris";
                    label.check { input type="checkbox" name="manual_sync" value="true"; " Allow manual syncs" }
                    (save("Add window", update))
                }
            }

            details.edit-json {
                summary { "Edit as JSON" }
                form.api-form data-method="PUT" data-url={ "/api/v1/projects/" (urlencode_path(&p.name)) } data-json-field="project" data-done="reload" {
                    label for="project-json" { "Project (JSON: the request's project field)" }
                    textarea #project-json name="project" rows="16" spellcheck="false" { (p.json) }
                    (save("Save", update))
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn project_page_lists_and_edits_roles_destinations_and_windows() {
        let view = ProjectView::from_json(&json!({"metadata": {"name": "team"}, "spec": {
            "sourceRepos": ["https://git/a"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team"}],
            "roles": [{"name": "ci", "policies": ["p, proj:team:ci, applications, sync, team/*, allow"], "groups": ["devs"]}],
            "syncWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "applications": ["*"], "timeZone": "UTC"}]}}));
        let html = render("admin", &view, &Perm::yes());
        assert!(html.contains("p, proj:team:ci, applications, sync, team/*, allow"));
        assert!(html.contains("Groups: devs"));
        assert!(html.contains("0 22 * * *"));
        assert!(html.contains("action=\"/settings/projects/team/edit\""));
        // an existing role's form is filled with what it has
        assert!(html.contains("<input type=\"hidden\" name=\"role\" value=\"ci\">"));
        assert!(html.contains("name=\"groups\" value=\"devs\""));
        assert!(html.contains(">p, proj:team:ci, applications, sync, team/*, allow</textarea>"));
        for op in [
            "add-repo",
            "remove-repo",
            "add-destination",
            "remove-destination",
            "add-role",
            "remove-role",
            "add-window",
            "remove-window",
        ] {
            assert!(
                html.contains(&format!("name=\"op\" value=\"{op}\"")),
                "{op}"
            );
        }
        let denied = render(
            "bob",
            &view,
            &Perm::new(false, "projects", "update", "team"),
        );
        assert!(denied.contains("You do not have permission: projects, update, team"));
        assert!(!denied.contains("<button class=\"primary\" type=\"submit\">"));
    }
}
