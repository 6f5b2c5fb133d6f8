//! Links built from user-controlled text (repository URLs, external URLs of annotations, return
//! addresses after login). Only `http` and `https` URLs, in any letter case, become links; anything
//! else (`javascript:`, `data:`, `vbscript:`, relative tricks) is shown as plain text.

/// `text` as an `href` if it is an absolute `http:` or `https:` URL (any case, surrounding spaces
/// ignored); `None` otherwise.
pub fn safe_href(text: &str) -> Option<String> {
    let trimmed = text.trim();
    // control characters and whitespace inside a URL are how scheme checks get fooled
    if trimmed.is_empty() || trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (scheme, rest) = trimmed.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.strip_prefix("//")?;
    if host.is_empty() || host.starts_with('/') {
        return None;
    }
    Some(format!("{scheme}:{rest}"))
}

/// A web address for a Git repository URL: `https://...` as is (without `.git`), and the scp-like
/// `git@host:owner/repo.git` and `ssh://git@host/owner/repo` forms turned into `https://host/...`.
/// `None` when no safe web link can be made.
pub fn repo_web_url(repo: &str) -> Option<String> {
    let repo = repo.trim();
    let lower = repo.to_ascii_lowercase();
    let web = if lower.starts_with("http://") || lower.starts_with("https://") {
        repo.to_string()
    } else if let Some(rest) = lower.strip_prefix("ssh://") {
        let rest = &repo[repo.len() - rest.len()..];
        let without_user = rest.split_once('@').map(|(_, r)| r).unwrap_or(rest);
        let (host, path) = without_user.split_once('/')?;
        let host = host.split(':').next().unwrap_or(host);
        format!("https://{host}/{path}")
    } else if let Some((user_host, path)) = repo.split_once(':')
        && user_host.contains('@')
        && !path.starts_with("//")
    {
        let host = user_host
            .split_once('@')
            .map(|(_, h)| h)
            .unwrap_or(user_host);
        format!("https://{host}/{}", path.trim_start_matches('/'))
    } else {
        return None;
    };
    let web = web.strip_suffix(".git").unwrap_or(&web).to_string();
    safe_href(&web)
}

/// A local path to return to after logging in: only paths of this server (`/...`, not `//host` or
/// `/\host`, which browsers read as another host); anything else becomes `/applications`.
pub fn safe_return_path(text: &str) -> String {
    let ok = text.starts_with('/')
        && !text.starts_with("//")
        && !text.starts_with("/\\")
        && !text.chars().any(|c| c.is_control());
    if ok {
        text.to_string()
    } else {
        "/applications".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_in_any_case_become_links() {
        assert_eq!(
            safe_href("https://example.com/x").as_deref(),
            Some("https://example.com/x")
        );
        assert_eq!(
            safe_href("  HTTP://Example.com ").as_deref(),
            Some("http://Example.com")
        );
        assert_eq!(
            safe_href("HtTpS://a.b/c?d=e").as_deref(),
            Some("https://a.b/c?d=e")
        );
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>",
            "vbscript:msgbox",
            "//evil.example",
            "/relative",
            "https:/evil",
            "https:///evil",
            "http://a b",
            "",
            "ftp://x",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
    }

    #[test]
    fn repository_urls_become_web_links() {
        assert_eq!(
            repo_web_url("https://github.com/argoproj/argocd-example-apps.git").as_deref(),
            Some("https://github.com/argoproj/argocd-example-apps")
        );
        assert_eq!(
            repo_web_url("git@github.com:argoproj/argocd-example-apps.git").as_deref(),
            Some("https://github.com/argoproj/argocd-example-apps")
        );
        assert_eq!(
            repo_web_url("ssh://git@gitlab.example:2222/group/repo.git").as_deref(),
            Some("https://gitlab.example/group/repo")
        );
        assert_eq!(repo_web_url("file:///tmp/repo"), None);
        assert_eq!(repo_web_url("javascript:alert(1)//@x"), None);
    }

    #[test]
    fn return_paths_stay_on_this_server() {
        assert_eq!(
            safe_return_path("/applications/a?x=1"),
            "/applications/a?x=1"
        );
        assert_eq!(safe_return_path("//evil.example/"), "/applications");
        assert_eq!(safe_return_path("/\\evil.example/"), "/applications");
        assert_eq!(safe_return_path("https://evil.example/"), "/applications");
        assert_eq!(safe_return_path(""), "/applications");
    }
}
