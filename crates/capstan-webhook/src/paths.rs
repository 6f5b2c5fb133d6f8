//! Repository URLs and paths as a push and an application source name them.

/// `git@host:org/repo.git` and `ssh://git@host/org/repo` become `host/org/repo`; web and clone URLs
/// the same way, so any two forms of one repository compare equal.
pub fn canonical_url(url: &str) -> String {
    let mut u = url.trim().to_lowercase();
    for prefix in ["https://", "http://", "ssh://", "git://", "file://"] {
        if let Some(rest) = u.strip_prefix(prefix) {
            u = rest.to_string();
            break;
        }
    }
    if let Some(at) = u.find('@').filter(|at| !u[..*at].contains('/')) {
        u = u[at + 1..].to_string();
    }
    if let Some(colon) = u.find(':') {
        let (host, rest) = u.split_at(colon);
        let rest = &rest[1..];
        // host:port/path keeps no port; host:path (scp form) becomes host/path
        let rest = match rest.split_once('/') {
            Some((port, path)) if port.chars().all(|c| c.is_ascii_digit()) => path.to_string(),
            _ => rest.to_string(),
        };
        u = format!("{host}/{rest}");
    }
    u.trim_end_matches('/').trim_end_matches(".git").to_string()
}

fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The repository paths a source depends on: its manifest-generate-paths annotation (`;`-separated,
/// relative to the source path or absolute from the repository root), or else its path.
pub fn watched_paths(source_path: &str, annotation: Option<&str>) -> Vec<String> {
    match annotation.filter(|a| !a.trim().is_empty()) {
        Some(a) => a
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.strip_prefix('/') {
                Some(abs) => normalize_path(abs),
                None => normalize_path(&format!("{source_path}/{p}")),
            })
            .collect(),
        None => vec![normalize_path(source_path)],
    }
}

/// Whether any changed file lies in one of the watched paths (the repository root watches all).
pub(crate) fn touches(paths: &[String], changed: &[String]) -> bool {
    changed.iter().any(|f| {
        let f = normalize_path(f);
        paths
            .iter()
            .any(|p| p.is_empty() || f == *p || f.starts_with(&format!("{p}/")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls() {
        for u in [
            "https://github.com/Org/Repo.git",
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo",
            "https://github.com/org/repo/",
            "ssh://git@github.com:22/org/repo.git",
        ] {
            assert_eq!(canonical_url(u), "github.com/org/repo", "{u}");
        }
    }

    #[test]
    fn watched_paths_from_annotation() {
        assert_eq!(watched_paths("apps/guestbook", None), ["apps/guestbook"]);
        assert_eq!(
            watched_paths("apps/guestbook", Some(".;../common;/shared/base")),
            ["apps/guestbook", "apps/common", "shared/base"]
        );
    }

    #[test]
    fn root_and_prefixes() {
        assert!(touches(&["".into()], &["x/y".into()]));
        assert!(!touches(&["a".into()], &["ab/c".into()]));
        assert!(touches(&["a".into()], &["./a/../a/c".into()]));
    }
}
