//! Resource actions (Argo CD's `resource.customizations.actions.<group_kind>`): discovery and execution.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LuaError;
use crate::sandbox::Sandbox;

/// Prefix of the argocd-cm keys holding action definitions.
pub const ACTIONS_KEY_PREFIX: &str = "resource.customizations.actions.";

/// The YAML value of an actions key: a discovery script and named action scripts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceActions {
    /// Script returning the table of available actions.
    #[serde(rename = "discovery.lua", default)]
    pub discovery_lua: String,
    /// Named action scripts.
    #[serde(default)]
    pub definitions: Vec<ActionDefinition>,
    /// Whether built-in actions of the kind stay available next to these.
    #[serde(rename = "mergeBuiltinActions", default)]
    pub merge_builtin_actions: bool,
}

/// One named action script.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDefinition {
    /// Action name (as returned by discovery).
    pub name: String,
    /// Script returning the modified object, or a list of impacted resources.
    #[serde(rename = "action.lua", default)]
    pub action_lua: String,
}

/// An available action, as discovery reports it (Argo CD's `ResourceAction`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAction {
    /// Action name.
    #[serde(default)]
    pub name: String,
    /// Parameters the action accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ResourceActionParam>,
    /// Whether the action is currently disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// UI icon class.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon_class: String,
    /// UI display name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
}

/// A parameter of an action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceActionParam {
    /// Parameter name.
    #[serde(default)]
    pub name: String,
    /// Value given by the user.
    #[serde(default)]
    pub value: String,
    /// Parameter type (e.g. `string`).
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Default value.
    #[serde(default)]
    pub default: String,
}

/// What to do with an object an action returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum K8sOperation {
    /// Patch the existing object.
    #[serde(rename = "patch")]
    Patch,
    /// Create a new object.
    #[serde(rename = "create")]
    Create,
}

/// One object an action returned, with the operation to perform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactedResource {
    /// The object.
    #[serde(rename = "resource")]
    pub resource: Value,
    /// The operation.
    #[serde(rename = "operation")]
    pub operation: K8sOperation,
}

/// Action definitions per `group/Kind` (or `Kind` for the core group).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionOverrides {
    by_key: BTreeMap<String, ResourceActions>,
}

impl ActionOverrides {
    /// Reads every `resource.customizations.actions.<group>_<kind>` key of argocd-cm's data, and the
    /// `actions` field of entries of the legacy `resource.customizations` key.
    pub fn from_config_map_data(data: &BTreeMap<String, String>) -> Result<Self, LuaError> {
        let mut by_key = BTreeMap::new();
        if let Some(legacy) = data.get("resource.customizations") {
            let entries: BTreeMap<String, LegacyEntry> =
                serde_saphyr::from_str(legacy).map_err(|e| LuaError::Config {
                    key: "resource.customizations".into(),
                    message: e.to_string(),
                })?;
            for (key, entry) in entries {
                if let Some(actions) = entry.actions {
                    by_key.insert(
                        key.clone(),
                        parse_actions(&format!("resource.customizations[{key}]"), &actions)?,
                    );
                }
            }
        }
        for (key, value) in data {
            let Some(group_kind) = key.strip_prefix(ACTIONS_KEY_PREFIX) else {
                continue;
            };
            let override_key = override_key(group_kind).map_err(|message| LuaError::Config {
                key: key.clone(),
                message,
            })?;
            by_key.insert(override_key, parse_actions(key, value)?);
        }
        Ok(ActionOverrides { by_key })
    }

    /// Reads the actions of an argocd-cm ConfigMap object.
    pub fn from_config_map(config_map: &Value) -> Result<Self, LuaError> {
        let data = config_map_data(config_map).map_err(|message| LuaError::Config {
            key: "argocd-cm".into(),
            message,
        })?;
        Self::from_config_map_data(&data)
    }

    /// The built-in actions (Deployment, StatefulSet, DaemonSet, CronJob) with the configured ones on
    /// top: a configured kind replaces its built-in actions unless it sets `mergeBuiltinActions: true`,
    /// in which case configured actions are added (and win over built-in ones of the same name).
    pub fn with_builtin(self) -> Self {
        let mut by_key: BTreeMap<String, ResourceActions> =
            crate::builtin_actions::builtin_action_sets()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        for (key, configured) in self.by_key {
            match by_key.get_mut(&key) {
                Some(builtin) if configured.merge_builtin_actions => {
                    for def in configured.definitions {
                        builtin.definitions.retain(|d| d.name != def.name);
                        builtin.definitions.push(def);
                    }
                    if !configured.discovery_lua.trim().is_empty() {
                        builtin.discovery_lua =
                            merged_discovery(&builtin.discovery_lua, &configured.discovery_lua);
                    }
                }
                _ => {
                    by_key.insert(key, configured);
                }
            }
        }
        ActionOverrides { by_key }
    }

    /// Adds or replaces the actions of `group/Kind`.
    pub fn insert(&mut self, group: &str, kind: &str, actions: ResourceActions) {
        self.by_key.insert(config_key(group, kind), actions);
    }

    /// The actions configured for a group and kind.
    pub fn get(&self, group: &str, kind: &str) -> Option<&ResourceActions> {
        self.by_key.get(&config_key(group, kind))
    }

    /// The script of the named action of a group and kind.
    pub fn action_script(&self, group: &str, kind: &str, name: &str) -> Option<&str> {
        self.get(group, kind)?
            .definitions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.action_lua.as_str())
    }
}

/// A discovery script returning the union of two discovery scripts' tables (the second wins).
fn merged_discovery(first: &str, second: &str) -> String {
    format!(
        "local function __capstan_first()\n{first}\nend\nlocal function __capstan_second()\n{second}\nend\n\
         local merged = __capstan_first() or {{}}\nfor k, v in pairs(__capstan_second() or {{}}) do merged[k] = v end\nreturn merged\n"
    )
}

#[derive(Deserialize)]
struct LegacyEntry {
    #[serde(default)]
    actions: Option<String>,
}

fn parse_actions(key: &str, yaml: &str) -> Result<ResourceActions, LuaError> {
    serde_saphyr::from_str(yaml).map_err(|e| LuaError::Config {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// The `data` of a ConfigMap object (e.g. a parsed argocd-cm.yaml) as a string map.
pub fn config_map_data(config_map: &Value) -> Result<BTreeMap<String, String>, String> {
    let kind = config_map.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "ConfigMap" {
        return Err(format!("expected a ConfigMap, got kind {kind:?}"));
    }
    let mut out = BTreeMap::new();
    match config_map.get("data") {
        None | Some(Value::Null) => {}
        Some(Value::Object(data)) => {
            for (key, value) in data {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    other => return Err(format!("data.{key}: expected a string, got {other}")),
                };
                out.insert(key.clone(), text);
            }
        }
        Some(other) => return Err(format!("data: expected a map, got {other}")),
    }
    Ok(out)
}

/// Argo CD's override key: `Kind` for the core group, `group/Kind` otherwise.
pub fn config_key(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    }
}

/// Converts the `<group>_<kind>` (or `<kind>`) suffix of an argocd-cm key to `group/Kind`.
pub fn override_key(group_kind: &str) -> Result<String, String> {
    let parts: Vec<&str> = group_kind.split('_').collect();
    match parts.as_slice() {
        [group, kind] if !kind.is_empty() => Ok(format!("{group}/{kind}")),
        [kind] if !kind.is_empty() => Ok((*kind).to_string()),
        _ => Err(format!(
            "expected resource.customizations.<type>.<group>_<kind> or resource.customizations.<type>.<kind>, got {group_kind:?}"
        )),
    }
}

impl Sandbox {
    /// Runs a discovery script: it returns a table of action name -> `{}` or `{disabled=..., params=...,
    /// iconClass=..., displayName=...}`. Actions are returned sorted by name.
    pub fn discover_actions(
        &self,
        script: &str,
        obj: &Value,
    ) -> Result<Vec<ResourceAction>, LuaError> {
        let out = self.run_with(script, obj, &[])?;
        let value = match out.value {
            Some(v) if out.lua_type == "table" => v,
            _ => {
                return Err(LuaError::ReturnType {
                    expected: "table",
                    got: out.lua_type.to_string(),
                });
            }
        };
        let map = match value {
            Value::Array(items) if items.is_empty() => return Ok(Vec::new()),
            Value::Object(map) => map,
            other => {
                return Err(LuaError::Output(format!(
                    "discovery must return a table of actions, got {other}"
                )));
            }
        };
        let mut actions = Vec::new();
        for (name, spec) in map {
            let mut action = match spec {
                Value::Object(fields) => {
                    serde_json::from_value::<ResourceAction>(Value::Object(fields))
                        .map_err(|e| LuaError::Output(format!("action {name:?}: {e}")))?
                }
                Value::Array(_) | Value::Null => ResourceAction::default(),
                other => {
                    return Err(LuaError::Output(format!(
                        "action {name:?}: expected a table, got {other}"
                    )));
                }
            };
            action.name = name;
            actions.push(action);
        }
        actions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(actions)
    }

    /// Runs an action script with `obj` and the global `actionParams` (name -> value). A returned object
    /// is a patch of `obj`; a returned list holds `{resource=..., operation="patch"|"create"}` entries.
    /// Empty tables that replaced maps of `obj` are turned back into maps (Argo CD's `cleanReturnedObj`).
    pub fn run_action(
        &self,
        script: &str,
        obj: &Value,
        params: &BTreeMap<String, String>,
    ) -> Result<Vec<ImpactedResource>, LuaError> {
        let params_value =
            serde_json::to_value(params).map_err(|e| LuaError::Output(e.to_string()))?;
        let out = self.run_with(script, obj, &[("actionParams", &params_value)])?;
        let value = match out.value {
            Some(v) if out.lua_type == "table" => v,
            _ => {
                return Err(LuaError::ReturnType {
                    expected: "table",
                    got: out.lua_type.to_string(),
                });
            }
        };
        let mut impacted = match value {
            Value::Array(items) if !items.is_empty() => serde_json::from_value::<
                Vec<ImpactedResource>,
            >(Value::Array(items))
            .map_err(|e| {
                LuaError::Output(format!(
                    "action returned an invalid list of impacted resources: {e}"
                ))
            })?,
            Value::Object(map) => vec![ImpactedResource {
                resource: Value::Object(map),
                operation: K8sOperation::Patch,
            }],
            _ => {
                return Err(LuaError::Output(
                    "Lua output was not a valid json object or array".into(),
                ));
            }
        };
        for item in &mut impacted {
            if item.operation == K8sOperation::Patch {
                clean_returned(&mut item.resource, obj);
            }
        }
        Ok(impacted)
    }
}

/// Lua cannot tell an empty map from an empty list: where `original` had a map and the script returned
/// an empty list, put the original map back; recurse into maps and lists.
fn clean_returned(new: &mut Value, original: &Value) {
    match (new, original) {
        (Value::Object(new_map), Value::Object(old_map)) => {
            for (key, old_value) in old_map {
                if let Some(new_value) = new_map.get_mut(key) {
                    match (&*new_value, old_value) {
                        (Value::Array(items), Value::Object(_)) if items.is_empty() => {
                            *new_value = old_value.clone()
                        }
                        _ => clean_returned(new_value, old_value),
                    }
                }
            }
        }
        (Value::Array(new_items), Value::Array(old_items)) => {
            for (new_item, old_item) in new_items.iter_mut().zip(old_items) {
                clean_returned(new_item, old_item);
            }
        }
        _ => {}
    }
}
