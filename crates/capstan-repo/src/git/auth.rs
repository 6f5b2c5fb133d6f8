//! Credentials for git: passed through the environment and private files, never on a command line.
//!
//! * https basic auth: an askpass script reading `CAPSTAN_GIT_USERNAME` / `CAPSTAN_GIT_PASSWORD`;
//! * bearer token / forced basic auth: `http.extraHeader` through `GIT_CONFIG_*` variables;
//! * client certificates: files in a private directory, named by `http.sslCert` / `http.sslKey`;
//! * ssh: a private key file and a known-hosts file in `GIT_SSH_COMMAND`.

use std::io::Write;
use std::path::Path;

use capstan_settings::RepoCreds;

use super::url::{RepoUrl, Transport};

/// Environment for one git invocation, with the private directory its files live in.
pub struct GitAuth {
    /// Variables to set.
    pub env: Vec<(String, String)>,
    /// Secret values to scrub from any message.
    pub secrets: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Options that do not come from the repository's credentials.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// Known-hosts lines (`argocd-ssh-known-hosts-cm`); `None` uses ssh's defaults.
    pub known_hosts: Option<String>,
}

impl GitAuth {
    /// Builds the environment for `url` with `creds`.
    pub fn new(
        url: &RepoUrl,
        creds: Option<&RepoCreds>,
        ssh: &SshOptions,
    ) -> std::io::Result<GitAuth> {
        let dir = tempfile::Builder::new()
            .prefix("capstan-git-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()?;
        let mut env: Vec<(String, String)> = vec![
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
            ("GCM_INTERACTIVE".into(), "never".into()),
        ];
        let mut config: Vec<(String, String)> = vec![
            ("credential.helper".into(), String::new()),
            ("http.lowSpeedLimit".into(), "1".into()),
            ("http.lowSpeedTime".into(), "30".into()),
        ];
        let mut secrets = Vec::new();
        let insecure = creds.is_some_and(|c| c.insecure);
        match &url.transport {
            Transport::Http => {
                let user = creds
                    .and_then(|c| c.username.clone())
                    .or_else(|| url.embedded_user.clone());
                let password = creds
                    .and_then(|c| c.password.as_ref().map(|p| p.expose().to_string()))
                    .or_else(|| url.embedded_password.clone());
                let bearer = creds.and_then(|c| c.bearer_token.as_ref().map(|t| t.expose()));
                if let Some(token) = bearer {
                    secrets.push(token.to_string());
                    config.push((
                        "http.extraHeader".into(),
                        format!("Authorization: Bearer {token}"),
                    ));
                } else if user.is_some() || password.is_some() {
                    let user = user.unwrap_or_default();
                    let password = password.unwrap_or_default();
                    secrets.push(password.clone());
                    let script = dir.path().join("askpass.sh");
                    write_private(
                        &script,
                        b"#!/bin/sh\ncase \"$1\" in\n  Username*|username*) printf '%s\\n' \"$CAPSTAN_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$CAPSTAN_GIT_PASSWORD\" ;;\nesac\n",
                        0o700,
                    )?;
                    env.push(("GIT_ASKPASS".into(), script.display().to_string()));
                    if creds.is_some_and(|c| c.force_http_basic_auth) {
                        let basic = base64_encode(format!("{user}:{password}").as_bytes());
                        secrets.push(basic.clone());
                        config.push((
                            "http.extraHeader".into(),
                            format!("Authorization: Basic {basic}"),
                        ));
                    }
                    env.push(("CAPSTAN_GIT_USERNAME".into(), user));
                    env.push(("CAPSTAN_GIT_PASSWORD".into(), password));
                }
                if let Some(c) = creds
                    && let (Some(cert), Some(key)) =
                        (&c.tls_client_cert_data, &c.tls_client_cert_key)
                {
                    let cert_path = dir.path().join("client.crt");
                    let key_path = dir.path().join("client.key");
                    write_private(&cert_path, cert.as_bytes(), 0o600)?;
                    write_private(&key_path, key.expose().as_bytes(), 0o600)?;
                    config.push(("http.sslCert".into(), cert_path.display().to_string()));
                    config.push(("http.sslKey".into(), key_path.display().to_string()));
                }
                if insecure {
                    config.push(("http.sslVerify".into(), "false".into()));
                }
                if let Some(proxy) = creds.and_then(|c| c.proxy.clone()) {
                    config.push(("http.proxy".into(), proxy));
                }
            }
            Transport::Ssh => {
                let mut ssh_cmd = String::from(
                    "ssh -o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=15 -o ServerAliveCountMax=2",
                );
                if let Some(key) = creds.and_then(|c| c.ssh_private_key.as_ref()) {
                    let key_path = dir.path().join("id");
                    let mut text = key.expose().to_string();
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                    write_private(&key_path, text.as_bytes(), 0o600)?;
                    ssh_cmd.push_str(&format!(
                        " -i {} -o IdentitiesOnly=yes",
                        shell_quote(&key_path.display().to_string())
                    ));
                }
                if insecure {
                    ssh_cmd
                        .push_str(" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null");
                } else {
                    ssh_cmd.push_str(" -o StrictHostKeyChecking=yes");
                    if let Some(hosts) = &ssh.known_hosts {
                        let path = dir.path().join("known_hosts");
                        write_private(&path, hosts.as_bytes(), 0o600)?;
                        ssh_cmd.push_str(&format!(
                            " -o UserKnownHostsFile={}",
                            shell_quote(&path.display().to_string())
                        ));
                    }
                }
                env.push(("GIT_SSH_COMMAND".into(), ssh_cmd));
            }
            Transport::Local(_) => {}
        }
        env.push(("GIT_CONFIG_COUNT".into(), config.len().to_string()));
        for (i, (k, v)) in config.into_iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{i}"), k));
            env.push((format!("GIT_CONFIG_VALUE_{i}"), v));
        }
        secrets.retain(|s| !s.is_empty());
        Ok(GitAuth {
            env,
            secrets,
            _dir: dir,
        })
    }

    /// Removes every secret value from `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = super::url::redact_url(text);
        for secret in &self.secrets {
            if secret.len() >= 3 {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

fn write_private(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(data)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn base64_encode(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_settings::Sensitive;

    #[test]
    fn base64() {
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64_encode(b"ab"), "YWI=");
    }

    #[test]
    fn password_goes_to_the_environment_only() {
        let url = RepoUrl::parse("https://h/r.git").unwrap();
        let creds = RepoCreds {
            username: Some("u".into()),
            password: Some(Sensitive::new("hunter22")),
            ..Default::default()
        };
        let auth = GitAuth::new(&url, Some(&creds), &SshOptions::default()).unwrap();
        assert!(
            auth.env
                .iter()
                .any(|(k, v)| k == "CAPSTAN_GIT_PASSWORD" && v == "hunter22")
        );
        assert!(!url.url.contains("hunter22"));
        assert_eq!(auth.scrub("bad hunter22 here"), "bad *** here");
    }
}
