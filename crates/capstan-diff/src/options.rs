//! Diff options: ignoreDifferences rules, compare options, and reading them from argocd-cm data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::DiffError;

/// Prefix of argocd-cm keys holding system-wide ignoreDifferences: `<prefix><group>_<kind>` or `<prefix>all`.
pub const IGNORE_DIFFERENCES_KEY_PREFIX: &str = "resource.customizations.ignoreDifferences.";
/// argocd-cm key of the compare options.
pub const COMPARE_OPTIONS_KEY: &str = "resource.compareoptions";
/// Server-side apply field manager Argo CD uses.
pub const DEFAULT_MANAGER: &str = "argocd-controller";

/// One ignoreDifferences rule (`spec.ignoreDifferences[]` of an Application, or a system-wide entry).
/// `group` and `kind` are globs (`*` matches anything); empty `name`/`namespace` match any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifferencesRule {
    /// API group (`""` for core).
    #[serde(default)]
    pub group: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Object name (empty = any).
    #[serde(default)]
    pub name: String,
    /// Object namespace (empty = any).
    #[serde(default)]
    pub namespace: String,
    /// RFC 6901 pointers to remove before comparing.
    #[serde(default)]
    pub json_pointers: Vec<String>,
    /// jq path expressions to delete before comparing.
    #[serde(default)]
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are not compared.
    #[serde(default)]
    pub managed_fields_managers: Vec<String>,
}

/// `ignoreResourceStatusField` of `resource.compareoptions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusFieldMode {
    /// Ignore `status` of every resource (Argo CD's default).
    #[default]
    #[serde(rename = "all")]
    All,
    /// Ignore `status` of CustomResourceDefinitions only.
    #[serde(rename = "crd")]
    Crd,
    /// Compare `status`.
    #[serde(rename = "off", alias = "none", alias = "false")]
    Off,
}

/// `resource.compareoptions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompareOptions {
    /// Ignore `rules` of ClusterRoles/Roles that have an `aggregationRule`.
    #[serde(default)]
    pub ignore_aggregated_roles: bool,
    /// Which `status` fields are ignored.
    #[serde(default)]
    pub ignore_resource_status_field: StatusFieldMode,
    /// Also apply ignoreDifferences when deciding whether a resource update triggers a refresh.
    #[serde(default)]
    pub ignore_differences_on_resource_updates: bool,
}

/// Options of one comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// ignoreDifferences rules (the Application's and the system-wide ones).
    pub ignore_differences: Vec<IgnoreDifferencesRule>,
    /// Compare options from argocd-cm.
    pub compare: CompareOptions,
    /// Compare against a server-side apply dry run result (the `predicted_live` argument).
    pub server_side_diff: bool,
    /// With server-side diff, keep changes that mutating webhooks made in the dry run.
    pub include_mutation_webhook: bool,
    /// Resources are applied server-side: fields this manager owns and the desired state no longer
    /// sets are differences (they will be removed).
    pub server_side_apply: bool,
    /// Field manager of Capstan's applies.
    pub manager: String,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            ignore_differences: Vec::new(),
            compare: CompareOptions::default(),
            server_side_diff: false,
            include_mutation_webhook: false,
            server_side_apply: false,
            manager: DEFAULT_MANAGER.to_string(),
        }
    }
}

/// The diff-related settings of argocd-cm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemDiffSettings {
    /// System-wide ignoreDifferences rules.
    pub ignore_differences: Vec<IgnoreDifferencesRule>,
    /// `resource.compareoptions`.
    pub compare: CompareOptions,
    /// `resource.sensitive.mask.annotations`: Secret annotations masked in diff output.
    pub mask_annotations: std::collections::BTreeSet<String>,
}

/// argocd-cm key listing Secret annotations to mask (comma separated).
pub const MASK_ANNOTATIONS_KEY: &str = "resource.sensitive.mask.annotations";

#[derive(Deserialize)]
struct LegacyEntry {
    #[serde(rename = "ignoreDifferences", default)]
    ignore_differences: Option<String>,
}

impl SystemDiffSettings {
    /// Reads `resource.customizations.ignoreDifferences.<group>_<kind>` / `.all`, the `ignoreDifferences`
    /// entries of the legacy `resource.customizations` key, and `resource.compareoptions`.
    pub fn from_config_map_data(data: &BTreeMap<String, String>) -> Result<Self, DiffError> {
        let mut settings = SystemDiffSettings::default();
        if let Some(raw) = data.get(MASK_ANNOTATIONS_KEY) {
            settings.mask_annotations = raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(raw) = data.get(COMPARE_OPTIONS_KEY) {
            settings.compare = serde_saphyr::from_str::<Option<CompareOptions>>(raw)
                .map_err(|e| DiffError::Settings {
                    key: COMPARE_OPTIONS_KEY.into(),
                    message: e.to_string(),
                })?
                .unwrap_or_default();
        }
        if let Some(raw) = data.get("resource.customizations") {
            let entries: BTreeMap<String, LegacyEntry> =
                serde_saphyr::from_str(raw).map_err(|e| DiffError::Settings {
                    key: "resource.customizations".into(),
                    message: e.to_string(),
                })?;
            for (group_kind, entry) in entries {
                if let Some(yaml) = entry.ignore_differences {
                    let (group, kind) = split_override_key(&group_kind);
                    let key = format!("resource.customizations[{group_kind}].ignoreDifferences");
                    settings
                        .ignore_differences
                        .push(parse_rule(&key, &yaml, group, kind)?);
                }
            }
        }
        for (key, yaml) in data {
            let Some(suffix) = key.strip_prefix(IGNORE_DIFFERENCES_KEY_PREFIX) else {
                continue;
            };
            let (group, kind) = if suffix == "all" {
                ("*".to_string(), "*".to_string())
            } else {
                let parts: Vec<&str> = suffix.split('_').collect();
                match parts.as_slice() {
                    [group, kind] if !kind.is_empty() => {
                        ((*group).to_string(), (*kind).to_string())
                    }
                    [kind] if !kind.is_empty() => (String::new(), (*kind).to_string()),
                    _ => {
                        return Err(DiffError::Settings {
                            key: key.clone(),
                            message: "expected resource.customizations.ignoreDifferences.<group>_<kind>, .<kind> or .all".into(),
                        });
                    }
                }
            };
            settings
                .ignore_differences
                .push(parse_rule(key, yaml, group, kind)?);
        }
        Ok(settings)
    }

    /// Reads the diff settings of an argocd-cm ConfigMap object (e.g. `--settings argocd-cm.yaml`).
    pub fn from_config_map(config_map: &serde_json::Value) -> Result<Self, DiffError> {
        use serde_json::Value;
        let settings_error = |message: String| DiffError::Settings {
            key: "argocd-cm".into(),
            message,
        };
        let kind = config_map.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ConfigMap" {
            return Err(settings_error(format!(
                "expected a ConfigMap, got kind {kind:?}"
            )));
        }
        let mut data = BTreeMap::new();
        match config_map.get("data") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    match value {
                        Value::String(s) => data.insert(key.clone(), s.clone()),
                        Value::Bool(_) | Value::Number(_) => {
                            data.insert(key.clone(), value.to_string())
                        }
                        other => {
                            return Err(settings_error(format!(
                                "data.{key}: expected a string, got {other}"
                            )));
                        }
                    };
                }
            }
            Some(other) => {
                return Err(settings_error(format!("data: expected a map, got {other}")));
            }
        }
        Self::from_config_map_data(&data)
    }

    /// Options for an application: its own rules followed by the system-wide ones.
    pub fn options_for_app(&self, app_rules: &[IgnoreDifferencesRule]) -> DiffOptions {
        let mut ignore_differences = app_rules.to_vec();
        ignore_differences.extend(self.ignore_differences.iter().cloned());
        DiffOptions {
            ignore_differences,
            compare: self.compare,
            ..DiffOptions::default()
        }
    }
}

fn split_override_key(key: &str) -> (String, String) {
    match key.rsplit_once('/') {
        Some((group, kind)) => (group.to_string(), kind.to_string()),
        None => (String::new(), key.to_string()),
    }
}

fn parse_rule(
    key: &str,
    yaml: &str,
    group: String,
    kind: String,
) -> Result<IgnoreDifferencesRule, DiffError> {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        #[serde(default)]
        json_pointers: Vec<String>,
        #[serde(default)]
        jq_path_expressions: Vec<String>,
        #[serde(default)]
        managed_fields_managers: Vec<String>,
    }
    let body: Option<Body> = serde_saphyr::from_str(yaml).map_err(|e| DiffError::Settings {
        key: key.to_string(),
        message: e.to_string(),
    })?;
    let body = body.unwrap_or_default();
    Ok(IgnoreDifferencesRule {
        group,
        kind,
        name: String::new(),
        namespace: String::new(),
        json_pointers: body.json_pointers,
        jq_path_expressions: body.jq_path_expressions,
        managed_fields_managers: body.managed_fields_managers,
    })
}
