//! The "new application" page: a form, or pasted YAML, posted to `/applications/new`.

use maud::html;

use crate::create::AppForm;
use crate::pages::{Section, Shell, page};

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateView {
    /// Logged-in user.
    pub user: String,
    /// Values (after a failed attempt, what was typed).
    pub form: AppForm,
    /// Projects to choose from.
    pub projects: Vec<String>,
    /// Repositories already configured (offered as suggestions).
    pub repos: Vec<String>,
    /// Error of the last attempt (a field error or the API's message).
    pub error: Option<String>,
}

/// Renders the page.
pub fn render(view: &CreateView) -> String {
    let f = &view.form;
    let project = if f.project.is_empty() {
        "default"
    } else {
        f.project.as_str()
    };
    let server = if f.dest_server.is_empty() {
        "https://kubernetes.default.svc"
    } else {
        f.dest_server.as_str()
    };
    page(
        &Shell::new(
            "New application",
            Some(view.user.clone()),
            Section::Applications,
        ),
        html! {
            nav.crumbs aria-label="Breadcrumb" { a href="/applications" { "Applications" } " / " span { "New" } }
            h1 { "New application" }
            @if let Some(e) = &view.error { p.error #create-error role="alert" { (e) } }
            form.create method="post" action="/applications/new" {
                fieldset {
                    legend { "General" }
                    label for="name" { "Application name" }
                    input #name name="name" value=(f.name) autocomplete="off" pattern="[a-z0-9]([a-z0-9.\\-]*[a-z0-9])?";
                    label for="project" { "Project" }
                    select #project name="project" {
                        @for p in &view.projects { option value=(p) selected[p == project] { (p) } }
                    }
                    label.check { input type="checkbox" name="auto_sync" checked[f.auto_sync == "on"]; " Automated sync" }
                    label.check { input type="checkbox" name="prune" checked[f.prune == "on"]; " Prune resources (automated)" }
                    label.check { input type="checkbox" name="self_heal" checked[f.self_heal == "on"]; " Self heal (automated)" }
                    label.check { input type="checkbox" name="create_namespace" checked[f.create_namespace == "on"]; " Auto-create namespace" }
                }
                fieldset {
                    legend { "Source" }
                    label for="repo" { "Repository URL" }
                    input #repo name="repo" value=(f.repo) list="repos" autocomplete="off";
                    datalist #repos { @for r in &view.repos { option value=(r) {} } }
                    label for="revision" { "Revision" }
                    input #revision name="revision" value=(f.revision) placeholder="HEAD";
                    label for="path" { "Path" }
                    input #path name="path" value=(f.path);
                    label for="chart" { "Helm chart (Helm repositories, instead of a path)" }
                    input #chart name="chart" value=(f.chart);
                }
                fieldset {
                    legend { "Destination" }
                    label for="dest_server" { "Cluster URL" }
                    input #dest_server name="dest_server" value=(server);
                    label for="dest_namespace" { "Namespace" }
                    input #dest_namespace name="dest_namespace" value=(f.dest_namespace);
                }
                details open[!f.yaml.is_empty()] {
                    summary { "Or paste YAML (used instead of the fields above)" }
                    label for="yaml" { "Application YAML" }
                    textarea #yaml name="yaml" rows="14" spellcheck="false" { (f.yaml) }
                }
                div.buttons {
                    button.primary type="submit" { "Create" }
                    a.button href="/applications" { "Cancel" }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_page_keeps_values_and_shows_the_error() {
        let html = render(&CreateView {
            user: "admin".into(),
            form: AppForm {
                name: "x".into(),
                project: "team".into(),
                ..AppForm::default()
            },
            projects: vec!["default".into(), "team".into()],
            repos: vec!["https://git/r".into()],
            error: Some("repo: the repository URL is required".into()),
        });
        assert!(html.contains("<option value=\"team\" selected>team</option>"));
        assert!(html.contains("value=\"https://kubernetes.default.svc\""));
        assert!(html.contains("repo: the repository URL is required"));
        assert!(html.contains("<option value=\"https://git/r\">"));
    }
}
