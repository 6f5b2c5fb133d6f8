//! Settings pages: repositories, clusters, projects and accounts, plus the user info page. Changes
//! go through the REST API from `app.js` (forms with `data-api`), so RBAC and validation stay in one
//! place and a 403 is shown as the API words it.

use maud::{Markup, html};

use crate::pages::apps::urlencode_path;
use crate::pages::{Perm, Section, Shell, action_button, page};

fn shell(title: &str, user: &str) -> Shell {
    Shell::new(title, Some(user.to_string()), Section::Settings)
}

fn crumbs(here: &str) -> Markup {
    html! { nav.crumbs aria-label="Breadcrumb" { a href="/settings" { "Settings" } " / " span { (here) } } }
}

/// The settings index.
pub fn index(user: &str) -> String {
    page(
        &shell("Settings", user),
        html! {
            h1 { "Settings" }
            ul.settings-index {
                li { a href="/settings/repositories" { "Repositories" } " — Git and Helm repositories and their credentials" }
                li { a href="/settings/clusters" { "Clusters" } " — destination clusters and their status" }
                li { a href="/settings/projects" { "Projects" } " — roles, destinations, source repositories, sync windows" }
                li { a href="/settings/accounts" { "Accounts" } " — local accounts, passwords and tokens" }
            }
        },
    )
}

/// One repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRow {
    /// URL.
    pub url: String,
    /// `git` or `helm`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Project.
    pub project: String,
    /// Connection status.
    pub status: String,
}

/// The repositories page.
pub fn repositories(user: &str, rows: &[RepoRow], create: &Perm, delete: &Perm) -> String {
    page(
        &shell("Repositories", user),
        html! {
            (crumbs("Repositories"))
            h1 { "Repositories" }
            table {
                thead { tr { th { "Type" } th { "Name" } th { "Repository" } th { "Project" } th { "Connection" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for r in rows {
                        tr data-repo=(r.url) {
                            td { (r.kind) } td { (r.name) } td { (r.url) } td { (r.project) } td data-field="connection" { (r.status) }
                            td { (action_button("Test", "GET", &format!("/api/v1/repositories/{}?forceRefresh=true", urlencode_path(&r.url)), "", &Perm::yes(),
                                &[("done", "show-connection")]))
                                " "
                                (action_button("Disconnect", "DELETE", &format!("/api/v1/repositories/{}", urlencode_path(&r.url)), "", delete,
                                &[("confirm", "Disconnect this repository?"), ("done", "reload")])) }
                        }
                    }
                }
            }
            h2 { "Connect a repository" }
            form.api-form data-method="POST" data-url="/api/v1/repositories" data-done="reload" {
                label for="repo-type" { "Type" }
                select #repo-type name="type" { option value="git" { "git" } option value="helm" { "helm" } }
                label for="repo-name" { "Name (Helm repositories)" }
                input #repo-name name="name";
                label for="repo-url" { "Repository URL (https:// or ssh)" }
                input #repo-url name="repo" required;
                label for="repo-project" { "Project (optional)" }
                input #repo-project name="project";
                label for="repo-username" { "Username (https)" }
                input #repo-username name="username" autocomplete="off";
                label for="repo-password" { "Password or token (https)" }
                input #repo-password name="password" type="password" autocomplete="new-password";
                label for="repo-ssh" { "SSH private key (ssh)" }
                textarea #repo-ssh name="sshPrivateKey" rows="4" spellcheck="false" {}
                label.check { input type="checkbox" name="insecure" value="true"; " Skip server verification" }
                div.buttons {
                    button.primary type="submit" disabled[!create.allowed] title=[create.tooltip()] { "Connect" }
                    button.test-connection type="button" disabled[!create.allowed] title=[create.tooltip()] { "Test connection" }
                }
            }
        },
    )
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRow {
    /// Name.
    pub name: String,
    /// Server URL.
    pub server: String,
    /// Connection status.
    pub status: String,
    /// Message.
    pub message: String,
    /// Server version.
    pub version: String,
    /// Applications deployed there (from the controller's published cache statistics).
    pub applications: String,
    /// API resource kinds the controller's cache watches.
    pub apis: String,
    /// Objects in the controller's cache.
    pub resources: String,
    /// When the controller's cache last synced.
    pub last_sync: String,
}

/// The clusters page.
pub fn clusters(user: &str, rows: &[ClusterRow]) -> String {
    page(
        &shell("Clusters", user),
        html! {
            (crumbs("Clusters"))
            h1 { "Clusters" }
            table {
                thead { tr {
                    th { "Name" } th { "Server" } th { "Version" } th { "Connection" } th { "Message" }
                    th { "Apps" } th { "APIs" } th { "Resources" } th { "Last cache sync" }
                } }
                tbody {
                    @for c in rows {
                        tr {
                            td { (c.name) } td { (c.server) } td { (c.version) } td { (c.status) } td { (c.message) }
                            td { (c.applications) } td { (c.apis) } td { (c.resources) } td { (c.last_sync) }
                        }
                    }
                }
            }
        },
    )
}

/// One project in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
}

/// The projects page.
pub fn projects(user: &str, rows: &[ProjectRow]) -> String {
    page(
        &shell("Projects", user),
        html! {
            (crumbs("Projects"))
            h1 { "Projects" }
            table {
                thead { tr { th { "Name" } th { "Description" } } }
                tbody {
                    @for p in rows {
                        tr { td { a href={ "/settings/projects/" (urlencode_path(&p.name)) } { (p.name) } } td { (p.description) } }
                    }
                }
            }
        },
    )
}

/// One local account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Token ids.
    pub tokens: Vec<String>,
}

/// The accounts page: accounts, the user's password change, tokens.
pub fn accounts(user: &str, rows: &[AccountRow], can_update: &Perm) -> String {
    page(
        &shell("Accounts", user),
        html! {
            (crumbs("Accounts"))
            h1 { "Accounts" }
            table {
                thead { tr { th { "Name" } th { "Enabled" } th { "Capabilities" } th { "Tokens" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for a in rows {
                        tr {
                            td { (a.name) } td { (if a.enabled { "yes" } else { "no" }) } td { (a.capabilities.join(", ")) }
                            td { (a.tokens.len()) }
                            td {
                                @if a.capabilities.iter().any(|c| c == "apiKey") {
                                    (action_button("Generate token", "POST", &format!("/api/v1/account/{}/token", urlencode_path(&a.name)),
                                        "{}", can_update, &[("done", "show-token")]))
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Change my password" }
            form.api-form data-method="PUT" data-url="/api/v1/account/password" data-done="Password changed: log in again" {
                input type="hidden" name="name" value=(user);
                label for="current-password" { "Current password" }
                input #current-password name="currentPassword" type="password" autocomplete="current-password" required;
                label for="new-password" { "New password" }
                input #new-password name="newPassword" type="password" autocomplete="new-password" required minlength="8";
                div.buttons { button.primary type="submit" { "Change password" } }
            }
        },
    )
}

/// The user info page.
pub fn user_info(user: &str, groups: &[String], issuer: &str) -> String {
    page(
        &Shell::new("User info", Some(user.to_string()), Section::User),
        html! {
            h1 { "User info" }
            dl.summary {
                dt { "Username" } dd #username { (user) }
                dt { "Issuer" } dd { (issuer) }
                dt { "Groups" } dd { (groups.join(", ")) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_page_shows_cache_statistics() {
        let html = clusters(
            "admin",
            &[ClusterRow {
                name: "in-cluster".into(),
                server: "https://kubernetes.default.svc".into(),
                status: "Successful".into(),
                message: String::new(),
                version: "1.32".into(),
                applications: "3".into(),
                apis: "41".into(),
                resources: "1287".into(),
                last_sync: "2026-11-26T23:00:00Z".into(),
            }],
        );
        for text in [
            "<th>Resources</th>",
            "<td>41</td>",
            "<td>1287</td>",
            "<td>2026-11-26T23:00:00Z</td>",
        ] {
            assert!(html.contains(text), "{text} missing");
        }
    }

    #[test]
    fn repositories_page_disables_what_is_denied() {
        let html = repositories(
            "bob",
            &[RepoRow {
                url: "https://git/r.git".into(),
                kind: "git".into(),
                name: String::new(),
                project: String::new(),
                status: "Successful".into(),
            }],
            &Perm::new(false, "repositories", "create", "*"),
            &Perm::new(false, "repositories", "delete", "https://git/r.git"),
        );
        assert!(html.contains("data-url=\"/api/v1/repositories/https%3A%2F%2Fgit%2Fr.git\""));
        assert!(html.contains("You do not have permission: repositories, create, *"));
        assert!(
            html.contains("You do not have permission: repositories, delete, https://git/r.git")
        );
    }
}
