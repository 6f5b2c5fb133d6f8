//! Connection state of repositories and clusters, as Argo CD reports it (`Successful` or `Failed` with
//! a message and the time of the attempt), tested with each one's credentials and kept for a while so
//! that listing does not contact every repository and cluster each time.
//!
//! A Git repository is tested by resolving `HEAD` through the repo server's Git cache (`git ls-remote`
//! with the Secret's credentials; the first test also fetches that commit into the server's own
//! bare cache); a Helm repository by reading its `index.yaml`; OCI repositories are not tested
//! (`Unknown`). A cluster is tested with `GET /version` using its Secret's credentials (the
//! control-plane client for the in-cluster destination).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use capstan_kube::{ClusterClient, ConnectOptions};
use capstan_repo::git::{CredentialSource, GitCache, GitSettings};
use capstan_settings::{Cluster, RepoCreds, Repository, RepositoryType, credentials_for};
use serde_json::{Value, json};

/// How long a test result is reused.
pub const TTL: Duration = Duration::from_secs(60);
/// Longest time one test may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionState {
    /// `Successful` or `Failed`.
    pub status: &'static str,
    /// Why it failed (empty when it worked).
    pub message: String,
    /// RFC 3339 time of the test.
    pub attempted_at: String,
    /// The cluster's version (clusters only).
    pub server_version: Option<String>,
}

impl ConnectionState {
    fn new(result: Result<Option<String>, String>) -> ConnectionState {
        let attempted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match result {
            Ok(server_version) => ConnectionState {
                status: "Successful",
                message: String::new(),
                attempted_at,
                server_version,
            },
            Err(message) => ConnectionState {
                status: "Failed",
                message,
                attempted_at,
                server_version: None,
            },
        }
    }

    /// Argo CD's `connectionState` object.
    pub fn to_json(&self) -> Value {
        json!({"status": self.status, "message": self.message, "attemptedAt": self.attempted_at})
    }
}

/// Credentials of the repository being tested (set before each test).
#[derive(Default)]
struct CurrentCredentials(RwLock<(Vec<Repository>, Vec<RepoCreds>)>);

impl CredentialSource for CurrentCredentials {
    fn credentials(&self, url: &str) -> Option<RepoCreds> {
        let guard = self.0.read().unwrap_or_else(|e| e.into_inner());
        credentials_for(url, &guard.0, &guard.1)
    }
}

struct Git {
    cache: GitCache,
    creds: Arc<CurrentCredentials>,
    // one repository test at a time: the credentials above are those of the repository under test
    lock: tokio::sync::Mutex<()>,
    _dir: tempfile::TempDir,
}

type Entries = Mutex<HashMap<String, (Instant, ConnectionState)>>;

/// The connection tests and their recent results.
#[derive(Default)]
pub struct Connections {
    git: OnceLock<Result<Arc<Git>, String>>,
    repos: Entries,
    clusters: Entries,
}

fn fresh(entries: &Entries, key: &str, refresh: bool) -> Option<ConnectionState> {
    if refresh {
        return None;
    }
    let map = entries.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|(at, _)| at.elapsed() < TTL)
        .map(|(_, s)| s.clone())
}

fn remember(entries: &Entries, key: String, state: &ConnectionState) {
    let mut map = entries.lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, (at, _)| at.elapsed() < TTL);
    map.insert(key, (Instant::now(), state.clone()));
}

/// How much of a Helm repository's `index.yaml` a connection test reads.
const INDEX_PREFIX: usize = 1024 * 1024;

/// A Helm repository answers `GET <url>/index.yaml` with its credentials.
async fn helm_index(repo: &Repository) -> Result<Option<String>, String> {
    let c = &repo.creds;
    let http = reqwest::Client::builder()
        .timeout(TEST_TIMEOUT)
        .danger_accept_invalid_certs(c.insecure)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let url = format!("{}/index.yaml", c.url.trim_end_matches('/'));
    // messages name the URL without any credentials written into it
    let shown = capstan_repo::git::url::redact_url(&url);
    let mut req = http.get(&url);
    if let Some(token) = &c.bearer_token {
        req = req.bearer_auth(token.expose());
    } else if let Some(user) = &c.username {
        req = req.basic_auth(user, c.password.as_ref().map(|p| p.expose()));
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| capstan_repo::git::url::redact_url(&format!("GET {url}: {e}")))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {shown}: HTTP {status}"));
    }
    // an index may be huge (or endless): only its beginning is read, which names `entries`
    let mut head: Vec<u8> = Vec::new();
    while head.len() < INDEX_PREFIX {
        match resp.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                return Err(capstan_repo::git::url::redact_url(&format!(
                    "GET {url}: {e}"
                )));
            }
        }
    }
    if !String::from_utf8_lossy(&head).contains("entries") {
        return Err(format!(
            "GET {shown}: not a Helm repository index (no entries)"
        ));
    }
    Ok(None)
}

/// A key that changes when the credentials change (so an updated password is tested again).
fn repo_key(repo: &Repository, templates: &[RepoCreds]) -> String {
    let creds = credentials_for(&repo.creds.url, std::slice::from_ref(repo), templates);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&format!("{creds:?}"), &mut hasher);
    format!("{}#{}", repo.creds.url, std::hash::Hasher::finish(&hasher))
}

impl Connections {
    fn git(&self) -> Result<Arc<Git>, String> {
        self.git
            .get_or_init(|| {
                let dir = tempfile::Builder::new()
                    .prefix("capstan-server-git-")
                    .tempdir()
                    .map_err(|e| format!("creating a directory for repository tests: {e}"))?;
                let creds = Arc::new(CurrentCredentials::default());
                let mut settings = GitSettings::new(dir.path());
                settings.timeout = TEST_TIMEOUT;
                let cache = GitCache::new(settings, creds.clone()).map_err(|e| e.to_string())?;
                Ok(Arc::new(Git {
                    cache,
                    creds,
                    lock: tokio::sync::Mutex::new(()),
                    _dir: dir,
                }))
            })
            .clone()
    }

    /// The connection state of a repository (`refresh` tests again even when a recent result exists).
    pub async fn repository(
        &self,
        repo: &Repository,
        templates: &[RepoCreds],
        refresh: bool,
    ) -> ConnectionState {
        let key = repo_key(repo, templates);
        if let Some(s) = fresh(&self.repos, &key, refresh) {
            return s;
        }
        let result = match repo.creds.repo_type {
            RepositoryType::Helm => helm_index(repo).await,
            RepositoryType::Oci => {
                // no test: report that honestly instead of a guess (and do not cache it)
                return ConnectionState {
                    status: "Unknown",
                    message: "connection tests of OCI repositories are not supported yet".into(),
                    attempted_at: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    server_version: None,
                };
            }
            RepositoryType::Git => self.git_head(repo, templates).await,
        };
        let state = ConnectionState::new(result);
        remember(&self.repos, key, &state);
        state
    }

    async fn git_head(
        &self,
        repo: &Repository,
        templates: &[RepoCreds],
    ) -> Result<Option<String>, String> {
        match self.git() {
            Err(e) => Err(e),
            Ok(git) => {
                let _guard = git.lock.lock().await;
                *git.creds.0.write().unwrap_or_else(|e| e.into_inner()) =
                    (vec![repo.clone()], templates.to_vec());
                match tokio::time::timeout(
                    TEST_TIMEOUT,
                    git.cache.resolve(&repo.creds.url, "HEAD", true),
                )
                .await
                {
                    Ok(Ok(_)) => Ok(None),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!(
                        "no answer from {} within {}s",
                        repo.creds.url,
                        TEST_TIMEOUT.as_secs()
                    )),
                }
            }
        }
    }

    /// The connection state of a cluster; `control_plane` answers for the in-cluster destination.
    pub async fn cluster(
        &self,
        cluster: &Cluster,
        control_plane: &ClusterClient,
        refresh: bool,
    ) -> ConnectionState {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&format!("{:?}", cluster.config), &mut hasher);
        let key = format!("{}#{}", cluster.server, std::hash::Hasher::finish(&hasher));
        if let Some(s) = fresh(&self.clusters, &key, refresh) {
            return s;
        }
        let in_cluster = cluster.server.trim_end_matches('/')
            == capstan_settings::IN_CLUSTER_SERVER
            && cluster.config.bearer_token.is_none()
            && cluster.config.username.is_none();
        let client = if in_cluster {
            Ok(control_plane.clone())
        } else {
            ClusterClient::from_cluster(
                cluster,
                ConnectOptions {
                    timeout: TEST_TIMEOUT,
                    ..ConnectOptions::default()
                },
            )
            .map_err(|e| e.to_string())
        };
        let result = match client {
            Err(e) => Err(e),
            Ok(client) => match tokio::time::timeout(TEST_TIMEOUT, client.server_version()).await {
                Ok(Ok(version)) => Ok(Some(version)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "no answer from {} within {}s",
                    cluster.server,
                    TEST_TIMEOUT.as_secs()
                )),
            },
        };
        let state = ConnectionState::new(result);
        remember(&self.clusters, key, &state);
        state
    }
}

/// Published information older than this is not trusted (its controller replica may be gone).
pub const PUBLISHED_STALE_AFTER: Duration = Duration::from_secs(180);

/// What the controller replica owning a cluster published about it (Argo CD's `ClusterInfo`),
/// read from the ConfigMaps labelled `capstan.dev/cluster-info` in the control namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedInfo {
    /// `connectionState`, `serverVersion`, `cacheInfo`, `applicationsCount`.
    pub info: Value,
    /// When it was written.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl PublishedInfo {
    /// Written recently enough to be shown.
    pub fn is_fresh(&self) -> bool {
        self.updated_at.is_some_and(|t| {
            chrono::Utc::now().signed_duration_since(t).num_seconds()
                < i64::try_from(PUBLISHED_STALE_AFTER.as_secs()).unwrap_or(i64::MAX)
        })
    }

    /// The published connection state.
    pub fn connection(&self) -> ConnectionState {
        let text = |p: &str| {
            self.info
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let status = match text("/connectionState/status").as_str() {
            "Successful" => "Successful",
            "Failed" => "Failed",
            _ => "Unknown",
        };
        let version = text("/serverVersion");
        ConnectionState {
            status,
            message: text("/connectionState/message"),
            attempted_at: text("/connectionState/attemptedAt"),
            server_version: (!version.is_empty()).then_some(version),
        }
    }
}

/// Reads one published-information ConfigMap: (server, information).
pub fn parse_published(cm: &Value) -> Option<(String, PublishedInfo)> {
    let data = cm.get("data")?;
    let server = data
        .get("server")?
        .as_str()?
        .trim_end_matches('/')
        .to_string();
    let info: Value = serde_json::from_str(data.get("info")?.as_str()?).ok()?;
    let updated_at = data
        .get("updatedAt")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    Some((server, PublishedInfo { info, updated_at }))
}

/// Every cluster's published information, by server URL (without a trailing slash).
pub async fn published_cluster_info(
    client: &ClusterClient,
    config_maps: &capstan_kube::ResourceType,
    namespace: &str,
) -> HashMap<String, PublishedInfo> {
    let selector = format!("{}=true", capstan_controller::info::INFO_LABEL);
    match client
        .list(config_maps, Some(namespace), Some(&selector))
        .await
    {
        Ok((items, _)) => items.iter().filter_map(parse_published).collect(),
        Err(err) => {
            tracing::warn!(%err, "reading the controller's cluster information failed");
            HashMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(updated_at: &str) -> Value {
        json!({"data": {
            "server": "https://dest:6443/",
            "replica": "r1",
            "updatedAt": updated_at,
            "info": json!({
                "connectionState": {"status": "Failed", "message": "down", "attemptedAt": updated_at},
                "serverVersion": "",
                "cacheInfo": {"resourcesCount": 3, "apisCount": 2},
                "applicationsCount": 1,
            }).to_string(),
        }})
    }

    #[test]
    fn published_information_is_read_and_ages() {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (server, info) = parse_published(&cm(&now)).unwrap();
        assert_eq!(server, "https://dest:6443");
        assert!(info.is_fresh());
        let state = info.connection();
        assert_eq!(state.status, "Failed");
        assert_eq!(state.message, "down");
        assert_eq!(state.server_version, None);
        assert_eq!(info.info["cacheInfo"]["resourcesCount"], 3);
        let old = (chrono::Utc::now() - chrono::Duration::minutes(10))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert!(!parse_published(&cm(&old)).unwrap().1.is_fresh());
        assert!(parse_published(&json!({"data": {"server": "x", "info": "{"}})).is_none());
        let undated = parse_published(&json!({"data": {"server": "x", "info": "{}"}})).unwrap();
        assert!(!undated.1.is_fresh());
        assert_eq!(undated.1.connection().status, "Unknown");
    }
}
