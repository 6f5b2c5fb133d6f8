//! `capstan login | logout | relogin | context | version`: sessions and contexts of the config file.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use capstan_client::{ApiClient, Connection, Server};
use serde_json::json;

use super::client_args::ClientArgs;
use super::output::{Format, Table, serialize};

/// Log in to an API server with a username and password; the session token is stored in the
/// config file under a context (named after the server unless --name is given) that becomes current.
///
/// Example: `capstan login localhost:8080 --plaintext --username admin --password "$PW"`
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// API server, `host:port` or URL.
    #[arg(value_name = "SERVER")]
    pub address: String,
    /// Username.
    #[arg(long, default_value = "admin")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long, env = "CAPSTAN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Name of the context to create or update.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Forget the session token of a context (the current one by default).
///
/// Example: `capstan logout localhost:8080`
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// Context name.
    #[arg(value_name = "CONTEXT")]
    pub context_name: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Log in again to the current context's server (after the session expired).
///
/// Example: `capstan relogin --password "$PW"`
#[derive(Debug, clap::Args)]
pub struct ReloginArgs {
    /// Username.
    #[arg(long, default_value = "admin")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long, env = "CAPSTAN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// List contexts, switch to one, or delete one.
///
/// Example: `capstan context prod` (switch), `capstan context` (list), `capstan context old --delete`
#[derive(Debug, clap::Args)]
pub struct ContextArgs {
    /// Context to switch to (or delete).
    pub name: Option<String>,
    /// Delete the named context.
    #[arg(long, requires = "name")]
    pub delete: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Print the client version and, unless --client, the server's.
///
/// Example: `capstan version -o json`
#[derive(Debug, clap::Args)]
pub struct VersionArgs {
    /// Only the client version (no server contact).
    #[arg(long)]
    pub client_only: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

fn read_password(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        bail!("no password given: use --password or pipe it on standard input");
    }
    Ok(pw)
}

fn login_to(
    client_args: &ClientArgs,
    server: &str,
    name: &str,
    username: &str,
    password: Option<&str>,
) -> anyhow::Result<()> {
    let (path, mut config) = client_args.load_config()?;
    let known = config.server(server).cloned().unwrap_or_default();
    let entry = Server {
        server: server.to_string(),
        insecure: client_args.insecure || known.insecure,
        plain_text: client_args.plaintext || known.plain_text,
    };
    let client = ApiClient::new(Connection {
        server: server.to_string(),
        insecure: entry.insecure,
        plain_text: entry.plain_text,
        token: None,
    })?;
    let password = match password {
        Some(p) => p.to_string(),
        None => read_password(&format!("Password for {username}: "))?,
    };
    let token = client.login(username, &password)?;
    config.upsert_login(name, entry, &token);
    config.save(&path)?;
    println!("'{username}' logged in successfully");
    println!("Context '{name}' updated");
    Ok(())
}

pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.clone().unwrap_or_else(|| args.address.clone());
    login_to(
        &args.client,
        &args.address,
        &name,
        &args.username,
        args.password.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn relogin(args: ReloginArgs) -> anyhow::Result<ExitCode> {
    let (_, config) = args.client.load_config()?;
    let ctx = config
        .context(args.client.context.as_deref())
        .cloned()
        .ok_or(capstan_client::ClientError::NotLoggedIn)?;
    login_to(
        &args.client,
        &ctx.server,
        &ctx.name,
        &args.username,
        args.password.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let (path, mut config) = args.client.load_config()?;
    let name = args
        .context_name
        .clone()
        .unwrap_or_else(|| config.current_context.clone());
    if let Ok(conn) = Connection::from_config(&config, Some(&name))
        && conn.token.is_some()
        && let Ok(client) = ApiClient::new(conn)
    {
        // best effort: the token is forgotten locally even when the server is unreachable
        let _ = client.logout();
    }
    if !config.logout(&name) {
        bail!("context {name:?} does not exist: run `capstan context` to list them");
    }
    config.save(&path)?;
    println!("Logged out from '{name}'");
    Ok(ExitCode::SUCCESS)
}

pub fn context(args: ContextArgs) -> anyhow::Result<ExitCode> {
    let (path, mut config) = args.client.load_config()?;
    match (&args.name, args.delete) {
        (Some(name), true) => {
            if !config.delete_context(name) {
                bail!("context {name:?} does not exist: run `capstan context` to list them");
            }
            config.save(&path)?;
            println!("Context '{name}' deleted");
        }
        (Some(name), false) => {
            if config.context(Some(name)).is_none() {
                bail!("context {name:?} does not exist: run `capstan context` to list them");
            }
            config.current_context = name.clone();
            config.save(&path)?;
            println!("Switched to context '{name}'");
        }
        (None, _) => {
            let mut t = Table::new(&["CURRENT", "NAME", "SERVER"]);
            for c in &config.contexts {
                let cur = if c.name == config.current_context {
                    "*"
                } else {
                    ""
                };
                t.row(vec![cur.into(), c.name.clone(), c.server.clone()]);
            }
            print!("{}", t.render(false));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn version(args: VersionArgs) -> anyhow::Result<ExitCode> {
    let client_version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let server = if args.client_only {
        None
    } else {
        let conn = args.client.connection()?;
        Some(ApiClient::new(conn)?.server_version()?)
    };
    match args.client.format() {
        Format::Json | Format::Yaml => {
            let mut v = json!({"client": {"Version": client_version}});
            if let Some(s) = &server {
                v["server"] = s.clone();
            }
            print!("{}", serialize(&v, args.client.format()));
        }
        _ => {
            println!("capstan: {client_version}");
            if let Some(s) = server {
                println!(
                    "capstan-server: {}",
                    s["Version"].as_str().unwrap_or("unknown")
                );
                println!("  Platform: {}", s["Platform"].as_str().unwrap_or(""));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
