//! `capstan apiserver`: an embedded, durable, Kubernetes-compatible API server.
//!
//! Real clients (kubectl, client-go / Python `kubernetes`, kube-rs) talk to it unchanged. Objects
//! live in a redb file (durable on acknowledgement), served from an in-memory index; a built-in
//! garbage collector and workload simulation stand in for the controller-manager and kubelets.
//! See README.md for what is simulated and how to make a workload fail on purpose.

pub mod defaults;
pub mod error;
pub mod gc;
pub mod http;
pub mod kubeconfig;
pub mod meta;
pub mod ops;
pub mod patching;
pub mod registry;
pub mod selectors;
pub mod simulate;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod validation;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinHandle;

pub use simulate::SimConfig;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Directory for the store and the generated kubeconfig.
    pub data_dir: PathBuf,
    /// Workload simulation settings.
    pub simulation: SimConfig,
    /// When set, every request except health checks needs `Authorization: Bearer <token>`
    /// (the generated kubeconfig carries it), or a ServiceAccount token this server issued.
    pub token: Option<String>,
    /// Serve HTTPS with a self-signed certificate kept in the data directory.
    pub tls: bool,
}

impl Config {
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            simulation: SimConfig::default(),
            token: None,
            tls: false,
        }
    }
}

/// Failures starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the store in {path}: {source}")]
    Store {
        path: PathBuf,
        source: store::StoreError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot seed the store: {0}")]
    Seed(error::ApiError),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("ServiceAccount tokens: {0}")]
    Tokens(#[from] tokens::TokenError),
}

/// A running server. Dropping it does not stop it; call [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    scheme: &'static str,
    pub kubeconfig: PathBuf,
    pub cluster: Arc<ops::Cluster>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<Result<(), std::io::Error>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// The base URL, e.g. `http://127.0.0.1:41234` (`https` with TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stop serving and every background task, and release the store.
    pub async fn stop(self) {
        let Running {
            tasks,
            mut server,
            shutdown,
            cluster,
            ..
        } = self;
        let _ = shutdown.send(true);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
            let _ = server.await;
        }
        drop(cluster);
    }

    /// Wait until the HTTP server ends (it only ends on an I/O error).
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Serve(e)),
            Err(e) => Err(ServeError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// A listening socket with SO_REUSEADDR, so a restarted server gets its port back at once even while
/// connections of the previous one are in TIME_WAIT.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Open the store, listen, write the kubeconfig and start serving in the background.
pub async fn start(config: Config) -> Result<Running, ServeError> {
    let dir = config.data_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|source| ServeError::DataDir {
        path: dir.clone(),
        source,
    })?;
    let store_dir = dir.clone();
    let store = tokio::task::spawn_blocking(move || store::Store::open(&store_dir))
        .await
        .map_err(|e| ServeError::Serve(std::io::Error::other(e.to_string())))?
        .map_err(|source| ServeError::Store {
            path: dir.clone(),
            source,
        })?;
    let cluster = Arc::new(ops::Cluster::new(Arc::new(store)));
    {
        let c = cluster.clone();
        let sim = config.simulation.clone();
        tokio::task::spawn_blocking(move || seed(&c, &sim))
            .await
            .map_err(|e| ServeError::Serve(std::io::Error::other(e.to_string())))?
            .map_err(ServeError::Seed)?;
    }
    let listener = listen(config.listen).map_err(|source| ServeError::Listen {
        addr: config.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: config.listen,
        source,
    })?;
    let certificate = if config.tls {
        Some(tls::certificate(&dir)?)
    } else {
        None
    };
    let kubeconfig = dir.join("kubeconfig");
    let scheme = if certificate.is_some() {
        "https"
    } else {
        "http"
    };
    kubeconfig::write(
        &kubeconfig,
        &format!("{scheme}://{addr}"),
        config.token.as_deref(),
        certificate.as_ref().map(|(c, _)| c.as_str()),
    )
    .map_err(|source| ServeError::Kubeconfig {
        path: kubeconfig.clone(),
        source,
    })?;
    let tokens = Arc::new(tokens::Tokens::load(
        &dir,
        certificate.as_ref().map(|(c, _)| c.clone()),
    )?);
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = http::AppState {
        cluster: cluster.clone(),
        server_address: addr.to_string(),
        shutdown: shutdown_rx.clone(),
        token: config.token.clone().map(std::sync::Arc::from),
        tokens: tokens.clone(),
    };
    let app = http::router(state);
    let mut stop_rx = shutdown_rx;
    let server = match certificate {
        None => tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.wait_for(|v| *v).await;
                })
                .await
        }),
        Some((cert, key)) => {
            let rustls = tls::rustls_config(&cert, &key).await?;
            let std_listener = listener.into_std().map_err(ServeError::Serve)?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                let _ = stop_rx.wait_for(|v| *v).await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(2)));
            });
            tokio::spawn(async move {
                axum_server::from_tcp_rustls(std_listener, rustls)
                    .handle(handle)
                    .serve(app.into_make_service())
                    .await
            })
        }
    };
    let mut tasks = vec![
        tokio::spawn(gc::run(cluster.clone())),
        tokio::spawn(tokens::run(cluster.clone(), tokens)),
    ];
    if config.simulation.enabled {
        tasks.push(tokio::spawn(simulate::run(
            cluster.clone(),
            config.simulation.clone(),
        )));
    }
    tracing::info!(%addr, data_dir = %dir.display(), objects = cluster.store.object_count(), "capstan apiserver listening");
    Ok(Running {
        addr,
        scheme,
        kubeconfig,
        cluster,
        tasks,
        server,
        shutdown,
    })
}

/// Run until `shutdown` completes.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    let running = start(config).await?;
    shutdown.await;
    running.stop().await;
    Ok(())
}

/// The namespaces every cluster starts with, and the simulated nodes.
fn seed(cluster: &ops::Cluster, sim: &SimConfig) -> Result<(), error::ApiError> {
    let reg = &cluster.registry;
    let ns_rt = reg
        .lookup("", "v1", "namespaces")
        .ok_or_else(|| error::ApiError::internal("namespaces not registered"))?;
    let opts = ops::WriteOpts {
        field_manager: Some("capstan-apiserver".into()),
        ..Default::default()
    };
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        if cluster
            .store
            .get(&ops::Cluster::key(&ns_rt, "", ns))
            .is_none()
        {
            cluster.create(&ns_rt, "", json!({"metadata": {"name": ns}}), &opts)?;
        }
    }
    if sim.enabled {
        let node_rt = reg
            .lookup("", "v1", "nodes")
            .ok_or_else(|| error::ApiError::internal("nodes not registered"))?;
        for i in 0..sim.nodes {
            let name = simulate::node_name(i);
            if cluster
                .store
                .get(&ops::Cluster::key(&node_rt, "", &name))
                .is_none()
            {
                cluster.create(&node_rt, "", simulate::node_object(&name), &opts)?;
            }
        }
    }
    Ok(())
}
