//! Individual git commands against one repository's bare cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_settings::RepoCreds;

use super::auth::{GitAuth, SshOptions};
use super::url::{RepoUrl, Transport, redact_url};
use super::{GitSettings, Refs};
use crate::error::GitError;
use crate::exec::{ExecError, ToolCommand, ToolOutput};

/// Runs git for one repository.
pub(super) struct GitRunner {
    pub(super) url: RepoUrl,
    creds: Option<RepoCreds>,
    ssh: SshOptions,
    timeout: Duration,
    bare: PathBuf,
}

impl GitRunner {
    pub(super) fn new(
        url: RepoUrl,
        creds: Option<&RepoCreds>,
        settings: &GitSettings,
        bare: PathBuf,
    ) -> Result<GitRunner, GitError> {
        Ok(GitRunner {
            url,
            creds: creds.cloned(),
            ssh: settings.ssh.clone(),
            timeout: settings.timeout,
            bare,
        })
    }

    pub(super) fn display_url(&self) -> String {
        redact_url(&self.url.url)
    }

    fn io(&self, e: impl std::fmt::Display) -> GitError {
        GitError::Io {
            repo: self.display_url(),
            detail: e.to_string(),
        }
    }

    /// A git command on the local bare cache (no network, no credentials).
    async fn local(&self, args: &[&str]) -> Result<ToolOutput, GitError> {
        let cmd = ToolCommand::new("git", self.timeout)
            .arg(format!("--git-dir={}", self.bare.display()))
            .args(args.iter().copied())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null");
        self.finish(
            cmd.run().await,
            args.first().copied().unwrap_or("git"),
            None,
        )
    }

    /// A git command that talks to the remote.
    async fn remote(&self, args: &[&str], operation: &str) -> Result<ToolOutput, GitError> {
        let auth =
            GitAuth::new(&self.url, self.creds.as_ref(), &self.ssh).map_err(|e| self.io(e))?;
        let mut cmd = ToolCommand::new("git", self.timeout)
            .arg(format!("--git-dir={}", self.bare.display()))
            .args(args.iter().copied());
        for (k, v) in &auth.env {
            cmd = cmd.env(k.clone(), v.clone());
        }
        let out = self.finish(cmd.run().await, operation, Some(&auth))?;
        if !out.success() {
            return Err(self.classify(&auth.scrub(&out.stderr)));
        }
        Ok(out)
    }

    fn finish(
        &self,
        result: Result<ToolOutput, ExecError>,
        operation: &str,
        auth: Option<&GitAuth>,
    ) -> Result<ToolOutput, GitError> {
        result.map_err(|e| match e {
            ExecError::Timeout { seconds, .. } => GitError::Timeout {
                repo: self.display_url(),
                operation: operation.to_string(),
                seconds,
            },
            other => {
                let text = other.to_string();
                self.io(auth.map(|a| a.scrub(&text)).unwrap_or(text))
            }
        })
    }

    fn classify(&self, stderr: &str) -> GitError {
        let detail = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let lower = detail.to_ascii_lowercase();
        let auth_markers = [
            "authentication failed",
            "could not read username",
            "could not read password",
            "permission denied (publickey",
            "permission denied, please try again",
            "http 401",
            "http 403",
            "requested url returned error: 401",
            "requested url returned error: 403",
            "terminal prompts disabled",
            "host key verification failed",
            "no supported authentication methods",
            "invalid username or password",
        ];
        if auth_markers.iter().any(|m| lower.contains(m)) {
            GitError::Authentication {
                repo: self.display_url(),
                detail,
            }
        } else {
            GitError::Unreachable {
                repo: self.display_url(),
                detail: if detail.is_empty() {
                    "git failed without a message".into()
                } else {
                    detail
                },
            }
        }
    }

    /// Creates the bare cache when missing (in a staging directory renamed into place, so that a
    /// half-made cache is never seen).
    pub(super) async fn init(&self) -> Result<(), GitError> {
        if self.bare.join("HEAD").exists() {
            return Ok(());
        }
        let parent = self
            .bare
            .parent()
            .ok_or_else(|| self.io("cache directory has no parent"))?;
        std::fs::create_dir_all(parent).map_err(|e| self.io(e))?;
        let staging = tempfile::Builder::new()
            .prefix(".init-")
            .tempdir_in(parent)
            .map_err(|e| self.io(e))?;
        let out = ToolCommand::new("git", self.timeout)
            .args(["init", "--bare", "--quiet"])
            .arg(staging.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .run()
            .await
            .map_err(|e| self.io(e))?;
        if !out.success() {
            return Err(self.io(format!("git init failed: {}", out.stderr.trim())));
        }
        let staged = staging.keep();
        if std::fs::rename(&staged, &self.bare).is_err() {
            // Another task created it first.
            let _ = std::fs::remove_dir_all(&staged);
            if !self.bare.join("HEAD").exists() {
                return Err(self.io("could not create the repository cache"));
            }
        }
        Ok(())
    }

    pub(super) async fn has_commit(&self, sha: &str) -> Result<bool, GitError> {
        let spec = format!("{sha}^{{commit}}");
        let out = self.local(&["cat-file", "-e", &spec]).await?;
        Ok(out.success())
    }

    pub(super) async fn rev_parse_commit(&self, rev: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .local(&["rev-parse", "--verify", "--quiet", &spec])
            .await?;
        if !out.success() {
            return Ok(None);
        }
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok((sha.len() == 40).then_some(sha))
    }

    fn remote_arg(&self) -> String {
        match &self.url.transport {
            Transport::Local(p) => p.display().to_string(),
            _ => self.url.url.clone(),
        }
    }

    /// Fetches every branch and tag.
    pub(super) async fn fetch_all(&self) -> Result<(), GitError> {
        let remote = self.remote_arg();
        self.remote(
            &[
                "fetch",
                "--quiet",
                "--force",
                "--prune",
                "--no-write-fetch-head",
                &remote,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
            "fetch",
        )
        .await
        .map(|_| ())
    }

    /// Fetches one commit by its SHA.
    pub(super) async fn fetch_sha(&self, sha: &str) -> Result<(), GitError> {
        let remote = self.remote_arg();
        let refspec = format!("{sha}:refs/capstan/{sha}");
        self.remote(
            &[
                "fetch",
                "--quiet",
                "--no-write-fetch-head",
                &remote,
                &refspec,
            ],
            "fetch",
        )
        .await
        .map(|_| ())
    }

    /// Lists the remote's refs.
    pub(super) async fn ls_remote(&self) -> Result<Refs, GitError> {
        let remote = self.remote_arg();
        let out = self.remote(&["ls-remote", &remote], "ls-remote").await?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut refs = Refs::default();
        let mut peeled = Vec::new();
        for line in text.lines() {
            let Some((sha, name)) = line.split_once('\t') else {
                continue;
            };
            if name == "HEAD" {
                refs.head = Some(sha.to_string());
            } else if let Some(tag) = name.strip_suffix("^{}") {
                peeled.push((tag.to_string(), sha.to_string()));
            } else {
                refs.refs.insert(name.to_string(), sha.to_string());
            }
        }
        for (tag, sha) in peeled {
            refs.refs.insert(tag, sha);
        }
        Ok(refs)
    }

    /// Writes the tree of `commit` into `dir` (a private index; the cache is not modified).
    pub(super) async fn read_tree_into(&self, commit: &str, dir: &Path) -> Result<(), GitError> {
        std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let index = tempfile::NamedTempFile::new().map_err(|e| self.io(e))?;
        let index_path = index.path().to_path_buf();
        drop(index);
        let out = ToolCommand::new("git", self.timeout)
            .arg(format!("--git-dir={}", self.bare.display()))
            .arg(format!("--work-tree={}", dir.display()))
            .args(["read-tree", "-u", "--reset", commit])
            .env("GIT_INDEX_FILE", index_path.display().to_string())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .run()
            .await;
        let _ = std::fs::remove_file(&index_path);
        let out = self.finish(out, "checkout", None)?;
        if !out.success() {
            return Err(self.io(format!(
                "checkout of {commit} failed: {}",
                out.stderr.trim()
            )));
        }
        Ok(())
    }

    /// Submodule entries (`path`, commit) of a commit's tree.
    pub(super) async fn gitlinks(&self, commit: &str) -> Result<Vec<(String, String)>, GitError> {
        let out = self.local(&["ls-tree", "-r", "-z", commit]).await?;
        if !out.success() {
            return Err(self.io(out.stderr.trim()));
        }
        let mut links = Vec::new();
        for entry in out.stdout.split(|b| *b == 0) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split(' ');
            if parts.next() == Some("160000")
                && parts.next() == Some("commit")
                && let Some(sha) = parts.next()
            {
                links.push((path.to_string(), sha.to_string()));
            }
        }
        Ok(links)
    }

    /// Names of files that differ between two commits.
    pub(super) async fn diff_names(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        let out = self
            .local(&["diff", "--name-only", "--no-renames", "-z", from, to])
            .await?;
        if !out.success() {
            return Err(self.io(format!("git diff failed: {}", out.stderr.trim())));
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect())
    }
}
