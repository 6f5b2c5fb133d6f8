//! What a repository URL and a source path may look like.

/// A value that was meant to be replaced before use: `<GIT_REPO>`, `{{.RepoURL}}`, `${REPO}`.
pub(crate) fn placeholder(value: &str) -> Option<&'static str> {
    if value.contains("{{") || value.contains("}}") {
        Some("contains an unrendered template placeholder ({{...}})")
    } else if value.contains('<') && value.contains('>') {
        Some("contains a placeholder in angle brackets (<...>); replace it with the real value")
    } else if value.contains("${") {
        Some("contains an unexpanded variable (${...})")
    } else {
        None
    }
}

/// Why `url` is not a Git, Helm or OCI repository URL (`is_chart`: the source names a Helm chart).
pub(crate) fn repo_url_problem(url: &str, is_chart: bool) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return Some("is required".to_string());
    }
    if let Some(why) = placeholder(url) {
        return Some(format!("{url:?} {why}"));
    }
    if url.chars().any(char::is_whitespace) {
        return Some(format!("{url:?} contains white space"));
    }
    let host_and_path = |rest: &str| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit('@').next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':')
    };
    for scheme in [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "oci://",
        "git+ssh://",
        "ssh+git://",
    ] {
        if let Some(rest) = url.strip_prefix(scheme) {
            return if host_and_path(rest) {
                None
            } else {
                Some(format!("{url:?} has no host"))
            };
        }
    }
    if let Some(rest) = url.strip_prefix("file://") {
        return if rest.starts_with('/') {
            None
        } else {
            Some(format!("{url:?}: a file:// URL needs an absolute path"))
        };
    }
    if url.contains("://") {
        let scheme = url.split("://").next().unwrap_or_default();
        return Some(format!(
            "{url:?} uses the scheme {scheme:?}; expected https://, http://, ssh://, git://, oci:// or user@host:path"
        ));
    }
    // scp-like SSH: user@host:path
    if let Some((user_host, path)) = url.split_once(':')
        && let Some((user, host)) = user_host.split_once('@')
    {
        return if !user.is_empty() && !host.is_empty() && !path.is_empty() {
            None
        } else {
            Some(format!("{url:?} is not of the form user@host:path"))
        };
    }
    // A Helm chart in an OCI registry may be written without a scheme: registry.example.com/charts
    if is_chart && url.contains('.') && url.contains('/') && !url.starts_with('/') {
        return None;
    }
    Some(format!(
        "{url:?} is not a Git, Helm or OCI repository URL (expected https://host/path, ssh://host/path, git@host:path or oci://host/path)"
    ))
}

/// Why a source path is not usable (`.` and relative paths inside the repository are fine).
pub(crate) fn path_problem(path: &str) -> Option<String> {
    if let Some(why) = placeholder(path) {
        return Some(format!("{path:?} {why}"));
    }
    if path.starts_with('/') {
        return Some(format!(
            "{path:?} is absolute; a source path is relative to the repository root"
        ));
    }
    let mut depth: i64 = 0;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Some(format!("{path:?} leaves the repository"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "https://github.com/argoproj/argocd-example-apps.git",
            "git@github.com:argoproj/my-private-repository",
            "ssh://git@example.com:2222/repo.git",
            "oci://registry-1.docker.io/bitnamicharts",
            "file:///tmp/repo",
            "http://127.0.0.1:8080/repo.git",
        ] {
            assert_eq!(repo_url_problem(ok, false), None, "{ok}");
        }
        assert_eq!(
            repo_url_problem("registry-1.docker.io/bitnamicharts", true),
            None
        );
        for bad in [
            "<GIT_REPO>",
            "",
            "ftp://x/y",
            "github.com/org/repo",
            "https://",
            "{{.RepoURL}}",
            "my repo",
        ] {
            assert!(repo_url_problem(bad, false).is_some(), "{bad}");
        }
        assert!(
            repo_url_problem("<GIT_REPO>", false)
                .unwrap()
                .contains("placeholder")
        );
    }

    #[test]
    fn paths() {
        assert_eq!(path_problem("guestbook"), None);
        assert_eq!(path_problem("."), None);
        assert_eq!(path_problem("a/../b"), None);
        assert!(path_problem("<GIT_PATH>").unwrap().contains("placeholder"));
        assert!(path_problem("../other").unwrap().contains("leaves"));
        assert!(path_problem("a/../../b").is_some());
        assert!(path_problem("/etc").is_some());
    }
}
