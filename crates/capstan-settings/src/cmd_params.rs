//! `argocd-cmd-params-cm`: parameters of the controller, repo server and API server.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_types::duration::parse_duration;
use serde::Serialize;
use serde_json::Value;

use crate::error::SettingsError;
use crate::object::{config_map_data, describe, parse_bool};

/// The parameters Capstan honours, with Argo CD's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CmdParams {
    /// `controller.status.processors` (20).
    pub status_processors: u32,
    /// `controller.operation.processors` (10).
    pub operation_processors: u32,
    /// `controller.repo.server.timeout.seconds` (60).
    pub repo_server_timeout_seconds: u64,
    /// `controller.sync.timeout.seconds` (0 = none).
    pub sync_timeout_seconds: u64,
    /// `controller.sharding.algorithm` (`legacy`).
    pub sharding_algorithm: String,
    /// `controller.kubectl.parallelism.limit` (20).
    pub kubectl_parallelism_limit: u32,
    /// `controller.diff.server.side` (false).
    pub server_side_diff: bool,
    /// `reposerver.parallelism.limit` (0 = unlimited).
    pub repo_server_parallelism_limit: u32,
    /// `reposerver.repo.cache.expiration` (24 h).
    #[serde(skip)]
    pub repo_cache_expiration: Duration,
    /// `reposerver.git.request.timeout` (15 s).
    #[serde(skip)]
    pub git_request_timeout: Duration,
    /// `application.namespaces`: extra namespaces Applications may live in.
    pub application_namespaces: Vec<String>,
    /// `server.insecure` (false): serve plain HTTP.
    pub server_insecure: bool,
    /// Every key as written.
    pub raw: BTreeMap<String, String>,
}

impl Default for CmdParams {
    fn default() -> Self {
        CmdParams {
            status_processors: 20,
            operation_processors: 10,
            repo_server_timeout_seconds: 60,
            sync_timeout_seconds: 0,
            sharding_algorithm: "legacy".to_string(),
            kubectl_parallelism_limit: 20,
            server_side_diff: false,
            repo_server_parallelism_limit: 0,
            repo_cache_expiration: Duration::from_secs(24 * 3600),
            git_request_timeout: Duration::from_secs(15),
            application_namespaces: Vec::new(),
            server_insecure: false,
            raw: BTreeMap::new(),
        }
    }
}

fn number<T: std::str::FromStr>(
    object: &str,
    data: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, SettingsError> {
    match data.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            SettingsError::key(
                object,
                key,
                format!("expected a non-negative integer, found {text:?}"),
            )
        }),
    }
}

impl CmdParams {
    /// Reads `argocd-cmd-params-cm` (a ConfigMap as JSON).
    pub fn from_config_map(obj: &Value) -> Result<CmdParams, SettingsError> {
        Self::from_data(&describe(obj), &config_map_data(obj)?)
    }

    /// Reads `argocd-cmd-params-cm` from its data map.
    pub fn from_data(
        object: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<CmdParams, SettingsError> {
        let d = CmdParams::default();
        let algorithm = data
            .get("controller.sharding.algorithm")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or(d.sharding_algorithm);
        if !matches!(
            algorithm.as_str(),
            "legacy" | "round-robin" | "consistent-hashing"
        ) {
            return Err(SettingsError::key(
                object,
                "controller.sharding.algorithm",
                format!("must be legacy, round-robin or consistent-hashing, not {algorithm:?}"),
            ));
        }
        let duration = |key: &str, default: Duration| -> Result<Duration, SettingsError> {
            match data.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                None => Ok(default),
                Some(t) => {
                    parse_duration(t).map_err(|e| SettingsError::key(object, key, e.to_string()))
                }
            }
        };
        Ok(CmdParams {
            status_processors: number(
                object,
                data,
                "controller.status.processors",
                d.status_processors,
            )?,
            operation_processors: number(
                object,
                data,
                "controller.operation.processors",
                d.operation_processors,
            )?,
            repo_server_timeout_seconds: number(
                object,
                data,
                "controller.repo.server.timeout.seconds",
                d.repo_server_timeout_seconds,
            )?,
            sync_timeout_seconds: number(
                object,
                data,
                "controller.sync.timeout.seconds",
                d.sync_timeout_seconds,
            )?,
            sharding_algorithm: algorithm,
            kubectl_parallelism_limit: number(
                object,
                data,
                "controller.kubectl.parallelism.limit",
                d.kubectl_parallelism_limit,
            )?,
            server_side_diff: parse_bool(object, data, "controller.diff.server.side", false)?,
            repo_server_parallelism_limit: number(object, data, "reposerver.parallelism.limit", 0)?,
            repo_cache_expiration: duration(
                "reposerver.repo.cache.expiration",
                d.repo_cache_expiration,
            )?,
            git_request_timeout: duration("reposerver.git.request.timeout", d.git_request_timeout)?,
            application_namespaces: data
                .get("application.namespaces")
                .map(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            server_insecure: parse_bool(object, data, "server.insecure", false)?,
            raw: data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let d = CmdParams::from_data("cm", &BTreeMap::new()).unwrap();
        assert_eq!((d.status_processors, d.operation_processors), (20, 10));
        assert_eq!(d.repo_server_timeout_seconds, 60);
        assert_eq!(d.git_request_timeout, Duration::from_secs(15));
        let data: BTreeMap<String, String> = [
            ("controller.status.processors", "50"),
            ("controller.sharding.algorithm", "round-robin"),
            ("application.namespaces", "team-a, team-b"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let p = CmdParams::from_data("cm", &data).unwrap();
        assert_eq!(p.status_processors, 50);
        assert_eq!(p.application_namespaces, ["team-a", "team-b"]);
        let bad: BTreeMap<String, String> = [(
            "controller.status.processors".to_string(),
            "many".to_string(),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            CmdParams::from_data("cm", &bad).unwrap_err().data_key(),
            Some("controller.status.processors")
        );
    }
}
