//! `POST /api/webhook`: push events from GitHub, GitLab, Bitbucket Cloud and Gitea/Gogs. The payload is
//! verified with the provider's secret from `argocd-secret` when one is configured (HMAC-SHA256 or
//! HMAC-SHA1 signature, token or hook UUID header, compared in constant time), then only the
//! Applications whose repository, target revision and paths the push touched are refreshed
//! (annotation `argocd.argoproj.io/refresh: normal`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use capstan_types::annotations::{MANIFEST_GENERATE_PATHS, REFRESH};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};
use crate::metrics::label;
use crate::project_checks::sources;
use crate::routes::repositories::same_url;
use crate::state::AppState;

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

/// Identifies the provider and checks the signature against the configured secret.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secret: impl Fn(&str) -> Option<String>,
) -> Result<Provider, ApiError> {
    let unauthorized =
        |what: &str| ApiError::Unauthenticated(format!("webhook {what} verification failed"));
    if header(headers, "x-gitea-event").is_some() || header(headers, "x-gogs-event").is_some() {
        if let Some(key) = secret("webhook.gitea.secret").or_else(|| secret("webhook.gogs.secret"))
        {
            let given = header(headers, "x-gitea-signature")
                .or_else(|| header(headers, "x-gogs-signature"))
                .unwrap_or_default();
            let expected = hmac_hex::<Hmac<sha2::Sha256>>(key.as_bytes(), body).unwrap_or_default();
            if !ct_eq(given.trim(), &expected) {
                return Err(unauthorized("Gitea signature"));
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
                return Err(unauthorized("GitHub signature"));
            }
        }
        return Ok(Provider::GitHub);
    }
    if header(headers, "x-gitlab-event").is_some() {
        if let Some(key) = secret("webhook.gitlab.secret")
            && !ct_eq(header(headers, "x-gitlab-token").unwrap_or_default(), &key)
        {
            return Err(unauthorized("GitLab token"));
        }
        return Ok(Provider::GitLab);
    }
    if header(headers, "x-event-key").is_some() {
        if let Some(key) = secret("webhook.bitbucket.uuid")
            && !ct_eq(header(headers, "x-hook-uuid").unwrap_or_default(), &key)
        {
            return Err(unauthorized("Bitbucket hook UUID"));
        }
        return Ok(Provider::Bitbucket);
    }
    Err(ApiError::InvalidArgument(
        "unknown webhook event: expected a GitHub, GitLab, Bitbucket or Gitea push".into(),
    ))
}

fn strs(v: &Value, pointers: &[&str]) -> Vec<String> {
    pointers
        .iter()
        .filter_map(|p| v.pointer(p).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn changed_files(commits: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in commits.as_array().into_iter().flatten() {
        for key in ["added", "modified", "removed"] {
            out.extend(
                c[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(String::from),
            );
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

/// Reads a push payload; `Ok(None)` for events that are not pushes (ping, ...).
pub fn parse(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Push>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidArgument(format!("webhook payload is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::InvalidArgument(
            "webhook payload must be a JSON object".into(),
        ));
    }
    let missing = |what: &str| ApiError::InvalidArgument(format!("webhook payload has no {what}"));
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
            let git_ref = v["ref"].as_str().ok_or_else(|| missing("ref"))?;
            Push {
                urls,
                revision: branch_of(git_ref),
                default_branch: v
                    .pointer("/repository/default_branch")
                    .and_then(Value::as_str)
                    .map(String::from),
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
            let git_ref = v["ref"].as_str().ok_or_else(|| missing("ref"))?;
            Push {
                urls,
                revision: branch_of(git_ref),
                default_branch: v
                    .pointer("/project/default_branch")
                    .and_then(Value::as_str)
                    .map(String::from),
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
                default_branch: v
                    .pointer("/repository/mainbranch/name")
                    .and_then(Value::as_str)
                    .map(String::from),
                changed: None,
            }
        }
    };
    Ok(Some(push))
}

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

fn touches(paths: &[String], changed: &[String]) -> bool {
    changed.iter().any(|f| {
        let f = normalize_path(f);
        paths
            .iter()
            .any(|p| p.is_empty() || f == *p || f.starts_with(&format!("{p}/")))
    })
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

/// Whether a push concerns an Application.
pub fn app_affected(app: &Value, push: &Push) -> bool {
    let annotation = app
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(MANIFEST_GENERATE_PATHS))
        .and_then(Value::as_str);
    let repo_urls: Vec<String> = push.urls.iter().map(|u| canonical_url(u)).collect();
    sources(&app["spec"]).iter().any(|s| {
        let url = canonical_url(s["repoURL"].as_str().unwrap_or_default());
        if !repo_urls.iter().any(|u| same_url(u, &url)) {
            return false;
        }
        if !revision_matches(s["targetRevision"].as_str().unwrap_or_default(), push) {
            return false;
        }
        match &push.changed {
            None => true,
            Some(changed) => touches(
                &watched_paths(s["path"].as_str().unwrap_or_default(), annotation),
                changed,
            ),
        }
    })
}

/// `POST /api/webhook`.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let settings = state.settings();
    let provider = verify(&headers, &body, |key| {
        settings
            .secret
            .webhook
            .get(key)
            .map(|s| s.expose().to_string())
            .filter(|s| !s.is_empty())
    })?;
    let Some(push) = parse(provider, &headers, &body)? else {
        return Ok(Json(json!({"refreshed": []})));
    };
    state.metrics.inc(
        "argocd_webhook_requests_total",
        format!(
            "repo=\"{}\"",
            label(push.urls.first().map(String::as_str).unwrap_or(""))
        ),
    );
    let (apps, _) = state
        .client
        .list(&state.types.app, Some(&state.config.namespace), None)
        .await?;
    let mut refreshed = Vec::new();
    for app in apps.iter().filter(|a| app_affected(a, &push)) {
        let name = app["metadata"]["name"].as_str().unwrap_or_default();
        let patch = json!({"metadata": {"annotations": {REFRESH: "normal"}}});
        match state
            .client
            .merge_patch(
                &state.types.app,
                Some(&state.config.namespace),
                name,
                &patch,
            )
            .await
        {
            Ok(_) => refreshed.push(name.to_string()),
            Err(e) => tracing::warn!(app = %name, error = %e, "webhook refresh failed"),
        }
    }
    tracing::info!(repo = ?push.urls.first(), revision = %push.revision, refreshed = ?refreshed, "webhook push");
    Ok(Json(json!({"refreshed": refreshed})))
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

    fn push(changed: &[&str]) -> Push {
        Push {
            urls: vec!["https://github.com/org/repo".into()],
            revision: "main".into(),
            default_branch: Some("main".into()),
            changed: Some(changed.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn app(path: &str, rev: &str) -> Value {
        json!({"metadata": {"name": "a"}, "spec": {"source": {
            "repoURL": "git@github.com:org/repo.git", "path": path, "targetRevision": rev}}})
    }

    #[test]
    fn only_matching_apps_are_affected() {
        assert!(app_affected(
            &app("guestbook", "main"),
            &push(&["guestbook/deploy.yaml"])
        ));
        assert!(app_affected(
            &app("guestbook", "HEAD"),
            &push(&["guestbook/deploy.yaml"])
        ));
        assert!(!app_affected(
            &app("guestbook", "dev"),
            &push(&["guestbook/deploy.yaml"])
        ));
        assert!(!app_affected(
            &app("other", "main"),
            &push(&["guestbook/deploy.yaml"])
        ));
        assert!(!app_affected(
            &app("guestbook", "main"),
            &push(&["guestbook-2/x.yaml"])
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
        assert!(matches!(
            verify(&headers, body, secret),
            Err(ApiError::Unauthenticated(_))
        ));
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
        ] {
            assert!(matches!(
                parse(Provider::GitHub, &headers, body),
                Err(ApiError::InvalidArgument(_))
            ));
        }
    }
}
