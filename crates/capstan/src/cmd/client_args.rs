//! Connection flags shared by every client command (argocd's global flags), resolved against the
//! config file of contexts.

use std::path::PathBuf;

use anyhow::Context as _;
use capstan_client::{ApiClient, Config, Connection};

use super::output::Format;

#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// API server (`host:port` or URL); overrides the context's server.
    #[arg(long, global = true, env = "CAPSTAN_SERVER")]
    pub server: Option<String>,
    /// Session token or API key; overrides the context's token.
    #[arg(
        long,
        global = true,
        env = "CAPSTAN_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub auth_token: Option<String>,
    /// Skip TLS certificate verification.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Plain HTTP instead of TLS.
    #[arg(long, global = true)]
    pub plaintext: bool,
    /// Config file (default `$XDG_CONFIG_HOME/capstan/config`).
    #[arg(long, global = true, env = "CAPSTAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Context of the config file to use (default: the current context).
    #[arg(long = "capstan-context", global = true)]
    pub context: Option<String>,
    /// Output format: wide, json, yaml or name (default: a table).
    #[arg(short = 'o', long = "output", global = true, value_enum)]
    pub output: Option<Format>,
}

impl ClientArgs {
    /// The output format (a table unless `-o` is given).
    pub fn format(&self) -> Format {
        self.output.unwrap_or_default()
    }

    /// The config file path.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        match &self.config {
            Some(p) => Ok(p.clone()),
            None => Ok(Config::default_path()?),
        }
    }

    /// The config file (empty when missing).
    pub fn load_config(&self) -> anyhow::Result<(PathBuf, Config)> {
        let path = self.config_path()?;
        let config = Config::load(&path)?;
        Ok((path, config))
    }

    /// The connection: flags over the context's values.
    pub fn connection(&self) -> anyhow::Result<Connection> {
        let (_, config) = self.load_config()?;
        let mut conn = match Connection::from_config(&config, self.context.as_deref()) {
            Ok(c) => c,
            Err(e) if self.server.is_none() => return Err(e.into()),
            Err(_) => Connection::default(),
        };
        if let Some(s) = &self.server {
            if config.context(self.context.as_deref()).map(|c| &c.server) != Some(s) {
                conn.token = None;
            }
            conn.server = s.clone();
            conn.insecure |= self.insecure;
            conn.plain_text |= self.plaintext;
        }
        if self.insecure {
            conn.insecure = true;
        }
        if self.plaintext {
            conn.plain_text = true;
        }
        if let Some(t) = &self.auth_token {
            conn.token = Some(t.clone());
        }
        Ok(conn)
    }

    /// A client that needs a token.
    pub fn client(&self) -> anyhow::Result<ApiClient> {
        let conn = self.connection()?;
        if conn.token.is_none() {
            return Err(capstan_client::ClientError::NotLoggedIn.into());
        }
        ApiClient::new(conn).context("building the HTTP client")
    }
}
