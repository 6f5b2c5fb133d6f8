//! The Git layer: one bare cache per repository, revision resolution with an ls-remote check, fetches
//! shared by concurrent requests (a per-repository lock that never blocks other repositories), and
//! read-only checkouts of a commit (with submodules) for rendering.
//!
//! Git itself runs as the `git` program, as Argo CD does, with a scrubbed environment, no terminal
//! prompts, credentials passed through the environment and private files (see [`auth`]), and timeouts.

pub mod auth;
mod checkout;
mod runner;
pub mod url;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_settings::RepoCreds;

pub use auth::SshOptions;
pub use checkout::Checkout;
use runner::GitRunner;
pub use url::{RepoUrl, Transport};

use crate::error::GitError;

/// Supplies credentials for a repository URL (repository Secrets, repo-creds templates).
pub trait CredentialSource: Send + Sync {
    /// Credentials for `url`, if any.
    fn credentials(&self, url: &str) -> Option<RepoCreds>;
}

/// No credentials for anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCredentials;

impl CredentialSource for NoCredentials {
    fn credentials(&self, _url: &str) -> Option<RepoCreds> {
        None
    }
}

/// Settings of the Git cache.
#[derive(Debug, Clone)]
pub struct GitSettings {
    /// Directory holding the bare caches and checkouts.
    pub root: PathBuf,
    /// Time limit of one git command.
    pub timeout: Duration,
    /// How long an ls-remote answer is reused when the caller does not ask for a refresh.
    pub refs_ttl: Duration,
    /// ssh options.
    pub ssh: SshOptions,
    /// Most checkouts kept on disk.
    pub max_checkouts: usize,
}

impl GitSettings {
    /// Defaults under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        GitSettings {
            root: root.into(),
            timeout: Duration::from_secs(90),
            refs_ttl: Duration::from_secs(30),
            ssh: SshOptions::default(),
            max_checkouts: 64,
        }
    }
}

/// The refs a remote advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    /// Commit of `HEAD`.
    pub head: Option<String>,
    /// Full ref name -> commit (annotated tags peeled).
    pub refs: BTreeMap<String, String>,
}

impl Refs {
    /// Resolves a symbolic revision against the advertised refs.
    pub fn lookup(&self, revision: &str) -> Option<&String> {
        let rev = revision.trim();
        if rev.is_empty() || rev == "HEAD" {
            return self.head.as_ref();
        }
        for candidate in [
            rev.to_string(),
            format!("refs/heads/{rev}"),
            format!("refs/tags/{rev}"),
        ] {
            if let Some(c) = self.refs.get(&candidate) {
                return Some(c);
            }
        }
        None
    }
}

type RepoLock = Arc<tokio::sync::Mutex<()>>;
/// (repository, from commit, to commit) -> changed files.
type DiffCache = Mutex<HashMap<(String, String, String), Arc<Vec<String>>>>;

/// The cache of all repositories.
pub struct GitCache {
    settings: GitSettings,
    creds: Arc<dyn CredentialSource>,
    locks: Mutex<HashMap<String, RepoLock>>,
    refs: Mutex<HashMap<String, (Instant, Arc<Refs>)>>,
    checkouts: checkout::CheckoutStore,
    diffs: DiffCache,
    /// (repository, commit) pairs known to be in the bare caches (objects are never removed).
    present: Mutex<std::collections::HashSet<(String, String)>>,
    /// A random secret of this cache directory (kept in `install-secret`, mode 0600): directory
    /// names of bare caches and checkouts are hashes keyed with it, so that nothing in one
    /// repository can name another repository's files by a guessed path.
    secret: String,
}

fn is_full_sha(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_short_sha(rev: &str) -> bool {
    (4..40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

impl GitCache {
    /// A cache under `settings.root` using `creds` for credentials.
    pub fn new(
        settings: GitSettings,
        creds: Arc<dyn CredentialSource>,
    ) -> Result<GitCache, GitError> {
        let io = |e: std::io::Error| GitError::Io {
            repo: settings.root.display().to_string(),
            detail: e.to_string(),
        };
        private_dir(&settings.root).map_err(io)?;
        private_dir(&settings.root.join("repos")).map_err(io)?;
        let secret = install_secret(&settings.root).map_err(io)?;
        let checkouts =
            checkout::CheckoutStore::new(settings.root.join("checkouts"), settings.max_checkouts)
                .map_err(io)?;
        Ok(GitCache {
            settings,
            creds,
            locks: Mutex::new(HashMap::new()),
            refs: Mutex::new(HashMap::new()),
            checkouts,
            diffs: Mutex::new(HashMap::new()),
            present: Mutex::new(std::collections::HashSet::new()),
            secret,
        })
    }

    /// The directory name of a repository's bare cache: a keyed hash of its URL.
    fn repo_dir_name(&self, url: &RepoUrl) -> String {
        url::hash_hex(&format!("{}\n{}", self.secret, url.cache_key()))[..32].to_string()
    }

    fn lock_for(&self, key: &str) -> RepoLock {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(key.to_string()).or_default().clone()
    }

    fn runner(&self, url: &RepoUrl) -> Result<GitRunner, GitError> {
        let creds = self.creds.credentials(&url.url);
        GitRunner::new(
            url.clone(),
            creds.as_ref(),
            &self.settings,
            self.settings
                .root
                .join("repos")
                .join(self.repo_dir_name(url)),
        )
    }

    /// Resolves `revision` (HEAD, branch, tag, full or short SHA) of `url` to a commit present in
    /// the local cache, fetching only when the commit is not there yet. `refresh` re-asks the remote
    /// for its refs instead of reusing a recent answer.
    pub async fn resolve(
        &self,
        raw_url: &str,
        revision: &str,
        refresh: bool,
    ) -> Result<String, GitError> {
        let url = RepoUrl::parse(raw_url).map_err(|detail| GitError::InvalidUrl {
            repo: url::redact_url(raw_url),
            detail,
        })?;
        let runner = self.runner(&url)?;
        let rev = revision.trim();
        if is_full_sha(rev) {
            let sha = rev.to_ascii_lowercase();
            self.ensure_commit(&runner, &sha, true).await?;
            return Ok(sha);
        }
        let refs = self.remote_refs(&runner, refresh).await?;
        if let Some(commit) = refs.lookup(rev) {
            let commit = commit.clone();
            self.ensure_commit(&runner, &commit, false).await?;
            return Ok(commit);
        }
        if is_short_sha(rev) {
            let lock = self.lock_for(&url.cache_key());
            let _guard = lock.lock().await;
            runner.init().await?;
            if let Some(sha) = runner.rev_parse_commit(rev).await? {
                return Ok(sha);
            }
            runner.fetch_all().await?;
            if let Some(sha) = runner.rev_parse_commit(rev).await? {
                return Ok(sha);
            }
        }
        Err(GitError::UnknownRevision {
            repo: runner.display_url(),
            revision: revision.to_string(),
        })
    }

    async fn remote_refs(&self, runner: &GitRunner, refresh: bool) -> Result<Arc<Refs>, GitError> {
        let key = runner.url.cache_key();
        if let Some(fresh) = self.cached_refs(&key, refresh) {
            return Ok(fresh);
        }
        // One listing at a time per repository: callers that waited find a fresh answer.
        let lock = self.lock_for(&format!("refs:{key}"));
        let asked = Instant::now();
        let _guard = lock.lock().await;
        {
            let cached = self.refs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, refs)) = cached.get(&key)
                && *at >= asked
            {
                return Ok(refs.clone());
            }
        }
        if let Some(fresh) = self.cached_refs(&key, refresh) {
            return Ok(fresh);
        }
        let refs = Arc::new(runner.ls_remote().await?);
        self.refs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (Instant::now(), refs.clone()));
        Ok(refs)
    }

    fn cached_refs(&self, key: &str, refresh: bool) -> Option<Arc<Refs>> {
        if refresh {
            return None;
        }
        let cached = self.refs.lock().unwrap_or_else(|p| p.into_inner());
        cached
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.settings.refs_ttl)
            .map(|(_, refs)| refs.clone())
    }

    /// Makes `sha` present in the bare cache; concurrent callers for one repository wait for a single
    /// fetch and then find the commit there.
    async fn ensure_commit(
        &self,
        runner: &GitRunner,
        sha: &str,
        fetch_exact: bool,
    ) -> Result<(), GitError> {
        let known = (runner.url.cache_key(), sha.to_string());
        if self
            .present
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&known)
        {
            return Ok(());
        }
        let lock = self.lock_for(&runner.url.cache_key());
        let _guard = lock.lock().await;
        runner.init().await?;
        let mut found = runner.has_commit(sha).await?;
        if !found {
            runner.fetch_all().await?;
            found = runner.has_commit(sha).await?;
        }
        if !found && fetch_exact {
            // A commit no branch or tag points to (for example a pull-request head).
            let _ = runner.fetch_sha(sha).await;
            found = runner.has_commit(sha).await?;
        }
        if found {
            self.present
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(known);
            return Ok(());
        }
        Err(GitError::UnknownRevision {
            repo: runner.display_url(),
            revision: sha.to_string(),
        })
    }

    /// A read-only checkout of `commit` (already resolved) with its submodules, shared by every
    /// render of that commit.
    pub async fn checkout(&self, raw_url: &str, commit: &str) -> Result<Arc<Checkout>, GitError> {
        let url = RepoUrl::parse(raw_url).map_err(|detail| GitError::InvalidUrl {
            repo: url::redact_url(raw_url),
            detail,
        })?;
        let key = url::hash_hex(&format!("{}\n{}\n{commit}", self.secret, url.cache_key()))[..40]
            .to_string();
        if let Some(found) = self.checkouts.get(&key) {
            return Ok(found);
        }
        let lock = self.lock_for(&format!("checkout:{key}"));
        let _guard = lock.lock().await;
        if let Some(found) = self.checkouts.get(&key) {
            return Ok(found);
        }
        let runner = self.runner(&url)?;
        let staging = self.checkouts.staging_dir(&key).map_err(|e| GitError::Io {
            repo: runner.display_url(),
            detail: e.to_string(),
        })?;
        runner.read_tree_into(commit, &staging).await?;
        self.checkout_submodules(&runner, commit, &staging, 0)
            .await?;
        self.checkouts
            .publish(&key, &staging)
            .map_err(|e| GitError::Io {
                repo: runner.display_url(),
                detail: e.to_string(),
            })
    }

    fn checkout_submodules<'a>(
        &'a self,
        runner: &'a GitRunner,
        commit: &'a str,
        dir: &'a Path,
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), GitError>> + Send + 'a>>
    {
        Box::pin(async move {
            let gitlinks = runner.gitlinks(commit).await?;
            if gitlinks.is_empty() || depth > 4 {
                return Ok(());
            }
            let modules = checkout::read_gitmodules(dir);
            for (path, sha) in gitlinks {
                let Some(sub_url) = modules.get(&path) else {
                    continue;
                };
                let sub_url = url::resolve_relative(&runner.url.url, sub_url);
                let parsed = RepoUrl::parse(&sub_url).map_err(|detail| GitError::InvalidUrl {
                    repo: url::redact_url(&sub_url),
                    detail,
                })?;
                // A remote repository may not name a path on the repo server as a submodule (it
                // would copy whatever Git repository lies there - another repository's cache - into
                // its checkout); git refuses the same with protocol.file.allow=user.
                if matches!(parsed.transport, Transport::Local(_))
                    && !matches!(runner.url.transport, Transport::Local(_))
                {
                    return Err(GitError::InvalidUrl {
                        repo: runner.display_url(),
                        detail: format!(
                            "submodule {path:?} names a local path ({}), which only a local repository may do",
                            url::redact_url(&sub_url)
                        ),
                    });
                }
                let sub_runner = self.runner(&parsed)?;
                self.ensure_commit(&sub_runner, &sha, true).await?;
                let target = checkout::confined_join(dir, &path).ok_or_else(|| GitError::Io {
                    repo: runner.display_url(),
                    detail: format!("submodule path {path:?} leaves the repository"),
                })?;
                sub_runner.read_tree_into(&sha, &target).await?;
                self.checkout_submodules(&sub_runner, &sha, &target, depth + 1)
                    .await?;
            }
            Ok(())
        })
    }

    /// Files changed between two commits of a repository (both must be in the cache).
    pub async fn changed_files(
        &self,
        raw_url: &str,
        from: &str,
        to: &str,
    ) -> Result<Arc<Vec<String>>, GitError> {
        let url = RepoUrl::parse(raw_url).map_err(|detail| GitError::InvalidUrl {
            repo: url::redact_url(raw_url),
            detail,
        })?;
        let key = (url.cache_key(), from.to_string(), to.to_string());
        if let Some(found) = self
            .diffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(found.clone());
        }
        let runner = self.runner(&url)?;
        let files = Arc::new(runner.diff_names(from, to).await?);
        let mut diffs = self.diffs.lock().unwrap_or_else(|p| p.into_inner());
        if diffs.len() > 4096 {
            diffs.clear();
        }
        diffs.insert(key, files.clone());
        Ok(files)
    }
}

/// Creates `dir` (and its parents) and makes it private to this user (mode 0700).
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// The random secret of a cache directory, created on first use (32 bytes from the kernel's
/// random source, hex, in a file of mode 0600).
fn install_secret(root: &Path) -> std::io::Result<String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let file = root.join("install-secret");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let text = text.trim();
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(text.to_string());
        }
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Written aside and renamed, so that concurrent services agree on one secret.
    let staging = root.join(format!("install-secret.{}", std::process::id()));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)?;
    out.write_all(secret.as_bytes())?;
    drop(out);
    if std::fs::hard_link(&staging, &file).is_err() {
        // another process created it first: use theirs
        let _ = std::fs::remove_file(&staging);
        let text = std::fs::read_to_string(&file)?;
        return Ok(text.trim().to_string());
    }
    let _ = std::fs::remove_file(&staging);
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_paths_are_keyed_with_a_private_secret() {
        use std::os::unix::fs::PermissionsExt;
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let url = RepoUrl::parse("https://git.example.com/org/repo.git").unwrap();
        let ca = GitCache::new(GitSettings::new(a.path()), Arc::new(NoCredentials)).unwrap();
        let cb = GitCache::new(GitSettings::new(b.path()), Arc::new(NoCredentials)).unwrap();
        // two installations: different names for one repository, neither the plain URL hash
        assert_ne!(ca.repo_dir_name(&url), cb.repo_dir_name(&url));
        assert_ne!(ca.repo_dir_name(&url), url.cache_dir_name());
        // the secret survives a restart
        let again = GitCache::new(GitSettings::new(a.path()), Arc::new(NoCredentials)).unwrap();
        assert_eq!(ca.repo_dir_name(&url), again.repo_dir_name(&url));
        for dir in [
            a.path().to_path_buf(),
            a.path().join("repos"),
            a.path().join("checkouts"),
        ] {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
        }
        let secret = std::fs::metadata(a.path().join("install-secret")).unwrap();
        assert_eq!(secret.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn refs_lookup_prefers_exact_then_branch_then_tag() {
        let mut refs = Refs {
            head: Some("h".into()),
            ..Default::default()
        };
        refs.refs.insert("refs/heads/main".into(), "b".into());
        refs.refs.insert("refs/tags/v1".into(), "t".into());
        assert_eq!(refs.lookup("HEAD").map(String::as_str), Some("h"));
        assert_eq!(refs.lookup("").map(String::as_str), Some("h"));
        assert_eq!(refs.lookup("main").map(String::as_str), Some("b"));
        assert_eq!(refs.lookup("v1").map(String::as_str), Some("t"));
        assert_eq!(
            refs.lookup("refs/heads/main").map(String::as_str),
            Some("b")
        );
        assert_eq!(refs.lookup("nope"), None);
    }

    #[test]
    fn sha_shapes() {
        assert!(is_full_sha(&"a".repeat(40)));
        assert!(!is_full_sha("main"));
        assert!(is_short_sha("abc1234"));
        assert!(!is_short_sha("main"));
    }
}
