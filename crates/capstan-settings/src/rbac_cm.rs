//! `argocd-rbac-cm`: the RBAC policy.

use std::collections::BTreeMap;

use capstan_rbac::{Enforcer, MatchMode, PolicyError};
use serde_json::Value;

use crate::error::SettingsError;
use crate::object::{config_map_data, describe};

/// The RBAC settings, with the policy parsed.
#[derive(Debug, Clone)]
pub struct RbacConfig {
    /// The enforcer (built-in policy + `policy.csv` + `policy.*.csv` + default role).
    pub enforcer: Enforcer,
    /// `policy.default` (e.g. `role:readonly`).
    pub default_role: Option<String>,
    /// `scopes`: the token claims used as groups (default `[groups]`).
    pub scopes: Vec<String>,
    /// `policy.matchMode`.
    pub match_mode: MatchMode,
}

impl RbacConfig {
    /// Reads `argocd-rbac-cm` (a ConfigMap as JSON). Every policy line that does not parse is an error.
    pub fn from_config_map(obj: &Value) -> Result<RbacConfig, Vec<SettingsError>> {
        let object = describe(obj);
        let data = config_map_data(obj).map_err(|e| vec![e])?;
        Self::from_data(&object, &data)
    }

    /// Reads `argocd-rbac-cm` from its data map.
    pub fn from_data(
        object: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<RbacConfig, Vec<SettingsError>> {
        let match_mode = MatchMode::from_setting(data.get("policy.matchMode").map(String::as_str));
        let default_role = data
            .get("policy.default")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        // policy.csv first, then the overlays policy.<name>.csv in key order, as Argo CD does.
        let mut keys: Vec<&String> = data
            .keys()
            .filter(|k| {
                k.as_str() == "policy.csv" || (k.starts_with("policy.") && k.ends_with(".csv"))
            })
            .collect();
        keys.sort_by_key(|k| (k.as_str() != "policy.csv", k.to_string()));
        let mut enforcer = match Enforcer::new("", default_role.as_deref(), match_mode) {
            Ok(e) => e,
            Err(errors) => return Err(to_settings_errors(object, "built-in policy", errors)),
        };
        let mut errors = Vec::new();
        for key in keys {
            match capstan_rbac::parse_policy(&data[key], match_mode) {
                Ok(lines) => enforcer.extend(lines),
                Err(errs) => errors.extend(to_settings_errors(object, key, errs)),
            }
        }
        let scopes = match data
            .get("scopes")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            None => vec!["groups".to_string()],
            Some(text) => parse_scopes(text).ok_or_else(|| {
                vec![SettingsError::key(
                    object,
                    "scopes",
                    format!("expected a list such as [groups, email], not {text:?}"),
                )]
            })?,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RbacConfig {
            enforcer,
            default_role,
            scopes,
            match_mode,
        })
    }
}

fn to_settings_errors(object: &str, key: &str, errors: Vec<PolicyError>) -> Vec<SettingsError> {
    errors
        .into_iter()
        .map(|e| {
            SettingsError::key(
                object,
                key,
                format!("line {}: {}: {:?}", e.line, e.message, e.text),
            )
        })
        .collect()
}

/// `[groups, email]` or `["groups"]`.
fn parse_scopes(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    Some(
        inner
            .split(',')
            .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_rbac::Request;

    #[test]
    fn policy_with_overlays_and_default() {
        let data: BTreeMap<String, String> = [
            (
                "policy.csv",
                "p, role:ci, applications, sync, */*, allow\ng, ci-bot, role:ci\n",
            ),
            (
                "policy.overlay.csv",
                "p, role:ci, applications, sync, prod/*, deny\n",
            ),
            ("policy.default", "role:readonly"),
            ("scopes", "[groups, email]"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let rbac = RbacConfig::from_data("cm", &data).unwrap();
        assert_eq!(rbac.scopes, ["groups", "email"]);
        let sync = |obj| Request {
            resource: "applications",
            action: "sync",
            object: obj,
        };
        assert!(rbac.enforcer.enforce("ci-bot", &[], sync("dev/a")));
        assert!(!rbac.enforcer.enforce("ci-bot", &[], sync("prod/a")));
        assert!(rbac.enforcer.enforce(
            "anyone",
            &[],
            Request {
                resource: "clusters",
                action: "get",
                object: "x"
            }
        ));
    }

    #[test]
    fn every_bad_line_is_reported_with_its_key() {
        let data: BTreeMap<String, String> = [
            ("policy.csv", "p, role:ci, applications\n"),
            ("policy.extra.csv", "x, y\n"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let errors = RbacConfig::from_data("cm", &data).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].data_key(), Some("policy.csv"));
        assert!(errors[0].to_string().contains("line 1"), "{}", errors[0]);
        assert_eq!(errors[1].data_key(), Some("policy.extra.csv"));
    }
}
