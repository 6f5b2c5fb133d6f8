//! ServiceAccount tokens, as kube-apiserver and the controller-manager's token controller issue them:
//! a `kubernetes.io/service-account-token` Secret gets `data.token` (a JWT with the legacy
//! `kubernetes.io/serviceaccount/*` claims), `data.namespace` and, when serving TLS, `data.ca.crt`;
//! `POST .../serviceaccounts/NAME/token` (TokenRequest) returns a bound, expiring token.
//!
//! Tokens are HS256 JWTs signed with a random key kept in the data directory (`sa.key`). A token is
//! accepted only while what it names still exists: a Secret-based token while its Secret holds exactly
//! this token and its ServiceAccount has the uid in the token; a bound token until it expires and
//! while its ServiceAccount (same uid) exists. Deleting the Secret or the ServiceAccount therefore
//! revokes the token at once. Authorization is not enforced: an authenticated ServiceAccount may do
//! everything (there is no RBAC evaluation in this server).

mod controller;
mod jwt;
mod request;

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};

pub use controller::run;

use crate::meta;
use crate::ops::Cluster;

/// The Secret type the token controller fills.
pub const SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// Annotation naming the ServiceAccount of a token Secret.
pub const SA_NAME: &str = "kubernetes.io/service-account.name";
/// Annotation with the uid of that ServiceAccount (written by the token controller).
pub const SA_UID: &str = "kubernetes.io/service-account.uid";
/// Issuer of Secret-based tokens (as Kubernetes writes it).
const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
/// Issuer of bound tokens.
const BOUND_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Why the signing key could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("reading or writing the ServiceAccount signing key {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the ServiceAccount signing key {path} is not 32 or more bytes")]
    ShortKey { path: String },
    #[error("no random numbers for the ServiceAccount signing key")]
    Random,
}

/// Who a token authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountIdentity {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl ServiceAccountIdentity {
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// The signing key and what the token controller writes beside the token.
pub struct Tokens {
    key: ring::hmac::Key,
    /// PEM of the serving certificate (its own CA) when serving TLS.
    ca_pem: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut out = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut out).ok()?;
    Some(out)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Tokens {
    /// The key in `dir/sa.key`, generated (0600) when missing.
    pub fn load(dir: &Path, ca_pem: Option<String>) -> Result<Tokens, TokenError> {
        let path = dir.join("sa.key");
        let io = |source| TokenError::Io {
            path: path.display().to_string(),
            source,
        };
        let bytes = if path.exists() {
            std::fs::read(&path).map_err(io)?
        } else {
            let fresh = random_bytes::<32>().ok_or(TokenError::Random)?;
            write_private(&path, &fresh).map_err(io)?;
            fresh.to_vec()
        };
        if bytes.len() < 32 {
            return Err(TokenError::ShortKey {
                path: path.display().to_string(),
            });
        }
        Ok(Tokens {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes),
            ca_pem,
        })
    }

    /// A key for tests and servers without a data directory.
    pub fn ephemeral(ca_pem: Option<String>) -> Result<Tokens, TokenError> {
        let bytes = random_bytes::<32>().ok_or(TokenError::Random)?;
        Ok(Tokens {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes),
            ca_pem,
        })
    }

    fn jti() -> String {
        random_bytes::<16>()
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
    }

    /// A token for the Secret `secret_name` of ServiceAccount `sa`.
    pub fn issue_for_secret(&self, sa: &ServiceAccountIdentity, secret_name: &str) -> String {
        let claims = json!({
            "iss": LEGACY_ISSUER,
            "kubernetes.io/serviceaccount/namespace": sa.namespace,
            "kubernetes.io/serviceaccount/secret.name": secret_name,
            "kubernetes.io/serviceaccount/service-account.name": sa.name,
            "kubernetes.io/serviceaccount/service-account.uid": sa.uid,
            "sub": sa.username(),
            "jti": Self::jti(),
        });
        jwt::sign(&self.key, &claims)
    }

    /// A bound token (TokenRequest) valid for `seconds` from now.
    pub fn issue_bound(
        &self,
        sa: &ServiceAccountIdentity,
        audiences: &[String],
        seconds: i64,
    ) -> (String, chrono::DateTime<chrono::Utc>) {
        let now = chrono::Utc::now();
        let exp = now + chrono::Duration::seconds(seconds);
        let claims = json!({
            "aud": audiences,
            "exp": exp.timestamp(),
            "iat": now.timestamp(),
            "nbf": now.timestamp(),
            "iss": BOUND_ISSUER,
            "jti": Self::jti(),
            "kubernetes.io": {
                "namespace": sa.namespace,
                "serviceaccount": {"name": sa.name, "uid": sa.uid},
            },
            "sub": sa.username(),
        });
        (jwt::sign(&self.key, &claims), exp)
    }

    /// What the token controller writes into a token Secret: token, namespace, CA.
    pub(crate) fn secret_data(
        &self,
        sa: &ServiceAccountIdentity,
        secret_name: &str,
    ) -> serde_json::Map<String, Value> {
        let mut data = serde_json::Map::new();
        data.insert(
            "token".into(),
            json!(b64(self.issue_for_secret(sa, secret_name).as_bytes())),
        );
        data.insert("namespace".into(), json!(b64(sa.namespace.as_bytes())));
        if let Some(ca) = &self.ca_pem {
            data.insert("ca.crt".into(), json!(b64(ca.as_bytes())));
        }
        data
    }

    /// The ServiceAccount a bearer token authenticates, if it is valid now.
    pub fn authenticate(&self, cluster: &Cluster, token: &str) -> Option<ServiceAccountIdentity> {
        let claims = jwt::verify(&self.key, token)?;
        let text = |p: &str| {
            claims
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match claims.get("iss").and_then(Value::as_str) {
            Some(LEGACY_ISSUER) => {
                let identity = ServiceAccountIdentity {
                    namespace: claims
                        .get("kubernetes.io/serviceaccount/namespace")?
                        .as_str()?
                        .to_string(),
                    name: claims
                        .get("kubernetes.io/serviceaccount/service-account.name")?
                        .as_str()?
                        .to_string(),
                    uid: claims
                        .get("kubernetes.io/serviceaccount/service-account.uid")?
                        .as_str()?
                        .to_string(),
                };
                let secret_name = claims
                    .get("kubernetes.io/serviceaccount/secret.name")?
                    .as_str()?;
                let secret = stored(cluster, "secrets", &identity.namespace, secret_name)?;
                let held = secret
                    .pointer("/data/token")
                    .and_then(Value::as_str)
                    .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())?;
                let same = same_bytes(&held, token.as_bytes());
                let valid = same
                    && secret.get("type").and_then(Value::as_str) == Some(SECRET_TYPE)
                    && meta::annotation(&secret, SA_NAME) == Some(identity.name.as_str())
                    && meta::deletion_timestamp(&secret).is_none()
                    && live_account(cluster, &identity);
                valid.then_some(identity)
            }
            Some(BOUND_ISSUER) => {
                let exp = claims.get("exp").and_then(Value::as_i64)?;
                if exp <= chrono::Utc::now().timestamp() {
                    return None;
                }
                let identity = ServiceAccountIdentity {
                    namespace: text("/kubernetes.io/namespace")?,
                    name: text("/kubernetes.io/serviceaccount/name")?,
                    uid: text("/kubernetes.io/serviceaccount/uid")?,
                };
                live_account(cluster, &identity).then_some(identity)
            }
            _ => None,
        }
    }
}

/// Equality without an early exit on the first differing byte.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A core/v1 object as stored.
fn stored(cluster: &Cluster, resource: &str, ns: &str, name: &str) -> Option<Value> {
    let rt = cluster.registry.lookup("", "v1", resource)?;
    cluster
        .store
        .get(&Cluster::key(&rt, ns, name))
        .map(|o| o.as_ref().clone())
}

/// The ServiceAccount exists, is not being deleted and has the uid the token was issued for.
fn live_account(cluster: &Cluster, sa: &ServiceAccountIdentity) -> bool {
    stored(cluster, "serviceaccounts", &sa.namespace, &sa.name)
        .is_some_and(|o| meta::uid(&o) == sa.uid && meta::deletion_timestamp(&o).is_none())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)
    }
}

#[cfg(test)]
mod tests;
