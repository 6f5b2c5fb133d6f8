//! One way to ask for manifests whether the repository server runs in-process or as a separate
//! `capstan repo-server` (plain HTTP/JSON, see [`crate::server`]).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::RenderError;
use crate::service::{ManifestRequest, ManifestResponse, RepoService};

/// Where manifests come from.
#[derive(Clone)]
pub enum RepoClient {
    /// The service in this process.
    InProcess(Arc<RepoService>),
    /// A `capstan repo-server` at a base URL (`http://host:port`).
    Remote(Box<RemoteRepoServer>),
}

impl RepoClient {
    /// Generates (or finds in the cache) the manifests of a source.
    pub async fn generate(&self, req: &ManifestRequest) -> Result<ManifestResponse, RenderError> {
        match self {
            RepoClient::InProcess(service) => service.generate(req).await,
            RepoClient::Remote(remote) => remote.generate(req).await,
        }
    }
}

/// A client of `capstan repo-server`.
#[derive(Clone)]
pub struct RemoteRepoServer {
    base: String,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl RemoteRepoServer {
    /// A client for the server at `base` (`http://127.0.0.1:8081`); each call gives up after
    /// `timeout` (Argo CD's controller uses 60 s).
    pub fn new(base: impl Into<String>, timeout: Duration) -> RemoteRepoServer {
        RemoteRepoServer {
            base: base.into().trim_end_matches('/').to_string(),
            timeout,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Asks the server for the manifests of a source.
    pub async fn generate(&self, req: &ManifestRequest) -> Result<ManifestResponse, RenderError> {
        let remote = |message: String| RenderError::Remote {
            server: self.base.clone(),
            kind: "Unreachable".into(),
            message,
        };
        let body = serde_json::to_vec(req).map_err(|e| remote(e.to_string()))?;
        let request = hyper::Request::post(format!("{}/api/v1/manifests", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| remote(e.to_string()))?;
        let call = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| remote(e.to_string()))?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| remote(e.to_string()))?
                .to_bytes();
            Ok::<_, RenderError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                remote(format!(
                    "no answer within {} s (context deadline exceeded)",
                    self.timeout.as_secs()
                ))
            })??;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| remote(format!("invalid response: {e}")));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(RenderError::Remote {
            server: self.base.clone(),
            kind: value["kind"].as_str().unwrap_or("Unknown").to_string(),
            message: value["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}")),
        })
    }
}
