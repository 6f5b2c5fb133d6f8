//! The pages, each a function from view models to an HTML string, and the pieces they share
//! (page shell, status badges, permission-aware buttons).

pub mod app;
pub mod apps;
pub mod create;
pub mod login;
pub mod params;
pub mod project;
pub mod resource;
pub mod settings;
pub mod tree_views;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::assets;

/// Top navigation sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Applications.
    Applications,
    /// Settings.
    Settings,
    /// User info.
    User,
    /// None (login, errors).
    None,
}

/// What every page's shell needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    /// `<title>` (", Capstan" is appended).
    pub title: String,
    /// Logged-in user, if any.
    pub user: Option<String>,
    /// Highlighted section.
    pub section: Section,
    /// Server-Sent Events URL for live updates of this page.
    pub stream: Option<String>,
    /// What the live script does with events: `list` or `app`.
    pub live: Option<&'static str>,
}

impl Shell {
    /// A shell without live updates.
    pub fn new(title: impl Into<String>, user: Option<String>, section: Section) -> Shell {
        Shell {
            title: title.into(),
            user,
            section,
            stream: None,
            live: None,
        }
    }
}

/// A permission as the page shows it: allowed, or the RBAC line that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perm {
    /// Whether the user may.
    pub allowed: bool,
    /// `applications, sync, default/guestbook`.
    pub needs: String,
}

impl Perm {
    /// A permission on `resource, action, object`.
    pub fn new(allowed: bool, resource: &str, action: &str, object: &str) -> Perm {
        Perm {
            allowed,
            needs: format!("{resource}, {action}, {object}"),
        }
    }

    /// Allowed.
    pub fn yes() -> Perm {
        Perm {
            allowed: true,
            needs: String::new(),
        }
    }

    /// The tooltip of a disabled control.
    pub fn tooltip(&self) -> Option<String> {
        (!self.allowed).then(|| format!("You do not have permission: {}", self.needs))
    }
}

/// The whole document around `body`.
pub fn page(shell: &Shell, body: Markup) -> String {
    let nav = |section: Section, href: &str, label: &str| {
        html! {
            a href=(href) aria-current=[(shell.section == section).then_some("page")] { (label) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (shell.title) " · Capstan" }
                link rel="stylesheet" href=(assets::url("app.css"));
                link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
                script src=(assets::url("app.js")) defer {}
            }
            body data-stream=[shell.stream.as_deref()] data-live=[shell.live] {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/applications" { "Capstan" }
                    @if shell.user.is_some() {
                        nav aria-label="Main" {
                            (nav(Section::Applications, "/applications", "Applications"))
                            (nav(Section::Settings, "/settings", "Settings"))
                            (nav(Section::User, "/user-info", "User info"))
                        }
                    }
                    @if let Some(user) = &shell.user {
                        form.logout method="post" action="/logout" {
                            span.user { (if user.is_empty() { "anonymous" } else { user }) }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                div #flash role="status" aria-live="polite" {}
                main #main tabindex="-1" { (body) }
            }
        }
    }
    .into_string()
}

fn status_class(status: &str) -> String {
    let cleaned: String = status
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if cleaned.is_empty() {
        "st-unknown".to_string()
    } else {
        format!("st-{cleaned}")
    }
}

/// A health status badge.
pub fn health_badge(status: &str) -> Markup {
    html! {
        span class={ "badge health " (status_class(status)) } data-field="health" title="Health status" { (status) }
    }
}

/// A sync status badge.
pub fn sync_badge(status: &str) -> Markup {
    html! {
        span class={ "badge sync " (status_class(status)) } data-field="sync" title="Sync status" { (status) }
    }
}

/// An operation phase badge (nothing when there is no operation).
pub fn op_badge(phase: &str) -> Markup {
    html! {
        span class={ "badge op " (status_class(phase)) } data-field="op" title="Operation" hidden[phase.is_empty()] { (phase) }
    }
}

/// A button that calls the REST API through `app.js` (`data-method`, `data-url`, `data-body`),
/// disabled with a tooltip naming the permission when not allowed.
pub fn action_button(
    label: &str,
    method: &str,
    url: &str,
    body: &str,
    perm: &Perm,
    extra: &[(&str, &str)],
) -> Markup {
    let confirm = extra.iter().find(|(k, _)| *k == "confirm").map(|(_, v)| *v);
    let done = extra.iter().find(|(k, _)| *k == "done").map(|(_, v)| *v);
    let id = extra.iter().find(|(k, _)| *k == "id").map(|(_, v)| *v);
    html! {
        button.action type="button" id=[id] data-method=(method) data-url=(url) data-body=(body)
            data-confirm=[confirm] data-done=[done] disabled[!perm.allowed] title=[perm.tooltip()]
            data-needs=[(!perm.allowed).then_some(perm.needs.as_str())] { (label) }
    }
}

/// A short revision (7 characters of a commit SHA; other revisions as they are).
pub fn short_rev(rev: &str) -> String {
    if rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
        rev[..7].to_string()
    } else {
        rev.to_string()
    }
}

/// A page that says what went wrong (403, 404, ...).
pub fn error_page(user: Option<String>, status: u16, message: &str) -> String {
    let title = match status {
        403 => "Permission denied",
        404 => "Not found",
        401 => "Not logged in",
        _ => "Error",
    };
    page(
        &Shell::new(title, user, Section::None),
        html! {
            h1 { (title) }
            p.error role="alert" data-status=(status) { (message) }
            p { a href="/applications" { "Back to the applications" } }
        },
    )
}

/// `label` as a link to `url` when `url` is an absolute http(s) URL ([`crate::links::safe_href`]);
/// otherwise the label and the URL as plain text, so a `javascript:` or `data:` URL never becomes
/// an `href`.
pub fn external_link(label: &str, url: &str) -> Markup {
    match crate::links::safe_href(url) {
        Some(href) => html! {
            a.external href=(href) rel="noopener noreferrer" target="_blank" { (label) }
        },
        None if label == url => html! { span.unsafe-link { (url) } },
        None => html! { span.unsafe-link { (label) ": " (url) } },
    }
}

/// Text with `\n` kept (for messages).
pub fn multiline(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// A page with the asset content hash replaced by `HASH`, for snapshots that should not change with
/// every CSS or JavaScript edit.
#[cfg(test)]
pub fn stable(html: String) -> String {
    html.replace(&format!("{:016x}", assets::VERSION), "HASH")
}

/// Raw markup already escaped (for the SVG badge preview and similar).
pub fn raw(text: String) -> PreEscaped<String> {
    PreEscaped(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_links_assets_and_escapes_the_title() {
        let html = page(
            &Shell::new("<x>", Some("admin".into()), Section::Applications),
            html! { p { "body" } },
        );
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("&lt;x&gt; · Capstan"));
        assert!(html.contains(&assets::url("app.js")));
        assert!(html.contains(r#"href="/applications" aria-current="page""#));
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains(" style="), "no inline style");
    }

    #[test]
    fn denied_buttons_are_disabled_and_name_the_permission() {
        let perm = Perm::new(false, "applications", "sync", "default/a");
        let b = action_button("Sync", "POST", "/x", "{}", &perm, &[]).into_string();
        assert!(b.contains("disabled"));
        assert!(b.contains("title=\"You do not have permission: applications, sync, default/a\""));
        let b = action_button("Sync", "POST", "/x", "{}", &Perm::yes(), &[]).into_string();
        assert!(!b.contains("disabled"));
    }

    #[test]
    fn status_classes_are_safe() {
        assert_eq!(status_class("OutOfSync"), "st-outofsync");
        assert_eq!(status_class("\"><script>"), "st-script");
        assert_eq!(status_class(""), "st-unknown");
        assert_eq!(short_rev(&"a".repeat(40)), "aaaaaaa");
        assert_eq!(short_rev("main"), "main");
    }
}
