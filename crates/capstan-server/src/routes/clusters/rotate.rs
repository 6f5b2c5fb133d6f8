//! `POST /api/v1/clusters/{server}/rotate-auth`, as Argo CD's `ClusterService.RotateAuth`: the
//! cluster's bearer token must be a ServiceAccount token (added with `cluster add
//! --service-account`); its claims name the ServiceAccount and its token Secret. A new token Secret
//! (`generateName` from the old name) is created in the cluster with the same annotations, the
//! cluster Secret gets the new token, the ServiceAccount's `secrets` list is updated, and the old
//! token Secret is deleted, which revokes the old token.

use std::time::{Duration, Instant};

use base64::Engine;
use capstan_kube::{ClusterClient, ConnectOptions, DeleteOptions};
use capstan_settings::Cluster;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long the cluster's token controller may take to fill the new Secret.
const TOKEN_WAIT: Duration = Duration::from_secs(30);

/// The `kubernetes.io/serviceaccount/*` claims of a Secret-based ServiceAccount token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceAccountClaims {
    pub(crate) namespace: String,
    pub(crate) secret_name: String,
    pub(crate) service_account: String,
}

/// Reads the claims of a JWT without verifying it (the cluster verifies it on use).
pub(crate) fn parse_claims(token: &str) -> Result<ServiceAccountClaims, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("failed to parse service account token: not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "failed to parse service account token: claims are not base64url")?;
    let claims: Value = serde_json::from_slice(&bytes)
        .map_err(|_| "failed to parse service account token: claims are not JSON")?;
    let field = |k: &str| {
        claims
            .get(format!("kubernetes.io/serviceaccount/{k}"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    match (
        field("namespace"),
        field("secret.name"),
        field("service-account.name"),
    ) {
        (Some(namespace), Some(secret_name), Some(service_account)) => Ok(ServiceAccountClaims {
            namespace,
            secret_name,
            service_account,
        }),
        _ => Err("the bearer token is not a token of a ServiceAccount token Secret (no kubernetes.io/serviceaccount claims)".into()),
    }
}

/// `argocd-manager-long-lived-token` -> `argocd-manager-long-lived-`, as Argo CD derives it.
pub(crate) fn generate_name(secret_name: &str) -> String {
    match secret_name.rsplit_once('-') {
        Some((head, _)) => format!("{head}-"),
        None => format!("{secret_name}-"),
    }
}

fn cluster_error(server: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(format!("cluster '{server}': {e}"))
}

/// Creates the new token Secret and waits for its token.
async fn new_token(
    client: &ClusterClient,
    claims: &ServiceAccountClaims,
    server: &str,
) -> ApiResult<(String, String)> {
    let rt = client
        .resolve("v1", "Secret")
        .await
        .map_err(|e| cluster_error(server, e))?;
    let old = client
        .get(&rt, Some(&claims.namespace), &claims.secret_name)
        .await
        .map_err(|e| cluster_error(server, e))?
        .ok_or_else(|| {
            ApiError::FailedPrecondition(format!(
                "cluster '{server}': the token Secret {}/{} of the cluster's ServiceAccount does not exist",
                claims.namespace, claims.secret_name
            ))
        })?;
    let annotations = old
        .pointer("/metadata/annotations")
        .cloned()
        .unwrap_or_else(|| json!({"kubernetes.io/service-account.name": claims.service_account}));
    let created = client
        .create(
            &json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"generateName": generate_name(&claims.secret_name),
                    "namespace": claims.namespace, "annotations": annotations},
                "type": "kubernetes.io/service-account-token",
            }),
            false,
        )
        .await
        .map_err(|e| cluster_error(server, e))?;
    let name = created
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let start = Instant::now();
    loop {
        let secret = client
            .get(&rt, Some(&claims.namespace), &name)
            .await
            .map_err(|e| cluster_error(server, e))?;
        let token = secret
            .as_ref()
            .and_then(|s| capstan_settings::secret_data(s).ok())
            .and_then(|d| d.get("token").cloned())
            .filter(|t| !t.is_empty());
        if let Some(token) = token {
            return Ok((name, token));
        }
        if start.elapsed() > TOKEN_WAIT {
            return Err(ApiError::Unavailable(format!(
                "cluster '{server}': timed out waiting for secret {}/{name} to generate new token",
                claims.namespace
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The cluster Secret with `token` as its bearer token (and no client certificate).
async fn store_token(state: &AppState, cluster: &Cluster, token: &str) -> ApiResult<()> {
    let mut secret = state
        .client
        .get(
            &state.types.secret,
            Some(&state.config.namespace),
            &cluster.secret_name,
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("cluster '{}' not found", cluster.server)))?;
    let data = capstan_settings::secret_data(&secret)
        .map_err(|e| ApiError::FailedPrecondition(e.to_string()))?;
    let mut config: Value = data
        .get("config")
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_else(|| json!({}));
    config["bearerToken"] = json!(token);
    if let Some(tls) = config
        .get_mut("tlsClientConfig")
        .and_then(Value::as_object_mut)
    {
        tls.remove("certData");
        tls.remove("keyData");
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(config.to_string());
    if !secret.get("data").is_some_and(Value::is_object) {
        secret["data"] = json!({});
    }
    secret["data"]["config"] = json!(encoded);
    if let Some(sd) = secret.get_mut("stringData").and_then(Value::as_object_mut) {
        sd.remove("config");
    }
    state.client.replace(&secret, false).await?;
    Ok(())
}

/// The ServiceAccount lists the new Secret instead of the old one.
async fn rotate_account_secrets(
    client: &ClusterClient,
    claims: &ServiceAccountClaims,
    new_name: &str,
) -> Result<(), capstan_kube::KubeError> {
    let rt = client.resolve("v1", "ServiceAccount").await?;
    let Some(mut sa) = client
        .get(&rt, Some(&claims.namespace), &claims.service_account)
        .await?
    else {
        return Ok(());
    };
    let mut list: Vec<Value> = sa
        .get("secrets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    list.retain(|r| r.get("name").and_then(Value::as_str) != Some(claims.secret_name.as_str()));
    if !list
        .iter()
        .any(|r| r.get("name").and_then(Value::as_str) == Some(new_name))
    {
        list.push(json!({"name": new_name}));
    }
    sa["secrets"] = Value::Array(list);
    client.replace(&sa, false).await?;
    Ok(())
}

/// Rotates the ServiceAccount token of `cluster`.
pub(crate) async fn rotate(state: &AppState, cluster: &Cluster) -> ApiResult<()> {
    let server = cluster.server.as_str();
    let token = cluster.config.bearer_token.as_deref().ok_or_else(|| {
        ApiError::InvalidArgument(format!(
            "Cluster '{server}' does not use bearer token authentication"
        ))
    })?;
    let claims = parse_claims(token).map_err(|e| {
        ApiError::InvalidArgument(format!(
            "Cluster '{server}' was not added with a service account (cluster add --service-account): {e}"
        ))
    })?;
    let client = ClusterClient::from_cluster(
        cluster,
        ConnectOptions {
            field_manager: "capstan-server".into(),
            timeout: Duration::from_secs(30),
            ..ConnectOptions::default()
        },
    )
    .map_err(|e| cluster_error(server, e))?;
    let (new_name, new_token) = new_token(&client, &claims, server).await?;
    store_token(state, cluster, &new_token).await?;
    if let Err(e) = rotate_account_secrets(&client, &claims, &new_name).await {
        tracing::warn!(%server, error = %e, "updating the ServiceAccount's secrets list failed");
    }
    // the old token stops working once its Secret is gone; the new client authenticates with the
    // new token (the old one may already be refused)
    let mut rotated = cluster.clone();
    rotated.config.bearer_token = Some(new_token);
    rotated.config.tls_client_config.cert_data = None;
    rotated.config.tls_client_config.key_data = None;
    let client = ClusterClient::from_cluster(&rotated, ConnectOptions::default())
        .map_err(|e| cluster_error(server, e))?;
    let rt = client
        .resolve("v1", "Secret")
        .await
        .map_err(|e| cluster_error(server, e))?;
    client
        .delete(
            &rt,
            Some(&claims.namespace),
            &claims.secret_name,
            &DeleteOptions::default(),
        )
        .await
        .map_err(|e| cluster_error(server, e))?;
    tracing::info!(%server, old = %claims.secret_name, new = %new_name, "rotated the cluster's ServiceAccount token");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let enc =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", enc(&json!({"alg": "RS256"})), enc(&claims))
    }

    #[test]
    fn claims_of_a_service_account_token() {
        let token = jwt(json!({
            "iss": "kubernetes/serviceaccount",
            "kubernetes.io/serviceaccount/namespace": "kube-system",
            "kubernetes.io/serviceaccount/secret.name": "argocd-manager-long-lived-token",
            "kubernetes.io/serviceaccount/service-account.name": "argocd-manager",
        }));
        assert_eq!(
            parse_claims(&token).unwrap(),
            ServiceAccountClaims {
                namespace: "kube-system".into(),
                secret_name: "argocd-manager-long-lived-token".into(),
                service_account: "argocd-manager".into(),
            }
        );
        assert!(parse_claims("s3cret").unwrap_err().contains("not a JWT"));
        let bound = jwt(json!({"kubernetes.io": {"namespace": "x"}}));
        assert!(
            parse_claims(&bound)
                .unwrap_err()
                .contains("no kubernetes.io/serviceaccount claims")
        );
    }

    #[test]
    fn new_secret_names_follow_argo_cd() {
        assert_eq!(
            generate_name("argocd-manager-long-lived-token"),
            "argocd-manager-long-lived-"
        );
        assert_eq!(
            generate_name("argocd-manager-long-lived-x7k2p"),
            "argocd-manager-long-lived-"
        );
        assert_eq!(generate_name("token"), "token-");
    }
}
