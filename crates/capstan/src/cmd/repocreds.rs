//! `capstan repocreds add | list | rm`: credential templates used by every repository whose URL
//! starts with the template's URL.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::client_args::ClientArgs;
use super::output::{Table, print_machine, s};
use super::repo::CredFlags;

/// Manage repository credential templates.
///
/// Example: `capstan repocreds list`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RepoCredsCommand,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum RepoCredsCommand {
    /// Add a credential template for a URL prefix.
    ///
    /// Example: `capstan repocreds add https://github.com/myorg/ --username me --password "$TOKEN"`
    Add {
        /// URL prefix.
        url: String,
        #[command(flatten)]
        creds: CredFlags,
    },
    /// List credential templates.
    ///
    /// Example: `capstan repocreds list -o json`
    List,
    /// Remove credential templates.
    ///
    /// Example: `capstan repocreds rm https://github.com/myorg/`
    Rm {
        #[arg(required = true)]
        urls: Vec<String>,
    },
}

/// The `repocreds list` table.
pub fn table(creds: &[Value]) -> Table {
    let mut t = Table::new(&["URL PATTERN", "TYPE", "USERNAME", "OCI"]);
    for c in creds {
        t.row(vec![
            s(c, "/url").to_string(),
            s(c, "/type").to_string(),
            s(c, "/username").to_string(),
            c.get("enableOCI")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
        ]);
    }
    t
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.client.format();
    let client = args.client.client()?;
    match args.command {
        RepoCredsCommand::Add { url, creds } => {
            let mut body = json!({"url": url});
            creds.fill(&mut body)?;
            client.create_repo_creds(&body, creds.upsert)?;
            println!("Repository credentials for '{url}' added");
        }
        RepoCredsCommand::List => {
            let list = client.list_repo_creds()?;
            let names: Vec<String> = list.iter().map(|c| s(c, "/url").to_string()).collect();
            if !print_machine(&Value::Array(list.clone()), &names, format) {
                print!("{}", table(&list).render(false));
            }
        }
        RepoCredsCommand::Rm { urls } => {
            for url in urls {
                client.delete_repo_creds(&url)?;
                println!("Repository credentials for '{url}' removed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
