/// A Kubernetes API operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The object does not exist.
    #[error("{what} not found")]
    NotFound {
        /// The object, e.g. `ConfigMap default/x`.
        what: String,
    },
    /// A write lost a race or an apply conflicted with another manager.
    #[error("conflict on {what}: {message}")]
    Conflict {
        /// The object.
        what: String,
        /// The API server's message.
        message: String,
    },
    /// The API server refused the request (validation, forbidden, ...).
    #[error("{what}: {reason} ({code}): {message}")]
    Api {
        /// The object or request.
        what: String,
        /// HTTP status code.
        code: u16,
        /// Kubernetes reason (`Invalid`, `Forbidden`, ...).
        reason: String,
        /// The API server's message.
        message: String,
    },
    /// No resource type is served for this apiVersion and kind.
    #[error("the server does not serve {api_version} {kind} (is its CRD installed?)")]
    UnknownKind {
        /// apiVersion.
        api_version: String,
        /// Kind.
        kind: String,
    },
    /// The object is malformed (no kind, no name, ...).
    #[error("invalid object: {0}")]
    InvalidObject(String),
    /// The cluster could not be reached or configured.
    #[error("cluster {server}: {message}")]
    Connection {
        /// Server URL.
        server: String,
        /// What went wrong.
        message: String,
    },
}

impl KubeError {
    /// True when the error is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::NotFound { .. })
    }

    /// True when the error is a 409.
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Conflict { .. })
    }

    pub(crate) fn from_kube(err: kube::Error, what: impl Into<String>, server: &str) -> KubeError {
        let what = what.into();
        match err {
            kube::Error::Api(status) => {
                let code = status.code;
                match code {
                    404 => KubeError::NotFound { what },
                    409 => KubeError::Conflict {
                        what,
                        message: status.message,
                    },
                    _ => KubeError::Api {
                        what,
                        code,
                        reason: status.reason,
                        message: status.message,
                    },
                }
            }
            other => KubeError::Connection {
                server: server.to_string(),
                message: format!("{what}: {other}"),
            },
        }
    }
}
