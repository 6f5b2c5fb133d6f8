//! Subcommands. Each lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::Subcommand;

pub mod admin;
pub mod apiserver;
pub mod bench;
mod bench_shards;
pub mod controller;
pub mod lint;
pub mod notifications;
pub mod render;
pub mod repo_server;
pub mod server;
pub mod up;

// client commands (talk to `capstan server`)
pub mod account;
pub mod app;
mod client_args;
pub mod cluster;
pub mod completion;
pub mod exit;
pub mod login;
pub mod output;
pub mod proj;
pub mod repo;
pub mod repocreds;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded Kubernetes-compatible API server.
    Apiserver(apiserver::Args),
    /// Run everything on this machine: embedded Kubernetes API server, repo server, controller, demo.
    Up(up::Args),
    /// Run the API server (REST API, login, RBAC, SSE, webhooks) with the controller in-process.
    Server(server::Args),
    /// Run the application controller (with the repo server in-process).
    Controller(controller::Args),
    /// Run the notifications controller (Argo CD's triggers, templates and services).
    Notifications(notifications::Args),
    /// Measurements for docs/benchmarks.md (not tests).
    Bench(bench::Args),
    /// Operator tools that work offline (CRDs, health and diff checks).
    Admin(admin::Args),
    /// Check Argo CD objects in YAML/JSON files offline (exit 0 valid, 1 problems, 2 error).
    Lint(lint::Args),
    /// Print the objects a source renders to, as a YAML stream (offline; exit 1 on render errors).
    Render(render::Args),
    /// Run the repository server (manifest generation over HTTP/JSON).
    RepoServer(repo_server::Args),
    /// Log in to an API server.
    Login(login::LoginArgs),
    /// Log out of a context.
    Logout(login::LogoutArgs),
    /// Log in again to the current context.
    Relogin(login::ReloginArgs),
    /// List, switch or delete contexts.
    Context(login::ContextArgs),
    /// Print client and server versions.
    Version(login::VersionArgs),
    /// Manage applications.
    App(app::Args),
    /// Manage repositories.
    Repo(repo::Args),
    /// Manage repository credential templates.
    Repocreds(repocreds::Args),
    /// Manage clusters.
    Cluster(cluster::Args),
    /// Manage projects.
    Proj(proj::Args),
    /// Manage local accounts.
    Account(account::Args),
    /// Print a shell completion script (bash, zsh, fish).
    Completion(completion::Args),
}

/// Runs one subcommand and returns the process exit code.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Apiserver(args) => apiserver::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Controller(args) => controller::run(args),
        Command::Notifications(args) => notifications::run(args),
        Command::Server(args) => server::run(args),
        Command::Up(args) => up::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Render(args) => render::run(args),
        Command::RepoServer(args) => repo_server::run(args),
        Command::Login(args) => login::login(args),
        Command::Logout(args) => login::logout(args),
        Command::Relogin(args) => login::relogin(args),
        Command::Context(args) => login::context(args),
        Command::Version(args) => login::version(args),
        Command::App(args) => app::run(args),
        Command::Repo(args) => repo::run(args),
        Command::Repocreds(args) => repocreds::run(args),
        Command::Cluster(args) => cluster::run(args),
        Command::Proj(args) => proj::run(args),
        Command::Account(args) => account::run(args),
        Command::Completion(args) => completion::run(args),
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
