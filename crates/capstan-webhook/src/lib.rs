//! Push webhooks from GitHub, GitLab, Bitbucket Cloud and Gitea/Gogs as pure functions: which provider
//! sent a request and whether its signature matches the configured secret ([`verify`]), what the
//! payload says was pushed ([`parse`]), and whether a push concerns an application source
//! ([`source_affected`]). The payload is untrusted input: every field is optional to the parser, and a
//! missing or mistyped field is an [`WebhookError::InvalidPayload`] naming it, never a panic.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde_json::Value;
use subtle::ConstantTimeEq;

mod paths;

pub use paths::{canonical_url, watched_paths};

/// Why a webhook request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// The signature, token or hook UUID did not match the configured secret.
    #[error("webhook {0} verification failed")]
    Unauthenticated(&'static str),
    /// The request names no known provider.
    #[error("unknown webhook event: expected a GitHub, GitLab, Bitbucket or Gitea push")]
    UnknownProvider,
    /// The payload is not what the provider sends.
    #[error("webhook payload {0}")]
    InvalidPayload(String),
}

/// A push, whatever the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Every URL the repository is known by (web, HTTPS clone, SSH clone).
    pub urls: Vec<String>,
    /// Branch or tag name pushed (without `refs/heads/`).
    pub revision: String,
    /// The repository's default branch, when the payload says.
    pub default_branch: Option<String>,
    /// Files added, modified or removed; `None` when the provider does not list them.
    pub changed: Option<Vec<String>>,
}

/// Which provider sent the request, from its event header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// GitHub.
    GitHub,
    /// GitLab.
    GitLab,
    /// Bitbucket Cloud.
    Bitbucket,
    /// Gitea or Gogs.
    Gitea,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn hmac_hex<M: Mac + hmac::digest::KeyInit>(key: &[u8], body: &[u8]) -> Option<String> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
    mac.update(body);
    Some(hex::encode(mac.finalize().into_bytes()))
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Identifies the provider and checks the signature against the configured secret (`secret` is asked
/// for `argocd-secret` keys such as `webhook.github.secret`; no secret configured means no check, as in
/// Argo CD).
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secret: impl Fn(&str) -> Option<String>,
) -> Result<Provider, WebhookError> {
    if header(headers, "x-gitea-event").is_some() || header(headers, "x-gogs-event").is_some() {
        if let Some(key) = secret("webhook.gitea.secret").or_else(|| secret("webhook.gogs.secret"))
        {
            let given = header(headers, "x-gitea-signature")
                .or_else(|| header(headers, "x-gogs-signature"))
                .unwrap_or_default();
            let expected = hmac_hex::<Hmac<sha2::Sha256>>(key.as_bytes(), body).unwrap_or_default();
            if !ct_eq(given.trim(), &expected) {
                return Err(WebhookError::Unauthenticated("Gitea signature"));
            }
        }
        return Ok(Provider::Gitea);
    }
    if header(headers, "x-github-event").is_some() {
        if let Some(key) = secret("webhook.github.secret") {
            let ok = if let Some(sig) = header(headers, "x-hub-signature-256") {
                let expected =
                    hmac_hex::<Hmac<sha2::Sha256>>(key.as_bytes(), body).unwrap_or_default();
                ct_eq(sig.trim_start_matches("sha256="), &expected)
            } else if let Some(sig) = header(headers, "x-hub-signature") {
                let expected =
                    hmac_hex::<Hmac<sha1::Sha1>>(key.as_bytes(), body).unwrap_or_default();
                ct_eq(sig.trim_start_matches("sha1="), &expected)
            } else {
                false
            };
            if !ok {
                return Err(WebhookError::Unauthenticated("GitHub signature"));
            }
        }
        return Ok(Provider::GitHub);
    }
    if header(headers, "x-gitlab-event").is_some() {
        if let Some(key) = secret("webhook.gitlab.secret")
            && !ct_eq(header(headers, "x-gitlab-token").unwrap_or_default(), &key)
        {
            return Err(WebhookError::Unauthenticated("GitLab token"));
        }
        return Ok(Provider::GitLab);
    }
    if header(headers, "x-event-key").is_some() {
        if let Some(key) = secret("webhook.bitbucket.uuid")
            && !ct_eq(header(headers, "x-hook-uuid").unwrap_or_default(), &key)
        {
            return Err(WebhookError::Unauthenticated("Bitbucket hook UUID"));
        }
        return Ok(Provider::Bitbucket);
    }
    Err(WebhookError::UnknownProvider)
}

fn strs(v: &Value, pointers: &[&str]) -> Vec<String> {
    pointers
        .iter()
        .filter_map(|p| v.pointer(p).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Files added, modified or removed by the pushed commits (GitHub, GitLab and Gitea lists).
fn changed_files(commits: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for commit in commits.as_array().into_iter().flatten() {
        for list in ["added", "modified", "removed"] {
            for f in commit
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(f) = f.as_str() {
                    out.push(f.to_string());
                }
            }
        }
    }
    out
}

fn branch_of(git_ref: &str) -> String {
    git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref)
        .to_string()
}

fn missing(what: &str) -> WebhookError {
    WebhookError::InvalidPayload(format!("has no {what}"))
}

fn default_branch(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(String::from)
}

/// Reads a push payload; `Ok(None)` for events that are not pushes (ping, ...).
pub fn parse(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Push>, WebhookError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::InvalidPayload(format!("is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(WebhookError::InvalidPayload(
            "must be a JSON object".to_string(),
        ));
    }
    let git_ref = || {
        v.get("ref")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("ref"))
    };
    let push = match provider {
        Provider::GitHub | Provider::Gitea => {
            let event = header(headers, "x-github-event")
                .or_else(|| header(headers, "x-gitea-event"))
                .or_else(|| header(headers, "x-gogs-event"))
                .unwrap_or_default();
            if event != "push" {
                return Ok(None);
            }
            let urls = strs(
                &v,
                &[
                    "/repository/html_url",
                    "/repository/clone_url",
                    "/repository/ssh_url",
                    "/repository/url",
                ],
            );
            if urls.is_empty() {
                return Err(missing("repository URL"));
            }
            Push {
                urls,
                revision: branch_of(git_ref()?),
                default_branch: default_branch(&v, "/repository/default_branch"),
                changed: Some(changed_files(&v["commits"])),
            }
        }
        Provider::GitLab => {
            let event = header(headers, "x-gitlab-event").unwrap_or_default();
            if event != "Push Hook" && event != "Tag Push Hook" {
                return Ok(None);
            }
            let urls = strs(
                &v,
                &[
                    "/project/web_url",
                    "/project/git_http_url",
                    "/project/git_ssh_url",
                    "/repository/homepage",
                ],
            );
            if urls.is_empty() {
                return Err(missing("project URL"));
            }
            Push {
                urls,
                revision: branch_of(git_ref()?),
                default_branch: default_branch(&v, "/project/default_branch"),
                changed: Some(changed_files(&v["commits"])),
            }
        }
        Provider::Bitbucket => {
            if header(headers, "x-event-key") != Some("repo:push") {
                return Ok(None);
            }
            let html = v
                .pointer("/repository/links/html/href")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("repository link"))?;
            let revision = v
                .pointer("/push/changes/0/new/name")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("push.changes[0].new.name"))?;
            let mut urls = vec![html.to_string()];
            if let Some(full) = v.pointer("/repository/full_name").and_then(Value::as_str) {
                urls.push(format!("git@bitbucket.org:{full}.git"));
            }
            Push {
                urls,
                revision: revision.to_string(),
                default_branch: default_branch(&v, "/repository/mainbranch/name"),
                changed: None,
            }
        }
    };
    Ok(Some(push))
}

fn revision_matches(target: &str, push: &Push) -> bool {
    let target = target.trim();
    let target = target
        .strip_prefix("refs/heads/")
        .or_else(|| target.strip_prefix("refs/tags/"))
        .unwrap_or(target);
    if target.is_empty() || target == "HEAD" {
        return push
            .default_branch
            .as_deref()
            .is_none_or(|d| d == push.revision);
    }
    target == push.revision
}

/// Whether a push concerns one application source (`repoURL`, `targetRevision`, `path`), given the
/// application's `argocd.argoproj.io/manifest-generate-paths` annotation.
pub fn source_affected(source: &Value, annotation: Option<&str>, push: &Push) -> bool {
    let text = |k: &str| source.get(k).and_then(Value::as_str).unwrap_or_default();
    let url = canonical_url(text("repoURL"));
    if !push.urls.iter().any(|u| canonical_url(u) == url) {
        return false;
    }
    if !revision_matches(text("targetRevision"), push) {
        return false;
    }
    match &push.changed {
        None => true,
        Some(changed) => paths::touches(&watched_paths(text("path"), annotation), changed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn push(changed: &[&str]) -> Push {
        Push {
            urls: vec!["https://github.com/org/repo".into()],
            revision: "main".into(),
            default_branch: Some("main".into()),
            changed: Some(changed.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn source(path: &str, rev: &str) -> Value {
        json!({"repoURL": "git@github.com:org/repo.git", "path": path, "targetRevision": rev})
    }

    #[test]
    fn only_matching_sources_are_affected() {
        let p = push(&["guestbook/deploy.yaml"]);
        assert!(source_affected(&source("guestbook", "main"), None, &p));
        assert!(source_affected(&source("guestbook", "HEAD"), None, &p));
        assert!(!source_affected(&source("guestbook", "dev"), None, &p));
        assert!(!source_affected(&source("other", "main"), None, &p));
        let p2 = push(&["guestbook-2/x.yaml"]);
        assert!(!source_affected(&source("guestbook", "main"), None, &p2));
        assert!(source_affected(
            &source("guestbook", "main"),
            Some("../guestbook-2"),
            &p2
        ));
    }

    #[test]
    fn signatures() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let sig = hmac_hex::<Hmac<sha2::Sha256>>(b"s3cret", body).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", "push".parse().unwrap());
        headers.insert(
            "x-hub-signature-256",
            format!("sha256={sig}").parse().unwrap(),
        );
        let secret = |k: &str| (k == "webhook.github.secret").then(|| "s3cret".to_string());
        assert_eq!(verify(&headers, body, secret).unwrap(), Provider::GitHub);
        assert!(verify(&headers, b"{}", secret).is_err());
        headers.insert("x-hub-signature-256", "sha256=00".parse().unwrap());
        assert_eq!(
            verify(&headers, body, secret),
            Err(WebhookError::Unauthenticated("GitHub signature"))
        );
        assert_eq!(
            verify(&HeaderMap::new(), body, secret),
            Err(WebhookError::UnknownProvider)
        );
    }

    #[test]
    fn malformed_payloads_are_errors() {
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", "push".parse().unwrap());
        for body in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"repository": {"html_url": "x"}}"#,
            br#"{"repository": {"html_url": "x"}, "ref": 7}"#,
            br#"{"repository": "x", "ref": "main"}"#,
        ] {
            assert!(
                matches!(
                    parse(Provider::GitHub, &headers, body),
                    Err(WebhookError::InvalidPayload(_))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn pushes_from_each_provider() {
        let mut gh = HeaderMap::new();
        gh.insert("x-github-event", "push".parse().unwrap());
        let body = br#"{"ref": "refs/heads/main", "repository": {"html_url": "https://github.com/o/r", "default_branch": "main"},
            "commits": [{"added": ["a/x"], "modified": ["b/y", 3], "removed": null}]}"#;
        let p = parse(Provider::GitHub, &gh, body).unwrap().unwrap();
        assert_eq!(p.revision, "main");
        assert_eq!(p.changed, Some(vec!["a/x".into(), "b/y".into()]));

        let mut gl = HeaderMap::new();
        gl.insert("x-gitlab-event", "Tag Push Hook".parse().unwrap());
        let body = br#"{"ref": "refs/tags/v1", "project": {"git_http_url": "https://gitlab.com/o/r.git"}}"#;
        let p = parse(Provider::GitLab, &gl, body).unwrap().unwrap();
        assert_eq!((p.revision.as_str(), p.changed), ("v1", Some(vec![])));

        let mut bb = HeaderMap::new();
        bb.insert("x-event-key", "repo:push".parse().unwrap());
        let body = br#"{"repository": {"links": {"html": {"href": "https://bitbucket.org/o/r"}}, "full_name": "o/r"},
            "push": {"changes": [{"new": {"name": "dev"}}]}}"#;
        let p = parse(Provider::Bitbucket, &bb, body).unwrap().unwrap();
        assert_eq!(p.urls[1], "git@bitbucket.org:o/r.git");
        assert_eq!(p.changed, None);

        gh.insert("x-github-event", "ping".parse().unwrap());
        assert_eq!(parse(Provider::GitHub, &gh, b"{}").unwrap(), None);
    }
}
