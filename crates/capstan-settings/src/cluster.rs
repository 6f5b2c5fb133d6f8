//! Cluster Secrets (`argocd.argoproj.io/secret-type: cluster`) and their `config` JSON.

use capstan_types::annotations::{SECRET_TYPE, secret_type};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SettingsError;
use crate::object::{describe, parse_bool, secret_data};
use crate::sensitive::Sensitive;

/// Address of the cluster Argo CD runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
/// Name of the cluster Argo CD runs in.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// `tlsClientConfig` of a cluster's `config`.
#[derive(Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsClientConfig {
    /// Skip server certificate verification.
    #[serde(default)]
    pub insecure: bool,
    /// Server name to verify instead of the URL's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// CA bundle (base64 PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_data: Option<String>,
    /// Client certificate (base64 PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_data: Option<String>,
    /// Client key (base64 PEM). Never printed.
    #[serde(default, skip_serializing)]
    pub key_data: Option<String>,
}

impl std::fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("insecure", &self.insecure)
            .field("server_name", &self.server_name)
            .field("ca_data", &self.ca_data.as_ref().map(|_| "<set>"))
            .field("cert_data", &self.cert_data.as_ref().map(|_| "<set>"))
            .field("key_data", &self.key_data.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The `config` JSON of a cluster Secret.
#[derive(Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Basic auth user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Basic auth password. Never printed.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// Bearer token. Never printed.
    #[serde(default, skip_serializing)]
    pub bearer_token: Option<String>,
    /// TLS settings.
    #[serde(default)]
    pub tls_client_config: TlsClientConfig,
    /// AWS IAM authentication, kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_auth_config: Option<Value>,
    /// Exec credential plugin, kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_provider_config: Option<Value>,
    /// Proxy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Disable response compression.
    #[serde(default)]
    pub disable_compression: bool,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("tls_client_config", &self.tls_client_config)
            .field("proxy_url", &self.proxy_url)
            .finish_non_exhaustive()
    }
}

impl ClusterConfig {
    /// The bearer token, wrapped so it is not printed.
    pub fn token(&self) -> Option<Sensitive> {
        self.bearer_token.clone().map(Sensitive::new)
    }
}

/// A cluster registered with a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// Name (destinations may use it instead of the server URL).
    pub name: String,
    /// API server URL.
    pub server: String,
    /// Namespaces the cluster is limited to (empty: all).
    pub namespaces: Vec<String>,
    /// Cluster-scoped resources may be managed (only meaningful with `namespaces`).
    pub cluster_resources: bool,
    /// Project the cluster is scoped to.
    pub project: Option<String>,
    /// Shard pinned for this cluster.
    pub shard: Option<u32>,
    /// Connection settings.
    pub config: ClusterConfig,
    /// Labels of the Secret.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Name of the Secret it came from.
    pub secret_name: String,
}

impl Cluster {
    /// Reads a cluster Secret.
    pub fn from_secret(obj: &Value) -> Result<Cluster, SettingsError> {
        let object = describe(obj);
        let label = obj
            .pointer("/metadata/labels")
            .and_then(|l| l.get(SECRET_TYPE))
            .and_then(Value::as_str);
        if label != Some(secret_type::CLUSTER) {
            return Err(SettingsError::Object {
                object,
                message: format!("is not labelled {SECRET_TYPE}: {}", secret_type::CLUSTER),
            });
        }
        let data = secret_data(obj)?;
        let server = data
            .get("server")
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SettingsError::key(&object, "server", "is required"))?;
        if !(server.starts_with("https://") || server.starts_with("http://")) {
            return Err(SettingsError::key(
                &object,
                "server",
                format!("must be an http(s) URL, not {server:?}"),
            ));
        }
        let config = match data.get("config").map(|c| c.trim()) {
            None | Some("") => ClusterConfig::default(),
            Some(text) => serde_json::from_str::<ClusterConfig>(text).map_err(|e| {
                SettingsError::key(
                    &object,
                    "config",
                    format!("is not valid JSON for a cluster config: {} (line {}, column {} of the value)", strip_location(&e), e.line(), e.column()),
                )
            })?,
        };
        let shard = match data
            .get("shard")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(s.parse::<u32>().map_err(|_| {
                SettingsError::key(
                    &object,
                    "shard",
                    format!("must be a non-negative integer, not {s:?}"),
                )
            })?),
        };
        Ok(Cluster {
            name: data
                .get("name")
                .cloned()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| server.clone()),
            namespaces: data
                .get("namespaces")
                .map(|n| {
                    n.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            cluster_resources: parse_bool(&object, &data, "clusterResources", false)?,
            project: data.get("project").cloned().filter(|p| !p.is_empty()),
            shard,
            config,
            labels: obj
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            secret_name: obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            server,
        })
    }

    /// The cluster Capstan runs in, as Argo CD defines it when no Secret names it.
    pub fn in_cluster() -> Cluster {
        Cluster {
            name: IN_CLUSTER_NAME.to_string(),
            server: IN_CLUSTER_SERVER.to_string(),
            ..Cluster::default()
        }
    }
}

/// serde_json's message without its " at line X column Y" suffix (the position is reported apart).
fn strip_location(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "mycluster-secret", "labels": {SECRET_TYPE: "cluster"}}, "stringData": data})
    }

    #[test]
    fn reads_the_seed_cluster_secret() {
        let c = Cluster::from_secret(&secret(json!({
            "name": "mycluster.com", "server": "https://mycluster.com",
            "config": "{\"bearerToken\": \"TOKEN\", \"tlsClientConfig\": {\"insecure\": false, \"caData\": \"Q0E=\"}}"
        })))
        .unwrap();
        assert_eq!(c.name, "mycluster.com");
        assert_eq!(c.config.token().unwrap().expose(), "TOKEN");
        assert_eq!(c.config.tls_client_config.ca_data.as_deref(), Some("Q0E="));
        assert!(!format!("{c:?}").contains("TOKEN"));
        assert!(!serde_json::to_string(&c).unwrap().contains("TOKEN"));
    }

    #[test]
    fn bad_config_json_names_the_key() {
        let err = Cluster::from_secret(&secret(
            json!({"server": "https://x", "config": "{\"bearerToken\": "}),
        ))
        .unwrap_err();
        assert_eq!(err.data_key(), Some("config"));
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        let err = Cluster::from_secret(&secret(json!({"server": "https://x", "shard": "two"})))
            .unwrap_err();
        assert_eq!(err.data_key(), Some("shard"));
        let err = Cluster::from_secret(&secret(json!({"name": "x"}))).unwrap_err();
        assert_eq!(err.data_key(), Some("server"));
    }
}
