//! `capstan completion bash|zsh|fish`: shell completion scripts.

use std::process::ExitCode;

use clap::CommandFactory;

/// Print a shell completion script.
///
/// Example: `capstan completion bash > /etc/bash_completion.d/capstan` or
/// `capstan completion zsh > "${fpath[1]}/_capstan"` or
/// `capstan completion fish > ~/.config/fish/completions/capstan.fish`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "capstan", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_command_is_well_formed_and_has_an_example() {
        let cmd = crate::Cli::command();
        cmd.clone().debug_assert();
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", c.get_name());
            let client = [
                "login",
                "logout",
                "relogin",
                "context",
                "version",
                "app",
                "repo",
                "repocreds",
                "cluster",
                "proj",
                "account",
                "completion",
            ];
            let text = format!(
                "{}{}",
                c.get_about().map(|a| a.to_string()).unwrap_or_default(),
                c.get_long_about()
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            );
            let in_client = client
                .iter()
                .any(|n| path.starts_with(&format!("capstan {n}")));
            if in_client && c.get_subcommands().next().is_none() && !text.contains("Example") {
                missing.push(path.clone());
            }
            for sub in c.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&cmd, "", &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
    }
}
