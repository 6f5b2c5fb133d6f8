//! The repository service: resolves a source's revision, consults the manifest cache, renders on a
//! miss (under a parallelism limit) and records the result.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use capstan_settings::{RepoCreds, Repository, credentials_for};
use capstan_types::ApplicationSource;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cache::{CachedManifests, Latest, ManifestCache};
use crate::confine;
use crate::error::{Place, RenderError};
use crate::git::{CredentialSource, GitCache, GitSettings, url::RepoUrl, url::hash_hex};
use crate::render::{self, BuildEnv, BuildEnvInput, ToolSettings};

/// How much of the cached state a request may reuse. In JSON: `"none"`, `"normal"`, `"hard"`, or a
/// boolean (`true` = normal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", from = "RefreshRepr")]
pub enum Refresh {
    /// Reuse recent ref listings and cached manifests.
    #[default]
    None,
    /// Ask the remote for its refs again; cached manifests of an unchanged commit are reused.
    Normal,
    /// Regenerate even when the commit is unchanged.
    Hard,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RefreshRepr {
    Flag(bool),
    Level(RefreshLevel),
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RefreshLevel {
    None,
    Normal,
    Hard,
}

impl From<RefreshRepr> for Refresh {
    fn from(r: RefreshRepr) -> Refresh {
        match r {
            RefreshRepr::Flag(false) => Refresh::None,
            RefreshRepr::Flag(true) => Refresh::Normal,
            RefreshRepr::Level(RefreshLevel::None) => Refresh::None,
            RefreshRepr::Level(RefreshLevel::Normal) => Refresh::Normal,
            RefreshRepr::Level(RefreshLevel::Hard) => Refresh::Hard,
        }
    }
}

/// A request for the manifests of one application source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestRequest {
    /// The source.
    pub source: ApplicationSource,
    /// Application name (Helm's default release name, `ARGOCD_APP_NAME`).
    #[serde(default)]
    pub app_name: String,
    /// Destination namespace.
    #[serde(default)]
    pub namespace: String,
    /// Project of the application.
    #[serde(default)]
    pub project: String,
    /// Kubernetes version of the destination cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions served by the destination cluster.
    #[serde(default)]
    pub api_versions: Vec<String>,
    /// Refresh level.
    #[serde(default)]
    pub refresh: Refresh,
    /// The application's other sources that carry a `ref` (for `$ref/...` value files).
    #[serde(default)]
    pub ref_sources: Vec<ApplicationSource>,
    /// The application's `argocd.argoproj.io/manifest-generate-paths` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_generate_paths: Option<String>,
}

/// Generated manifests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestResponse {
    /// The objects, in generation order.
    pub manifests: Vec<Value>,
    /// The commit they come from.
    pub revision: String,
    /// Source type used.
    pub source_type: String,
    /// True when served from the cache.
    pub cached: bool,
}

/// Credentials from repository Secrets and repo-creds templates.
#[derive(Debug, Clone, Default)]
pub struct SecretCredentials {
    /// `repository` Secrets.
    pub repositories: Vec<Repository>,
    /// `repo-creds` Secrets.
    pub templates: Vec<RepoCreds>,
}

impl CredentialSource for SecretCredentials {
    fn credentials(&self, url: &str) -> Option<RepoCreds> {
        credentials_for(url, &self.repositories, &self.templates)
    }
}

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Git cache settings.
    pub git: GitSettings,
    /// Tools.
    pub tools: ToolSettings,
    /// Most renders at once.
    pub parallelism: usize,
    /// Manifest cache file (`None`: memory only).
    pub cache_file: Option<PathBuf>,
    /// Manifest cache entries kept in memory.
    pub cache_memory_entries: usize,
    /// Manifest cache entries kept on disk.
    pub cache_disk_entries: u64,
    /// Kubernetes version used when a request names none.
    pub default_kube_version: String,
    /// Time limit of one generation once it holds its render slots (checkout and every tool run
    /// together; each tool run also has [`ToolSettings::timeout`]).
    pub generation_timeout: std::time::Duration,
}

impl ServiceSettings {
    /// Defaults with everything under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> ServiceSettings {
        let dir = dir.into();
        ServiceSettings {
            git: GitSettings::new(dir.join("git")),
            tools: ToolSettings::detect(dir.join("helm")),
            parallelism: 4,
            cache_file: Some(dir.join("manifests.redb")),
            cache_memory_entries: 20_000,
            cache_disk_entries: 100_000,
            default_kube_version: "1.32.0".into(),
            generation_timeout: std::time::Duration::from_secs(180),
        }
    }
}

/// The repository service.
pub struct RepoService {
    settings: ServiceSettings,
    git: GitCache,
    cache: ManifestCache,
    limit: tokio::sync::Semaphore,
    fingerprint: String,
    in_flight: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Renders of one repository at once (all render slots but one, so that one repository with
    /// slow or hung sources never holds every slot).
    per_repo: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl RepoService {
    /// Opens the caches. `creds` supplies repository credentials.
    pub fn new(
        settings: ServiceSettings,
        creds: Arc<dyn CredentialSource>,
    ) -> Result<RepoService, RenderError> {
        let git = GitCache::new(settings.git.clone(), creds)?;
        // Helm's cache and configuration (downloaded charts) are private too
        crate::git::private_dir(&settings.tools.helm_home)
            .map_err(|e| RenderError::io("creating the Helm home", e))?;
        let cache = match ManifestCache::open(
            settings.cache_file.as_deref(),
            settings.cache_memory_entries,
            settings.cache_disk_entries,
        ) {
            Ok(cache) => cache,
            Err(e) => {
                // For example another process holds the file: keep working from memory.
                tracing::warn!(error = %e, "manifest cache on disk unavailable; caching in memory only");
                ManifestCache::open(
                    None,
                    settings.cache_memory_entries,
                    settings.cache_disk_entries,
                )
                .map_err(|e| RenderError::io("opening the manifest cache", e))?
            }
        };
        let fingerprint = tool_fingerprint(&settings.tools);
        Ok(RepoService {
            limit: tokio::sync::Semaphore::new(settings.parallelism.max(1)),
            settings,
            git,
            cache,
            fingerprint,
            in_flight: std::sync::Mutex::new(std::collections::HashMap::new()),
            per_repo: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The Git cache.
    pub fn git(&self) -> &GitCache {
        &self.git
    }

    /// Generates (or finds in the cache) the manifests of a source.
    pub async fn generate(&self, req: &ManifestRequest) -> Result<ManifestResponse, RenderError> {
        let source = &req.source;
        if source.repo_url.trim().is_empty() {
            return Err(RenderError::InvalidSource("repoURL is empty".into()));
        }
        if source.is_helm_repo() {
            return Err(RenderError::InvalidSource(format!(
                "source {}: Helm repository and OCI chart sources (chart: {:?}) are not supported; use a chart stored in Git",
                crate::git::url::redact_url(&source.repo_url),
                source.chart.as_deref().unwrap_or_default()
            )));
        }
        let repo_key = RepoUrl::parse(&source.repo_url)
            .map(|u| u.cache_key())
            .map_err(RenderError::InvalidSource)?;
        let target = source
            .target_revision
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or("HEAD");
        let refresh_refs = req.refresh != Refresh::None;
        let commit = self
            .git
            .resolve(&source.repo_url, target, refresh_refs)
            .await?;
        let mut ref_commits = BTreeMap::new();
        for rs in &req.ref_sources {
            let Some(name) = rs.reference.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            let rev = rs
                .target_revision
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or("HEAD");
            let c = self.git.resolve(&rs.repo_url, rev, refresh_refs).await?;
            ref_commits.insert(name.to_string(), (rs.repo_url.clone(), c));
        }
        let kube_version = req
            .kube_version
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| self.settings.default_kube_version.clone());
        let mut spec =
            serde_json::to_value(source).map_err(|e| RenderError::InvalidSource(e.to_string()))?;
        if let Some(obj) = spec.as_object_mut() {
            obj.remove("targetRevision");
            obj.remove("repoURL");
        }
        let source_key = hash_hex(
            &json!({
                "repo": repo_key,
                "source": spec,
                "app": req.app_name,
                "namespace": req.namespace,
                "project": req.project,
                "kube": kube_version,
                "api": req.api_versions,
                "refs": ref_commits.iter().map(|(n, (u, _))| (n.clone(), u.clone())).collect::<BTreeMap<_, _>>(),
                "tools": self.fingerprint,
            })
            .to_string(),
        );
        let key = hash_hex(
            &json!({
                "source": source_key,
                "commit": commit,
                "refs": ref_commits.values().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
            })
            .to_string(),
        );
        if req.refresh != Refresh::Hard {
            if let Some(hit) = self.cache.get(&key) {
                return Ok(response(&hit, true));
            }
            if ref_commits.is_empty()
                && let Some(latest) = self.cache.latest(&source_key)
                && latest.commit != commit
                && let Some(prev) = self.cache.get(&latest.key)
                && self.unchanged(req, &latest.commit, &commit, &prev).await
            {
                let entry = CachedManifests {
                    commit: commit.clone(),
                    source_type: prev.source_type.clone(),
                    objects: prev.objects.clone(),
                };
                let stored = self.store(&key, &source_key, entry);
                return Ok(response(&stored, true));
            }
        }
        // One render per key at a time: concurrent identical requests wait and share its result.
        let flight = self.in_flight_lock(&key);
        let _flight = flight.lock().await;
        if req.refresh != Refresh::Hard
            && let Some(hit) = self.cache.get(&key)
        {
            self.release_flight(&key, flight.clone());
            return Ok(response(&hit, true));
        }
        let rendered = self
            .render_fresh(req, &commit, &ref_commits, &kube_version, target)
            .await;
        let stored = rendered.map(|entry| self.store(&key, &source_key, entry));
        self.release_flight(&key, flight.clone());
        let stored = stored?;
        Ok(response(&stored, false))
    }

    fn repo_limit(&self, url: &str) -> Arc<tokio::sync::Semaphore> {
        let key = RepoUrl::parse(url)
            .map(|u| u.cache_key())
            .unwrap_or_else(|_| url.to_string());
        let per_repo = self.settings.parallelism.saturating_sub(1).max(1);
        let mut map = self.per_repo.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            // forget idle repositories
            map.retain(|_, s| s.available_permits() < per_repo);
        }
        map.entry(key)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(per_repo)))
            .clone()
    }

    fn in_flight_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_string()).or_default().clone()
    }

    fn release_flight(&self, key: &str, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        // the map's reference and ours: nobody else waits
        if Arc::strong_count(&flight) <= 3 {
            map.remove(key);
        }
    }

    /// Checks out the commit and renders the source (under the parallelism limit).
    async fn render_fresh(
        &self,
        req: &ManifestRequest,
        commit: &str,
        ref_commits: &BTreeMap<String, (String, String)>,
        kube_version: &str,
        target: &str,
    ) -> Result<CachedManifests, RenderError> {
        let source = &req.source;
        let repo_limit = self.repo_limit(&source.repo_url);
        let _repo_permit = repo_limit
            .acquire()
            .await
            .map_err(|e| RenderError::io("waiting for a render slot", e))?;
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| RenderError::io("waiting for a render slot", e))?;
        let place = Place {
            repo: crate::git::url::redact_url(&source.repo_url),
            revision: commit.to_string(),
            path: source.path.clone().unwrap_or_default(),
            hidden: Vec::new(),
        };
        // One time limit for the whole generation (checkout, every tool run, Jsonnet), counted
        // from when it holds its slots: a source made of many slow steps cannot hold them longer.
        let limit = self.settings.generation_timeout;
        match tokio::time::timeout(
            limit,
            self.render_in_slot(req, &place, commit, ref_commits, kube_version, target),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(place.tool(
                "manifest generation",
                format!("timed out after {} s", limit.as_secs()),
            )),
        }
    }

    async fn render_in_slot(
        &self,
        req: &ManifestRequest,
        place: &Place,
        commit: &str,
        ref_commits: &BTreeMap<String, (String, String)>,
        kube_version: &str,
        target: &str,
    ) -> Result<CachedManifests, RenderError> {
        let source = &req.source;
        let checkout = self.git.checkout(&source.repo_url, commit).await?;
        if let Some(link) = checkout.escaping_symlinks.first() {
            return Err(place.outside("symlink", link.clone()));
        }
        let raw_path = source.path.clone().unwrap_or_default();
        let app_dir = confine::app_dir(checkout.dir(), &raw_path)
            .ok_or_else(|| place.outside("application path", raw_path.clone()))?;
        if !app_dir.is_dir() {
            return Err(place.missing());
        }
        let rel_path = app_dir
            .strip_prefix(confine::normalize(checkout.dir()))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let rel_path = if rel_path.is_empty() {
            ".".to_string()
        } else {
            rel_path
        };
        let mut refs = BTreeMap::new();
        for (name, (url, c)) in ref_commits {
            refs.insert(name.clone(), self.git.checkout(url, c).await?);
        }
        // tool messages must not show where checkouts lie on the repo server
        let mut hidden = Vec::new();
        for dir in std::iter::once(checkout.dir()).chain(refs.values().map(|c| c.dir())) {
            hidden.push(dir.display().to_string());
            if let Ok(real) = dir.canonicalize() {
                hidden.push(real.display().to_string());
            }
        }
        let place = &Place {
            hidden,
            ..place.clone()
        };
        // tools and plugins see the URL without credentials (they could print it)
        let public_url = crate::git::url::without_credentials(&source.repo_url);
        let env = BuildEnv::new(&BuildEnvInput {
            app_name: &req.app_name,
            namespace: &req.namespace,
            project: &req.project,
            revision: commit,
            repo_url: &public_url,
            path: &raw_path,
            target_revision: target,
            kube_version,
            api_versions: &req.api_versions,
        });
        let root = checkout.dir().to_path_buf();
        let input = render::RenderInput {
            place,
            source,
            checkout: &checkout,
            repo_root: &root,
            app_dir: &app_dir,
            rel_path: &rel_path,
            env: &env,
            app_name: &req.app_name,
            namespace: &req.namespace,
            kube_version,
            api_versions: &req.api_versions,
            refs: &refs,
            tools: &self.settings.tools,
        };
        let source_type = render::detect(&input).await?;
        let objects = render::render(&input, source_type).await?;
        Ok(CachedManifests {
            commit: commit.to_string(),
            source_type: source_type.as_str().to_string(),
            objects,
        })
    }

    fn store(&self, key: &str, source_key: &str, entry: CachedManifests) -> Arc<CachedManifests> {
        let commit = entry.commit.clone();
        let stored = match self.cache.put(key, entry.clone()) {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(error = %e, "manifest cache write failed");
                Arc::new(entry)
            }
        };
        if let Err(e) = self.cache.set_latest(
            source_key,
            Latest {
                commit,
                key: key.to_string(),
            },
        ) {
            tracing::warn!(error = %e, "manifest cache write failed");
        }
        stored
    }

    /// True when no file the source depends on changed between two commits: the paths of the
    /// `manifest-generate-paths` annotation, or for a plain directory source its own path.
    async fn unchanged(
        &self,
        req: &ManifestRequest,
        old: &str,
        new: &str,
        prev: &CachedManifests,
    ) -> bool {
        let source_path = req.source.path.clone().unwrap_or_default();
        let base = confine::normalize(std::path::Path::new(source_path.trim_start_matches('/')));
        let watched: Vec<PathBuf> = match req
            .manifest_generate_paths
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            Some(paths) => paths
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| match p.strip_prefix('/') {
                    Some(abs) => confine::normalize(std::path::Path::new(abs)),
                    None => confine::normalize(&base.join(p)),
                })
                .collect(),
            None => {
                let plain_directory = prev.source_type == "Directory"
                    && req
                        .source
                        .directory
                        .as_ref()
                        .and_then(|d| d.jsonnet.as_ref())
                        .and_then(|j| j.libs.as_ref())
                        .is_none_or(|l| l.is_empty());
                if !plain_directory {
                    return false;
                }
                vec![base]
            }
        };
        let Ok(changed) = self.git.changed_files(&req.source.repo_url, old, new).await else {
            return false;
        };
        !changed.iter().any(|file| {
            let file = std::path::Path::new(file);
            watched
                .iter()
                .any(|w| w.as_os_str().is_empty() || file.starts_with(w))
        })
    }
}

fn response(entry: &CachedManifests, cached: bool) -> ManifestResponse {
    ManifestResponse {
        manifests: entry.objects.clone(),
        revision: entry.commit.clone(),
        source_type: entry.source_type.clone(),
        cached,
    }
}

/// Identifies the tool versions, so that upgrading a tool invalidates cached manifests.
fn tool_fingerprint(tools: &ToolSettings) -> String {
    let version = |program: &std::path::Path, args: &[&str]| -> String {
        std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "none".into())
    };
    let kustomize = match &tools.kustomize {
        Some(k) => version(k, &["version"]),
        None => version(&tools.kubectl, &["version", "--client"]),
    };
    let helm = version(&tools.helm, &["version", "--short"]);
    let plugins: Vec<String> = tools.plugins.iter().map(|p| format!("{p:?}")).collect();
    hash_hex(&format!(
        "capstan {} | {kustomize} | {helm} | {}",
        env!("CARGO_PKG_VERSION"),
        plugins.join(";")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_accepts_levels_and_booleans() {
        let parse = |v: serde_json::Value| -> Refresh {
            serde_json::from_value::<ManifestRequest>(
                json!({"source": {"repoURL": "x"}, "refresh": v}),
            )
            .unwrap()
            .refresh
        };
        assert_eq!(parse(json!("hard")), Refresh::Hard);
        assert_eq!(parse(json!("normal")), Refresh::Normal);
        assert_eq!(parse(json!(true)), Refresh::Normal);
        assert_eq!(parse(json!(false)), Refresh::None);
        let none: ManifestRequest =
            serde_json::from_value(json!({"source": {"repoURL": "x"}})).unwrap();
        assert_eq!(none.refresh, Refresh::None);
        assert!(
            serde_json::from_value::<ManifestRequest>(
                json!({"source": {}, "refresh": "sometimes"})
            )
            .is_err()
        );
    }
}
