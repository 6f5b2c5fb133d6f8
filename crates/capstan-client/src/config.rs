//! The CLI's config file: several servers, users and contexts, like argocd's
//! `~/.config/argocd/config` (same YAML keys), at `$XDG_CONFIG_HOME/capstan/config`
//! (`~/.config/capstan/config`), written with mode 0600 because it holds tokens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ClientError;

/// One named context: a server and the user to talk to it as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub name: String,
    pub server: String,
    pub user: String,
}

/// How to reach one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Server {
    pub server: String,
    /// Skip TLS certificate verification.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Plain HTTP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain_text: bool,
}

/// A user's session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    pub name: String,
    #[serde(default)]
    pub auth_token: String,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    #[serde(default)]
    pub contexts: Vec<Context>,
    #[serde(default)]
    pub current_context: String,
    #[serde(default)]
    pub servers: Vec<Server>,
    #[serde(default)]
    pub users: Vec<User>,
}

fn config_err(path: &Path, reason: impl std::fmt::Display) -> ClientError {
    ClientError::Config {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl Config {
    /// The default location: `$XDG_CONFIG_HOME/capstan/config`, else `$HOME/.config/capstan/config`.
    pub fn default_path() -> Result<PathBuf, ClientError> {
        if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join("capstan").join("config"));
        }
        match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            Some(home) => Ok(PathBuf::from(home)
                .join(".config")
                .join("capstan")
                .join("config")),
            None => Err(ClientError::Invalid(
                "neither XDG_CONFIG_HOME nor HOME is set: give --config PATH".into(),
            )),
        }
    }

    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ClientError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(config_err(path, e)),
        };
        Config::parse(&text).map_err(|reason| config_err(path, reason))
    }

    /// Parses the YAML (or JSON) text of a config file.
    pub fn parse(text: &str) -> Result<Config, String> {
        let docs = capstan_yaml::parse_stream(text).map_err(|e| e.to_string())?;
        let Some(doc) = docs.into_iter().find(|d| !d.value.is_null()) else {
            return Ok(Config::default());
        };
        serde_json::from_value(doc.value.clone()).map_err(|e| e.to_string())
    }

    /// The YAML text of the file.
    pub fn to_yaml(&self) -> String {
        match serde_json::to_value(self) {
            Ok(v) => capstan_yaml::to_yaml_string(&v),
            Err(_) => String::new(),
        }
    }

    /// Writes the file with mode 0600 (the directory is created with mode 0700).
    pub fn save(&self, path: &Path) -> Result<(), ClientError> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| config_err(dir, e))?;
        }
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| config_err(&tmp, e))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| config_err(&tmp, e))?;
        file.write_all(self.to_yaml().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| config_err(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| config_err(path, e))
    }

    /// The context named `name`, or the current one.
    pub fn context(&self, name: Option<&str>) -> Option<&Context> {
        let name = name.unwrap_or(&self.current_context);
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The server entry of `server`.
    pub fn server(&self, server: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.server == server)
    }

    /// The user entry named `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Records a login: the server, the user's token and a context named `name`, made current.
    pub fn upsert_login(&mut self, name: &str, server: Server, token: &str) {
        let server_name = server.server.clone();
        match self.servers.iter_mut().find(|s| s.server == server_name) {
            Some(s) => *s = server,
            None => self.servers.push(server),
        }
        match self.users.iter_mut().find(|u| u.name == name) {
            Some(u) => u.auth_token = token.to_string(),
            None => self.users.push(User {
                name: name.to_string(),
                auth_token: token.to_string(),
            }),
        }
        let ctx = Context {
            name: name.to_string(),
            server: server_name,
            user: name.to_string(),
        };
        match self.contexts.iter_mut().find(|c| c.name == name) {
            Some(c) => *c = ctx,
            None => self.contexts.push(ctx),
        }
        self.current_context = name.to_string();
    }

    /// Forgets the token of context `name` (the context stays, like `argocd logout`).
    pub fn logout(&mut self, name: &str) -> bool {
        let Some(user) = self.context(Some(name)).map(|c| c.user.clone()) else {
            return false;
        };
        for u in self.users.iter_mut().filter(|u| u.name == user) {
            u.auth_token.clear();
        }
        true
    }

    /// Removes context `name` with its user and (when unused) its server.
    pub fn delete_context(&mut self, name: &str) -> bool {
        let Some(ctx) = self.context(Some(name)).cloned() else {
            return false;
        };
        self.contexts.retain(|c| c.name != name);
        self.users.retain(|u| u.name != ctx.user);
        if !self.contexts.iter().any(|c| c.server == ctx.server) {
            self.servers.retain(|s| s.server != ctx.server);
        }
        if self.current_context == name {
            self.current_context = self
                .contexts
                .first()
                .map(|c| c.name.clone())
                .unwrap_or_default();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_mode_0600_and_several_contexts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capstan").join("config");
        let mut c = Config::default();
        c.upsert_login(
            "a:8080",
            Server {
                server: "a:8080".into(),
                plain_text: true,
                ..Server::default()
            },
            "tok-a",
        );
        c.upsert_login(
            "b",
            Server {
                server: "b:443".into(),
                insecure: true,
                ..Server::default()
            },
            "tok-b",
        );
        c.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Config::load(&path).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.current_context, "b");
        assert_eq!(back.context(Some("a:8080")).unwrap().server, "a:8080");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("current-context: b"), "{text}");
        assert!(text.contains("auth-token: tok-a"), "{text}");
    }

    #[test]
    fn logout_and_delete() {
        let mut c = Config::default();
        c.upsert_login(
            "a",
            Server {
                server: "a".into(),
                ..Server::default()
            },
            "t",
        );
        c.upsert_login(
            "b",
            Server {
                server: "b".into(),
                ..Server::default()
            },
            "u",
        );
        assert!(c.logout("a"));
        assert_eq!(c.user("a").unwrap().auth_token, "");
        assert!(c.delete_context("b"));
        assert_eq!(c.current_context, "a");
        assert!(c.server("b").is_none());
        assert!(!c.delete_context("zzz"));
    }

    #[test]
    fn malformed_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "contexts: 5\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(!err.contains('\n'));
    }
}
