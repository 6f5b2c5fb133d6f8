//! HS256 JSON Web Tokens signed with `server.secretkey`. Only `alg: HS256` is accepted (no `none`, no
//! algorithm confusion); the signature is checked in constant time before the claims are read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Issuer written in every token, as Argo CD does.
pub const ISSUER: &str = "argocd";

/// The claims Capstan writes and reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    #[serde(default)]
    pub iss: String,
    /// Subject: a user name, or `proj:<project>:<role>`.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expiry; tokens without one never expire (API keys created without `expiresIn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Token id.
    #[serde(default)]
    pub jti: String,
    /// Groups (SSO sessions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts with JSON header and claims.
    #[error("malformed token")]
    Malformed,
    /// The header names another algorithm than HS256.
    #[error("unsupported token algorithm {0:?}")]
    Algorithm(String),
    /// The signature does not match.
    #[error("token signature is invalid")]
    Signature,
    /// Expired or not yet valid.
    #[error("token is expired")]
    Expired,
    /// The signing key is empty.
    #[error("the server has no signing key")]
    NoKey,
}

fn sign(key: &[u8], input: &[u8]) -> Result<Vec<u8>, TokenError> {
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| TokenError::NoKey)?;
    mac.update(input);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Signs claims into a compact JWT.
pub fn encode(key: &[u8], claims: &Claims) -> Result<String, TokenError> {
    if key.is_empty() {
        return Err(TokenError::NoKey);
    }
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = serde_json::to_vec(claims).map_err(|_| TokenError::Malformed)?;
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(body));
    let signature = sign(key, signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Verifies the signature and the time claims (`now` in seconds) and returns the claims.
pub fn decode(key: &[u8], token: &str, now: i64) -> Result<Claims, TokenError> {
    if key.is_empty() {
        return Err(TokenError::NoKey);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(body), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header_json: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    let alg = header_json
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if alg != "HS256" {
        return Err(TokenError::Algorithm(alg.to_string()));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| TokenError::NoKey)?;
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    // constant-time comparison
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    if claims.exp.is_some_and(|exp| exp <= now) || claims.nbf.is_some_and(|nbf| nbf > now + 60) {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: Option<i64>) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "admin".into(),
            iat: 1000,
            nbf: None,
            exp,
            jti: "id".into(),
            groups: vec![],
        }
    }

    #[test]
    fn round_trip() {
        let token = encode(b"key", &claims(Some(2000))).unwrap();
        assert_eq!(decode(b"key", &token, 1500).unwrap(), claims(Some(2000)));
    }

    #[test]
    fn refuses_wrong_key_tampering_expiry_and_alg_none() {
        let token = encode(b"key", &claims(Some(2000))).unwrap();
        assert_eq!(decode(b"other", &token, 1500), Err(TokenError::Signature));
        assert_eq!(decode(b"key", &token, 2000), Err(TokenError::Expired));
        // change the subject, keep the signature
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(Some(2000));
        forged.sub = "root".into();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = format!("{}.{}.{}", parts[0], body, parts[2]);
        assert_eq!(decode(b"key", &tampered, 1500), Err(TokenError::Signature));
        // alg none with an empty signature
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            parts[1]
        );
        assert_eq!(
            decode(b"key", &none, 1500),
            Err(TokenError::Algorithm("none".into()))
        );
        assert_eq!(decode(b"key", "a.b", 1500), Err(TokenError::Malformed));
    }
}
