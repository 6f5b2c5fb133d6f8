//! Repository Secrets (`argocd.argoproj.io/secret-type: repository`) and credential templates
//! (`repo-creds`, matched by URL prefix), as in Argo CD's declarative setup.

use std::collections::BTreeMap;

use capstan_types::annotations::{SECRET_TYPE, secret_type};
use serde::Serialize;
use serde_json::Value;

use crate::error::SettingsError;
use crate::object::{describe, parse_bool, secret_data};
use crate::sensitive::Sensitive;

/// Kind of repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepositoryType {
    /// A Git repository (the default).
    #[default]
    Git,
    /// A Helm chart repository.
    Helm,
    /// An OCI registry.
    Oci,
}

/// Credentials and options shared by repositories and credential templates.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoCreds {
    /// URL (for a template: the prefix it applies to).
    pub url: String,
    /// Repository type.
    #[serde(rename = "type")]
    pub repo_type: RepositoryType,
    /// User name for HTTPS.
    pub username: Option<String>,
    /// Password or token for HTTPS.
    pub password: Option<Sensitive>,
    /// Bearer token for HTTPS.
    pub bearer_token: Option<Sensitive>,
    /// Private key for SSH.
    pub ssh_private_key: Option<Sensitive>,
    /// Client certificate (PEM) for HTTPS.
    pub tls_client_cert_data: Option<String>,
    /// Client key (PEM) for HTTPS.
    pub tls_client_cert_key: Option<Sensitive>,
    /// GitHub App id.
    #[serde(rename = "githubAppID")]
    pub github_app_id: Option<String>,
    /// GitHub App installation id.
    #[serde(rename = "githubAppInstallationID")]
    pub github_app_installation_id: Option<String>,
    /// GitHub App private key.
    pub github_app_private_key: Option<Sensitive>,
    /// Skip TLS verification / host key checking.
    pub insecure: bool,
    /// Fetch Git LFS objects.
    pub enable_lfs: bool,
    /// The Helm repository is an OCI registry.
    #[serde(rename = "enableOCI")]
    pub enable_oci: bool,
    /// Always send basic auth.
    pub force_http_basic_auth: bool,
    /// HTTP(S) proxy.
    pub proxy: Option<String>,
    /// Hosts that bypass the proxy.
    pub no_proxy: Option<String>,
    /// Project the credentials are scoped to.
    pub project: Option<String>,
}

/// A repository registered with a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    /// Display name (Helm repositories).
    pub name: Option<String>,
    /// Credentials and options.
    #[serde(flatten)]
    pub creds: RepoCreds,
    /// Name of the Secret it came from.
    pub secret_name: String,
}

impl RepoCreds {
    /// True when any credential is set.
    pub fn has_credentials(&self) -> bool {
        self.username.is_some()
            || self.password.is_some()
            || self.bearer_token.is_some()
            || self.ssh_private_key.is_some()
            || self.tls_client_cert_data.is_some()
            || self.github_app_private_key.is_some()
    }

    fn from_data(
        object: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<RepoCreds, SettingsError> {
        let text = |k: &str| data.get(k).map(|v| v.to_string()).filter(|v| !v.is_empty());
        let secret = |k: &str| text(k).map(Sensitive::new);
        let url = text("url").ok_or_else(|| SettingsError::key(object, "url", "is required"))?;
        let repo_type = match data.get("type").map(|s| s.trim()) {
            None | Some("") | Some("git") => RepositoryType::Git,
            Some("helm") => RepositoryType::Helm,
            Some("oci") => RepositoryType::Oci,
            Some(other) => {
                return Err(SettingsError::key(
                    object,
                    "type",
                    format!("must be git, helm or oci, not {other:?}"),
                ));
            }
        };
        Ok(RepoCreds {
            url,
            repo_type,
            username: text("username"),
            password: secret("password"),
            bearer_token: secret("bearerToken"),
            ssh_private_key: secret("sshPrivateKey"),
            tls_client_cert_data: text("tlsClientCertData"),
            tls_client_cert_key: secret("tlsClientCertKey"),
            github_app_id: text("githubAppID"),
            github_app_installation_id: text("githubAppInstallationID"),
            github_app_private_key: secret("githubAppPrivateKey"),
            insecure: parse_bool(object, data, "insecure", false)?,
            enable_lfs: parse_bool(object, data, "enableLfs", false)?,
            enable_oci: parse_bool(object, data, "enableOCI", false)?,
            force_http_basic_auth: parse_bool(object, data, "forceHttpBasicAuth", false)?,
            proxy: text("proxy"),
            no_proxy: text("noProxy"),
            project: text("project"),
        })
    }

    /// Reads a `repo-creds` Secret.
    pub fn from_secret(obj: &Value) -> Result<RepoCreds, SettingsError> {
        check_type(obj, secret_type::REPO_CREDS)?;
        RepoCreds::from_data(&describe(obj), &secret_data(obj)?)
    }
}

impl Repository {
    /// Reads a `repository` Secret.
    pub fn from_secret(obj: &Value) -> Result<Repository, SettingsError> {
        check_type(obj, secret_type::REPOSITORY)?;
        let object = describe(obj);
        let data = secret_data(obj)?;
        Ok(Repository {
            name: data.get("name").cloned().filter(|n| !n.is_empty()),
            creds: RepoCreds::from_data(&object, &data)?,
            secret_name: obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }
}

fn check_type(obj: &Value, expected: &str) -> Result<(), SettingsError> {
    let label = obj
        .pointer("/metadata/labels")
        .and_then(|l| l.get(SECRET_TYPE))
        .and_then(Value::as_str);
    if label != Some(expected) {
        return Err(SettingsError::Object {
            object: describe(obj),
            message: format!("is not labelled {SECRET_TYPE}: {expected}"),
        });
    }
    Ok(())
}

/// Normalises a repository URL for comparison as Argo CD does: case-insensitive, without a trailing
/// `/` or `.git`.
pub(crate) fn normalize_url(url: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('/');
    trimmed.strip_suffix(".git").unwrap_or(trimmed).to_string()
}

/// The credentials to use for `url`: the repository Secret for that URL when it has credentials,
/// otherwise the credential template with the longest matching URL prefix (merged with the
/// repository's own options when a repository Secret exists).
pub fn credentials_for(
    url: &str,
    repositories: &[Repository],
    templates: &[RepoCreds],
) -> Option<RepoCreds> {
    let wanted = normalize_url(url);
    let repo = repositories
        .iter()
        .find(|r| normalize_url(&r.creds.url) == wanted);
    if let Some(repo) = repo
        && repo.creds.has_credentials()
    {
        return Some(repo.creds.clone());
    }
    let template = templates
        .iter()
        .filter(|t| {
            url.trim()
                .to_ascii_lowercase()
                .starts_with(&t.url.trim().to_ascii_lowercase())
        })
        .max_by_key(|t| t.url.len());
    match (repo, template) {
        (Some(repo), Some(template)) => Some(RepoCreds {
            url: repo.creds.url.clone(),
            insecure: repo.creds.insecure || template.insecure,
            ..template.clone()
        }),
        (Some(repo), None) => Some(repo.creds.clone()),
        (None, Some(template)) => Some(RepoCreds {
            url: url.to_string(),
            ..template.clone()
        }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(kind: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "argocd", "labels": {SECRET_TYPE: kind}},
            "stringData": data})
    }

    #[test]
    fn repository_secret() {
        let repo = Repository::from_secret(&secret("repository", json!({
            "url": "git@github.com:argoproj/my-private-repository", "sshPrivateKey": "KEY", "insecure": "true"
        })))
        .unwrap();
        assert_eq!(
            repo.creds.ssh_private_key.as_ref().map(Sensitive::expose),
            Some("KEY")
        );
        assert!(repo.creds.insecure);
        assert!(!format!("{repo:?}").contains("KEY"));
        assert!(!serde_json::to_string(&repo).unwrap().contains("KEY"));
        let err =
            Repository::from_secret(&secret("repository", json!({"type": "svn", "url": "x"})))
                .unwrap_err();
        assert_eq!(err.data_key(), Some("type"));
        let err = Repository::from_secret(&secret("cluster", json!({"url": "x"}))).unwrap_err();
        assert!(err.to_string().contains("is not labelled"));
    }

    #[test]
    fn templates_match_longest_prefix() {
        let a = RepoCreds::from_secret(&secret(
            "repo-creds",
            json!({"url": "https://github.com/", "password": "a"}),
        ))
        .unwrap();
        let b = RepoCreds::from_secret(&secret(
            "repo-creds",
            json!({"url": "https://github.com/org", "password": "b"}),
        ))
        .unwrap();
        let templates = [a, b];
        let c = credentials_for("https://github.com/org/repo.git", &[], &templates).unwrap();
        assert_eq!(c.password.unwrap().expose(), "b");
        let c = credentials_for("https://github.com/other/repo", &[], &templates).unwrap();
        assert_eq!(c.password.unwrap().expose(), "a");
        assert!(credentials_for("https://gitlab.com/x", &[], &templates).is_none());
        let repo = Repository::from_secret(&secret(
            "repository",
            json!({"url": "https://github.com/org/repo", "password": "own"}),
        ))
        .unwrap();
        let c = credentials_for("https://github.com/org/repo.git", &[repo], &templates).unwrap();
        assert_eq!(c.password.unwrap().expose(), "own");
    }
}
