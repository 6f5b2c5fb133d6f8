//! Errors of the client, each a single line that says what failed and what to do.

/// An error of a client call or of the config file.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No server or token configured.
    #[error("not logged in: run `capstan login SERVER`")]
    NotLoggedIn,
    /// The server answered 401 (expired or revoked session, wrong password).
    #[error("{message} (run `capstan login {server}`)")]
    Unauthenticated { server: String, message: String },
    /// The server answered 403; the message names the missing permission.
    #[error("{0}")]
    PermissionDenied(String),
    /// The object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Any other error answer of the server.
    #[error("{message} (HTTP {status})")]
    Api { status: u16, message: String },
    /// The server could not be reached.
    #[error("cannot reach the API server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The answer was not the JSON expected.
    #[error("unexpected answer from {url}: {reason}")]
    Decode { url: String, reason: String },
    /// The config file could not be read or written.
    #[error("{path}: {reason}")]
    Config { path: String, reason: String },
    /// Invalid input given to the client.
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// HTTP status of an API answer, if that is what this error is.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Unauthenticated { .. } => Some(401),
            ClientError::PermissionDenied(_) => Some(403),
            ClientError::NotFound(_) => Some(404),
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The first line of a text (errors must stay on one line).
pub(crate) fn one_line(text: &str) -> String {
    let t = text.trim();
    match t.lines().next() {
        Some(first) if first.len() < t.len() => format!("{first} …"),
        Some(first) => first.to_string(),
        None => String::new(),
    }
}
