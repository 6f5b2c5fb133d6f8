//! Custom health checks in Lua, configured as in Argo CD's argocd-cm.

use std::collections::BTreeMap;
use std::str::FromStr;

use capstan_lua::{Limits, Sandbox, config_key, override_key};
use capstan_types::HealthStatus;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde_json::Value;

use crate::HealthResult;

/// Prefix of argocd-cm keys holding a health script: `resource.customizations.health.<group>_<kind>`.
pub const HEALTH_KEY_PREFIX: &str = "resource.customizations.health.";
/// The legacy key holding a YAML map `group/Kind -> {health.lua, ...}` (the only form accepting wildcards).
const LEGACY_KEY: &str = "resource.customizations";

/// An error in a health customization entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// The key's group/kind suffix is malformed.
    #[error("argocd-cm key {key:?}: {message}")]
    InvalidKey {
        /// The argocd-cm key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The legacy `resource.customizations` value is not valid YAML of the expected shape.
    #[error("argocd-cm key {key:?}: invalid YAML: {message}")]
    InvalidYaml {
        /// The argocd-cm key.
        key: String,
        /// The parser's message.
        message: String,
    },
    /// A wildcard group/kind is not a valid glob.
    #[error("health customization {key:?}: invalid wildcard: {message}")]
    InvalidPattern {
        /// The `group/Kind` key.
        key: String,
        /// The glob error.
        message: String,
    },
}

/// Lua health checks by `group/Kind` (`Kind` for the core group); keys may contain glob wildcards.
/// Exact keys are tried first, then wildcard keys in lexical order.
#[derive(Debug, Clone, Default)]
pub struct HealthOverrides {
    exact: BTreeMap<String, String>,
    wildcards: Vec<(String, GlobMatcher, String)>,
    sandbox: Sandbox,
}

#[derive(Deserialize)]
struct LegacyEntry {
    #[serde(rename = "health.lua", default)]
    health_lua: Option<String>,
}

impl HealthOverrides {
    /// No overrides, default sandbox limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses the given limits for every script.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.sandbox = Sandbox::new(limits);
        self
    }

    /// Reads `resource.customizations.health.<group>_<kind>` keys and `health.lua` entries of the legacy
    /// `resource.customizations` key from argocd-cm's data.
    pub fn from_config_map_data(data: &BTreeMap<String, String>) -> Result<Self, OverrideError> {
        let mut overrides = HealthOverrides::new();
        if let Some(legacy) = data.get(LEGACY_KEY) {
            let entries: BTreeMap<String, LegacyEntry> =
                serde_saphyr::from_str(legacy).map_err(|e| OverrideError::InvalidYaml {
                    key: LEGACY_KEY.into(),
                    message: e.to_string(),
                })?;
            for (key, entry) in entries {
                if let Some(script) = entry.health_lua.filter(|s| !s.trim().is_empty()) {
                    overrides.insert(&key, script)?;
                }
            }
        }
        for (key, script) in data {
            let Some(group_kind) = key.strip_prefix(HEALTH_KEY_PREFIX) else {
                continue;
            };
            let override_key =
                override_key(group_kind).map_err(|message| OverrideError::InvalidKey {
                    key: key.clone(),
                    message,
                })?;
            overrides.insert(&override_key, script.clone())?;
        }
        Ok(overrides)
    }

    /// Reads the health customizations of an argocd-cm ConfigMap object (e.g. `--settings argocd-cm.yaml`).
    pub fn from_config_map(config_map: &Value) -> Result<Self, OverrideError> {
        let data = capstan_lua::config_map_data(config_map).map_err(|message| {
            OverrideError::InvalidKey {
                key: "argocd-cm".into(),
                message,
            }
        })?;
        Self::from_config_map_data(&data)
    }

    /// Adds a script for `group/Kind` (or `Kind`), which may contain wildcards such as `*.crossplane.io/*`.
    pub fn insert(&mut self, key: &str, script: impl Into<String>) -> Result<(), OverrideError> {
        let script = script.into();
        if key.contains(['*', '?', '[', '{']) {
            let matcher = Glob::new(key)
                .map_err(|e| OverrideError::InvalidPattern {
                    key: key.to_string(),
                    message: e.to_string(),
                })?
                .compile_matcher();
            self.wildcards.retain(|(k, _, _)| k != key);
            self.wildcards.push((key.to_string(), matcher, script));
            self.wildcards.sort_by(|a, b| a.0.cmp(&b.0));
        } else {
            self.exact.insert(key.to_string(), script);
        }
        Ok(())
    }

    /// True when no script is configured.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcards.is_empty()
    }

    /// The script that applies to a group and kind.
    pub fn script_for(&self, group: &str, kind: &str) -> Option<&str> {
        let key = config_key(group, kind);
        if let Some(script) = self.exact.get(&key) {
            return Some(script);
        }
        self.wildcards
            .iter()
            .find(|(_, matcher, _)| matcher.is_match(&key))
            .map(|(_, _, s)| s.as_str())
    }

    /// Runs the applicable script; `None` when no script applies. Script errors give `Unknown` with the
    /// error as message.
    pub(crate) fn assess(&self, group: &str, kind: &str, obj: &Value) -> Option<HealthResult> {
        let script = self.script_for(group, kind)?;
        Some(match self.sandbox.health(script, obj) {
            Ok(health) => {
                let status =
                    HealthStatus::from_str(&health.status).unwrap_or(HealthStatus::Unknown);
                HealthResult::new(status, health.message)
            }
            Err(error) => HealthResult::new(HealthStatus::Unknown, error.to_string()),
        })
    }
}
