//! `argocd-cm`: the main settings ConfigMap.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_types::TrackingMethod;
use capstan_types::annotations::DEFAULT_INSTANCE_LABEL;
use capstan_types::duration::parse_duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SettingsError;
use crate::object::{config_map_data, describe, parse_bool};

/// How Capstan marks the resources it manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingSettings {
    /// `application.resourceTrackingMethod` (default `annotation`).
    pub method: TrackingMethod,
    /// `application.instanceLabelKey` (default `app.kubernetes.io/instance`).
    pub instance_label_key: String,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        TrackingSettings {
            method: TrackingMethod::Annotation,
            instance_label_key: DEFAULT_INSTANCE_LABEL.to_string(),
        }
    }
}

/// One entry of `resource.exclusions` / `resource.inclusions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFilter {
    /// API group globs.
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Kind globs.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Cluster URL globs.
    #[serde(default)]
    pub clusters: Vec<String>,
}

/// What an account may do (`accounts.<name>: apiKey, login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountCapability {
    /// Log in with a password.
    Login,
    /// Generate API tokens.
    ApiKey,
}

/// A local account from `accounts.<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Capabilities.
    pub capabilities: Vec<AccountCapability>,
    /// `accounts.<name>.enabled` (default true).
    pub enabled: bool,
}

/// `resource.compareoptions`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompareOptions {
    /// Ignore rules of aggregated ClusterRoles.
    #[serde(default)]
    pub ignore_aggregated_roles: bool,
    /// `crd` (default), `all` or `off`: whose status field is ignored.
    #[serde(default = "default_status_field")]
    pub ignore_resource_status_field: String,
    /// Apply ignoreDifferences to resource-update refreshes too.
    #[serde(default = "default_true")]
    pub ignore_differences_on_resource_updates: bool,
}

fn default_status_field() -> String {
    "crd".to_string()
}

fn default_true() -> bool {
    true
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            ignore_aggregated_roles: false,
            ignore_resource_status_field: default_status_field(),
            ignore_differences_on_resource_updates: true,
        }
    }
}

/// The settings of `argocd-cm`, resolved with Argo CD's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoCdConfig {
    /// External URL of the UI/API (`url`).
    pub url: Option<String>,
    /// `timeout.reconciliation` (default 120 s; 0 disables periodic refresh).
    #[serde(with = "secs")]
    pub reconciliation_timeout: Duration,
    /// `timeout.reconciliation.jitter` (default 60 s).
    #[serde(with = "secs")]
    pub reconciliation_jitter: Duration,
    /// Resource tracking.
    pub tracking: TrackingSettings,
    /// `resource.exclusions`.
    pub resource_exclusions: Vec<ResourceFilter>,
    /// `resource.inclusions`.
    pub resource_inclusions: Vec<ResourceFilter>,
    /// `resource.compareoptions`.
    pub compare_options: CompareOptions,
    /// `accounts.<name>`.
    pub accounts: BTreeMap<String, Account>,
    /// `admin.enabled` (default true).
    pub admin_enabled: bool,
    /// `users.anonymous.enabled` (default false).
    pub anonymous_enabled: bool,
    /// `users.session.duration` (default 24 h).
    #[serde(with = "secs")]
    pub session_duration: Duration,
    /// `oidc.config`, parsed.
    pub oidc_config: Option<Value>,
    /// `dex.config` is set.
    pub dex_configured: bool,
    /// `statusbadge.enabled` (default false).
    pub status_badge_enabled: bool,
    /// `exec.enabled` (default false).
    pub exec_enabled: bool,
    /// `cluster.inClusterEnabled` (default true).
    pub in_cluster_enabled: bool,
    /// `kustomize.buildOptions`.
    pub kustomize_build_options: Option<String>,
    /// `helm.valuesFileSchemes` (default `https, http`).
    pub helm_values_file_schemes: Vec<String>,
    /// `webhook.refresh.jitter` (default 0).
    #[serde(with = "secs")]
    pub webhook_refresh_jitter: Duration,
    /// `webhook.maxPayloadSizeMB`: the largest webhook payload accepted, in bytes (unset: the API
    /// server's own limit).
    pub webhook_max_payload_bytes: Option<u64>,
    /// Every `resource.customizations*` key with its raw value (health Lua, actions,
    /// ignoreDifferences, ignoreResourceUpdates, knownTypeFields), for the diff and health engines.
    pub resource_customizations: BTreeMap<String, String>,
    /// Every key as written.
    pub raw: BTreeMap<String, String>,
}

mod secs {
    use std::time::Duration;

    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", d.as_secs_f64()))
    }
}

impl Default for ArgoCdConfig {
    fn default() -> Self {
        ArgoCdConfig {
            url: None,
            reconciliation_timeout: Duration::from_secs(120),
            reconciliation_jitter: Duration::from_secs(60),
            tracking: TrackingSettings::default(),
            resource_exclusions: Vec::new(),
            resource_inclusions: Vec::new(),
            compare_options: CompareOptions::default(),
            accounts: BTreeMap::new(),
            admin_enabled: true,
            anonymous_enabled: false,
            session_duration: Duration::from_secs(24 * 3600),
            oidc_config: None,
            dex_configured: false,
            status_badge_enabled: false,
            exec_enabled: false,
            in_cluster_enabled: true,
            kustomize_build_options: None,
            helm_values_file_schemes: vec!["https".to_string(), "http".to_string()],
            webhook_refresh_jitter: Duration::ZERO,
            webhook_max_payload_bytes: None,
            resource_customizations: BTreeMap::new(),
            raw: BTreeMap::new(),
        }
    }
}

fn duration_key(
    object: &str,
    data: &BTreeMap<String, String>,
    key: &str,
    default: Duration,
) -> Result<Duration, SettingsError> {
    match data.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(text) => {
            parse_duration(text).map_err(|e| SettingsError::key(object, key, e.to_string()))
        }
    }
}

/// Parses a YAML value held in a ConfigMap key.
fn yaml_key<T: serde::de::DeserializeOwned>(
    object: &str,
    key: &str,
    text: &str,
) -> Result<T, SettingsError> {
    let docs = capstan_yaml::parse_stream(text).map_err(|e| {
        SettingsError::key(
            object,
            key,
            format!("malformed YAML at {}: {}", e.position, e.message),
        )
    })?;
    let value = docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    let value = if value.is_null() {
        Value::Array(Vec::new())
    } else {
        value
    };
    capstan_types::decode(&value).map_err(|e| SettingsError::key(object, key, e.to_string()))
}

impl ArgoCdConfig {
    /// Reads `argocd-cm` (a ConfigMap as JSON).
    pub fn from_config_map(obj: &Value) -> Result<ArgoCdConfig, SettingsError> {
        let object = describe(obj);
        let data = config_map_data(obj)?;
        Self::from_data(&object, &data)
    }

    /// Reads `argocd-cm` from its data map.
    pub fn from_data(
        object: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<ArgoCdConfig, SettingsError> {
        let defaults = ArgoCdConfig::default();
        let text = |k: &str| {
            data.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let method = match text("application.resourceTrackingMethod") {
            None => TrackingMethod::Annotation,
            Some(m) => m.parse().map_err(|e: capstan_types::UnknownValue| {
                SettingsError::key(object, "application.resourceTrackingMethod", e.to_string())
            })?,
        };
        let instance_label_key = text("application.instanceLabelKey")
            .unwrap_or_else(|| DEFAULT_INSTANCE_LABEL.to_string());
        let mut accounts = BTreeMap::new();
        for (key, value) in data {
            let Some(name) = key.strip_prefix("accounts.") else {
                continue;
            };
            if name.ends_with(".enabled")
                || name.ends_with(".tokens")
                || name.ends_with(".password")
            {
                continue;
            }
            let mut capabilities = Vec::new();
            for cap in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                capabilities.push(match cap {
                    "login" => AccountCapability::Login,
                    "apiKey" => AccountCapability::ApiKey,
                    other => {
                        return Err(SettingsError::key(
                            object,
                            key,
                            format!("unknown capability {other:?}; expected login and/or apiKey"),
                        ));
                    }
                });
            }
            let enabled = parse_bool(object, data, &format!("accounts.{name}.enabled"), true)?;
            accounts.insert(
                name.to_string(),
                Account {
                    capabilities,
                    enabled,
                },
            );
        }
        let oidc_config = match text("oidc.config") {
            None => None,
            Some(t) => {
                let value: Value = yaml_key(object, "oidc.config", &t)?;
                if !value.is_object() {
                    return Err(SettingsError::key(
                        object,
                        "oidc.config",
                        "must be a YAML map",
                    ));
                }
                Some(value)
            }
        };
        Ok(ArgoCdConfig {
            url: text("url"),
            reconciliation_timeout: duration_key(
                object,
                data,
                "timeout.reconciliation",
                defaults.reconciliation_timeout,
            )?,
            reconciliation_jitter: duration_key(
                object,
                data,
                "timeout.reconciliation.jitter",
                defaults.reconciliation_jitter,
            )?,
            tracking: TrackingSettings {
                method,
                instance_label_key,
            },
            resource_exclusions: match text("resource.exclusions") {
                Some(t) => yaml_key(object, "resource.exclusions", &t)?,
                None => Vec::new(),
            },
            resource_inclusions: match text("resource.inclusions") {
                Some(t) => yaml_key(object, "resource.inclusions", &t)?,
                None => Vec::new(),
            },
            compare_options: match text("resource.compareoptions") {
                Some(t) => {
                    let value: Value = yaml_key(object, "resource.compareoptions", &t)?;
                    capstan_types::decode(&value).map_err(|e| {
                        SettingsError::key(object, "resource.compareoptions", e.to_string())
                    })?
                }
                None => CompareOptions::default(),
            },
            accounts,
            admin_enabled: parse_bool(object, data, "admin.enabled", true)?,
            anonymous_enabled: parse_bool(object, data, "users.anonymous.enabled", false)?,
            session_duration: duration_key(
                object,
                data,
                "users.session.duration",
                defaults.session_duration,
            )?,
            oidc_config,
            dex_configured: text("dex.config").is_some(),
            status_badge_enabled: parse_bool(object, data, "statusbadge.enabled", false)?,
            exec_enabled: parse_bool(object, data, "exec.enabled", false)?,
            in_cluster_enabled: parse_bool(object, data, "cluster.inClusterEnabled", true)?,
            kustomize_build_options: text("kustomize.buildOptions"),
            helm_values_file_schemes: text("helm.valuesFileSchemes")
                .map(|s| {
                    s.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or(defaults.helm_values_file_schemes),
            webhook_refresh_jitter: duration_key(
                object,
                data,
                "webhook.refresh.jitter",
                Duration::ZERO,
            )?,
            webhook_max_payload_bytes: match text("webhook.maxPayloadSizeMB") {
                None => None,
                Some(v) => Some(
                    v.parse::<u64>()
                        .ok()
                        .filter(|mb| *mb > 0)
                        .ok_or_else(|| {
                            SettingsError::key(
                                object,
                                "webhook.maxPayloadSizeMB",
                                format!("{v:?} is not a positive whole number of megabytes"),
                            )
                        })?
                        .saturating_mul(1024 * 1024),
                ),
            },
            resource_customizations: data
                .iter()
                .filter(|(k, _)| k.starts_with("resource.customizations"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            raw: data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_argo_cd_v3() {
        let cfg = ArgoCdConfig::from_data("ConfigMap/argocd/argocd-cm", &BTreeMap::new()).unwrap();
        assert_eq!(cfg.reconciliation_timeout, Duration::from_secs(120));
        assert_eq!(cfg.reconciliation_jitter, Duration::from_secs(60));
        assert_eq!(cfg.tracking.method, TrackingMethod::Annotation);
        assert_eq!(
            cfg.tracking.instance_label_key,
            "app.kubernetes.io/instance"
        );
        assert!(cfg.admin_enabled && cfg.in_cluster_enabled && !cfg.anonymous_enabled);
    }

    #[test]
    fn webhook_payload_limit() {
        let cfg = ArgoCdConfig::from_data("cm", &data(&[("webhook.maxPayloadSizeMB", "2")]));
        assert_eq!(
            cfg.unwrap().webhook_max_payload_bytes,
            Some(2 * 1024 * 1024)
        );
        for bad in ["0", "-1", "lots", "1.5"] {
            let e = ArgoCdConfig::from_data("cm", &data(&[("webhook.maxPayloadSizeMB", bad)]));
            assert_eq!(
                e.unwrap_err().data_key(),
                Some("webhook.maxPayloadSizeMB"),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_keys() {
        let cfg = ArgoCdConfig::from_data(
            "cm",
            &data(&[
                ("timeout.reconciliation", "180s"),
                ("timeout.reconciliation.jitter", "0"),
                ("application.resourceTrackingMethod", "annotation+label"),
                (
                    "application.instanceLabelKey",
                    "argocd.argoproj.io/instance",
                ),
                ("accounts.alice", "apiKey, login"),
                ("accounts.alice.enabled", "false"),
                (
                    "resource.exclusions",
                    "- apiGroups: ['*']\n  kinds: [Event]\n  clusters: ['*']\n",
                ),
                (
                    "resource.customizations.health.cert-manager.io_Certificate",
                    "return {status='Healthy'}",
                ),
                ("resource.compareoptions", "ignoreAggregatedRoles: true\n"),
                (
                    "oidc.config",
                    "name: Okta\nissuer: https://example.okta.com\nclientID: x\n",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.reconciliation_timeout, Duration::from_secs(180));
        assert_eq!(cfg.reconciliation_jitter, Duration::ZERO);
        assert_eq!(cfg.tracking.method, TrackingMethod::AnnotationAndLabel);
        let alice = &cfg.accounts["alice"];
        assert_eq!(
            alice.capabilities,
            [AccountCapability::ApiKey, AccountCapability::Login]
        );
        assert!(!alice.enabled);
        assert_eq!(cfg.resource_exclusions[0].kinds, ["Event"]);
        assert!(cfg.compare_options.ignore_aggregated_roles);
        assert_eq!(cfg.resource_customizations.len(), 1);
        assert_eq!(
            cfg.oidc_config.unwrap()["issuer"],
            "https://example.okta.com"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("timeout.reconciliation", "2x"),
            ("application.resourceTrackingMethod", "labels"),
            ("accounts.bob", "login, sudo"),
            ("resource.exclusions", "- kinds: [Event\n"),
            ("admin.enabled", "yes please"),
            ("oidc.config", "- a\n"),
        ] {
            let err = ArgoCdConfig::from_data("cm", &data(&[(key, value)])).unwrap_err();
            assert_eq!(err.data_key(), Some(key), "{err}");
        }
    }
}
