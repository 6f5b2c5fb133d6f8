//! `argocd-secret`: admin password, token signing key, webhook secrets, local account passwords.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::SettingsError;
use crate::object::{describe, secret_data};
use crate::sensitive::Sensitive;

/// The contents of `argocd-secret`. Every value is sensitive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArgoCdSecret {
    /// `admin.password`: bcrypt hash of the admin password.
    pub admin_password_hash: Option<Sensitive>,
    /// `admin.passwordMtime`: when it last changed (RFC 3339).
    pub admin_password_mtime: Option<String>,
    /// `server.secretkey`: key that signs session tokens.
    pub server_secret_key: Option<Sensitive>,
    /// `accounts.<name>.password` (bcrypt) per local account.
    pub account_password_hashes: BTreeMap<String, Sensitive>,
    /// `accounts.<name>.passwordMtime` per local account.
    pub account_password_mtimes: BTreeMap<String, String>,
    /// `accounts.<name>.tokens` (JSON list) per local account.
    pub account_tokens: BTreeMap<String, String>,
    /// `webhook.<provider>.secret` and similar keys.
    pub webhook: BTreeMap<String, Sensitive>,
    /// Every key, for `$key` references (SSO client secrets, notification secrets).
    pub all: BTreeMap<String, Sensitive>,
}

impl ArgoCdSecret {
    /// Reads `argocd-secret` (a Secret as JSON).
    pub fn from_secret(obj: &Value) -> Result<ArgoCdSecret, SettingsError> {
        let _ = describe(obj);
        Ok(Self::from_data(&secret_data(obj)?))
    }

    /// Reads `argocd-secret` from its decoded data.
    pub fn from_data(data: &BTreeMap<String, String>) -> ArgoCdSecret {
        let mut secret = ArgoCdSecret::default();
        for (key, value) in data {
            let sensitive = Sensitive::new(value.clone());
            match key.as_str() {
                "admin.password" => secret.admin_password_hash = Some(sensitive.clone()),
                "admin.passwordMtime" => secret.admin_password_mtime = Some(value.clone()),
                "server.secretkey" => secret.server_secret_key = Some(sensitive.clone()),
                k if k.starts_with("webhook.") => {
                    secret.webhook.insert(k.to_string(), sensitive.clone());
                }
                k => {
                    if let Some(rest) = k.strip_prefix("accounts.") {
                        if let Some(name) = rest.strip_suffix(".password") {
                            secret
                                .account_password_hashes
                                .insert(name.to_string(), sensitive.clone());
                        } else if let Some(name) = rest.strip_suffix(".passwordMtime") {
                            secret
                                .account_password_mtimes
                                .insert(name.to_string(), value.clone());
                        } else if let Some(name) = rest.strip_suffix(".tokens") {
                            secret
                                .account_tokens
                                .insert(name.to_string(), value.clone());
                        }
                    }
                }
            }
            secret.all.insert(key.clone(), sensitive);
        }
        secret
    }

    /// Resolves a `$key` reference (as used in `oidc.config` and notification services) against this
    /// Secret; a value without `$` is returned as it is.
    pub fn resolve(&self, value: &str) -> Option<Sensitive> {
        match value.strip_prefix('$') {
            Some(key) => self.all.get(key).cloned(),
            None => Some(Sensitive::new(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_resolves_references() {
        let data: BTreeMap<String, String> = [
            ("admin.password", "$2a$10$hash"),
            ("server.secretkey", "key"),
            ("accounts.alice.password", "$2a$10$alice"),
            ("webhook.github.secret", "gh"),
            ("oidc.okta.clientSecret", "okta"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = ArgoCdSecret::from_data(&data);
        assert_eq!(
            s.admin_password_hash.as_ref().map(Sensitive::expose),
            Some("$2a$10$hash")
        );
        assert!(s.account_password_hashes.contains_key("alice"));
        assert_eq!(
            s.resolve("$oidc.okta.clientSecret").unwrap().expose(),
            "okta"
        );
        assert!(s.resolve("$missing").is_none());
        assert!(!format!("{s:?}").contains("okta\""));
    }
}
