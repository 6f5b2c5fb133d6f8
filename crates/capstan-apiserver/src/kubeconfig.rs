//! The kubeconfig the server writes for itself (plain HTTP on loopback, no credentials).

use std::path::Path;

/// Kubeconfig text for a server URL.
pub fn render(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: capstan\n  cluster:\n    server: {server}\ncontexts:\n- name: capstan\n  context:\n    cluster: capstan\n    user: capstan\n    namespace: default\ncurrent-context: capstan\nusers:\n- name: capstan\n  user: {{}}\npreferences: {{}}\n"
    )
}

/// Write the kubeconfig atomically.
pub fn write(path: &Path, server: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, render(server))?;
    std::fs::rename(&tmp, path)
}
