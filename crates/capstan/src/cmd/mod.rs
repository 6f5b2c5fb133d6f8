//! Subcommands. Each lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::Subcommand;

pub mod admin;
pub mod apiserver;
pub mod lint;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded Kubernetes-compatible API server.
    Apiserver(apiserver::Args),
    /// Operator tools that work offline (CRDs, health and diff checks).
    Admin(admin::Args),
    /// Check Argo CD objects in YAML/JSON files offline (exit 0 valid, 1 problems, 2 error).
    Lint(lint::Args),
}

/// Runs one subcommand and returns the process exit code.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Apiserver(args) => apiserver::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Lint(args) => lint::run(args),
    }
}

/// Logs go to stderr; `RUST_LOG` (or `CAPSTAN_LOG`) selects the level.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAPSTAN_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
