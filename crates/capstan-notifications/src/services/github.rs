//! `service.github`: commit statuses through GitHub's REST API with a token (`token`, and
//! `apiURL` or `enterpriseBaseURL`). The template's `github` section gives `status.state`,
//! `status.label`, `status.targetURL`, and `repoURLPath` / `revisionPath` (defaults: the
//! Application's source repoURL and the synced revision). GitHub App authentication (`appID`,
//! `installationID`, `privateKey`) is not implemented and is reported as a configuration problem.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{SendError, SendFuture, Service, http, settings};
use crate::gotmpl::full_name_by_repo_url;
use crate::render::Notification;

/// Default of `github.repoURLPath`.
pub const DEFAULT_REPO_URL_PATH: &str = "{{.app.spec.source.repoURL}}";
/// Default of `github.revisionPath`.
pub const DEFAULT_REVISION_PATH: &str = "{{.app.status.operationState.syncResult.revision}}";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    #[serde(default)]
    token: String,
    #[serde(rename = "apiURL")]
    api_url: Option<String>,
    #[serde(rename = "enterpriseBaseURL")]
    enterprise_base_url: Option<String>,
    #[serde(rename = "appID")]
    app_id: Option<Value>,
}

/// GitHub commit statuses.
pub struct GithubService {
    token: String,
    api: String,
    client: reqwest::Client,
}

impl GithubService {
    /// From settings.
    pub fn new(v: &Value) -> Result<GithubService, String> {
        let s: Settings = settings(v)?;
        if s.token.is_empty() {
            return Err(if s.app_id.is_some() {
                "appID: GitHub App authentication is not supported by Capstan yet; set token".into()
            } else {
                "token: required".into()
            });
        }
        let api = s
            .api_url
            .or(s.enterprise_base_url)
            .unwrap_or_else(|| "https://api.github.com".into());
        url::Url::parse(&api).map_err(|e| format!("apiURL: {e}"))?;
        Ok(GithubService {
            token: s.token,
            api: api.trim_end_matches('/').to_string(),
            client: http::client(false)?,
        })
    }
}

impl Service for GithubService {
    fn send<'a>(&'a self, n: &'a Notification, _recipient: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let Some(section) = n.fields.get("github") else {
                return Err(SendError::permanent("template has no github section"));
            };
            let text = |path: &str| {
                section
                    .pointer(path)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let full_name = full_name_by_repo_url(text("/repoURLPath"));
            let revision = text("/revisionPath");
            if full_name.is_empty() || revision.is_empty() {
                return Err(SendError::permanent(
                    "github: repository or revision is empty (repoURLPath / revisionPath)",
                ));
            }
            let description: String = n.message.chars().take(140).collect();
            let body = json!({
                "state": text("/status/state"),
                "description": description,
                "target_url": text("/status/targetURL"),
                "context": text("/status/label"),
            });
            let url = format!("{}/repos/{full_name}/statuses/{revision}", self.api);
            let request = self
                .client
                .post(url)
                .bearer_auth(&self.token)
                .header("Accept", "application/vnd.github+json")
                .json(&body);
            http::send("github commit status", request)
                .await
                .map(|_| ())
        })
    }
}
