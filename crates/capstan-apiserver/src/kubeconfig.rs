//! The kubeconfig the server writes for itself (plain HTTP on loopback, no credentials).

use std::path::Path;

/// Kubeconfig text for a server URL (and bearer token, if the server requires one).
pub fn render(server: &str, token: Option<&str>) -> String {
    let user = match token {
        Some(t) => format!("\n    token: {}", serde_json::Value::String(t.to_string())),
        None => " {}".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: capstan\n  cluster:\n    server: {server}\ncontexts:\n- name: capstan\n  context:\n    cluster: capstan\n    user: capstan\n    namespace: default\ncurrent-context: capstan\nusers:\n- name: capstan\n  user:{user}\npreferences: {{}}\n"
    )
}

/// Write the kubeconfig atomically.
pub fn write(path: &Path, server: &str, token: Option<&str>) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, render(server, token))?;
    std::fs::rename(&tmp, path)
}
