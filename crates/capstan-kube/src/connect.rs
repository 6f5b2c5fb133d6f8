//! Building a client for a cluster: from a kubeconfig, from an Argo CD cluster Secret, or in-cluster.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use capstan_settings::Cluster;
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use tokio::sync::RwLock;

use crate::discovery::DiscoveryCache;
use crate::error::KubeError;

/// Installs the process-wide rustls crypto provider (ring) if none is installed yet. Call it once at
/// start, before any TLS client exists: with two providers compiled in, rustls cannot pick one itself.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Options that apply to every connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Field manager for server-side apply.
    pub field_manager: String,
    /// Request timeout.
    pub timeout: std::time::Duration,
    /// Requests per second to this cluster (`ARGOCD_K8S_CLIENT_QPS`); 0 means no limit.
    pub qps: f64,
    /// Requests allowed at once above the rate (`ARGOCD_K8S_CLIENT_BURST`).
    pub burst: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            field_manager: "capstan-controller".to_string(),
            timeout: std::time::Duration::from_secs(60),
            qps: 0.0,
            burst: 100,
        }
    }
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct ClusterClient {
    pub(crate) client: kube::Client,
    pub(crate) server: String,
    pub(crate) discovery: Arc<RwLock<DiscoveryCache>>,
    pub(crate) options: ConnectOptions,
    pub(crate) throttle: Arc<crate::throttle::Throttle>,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl ClusterClient {
    fn from_config(
        mut config: kube::Config,
        options: ConnectOptions,
    ) -> Result<ClusterClient, KubeError> {
        install_crypto_provider();
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        config.read_timeout = Some(options.timeout);
        config.connect_timeout = Some(std::time::Duration::from_secs(10));
        let client = kube::Client::try_from(config).map_err(|e| KubeError::Connection {
            server: server.clone(),
            message: e.to_string(),
        })?;
        Ok(ClusterClient {
            client,
            server,
            discovery: Arc::new(RwLock::new(DiscoveryCache::default())),
            throttle: Arc::new(crate::throttle::Throttle::new(options.qps, options.burst)),
            options,
        })
    }

    /// A client for a kubeconfig file and an optional context (the current context otherwise).
    pub async fn from_kubeconfig(
        path: &Path,
        context: Option<&str>,
        options: ConnectOptions,
    ) -> Result<ClusterClient, KubeError> {
        let server = path.display().to_string();
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| KubeError::Connection {
            server: server.clone(),
            message: format!("reading kubeconfig: {e}"),
        })?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &KubeConfigOptions {
                context: context.map(str::to_string),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| KubeError::Connection {
            server,
            message: format!("loading kubeconfig: {e}"),
        })?;
        Self::from_config(config, options)
    }

    /// A client for the cluster Capstan runs in (service account), or the environment's kubeconfig.
    pub async fn infer(options: ConnectOptions) -> Result<ClusterClient, KubeError> {
        let config = kube::Config::infer()
            .await
            .map_err(|e| KubeError::Connection {
                server: "in-cluster".to_string(),
                message: e.to_string(),
            })?;
        Self::from_config(config, options)
    }

    /// A client for a cluster registered with an Argo CD cluster Secret (server URL, bearer token or
    /// basic auth, TLS settings).
    pub fn from_cluster(
        cluster: &Cluster,
        options: ConnectOptions,
    ) -> Result<ClusterClient, KubeError> {
        let err = |message: String| KubeError::Connection {
            server: cluster.server.clone(),
            message,
        };
        let url: http::Uri = cluster
            .server
            .parse()
            .map_err(|e| err(format!("invalid server URL: {e}")))?;
        let mut config = kube::Config::new(url);
        let tls = &cluster.config.tls_client_config;
        config.accept_invalid_certs = tls.insecure;
        config.tls_server_name = tls.server_name.clone();
        let decode = |what: &str, b64: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| err(format!("tlsClientConfig.{what} is not valid base64")))
        };
        if let Some(ca) = &tls.ca_data {
            let pem = decode("caData", ca)?;
            config.root_cert = Some(
                pem_certificates(&pem).map_err(|m| err(format!("tlsClientConfig.caData: {m}")))?,
            );
        }
        let mut auth = AuthInfo::default();
        if let Some(token) = &cluster.config.bearer_token {
            auth.token = Some(token.clone().into());
        }
        if let Some(user) = &cluster.config.username {
            auth.username = Some(user.clone());
            auth.password = cluster.config.password.clone().map(Into::into);
        }
        if let (Some(cert), Some(key)) = (&tls.cert_data, &tls.key_data) {
            // kubeconfig's *-data fields hold base64 PEM, as Argo CD's config does
            auth.client_certificate_data = Some(cert.clone());
            auth.client_key_data = Some(key.clone().into());
        }
        config.auth_info = auth;
        Self::from_config(config, options)
    }

    /// The server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The field manager used for server-side apply.
    pub fn field_manager(&self) -> &str {
        &self.options.field_manager
    }

    /// The underlying kube client (for watches and requests not wrapped here).
    pub fn kube_client(&self) -> &kube::Client {
        &self.client
    }

    /// The server's version (`major.minor` and git version), which also checks the connection.
    pub async fn server_version(&self) -> Result<String, KubeError> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| KubeError::from_kube(e, "GET /version", &self.server))?;
        Ok(info.git_version)
    }
}

/// DER certificates from a PEM bundle.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not PEM text".to_string())?;
    let mut certs = Vec::new();
    let mut inside = false;
    let mut b64 = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            b64.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|_| "a certificate is not valid base64".to_string())?;
            certs.push(der);
        } else if inside {
            b64.push_str(line);
        }
    }
    if certs.is_empty() {
        return Err("no PEM certificate found".to_string());
    }
    Ok(certs)
}
