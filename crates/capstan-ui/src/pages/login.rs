//! The login page: local accounts by user name and password, and "Log in via SSO" when OpenID
//! Connect is configured.

use maud::html;

use crate::pages::{Section, Shell, page};

/// What the login page shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginView {
    /// Where to go after logging in (a local path).
    pub return_url: String,
    /// The user name typed before (after a failure).
    pub username: String,
    /// The error of the last attempt.
    pub error: Option<String>,
    /// Label of the SSO provider, when SSO is configured.
    pub sso_name: Option<String>,
}

/// Renders the login page.
pub fn render(view: &LoginView) -> String {
    let sso_href = format!(
        "/auth/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_url", &view.return_url)
            .finish()
    );
    page(
        &Shell::new("Log in", None, Section::None),
        html! {
            section.login {
                h1 { "Log in to Capstan" }
                @if let Some(error) = &view.error {
                    p.error #login-error role="alert" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="return_url" value=(view.return_url);
                    label for="username" { "Username" }
                    input #username name="username" autocomplete="username" required autofocus value=(view.username);
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required;
                    button.primary type="submit" { "Sign in" }
                }
                @if let Some(name) = &view.sso_name {
                    p.sso { a.button href=(sso_href) { "Log in via " (name) } }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_page_without_sso() {
        let html = render(&LoginView {
            return_url: "/applications".into(),
            ..LoginView::default()
        });
        insta::assert_snapshot!(crate::pages::stable(html));
    }

    #[test]
    fn login_page_with_error_and_sso() {
        let html = render(&LoginView {
            return_url: "/applications/a?x=1&y=2".into(),
            username: "bob\"".into(),
            error: Some("Invalid username or password".into()),
            sso_name: Some("SSO".into()),
        });
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains("value=\"bob&quot;\""));
        assert!(
            html.contains("href=\"/auth/login?return_url=%2Fapplications%2Fa%3Fx%3D1%26y%3D2\"")
        );
        assert!(html.contains("Log in via SSO"));
    }
}
