//! `ApplicationSet`: a template and generators that produce Applications.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::application::{ApplicationCondition, ApplicationSpec};
use crate::meta::{Extra, ObjectMeta};

/// An ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSet {
    /// `argoproj.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `ApplicationSet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Generators and template.
    pub spec: ApplicationSetSpec,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationSetStatus>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec` of an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSpec {
    /// Use Go templates (instead of fasttemplate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template: Option<bool>,
    /// Generators (list, clusters, git, matrix, merge, ...), kept as they are.
    #[serde(default)]
    #[schemars(extend("items" = {"type": "object", "x-kubernetes-preserve-unknown-fields": true}))]
    pub generators: Vec<Value>,
    /// Template of the generated Applications.
    pub template: ApplicationSetTemplate,
    /// Sync policy of the set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<ApplicationSetSyncPolicy>,
    /// Progressive sync strategy, kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
    pub strategy: Option<Value>,
    /// Fields of generated Applications that are preserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_fields: Option<ApplicationPreservedFields>,
    /// Go template options (`missingkey=error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template_options: Option<Vec<String>>,
    /// Apply selectors of nested generators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_nested_selectors: Option<bool>,
    /// Differences of generated Applications to ignore, kept as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("items" = {"type": "object", "x-kubernetes-preserve-unknown-fields": true}))]
    pub ignore_application_differences: Option<Vec<Value>>,
    /// A templated patch applied to each generated Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_patch: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Metadata of a generated Application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationSetTemplateMeta {
    /// Name (templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Finalizers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Template of a generated Application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationSetTemplate {
    /// Metadata.
    #[serde(default)]
    pub metadata: ApplicationSetTemplateMeta,
    /// Spec.
    #[serde(default)]
    pub spec: ApplicationSpec,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Sync policy of an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSyncPolicy {
    /// Keep generated Applications' resources when the set is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,
    /// `create-only`, `create-update`, `create-delete` or `sync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications_sync: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Fields preserved on generated Applications.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicationPreservedFields {
    /// Annotation keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<String>>,
    /// Label keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Status of an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ApplicationCondition>>,
    /// Progressive sync status per Application, kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("items" = {"type": "object", "x-kubernetes-preserve-unknown-fields": true}))]
    pub application_status: Option<Vec<Value>>,
    /// Generated Applications, kept as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("items" = {"type": "object", "x-kubernetes-preserve-unknown-fields": true}))]
    pub resources: Option<Vec<Value>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
