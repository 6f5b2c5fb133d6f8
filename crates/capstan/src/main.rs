//! The `capstan` binary: one executable whose subcommands start each role (API server,
//! controller, repo server, embedded Kubernetes API server) and run the client commands.
//!
//! This is the only place where `anyhow` is used; every library crate returns typed errors.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc returns memory to the system and fragments less than glibc's allocator under many
/// threads, which keeps the long-running roles' RSS close to what they use.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "capstan",
    version,
    about = "GitOps continuous delivery for Kubernetes, compatible with Argo CD's declarative API",
    after_help = cmd::exit::EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return cmd::exit::usage_error(err),
    };
    cmd::init_tracing();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
