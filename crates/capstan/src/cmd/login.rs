//! `capstan login | logout | relogin | context | version`: sessions and contexts of the config file.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use capstan_client::{ApiClient, Connection, Server};
use serde_json::json;

use super::client_args::ClientArgs;
use super::output::{Format, Table, serialize};

/// Log in to an API server with a username and password (or with --sso through the browser); the
/// session token is stored in the config file under a context (named after the server unless --name
/// is given) that becomes current.
///
/// Example: `capstan login localhost:8080 --plaintext --username admin --password "$PW"`;
/// `capstan login cd.example.com --sso`
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// API server, `host:port` or URL.
    #[arg(value_name = "SERVER")]
    pub address: String,
    /// Username.
    #[arg(long, default_value = "admin", conflicts_with = "sso")]
    pub username: String,
    /// Password (prompted without echo on a terminal, else read from standard input, when absent).
    #[arg(
        long,
        env = "CAPSTAN_PASSWORD",
        hide_env_values = true,
        conflicts_with = "sso"
    )]
    pub password: Option<String>,
    /// Log in through the server's OpenID Connect provider in a browser (authorization code flow
    /// with PKCE; the browser is sent back to a local callback on 127.0.0.1). The browser is the one
    /// `$BROWSER` names, else the system's opener; the URL is printed too.
    #[arg(long)]
    pub sso: bool,
    /// Port of the local SSO callback (0: a free port chosen at random).
    #[arg(long, default_value_t = 0, requires = "sso")]
    pub sso_port: u16,
    /// How long to wait for the browser login, in seconds.
    #[arg(long, default_value_t = 300, requires = "sso")]
    pub sso_timeout: u64,
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
        None => capstan_client::prompt::read_password(&format!("Password for {username}: "))?,
    };
    let token = client.login(username, &password)?;
    config.upsert_login(name, entry, &token);
    config.save(&path)?;
    println!("'{username}' logged in successfully");
    println!("Context '{name}' updated");
    Ok(())
}

/// Opens `url` in the user's browser (`$BROWSER`, else the system's opener); failures are not
/// errors: the URL is printed for the user to open.
fn open_browser(url: &str) {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| {
            if cfg!(target_os = "macos") {
                "open".to_string()
            } else {
                "xdg-open".to_string()
            }
        });
    let mut parts = opener.split_whitespace();
    let Some(program) = parts.next() else { return };
    let spawned = std::process::Command::new(program)
        .args(parts)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Ok(mut child) = spawned {
        // reap it in the background; an opener returns at once
        std::thread::spawn(move || {
            let _ = child.wait();
        });
    }
}

fn login_sso(args: &LoginArgs, name: &str) -> anyhow::Result<()> {
    let (path, mut config) = args.client.load_config()?;
    let server = &args.address;
    let known = config.server(server).cloned().unwrap_or_default();
    let entry = Server {
        server: server.to_string(),
        insecure: args.client.insecure || known.insecure,
        plain_text: args.client.plaintext || known.plain_text,
    };
    let client = ApiClient::new(Connection {
        server: server.to_string(),
        insecure: entry.insecure,
        plain_text: entry.plain_text,
        token: None,
    })?;
    let login = capstan_client::sso::SsoLogin::prepare(&client, args.sso_port)?;
    eprintln!(
        "Opening a browser for authentication (callback on {})",
        login.redirect_uri()
    );
    eprintln!("If it does not open, visit: {}", login.authorization_url());
    open_browser(login.authorization_url());
    let tokens = login.complete(std::time::Duration::from_secs(args.sso_timeout))?;
    // the server checks the token as every later request will
    let check = ApiClient::new(Connection {
        token: Some(tokens.id_token.clone()),
        ..client.connection().clone()
    })?;
    let info = check
        .user_info()
        .context("asking the server who the SSO token is")?;
    if info["loggedIn"] != serde_json::Value::Bool(true) {
        bail!(
            "the server did not accept the token of the OpenID provider: check oidc.config in argocd-cm (issuer, clientID, cliClientID)"
        );
    }
    config.upsert_login(name, entry, &tokens.id_token);
    config.save(&path)?;
    let who = info["username"]
        .as_str()
        .filter(|u| !u.is_empty())
        .or_else(|| tokens.claims["email"].as_str())
        .or_else(|| tokens.claims["sub"].as_str())
        .unwrap_or("user");
    println!("'{who}' logged in successfully");
    println!("Context '{name}' updated");
    Ok(())
}

pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.clone().unwrap_or_else(|| args.address.clone());
    if args.sso {
        login_sso(&args, &name)?;
        return Ok(ExitCode::SUCCESS);
    }
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
