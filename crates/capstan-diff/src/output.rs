//! Diff output: a unified YAML diff for people and a JSON form for the API (Argo CD's `ResourceDiff`).

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use crate::DiffResult;
use std::collections::BTreeSet;

use crate::mask::hide_secret_data_with;

/// YAML text of a JSON value (`""` for null).
pub fn to_yaml(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    serde_saphyr::to_string(value)
        .unwrap_or_else(|_| serde_json::to_string_pretty(value).unwrap_or_default())
}

/// A unified diff (3 lines of context) from the normalised live object to the predicted live object,
/// with Secret values masked. Empty when there is no difference.
pub fn unified_yaml_diff(result: &DiffResult, label: &str) -> String {
    unified_yaml_diff_with(result, label, &BTreeSet::new())
}

/// [`unified_yaml_diff`], also masking the given Secret annotations (`resource.sensitive.mask.annotations`).
pub fn unified_yaml_diff_with(
    result: &DiffResult,
    label: &str,
    hide_annotations: &BTreeSet<String>,
) -> String {
    let (predicted, live) = hide_secret_data_with(
        as_option(&result.predicted_live),
        as_option(&result.normalized_live),
        hide_annotations,
    );
    let live_yaml = live.as_ref().map(to_yaml).unwrap_or_default();
    let predicted_yaml = predicted.as_ref().map(to_yaml).unwrap_or_default();
    if live_yaml == predicted_yaml {
        return String::new();
    }
    TextDiff::from_lines(&live_yaml, &predicted_yaml)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (live)"), &format!("{label} (desired)"))
        .to_string()
}

fn as_option(v: &Value) -> Option<&Value> {
    if v.is_null() { None } else { Some(v) }
}

/// The JSON form of one resource's diff, with Secret values masked. States are JSON texts (`"null"`
/// when absent), as in Argo CD's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiffJson {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The desired object.
    pub target_state: String,
    /// The live object.
    pub live_state: String,
    /// The normalised live object.
    pub normalized_live_state: String,
    /// The predicted live object.
    pub predicted_live_state: String,
    /// Whether they differ.
    pub modified: bool,
    /// The unified YAML diff.
    pub diff: String,
}

/// Builds the JSON form from the inputs and the result.
pub fn resource_diff_json(
    desired: Option<&Value>,
    live: Option<&Value>,
    result: &DiffResult,
) -> ResourceDiffJson {
    resource_diff_json_with(desired, live, result, &BTreeSet::new())
}

/// [`resource_diff_json`], also masking the given Secret annotations (`resource.sensitive.mask.annotations`).
pub fn resource_diff_json_with(
    desired: Option<&Value>,
    live: Option<&Value>,
    result: &DiffResult,
    hide_annotations: &BTreeSet<String>,
) -> ResourceDiffJson {
    let identity = desired.or(live).cloned().unwrap_or(Value::Null);
    let field = |path: &str| {
        identity
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let api_version = field("/apiVersion");
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    let (target, live) = hide_secret_data_with(desired, live, hide_annotations);
    let (predicted, normalized) = hide_secret_data_with(
        as_option(&result.predicted_live),
        as_option(&result.normalized_live),
        hide_annotations,
    );
    let text = |v: Option<Value>| {
        v.map(|v| v.to_string())
            .unwrap_or_else(|| "null".to_string())
    };
    let name = field("/metadata/name");
    ResourceDiffJson {
        diff: unified_yaml_diff_with(
            result,
            &format!("{}/{}", field("/kind"), name),
            hide_annotations,
        ),
        group,
        kind: field("/kind"),
        namespace: field("/metadata/namespace"),
        name,
        target_state: text(target),
        live_state: text(live),
        normalized_live_state: text(normalized),
        predicted_live_state: text(predicted),
        modified: result.modified,
    }
}
