//! `capstan repo add | get | list | rm`: Git and Helm repositories (Secrets labelled
//! `argocd.argoproj.io/secret-type: repository`, written by the API server).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::client_args::ClientArgs;
use super::output::{Format, Table, colour, print_machine, s};

/// Manage repositories.
///
/// Example: `capstan repo list`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RepoCommand,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Credential flags shared by `repo add` and `repocreds add`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CredFlags {
    /// Username.
    #[arg(long)]
    pub username: Option<String>,
    /// Password or access token.
    #[arg(long)]
    pub password: Option<String>,
    /// SSH private key file.
    #[arg(long)]
    pub ssh_private_key_path: Option<PathBuf>,
    /// TLS client certificate file.
    #[arg(long)]
    pub tls_client_cert_path: Option<PathBuf>,
    /// TLS client key file.
    #[arg(long)]
    pub tls_client_cert_key_path: Option<PathBuf>,
    /// Repository type.
    #[arg(long = "type", value_parser = ["git", "helm"], default_value = "git")]
    pub repo_type: String,
    /// Treat the repository as OCI (Helm).
    #[arg(long)]
    pub enable_oci: bool,
    /// Send credentials with basic authentication even before the server asks.
    #[arg(long)]
    pub force_http_basic_auth: bool,
    /// Replace existing credentials.
    #[arg(long)]
    pub upsert: bool,
}

impl CredFlags {
    /// Adds the credential fields to an Argo CD Repository / RepoCreds body.
    pub fn fill(&self, body: &mut Value) -> anyhow::Result<()> {
        body["type"] = json!(self.repo_type);
        if let Some(u) = &self.username {
            body["username"] = json!(u);
        }
        if let Some(p) = &self.password {
            body["password"] = json!(p);
        }
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
        };
        if let Some(p) = &self.ssh_private_key_path {
            body["sshPrivateKey"] = json!(read(p)?);
        }
        if let Some(p) = &self.tls_client_cert_path {
            body["tlsClientCertData"] = json!(read(p)?);
        }
        if let Some(p) = &self.tls_client_cert_key_path {
            body["tlsClientCertKey"] = json!(read(p)?);
        }
        if self.enable_oci {
            body["enableOCI"] = json!(true);
        }
        if self.force_http_basic_auth {
            body["forceHttpBasicAuth"] = json!(true);
        }
        Ok(())
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum RepoCommand {
    /// Add a repository.
    ///
    /// Example: `capstan repo add https://github.com/argoproj/argocd-example-apps.git --username me --password "$TOKEN"`
    Add {
        /// Repository URL.
        url: String,
        /// Display name (Helm repositories need one).
        #[arg(long)]
        name: Option<String>,
        /// Project the repository is scoped to.
        #[arg(long)]
        project: Option<String>,
        /// Skip TLS verification and host key checks.
        #[arg(long)]
        insecure_skip_server_verification: bool,
        #[command(flatten)]
        creds: Box<CredFlags>,
    },
    /// Show one repository.
    ///
    /// Example: `capstan repo get https://github.com/argoproj/argocd-example-apps.git -o json`
    Get { url: String },
    /// List repositories.
    ///
    /// Example: `capstan repo list -o wide`
    List,
    /// Remove repositories.
    ///
    /// Example: `capstan repo rm https://github.com/argoproj/argocd-example-apps.git`
    Rm {
        #[arg(required = true)]
        urls: Vec<String>,
    },
}

/// The `repo list` table.
pub fn table(repos: &[Value], wide: bool) -> Table {
    let mut header = vec![
        "TYPE", "NAME", "REPO", "INSECURE", "OCI", "LFS", "CREDS", "STATUS",
    ];
    if wide {
        header.extend(["PROJECT", "MESSAGE"]);
    }
    let mut t = Table::new(&header);
    let b = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
    };
    for r in repos {
        let mut row = vec![
            s(r, "/type").to_string(),
            s(r, "/name").to_string(),
            s(r, "/repo").to_string(),
            b(r, "insecure"),
            b(r, "enableOCI"),
            b(r, "enableLfs"),
            b(r, "hasCredentials"),
            s(r, "/connectionState/status").to_string(),
        ];
        if wide {
            row.push(s(r, "/project").to_string());
            row.push(s(r, "/connectionState/message").to_string());
        }
        t.row(row);
    }
    t
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.client.format();
    let client = args.client.client()?;
    match args.command {
        RepoCommand::Add {
            url,
            name,
            project,
            insecure_skip_server_verification,
            creds,
        } => {
            let mut body = json!({"repo": url});
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(p) = project {
                body["project"] = json!(p);
            }
            if insecure_skip_server_verification {
                body["insecure"] = json!(true);
            }
            creds.fill(&mut body)?;
            let repo = client.create_repository(&body, creds.upsert)?;
            if !print_machine(&repo, std::slice::from_ref(&url), format) {
                println!("Repository '{url}' added");
            }
        }
        RepoCommand::Get { url } => {
            let repo = client.get_repository(&url)?;
            if !print_machine(&repo, &[url], format) {
                print!(
                    "{}",
                    table(&[repo], format == Format::Wide).render(colour())
                );
            }
        }
        RepoCommand::List => {
            let repos = client.list_repositories()?;
            let names: Vec<String> = repos.iter().map(|r| s(r, "/repo").to_string()).collect();
            if !print_machine(&Value::Array(repos.clone()), &names, format) {
                print!("{}", table(&repos, format == Format::Wide).render(colour()));
            }
        }
        RepoCommand::Rm { urls } => {
            for url in urls {
                client.delete_repository(&url)?;
                println!("Repository '{url}' removed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_client::api::items;

    #[test]
    fn list_table() {
        let list =
            items(&serde_json::from_str(include_str!("testdata/repositories.json")).unwrap());
        insta::assert_snapshot!("repo_list", table(&list, false).render(false));
        insta::assert_snapshot!("repo_list_wide", table(&list, true).render(false));
    }
}
