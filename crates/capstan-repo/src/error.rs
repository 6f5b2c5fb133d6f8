//! Errors of the repository server. Messages name the repository, revision, path and file where known,
//! and never contain credentials or the content of a refused file.

/// A Git operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    /// The server refused the credentials (or asked for some and none were given).
    #[error("repository {repo}: authentication failed: {detail}")]
    Authentication {
        /// Repository URL (without credentials).
        repo: String,
        /// Git's message, with credentials removed.
        detail: String,
    },
    /// The repository could not be reached or read.
    #[error("repository {repo}: {detail}")]
    Unreachable {
        /// Repository URL (without credentials).
        repo: String,
        /// Git's message, with credentials removed.
        detail: String,
    },
    /// The revision names no branch, tag or commit.
    #[error("repository {repo}: unknown revision {revision:?}")]
    UnknownRevision {
        /// Repository URL.
        repo: String,
        /// The revision asked for.
        revision: String,
    },
    /// A Git command took too long.
    #[error("repository {repo}: git {operation} timed out after {seconds} s")]
    Timeout {
        /// Repository URL.
        repo: String,
        /// What was running (`fetch`, `ls-remote`, ...).
        operation: String,
        /// The limit.
        seconds: u64,
    },
    /// The URL is not one Capstan can clone.
    #[error("repository {repo}: {detail}")]
    InvalidUrl {
        /// Repository URL.
        repo: String,
        /// What is wrong.
        detail: String,
    },
    /// Local I/O around the cache failed.
    #[error("repository {repo}: {detail}")]
    Io {
        /// Repository URL.
        repo: String,
        /// What failed.
        detail: String,
    },
}

/// Manifest generation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A Git problem.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The application path does not exist in the commit.
    #[error("repository {repo} at {revision}: path {path:?} does not exist")]
    MissingPath {
        /// Repository URL.
        repo: String,
        /// Resolved commit.
        revision: String,
        /// Path asked for.
        path: String,
    },
    /// A path (application path, value file, file parameter, library, symlink) resolves outside the
    /// repository checkout.
    #[error("repository {repo} at {revision}: {what} {path:?} resolves outside the repository")]
    OutsideRepository {
        /// Repository URL.
        repo: String,
        /// Resolved commit.
        revision: String,
        /// What the path is (`value file`, `symlink`, ...).
        what: String,
        /// The path as given (never the file's content).
        path: String,
    },
    /// A manifest file could not be read as Kubernetes objects.
    #[error("{0}")]
    Manifest(Box<ManifestProblem>),
    /// A tool (kustomize, helm, a plugin, jsonnet) failed.
    #[error("repository {repo} at {revision}, path {path:?}: {tool} failed: {message}")]
    Tool {
        /// Repository URL.
        repo: String,
        /// Resolved commit.
        revision: String,
        /// Application path.
        path: String,
        /// The tool.
        tool: String,
        /// Its error output.
        message: String,
    },
    /// A remote repository server reported a failure (its message, already free of credentials).
    #[error("repo-server {server}: {message}")]
    Remote {
        /// Base URL of the server.
        server: String,
        /// Failure kind as the server classified it (`MissingPath`, `Authentication`, ...).
        kind: String,
        /// The server's message.
        message: String,
    },
    /// The source specification is invalid.
    #[error("invalid source: {0}")]
    InvalidSource(String),
    /// Local I/O failed.
    #[error("{context}: {detail}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        detail: String,
    },
}

impl RenderError {
    pub(crate) fn io(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        RenderError::Io {
            context: context.into(),
            detail: err.to_string(),
        }
    }
}

/// A manifest file that could not be read as Kubernetes objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("repository {repo} at {revision}, path {path:?}: {file}:{line}:{column}: {message}")]
pub struct ManifestProblem {
    /// Repository URL.
    pub repo: String,
    /// Resolved commit.
    pub revision: String,
    /// Application path.
    pub path: String,
    /// File, relative to the application path.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Where a render happens, for error messages.
#[derive(Debug, Clone, Default)]
pub struct Place {
    /// Repository URL.
    pub repo: String,
    /// Resolved commit.
    pub revision: String,
    /// Application path.
    pub path: String,
    /// Directories on the repo server (the checkout) that tool messages must not show; they are
    /// replaced by [`HIDDEN_PATH`], as are private work copies.
    pub hidden: Vec<String>,
}

/// What a tool message shows instead of a directory of the repo server (Argo CD's wording).
pub const HIDDEN_PATH: &str = "<path to cached source>";

/// Replaces the repo server's own directories in a tool message: the given ones, and the private
/// work copies and scratch directories (`.../capstan-work-XXXXXX`, `.../capstan-helm-XXXXXX`).
fn hide_paths(message: &str, hidden: &[String]) -> String {
    let mut out = message.to_string();
    for dir in hidden.iter().filter(|d| d.len() > 1) {
        out = out.replace(dir.as_str(), HIDDEN_PATH);
    }
    static WORK: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = WORK.get_or_init(|| {
        regex::Regex::new(r#"(?:/[^/\s'":]+)*/capstan-(?:work|helm)-[A-Za-z0-9_]+"#).ok()
    });
    match re {
        Some(re) => re.replace_all(&out, HIDDEN_PATH).into_owned(),
        None => out,
    }
}

impl Place {
    pub(crate) fn tool(&self, tool: &str, message: impl Into<String>) -> RenderError {
        RenderError::Tool {
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            path: self.path.clone(),
            tool: tool.to_string(),
            // a tool may echo a URL with user info (a value file URL, a dependency repository)
            message: hide_paths(&crate::git::url::redact_url(&message.into()), &self.hidden),
        }
    }

    pub(crate) fn outside(&self, what: &str, path: impl Into<String>) -> RenderError {
        RenderError::OutsideRepository {
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            what: what.to_string(),
            path: path.into(),
        }
    }

    pub(crate) fn manifest(
        &self,
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> RenderError {
        RenderError::Manifest(Box::new(ManifestProblem {
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            path: self.path.clone(),
            file: file.into(),
            line,
            column,
            message: message.into(),
        }))
    }

    pub(crate) fn missing(&self) -> RenderError {
        RenderError::MissingPath {
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            path: self.path.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_server_directories_are_hidden_in_tool_messages() {
        let place = Place {
            hidden: vec!["/var/cache/git/checkouts/p1-abc/0123".into()],
            ..Default::default()
        };
        let err = place.tool(
            "kustomize",
            "accumulating resources from '/var/cache/git/checkouts/p1-abc/0123/app/x.yaml'; \
             in /tmp/capstan-work-Ab12Cd/app: missing; https://u:pw@h/x",
        );
        let text = err.to_string();
        assert!(!text.contains("/var/cache"), "{text}");
        assert!(!text.contains("capstan-work"), "{text}");
        assert!(!text.contains("pw@"), "{text}");
        assert!(
            text.contains("'<path to cached source>/app/x.yaml'"),
            "{text}"
        );
        assert!(
            text.contains("in <path to cached source>/app: missing"),
            "{text}"
        );
    }
}
