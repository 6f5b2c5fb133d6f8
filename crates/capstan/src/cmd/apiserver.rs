//! `capstan apiserver`: run the embedded Kubernetes-compatible API server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (plain HTTP). Port 0 picks a free port.
    #[arg(
        long,
        env = "CAPSTAN_APISERVER_LISTEN",
        default_value = "127.0.0.1:6443"
    )]
    pub listen: SocketAddr,
    /// Directory for the durable store; DIR/kubeconfig is written on start.
    #[arg(long, env = "CAPSTAN_APISERVER_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Disable workload simulation (Deployments, Pods, Jobs, ... then never get status).
    #[arg(long)]
    pub no_simulation: bool,
    /// Milliseconds before simulated Pods become Ready.
    #[arg(long, default_value_t = 500)]
    pub sim_ready_delay_ms: u64,
    /// Require this bearer token on every request (written into DIR/kubeconfig).
    #[arg(long, env = "CAPSTAN_APISERVER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve HTTPS with a self-signed certificate kept in DIR (tls.crt, tls.key); the
    /// kubeconfig then carries it as the CA.
    #[arg(long)]
    pub tls: bool,
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 1)]
    pub sim_nodes: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let mut config = capstan_apiserver::Config::new(args.listen, args.data_dir);
        config.simulation.enabled = !args.no_simulation;
        config.simulation.ready_delay = Duration::from_millis(args.sim_ready_delay_ms);
        config.simulation.nodes = args.sim_nodes;
        config.token = args.token;
        config.tls = args.tls;
        let running = capstan_apiserver::start(config)
            .await
            .context("starting capstan apiserver")?;
        eprintln!(
            "capstan apiserver listening on {} (kubeconfig: {})",
            running.url(),
            running.kubeconfig.display()
        );
        tokio::select! {
            r = tokio::signal::ctrl_c() => {
                r.context("waiting for Ctrl-C")?;
                running.stop().await;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
