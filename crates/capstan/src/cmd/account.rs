//! `capstan account list | get | update-password | generate-token | can-i`: local accounts.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::Value;

use super::client_args::ClientArgs;
use super::output::{Table, print_machine, s};

/// Manage local accounts.
///
/// Example: `capstan account list`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: AccountCommand,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// List accounts.
    ///
    /// Example: `capstan account list -o json`
    List,
    /// Show an account (the logged-in one by default) and its tokens.
    ///
    /// Example: `capstan account get --account ci`
    Get {
        #[arg(short = 'a', long)]
        account: Option<String>,
    },
    /// Change a password (every session of that account ends).
    ///
    /// Example: `capstan account update-password --current-password "$OLD" --new-password "$NEW"`
    UpdatePassword {
        /// Account (default: the logged-in one).
        #[arg(long)]
        account: Option<String>,
        /// The logged-in user's current password.
        #[arg(long, env = "CAPSTAN_CURRENT_PASSWORD", hide_env_values = true)]
        current_password: String,
        /// The new password.
        #[arg(long, env = "CAPSTAN_NEW_PASSWORD", hide_env_values = true)]
        new_password: String,
    },
    /// Generate an API key for an account with the apiKey capability (printed once).
    ///
    /// Example: `capstan account generate-token --account ci --expires-in 86400`
    GenerateToken {
        /// Account (default: the logged-in one).
        #[arg(short = 'a', long)]
        account: Option<String>,
        /// Lifetime in seconds (0: no expiry).
        #[arg(short = 'e', long, default_value_t = 0)]
        expires_in: i64,
        /// Token ID.
        #[arg(long = "id", default_value = "")]
        id: String,
    },
    /// Check a permission: prints yes or no (exit 0 either way).
    ///
    /// Example: `capstan account can-i sync applications 'default/*'`
    CanI {
        action: String,
        resource: String,
        /// Object, e.g. PROJECT/APPLICATION.
        subresource: String,
    },
}

/// The `account list` table.
pub fn table(accounts: &[Value]) -> Table {
    let mut t = Table::new(&["NAME", "ENABLED", "CAPABILITIES"]);
    for a in accounts {
        let caps: Vec<&str> = a
            .get("capabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        t.row(vec![
            s(a, "/name").to_string(),
            a.get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
            caps.join(", "),
        ]);
    }
    t
}

fn me(client: &capstan_client::ApiClient) -> anyhow::Result<String> {
    let info = client.user_info()?;
    match info.get("username").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => Ok(u.to_string()),
        _ => bail!("the server does not name the logged-in user: give --account"),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.client.format();
    let client = args.client.client()?;
    match args.command {
        AccountCommand::List => {
            let list = client.list_accounts()?;
            let names: Vec<String> = list.iter().map(|a| s(a, "/name").to_string()).collect();
            if !print_machine(&Value::Array(list.clone()), &names, format) {
                print!("{}", table(&list).render(false));
            }
        }
        AccountCommand::Get { account } => {
            let name = match account {
                Some(a) => a,
                None => me(&client)?,
            };
            let a = client.get_account(&name)?;
            if !print_machine(&a, &[name], format) {
                print!("{}", table(std::slice::from_ref(&a)).render(false));
                let mut t = Table::new(&["ID", "ISSUED AT", "EXPIRES AT"]);
                for tok in a
                    .get("tokens")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.row(vec![
                        s(tok, "/id").to_string(),
                        tok.get("issuedAt")
                            .map(Value::to_string)
                            .unwrap_or_default(),
                        tok.get("expiresAt")
                            .map(Value::to_string)
                            .unwrap_or_default(),
                    ]);
                }
                println!("\nTOKENS:");
                print!("{}", t.render(false));
            }
        }
        AccountCommand::UpdatePassword {
            account,
            current_password,
            new_password,
        } => {
            let name = account.unwrap_or_default();
            client.update_password(&name, &current_password, &new_password)?;
            println!("Password updated; log in again with `capstan relogin`");
        }
        AccountCommand::GenerateToken {
            account,
            expires_in,
            id,
        } => {
            let name = match account {
                Some(a) => a,
                None => me(&client)?,
            };
            println!("{}", client.create_account_token(&name, expires_in, &id)?);
        }
        AccountCommand::CanI {
            action,
            resource,
            subresource,
        } => {
            println!("{}", client.can_i(&action, &resource, &subresource)?);
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
        let list = items(&serde_json::from_str(include_str!("testdata/accounts.json")).unwrap());
        insta::assert_snapshot!("account_list", table(&list).render(false));
    }
}
