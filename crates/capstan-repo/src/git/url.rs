//! Repository URLs: classification, normalisation (one cache per repository), redaction.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// How a repository is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A local path or `file://` URL.
    Local(PathBuf),
    /// `http://` or `https://`.
    Http,
    /// `ssh://` or scp-like `user@host:path`.
    Ssh,
}

/// A repository URL without credentials, plus credentials that were embedded in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// The URL passed to git (no user info for http(s)).
    pub url: String,
    /// Transport.
    pub transport: Transport,
    /// User name embedded in an http(s) URL.
    pub embedded_user: Option<String>,
    /// Password embedded in an http(s) URL.
    pub embedded_password: Option<String>,
}

impl RepoUrl {
    /// Parses a repository URL or local path.
    pub fn parse(raw: &str) -> Result<RepoUrl, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("repository URL is empty".into());
        }
        // git would read these as options (`-oProxyCommand=...`, `--upload-pack=...`)
        if raw.starts_with('-') {
            return Err("a repository URL may not start with '-'".into());
        }
        // git's remote helpers (`ext::<command>`, `fd::<n>`) run commands or use descriptors
        if let Some(pos) = raw.find("::")
            && !raw[..pos].contains(['/', '['])
        {
            return Err(format!(
                "unsupported URL {:?}: git transport helpers (<helper>::) are not allowed",
                redact_url(raw)
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err("a repository URL may not contain control characters".into());
        }
        if let Some(rest) = raw.strip_prefix("file://") {
            return Ok(RepoUrl::local(PathBuf::from(rest), raw));
        }
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let scheme_end = raw.find("://").map(|i| i + 3).unwrap_or(0);
            let (scheme, rest) = raw.split_at(scheme_end);
            let host_end = rest.find('/').unwrap_or(rest.len());
            let authority = &rest[..host_end];
            let (user, password, host) = match authority.rfind('@') {
                Some(at) => {
                    let info = &authority[..at];
                    let (u, p) = match info.split_once(':') {
                        Some((u, p)) => (u.to_string(), Some(p.to_string())),
                        None => (info.to_string(), None),
                    };
                    (Some(u), p, &authority[at + 1..])
                }
                None => (None, None, authority),
            };
            if host.is_empty() {
                return Err("repository URL has no host".into());
            }
            return Ok(RepoUrl {
                url: format!("{scheme}{host}{}", &rest[host_end..]),
                transport: Transport::Http,
                embedded_user: user.filter(|u| !u.is_empty()),
                embedded_password: password.filter(|p| !p.is_empty()),
            });
        }
        if lower.starts_with("ssh://") || lower.starts_with("git+ssh://") {
            return Ok(RepoUrl::plain(raw, Transport::Ssh));
        }
        if raw.starts_with('/') || raw.starts_with("./") || raw.starts_with("../") {
            return Ok(RepoUrl::local(PathBuf::from(raw), raw));
        }
        if lower.contains("://") {
            return Err(format!(
                "unsupported URL scheme in {:?} (use https://, ssh://, file:// or a path)",
                redact_url(raw)
            ));
        }
        // scp-like syntax: [user@]host:path (no scheme, a colon before any slash)
        if let Some(colon) = raw.find(':') {
            let before = &raw[..colon];
            if !before.is_empty() && !before.contains('/') {
                return Ok(RepoUrl::plain(raw, Transport::Ssh));
            }
        }
        Ok(RepoUrl::local(PathBuf::from(raw), raw))
    }

    fn plain(raw: &str, transport: Transport) -> RepoUrl {
        RepoUrl {
            url: raw.to_string(),
            transport,
            embedded_user: None,
            embedded_password: None,
        }
    }

    fn local(path: PathBuf, raw: &str) -> RepoUrl {
        let path = std::path::absolute(&path).unwrap_or(path);
        RepoUrl {
            url: if raw.starts_with("file://") {
                raw.to_string()
            } else {
                path.display().to_string()
            },
            transport: Transport::Local(path),
            embedded_user: None,
            embedded_password: None,
        }
    }

    /// The key that identifies one repository: Argo CD's normalisation (case-insensitive, without a
    /// trailing `/` or `.git`) for remote URLs, the absolute path for local ones.
    pub fn cache_key(&self) -> String {
        match &self.transport {
            Transport::Local(p) => format!("local:{}", p.display()),
            _ => normalize_url(&self.url),
        }
    }

    /// A stable, unguessable-from-outside directory name for this repository's cache.
    pub fn cache_dir_name(&self) -> String {
        hash_hex(&self.cache_key())[..32].to_string()
    }
}

/// Lower-cased URL without a trailing `/` or `.git`.
pub fn normalize_url(url: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('/');
    trimmed.strip_suffix(".git").unwrap_or(trimmed).to_string()
}

/// Hex SHA-256 of a string.
pub fn hash_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes user info (`user:password@`) from any http(s) URL inside `text`.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***@");
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The URL without a password: for http(s) without any user info (credentials go to git
/// separately), for other URLs with `user:password@` reduced to `user@`. Used wherever a URL
/// reaches a tool's environment or a message.
pub fn without_credentials(raw: &str) -> String {
    if let Ok(parsed) = RepoUrl::parse(raw)
        && parsed.transport == Transport::Http
    {
        return parsed.url;
    }
    let Some(pos) = raw.find("://") else {
        return raw.to_string();
    };
    let (head, tail) = raw.split_at(pos + 3);
    let end = tail.find('/').unwrap_or(tail.len());
    let authority = &tail[..end];
    match authority.rfind('@') {
        Some(at) if authority[..at].contains(':') => {
            let user = authority[..at].split(':').next().unwrap_or_default();
            format!("{head}{user}@{}{}", &authority[at + 1..], &tail[end..])
        }
        _ => raw.to_string(),
    }
}

/// Resolves a relative submodule URL (`./x`, `../x`) against its parent repository's URL.
pub fn resolve_relative(parent: &str, relative: &str) -> String {
    if !(relative.starts_with("./") || relative.starts_with("../")) {
        return relative.to_string();
    }
    let mut base: Vec<&str> = parent.trim_end_matches('/').split('/').collect();
    let mut rel = relative;
    loop {
        if let Some(r) = rel.strip_prefix("./") {
            rel = r;
        } else if let Some(r) = rel.strip_prefix("../") {
            if base.len() > 1 {
                base.pop();
            }
            rel = r;
        } else {
            break;
        }
    }
    format!("{}/{}", base.join("/"), rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_urls() {
        assert_eq!(
            RepoUrl::parse("https://github.com/a/b.git")
                .unwrap()
                .transport,
            Transport::Http
        );
        assert_eq!(
            RepoUrl::parse("git@github.com:a/b.git").unwrap().transport,
            Transport::Ssh
        );
        assert_eq!(
            RepoUrl::parse("ssh://git@h:2222/x").unwrap().transport,
            Transport::Ssh
        );
        assert!(matches!(
            RepoUrl::parse("file:///srv/repo").unwrap().transport,
            Transport::Local(_)
        ));
        assert!(matches!(
            RepoUrl::parse("/srv/repo").unwrap().transport,
            Transport::Local(_)
        ));
        assert!(RepoUrl::parse("ftp://x/y").is_err());
        for evil in [
            "ext::sh -c touch% /tmp/pwned",
            "fd::17",
            "-oProxyCommand=touch /tmp/pwned:x",
            "--upload-pack=touch /tmp/pwned",
            "https://h/r.git\n--upload-pack=x",
        ] {
            assert!(RepoUrl::parse(evil).is_err(), "{evil}");
        }
    }

    #[test]
    fn embedded_credentials_are_moved_out_of_the_url() {
        let u = RepoUrl::parse("https://bob:s3cret@git.example.com/r.git").unwrap();
        assert_eq!(u.url, "https://git.example.com/r.git");
        assert_eq!(u.embedded_user.as_deref(), Some("bob"));
        assert_eq!(u.embedded_password.as_deref(), Some("s3cret"));
    }

    #[test]
    fn one_cache_per_repository() {
        let a = RepoUrl::parse("https://GitHub.com/a/b.git").unwrap();
        let b = RepoUrl::parse("https://github.com/a/b/").unwrap();
        assert_eq!(a.cache_dir_name(), b.cache_dir_name());
        let c = RepoUrl::parse("https://github.com/a/c").unwrap();
        assert_ne!(a.cache_dir_name(), c.cache_dir_name());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("fatal: unable to access 'https://u:p@h/x/': 401"),
            "fatal: unable to access 'https://***@h/x/': 401"
        );
    }

    #[test]
    fn credentials_are_removed() {
        assert_eq!(
            without_credentials("https://bob:s3cret@git.example.com/r.git"),
            "https://git.example.com/r.git"
        );
        assert_eq!(
            without_credentials("ssh://git:s3cret@host/r.git"),
            "ssh://git@host/r.git"
        );
        assert_eq!(
            without_credentials("ssh://git@host/r.git"),
            "ssh://git@host/r.git"
        );
        assert_eq!(without_credentials("git@host:r.git"), "git@host:r.git");
    }

    #[test]
    fn relative_submodules() {
        assert_eq!(
            resolve_relative("https://h/org/parent.git", "../child.git"),
            "https://h/org/child.git"
        );
    }
}
