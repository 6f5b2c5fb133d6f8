//! The kubeconfig the server writes for itself: plain HTTP on loopback by default; with the TLS
//! option the CA certificate, with the token option the bearer token.

use std::path::Path;

/// Kubeconfig text for a server URL, with the bearer token and the CA certificate (PEM) when
/// the server uses them.
pub fn render(server: &str, token: Option<&str>, ca_pem: Option<&str>) -> String {
    use base64::Engine;
    let ca = ca_pem
        .map(|c| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(c)
            )
        })
        .unwrap_or_default();
    let user = match token {
        Some(t) => format!("\n    token: {}", serde_json::Value::String(t.to_string())),
        None => " {}".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: capstan\n  cluster:\n    server: {server}{ca}\ncontexts:\n- name: capstan\n  context:\n    cluster: capstan\n    user: capstan\n    namespace: default\ncurrent-context: capstan\nusers:\n- name: capstan\n  user:{user}\npreferences: {{}}\n"
    )
}

/// Write the kubeconfig atomically.
pub fn write(
    path: &Path,
    server: &str,
    token: Option<&str>,
    ca_pem: Option<&str>,
) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, render(server, token, ca_pem))?;
    std::fs::rename(&tmp, path)
}
