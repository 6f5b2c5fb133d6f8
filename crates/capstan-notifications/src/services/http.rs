//! The HTTP client services share, and turning responses into results.

use std::time::Duration;

use super::SendError;

/// A client with a timeout; `insecure` skips certificate verification.
pub(crate) fn client(insecure: bool) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .danger_accept_invalid_certs(insecure)
        .user_agent(concat!("capstan-notifications/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Sends `request`; 2xx is success, 5xx/429 and connection errors are retryable. Returns the body.
pub(crate) async fn send(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<String, SendError> {
    let response = request.send().await.map_err(|e| {
        // reqwest's message includes the URL: callers mask secrets in it
        SendError::transient(format!("{what}: {}", e.without_url()))
    })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        return Ok(body);
    }
    let snippet: String = body.chars().take(200).collect();
    let message = format!("{what}: HTTP {status}: {snippet}");
    if status.is_server_error() || status.as_u16() == 429 {
        Err(SendError::transient(message))
    } else {
        Err(SendError::permanent(message))
    }
}
