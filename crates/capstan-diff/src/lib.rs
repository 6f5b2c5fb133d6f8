//! Comparison of desired (rendered) and live Kubernetes objects with Argo CD's semantics and no false
//! differences for fields the API server or other controllers fill in.
//!
//! * [`Differ::diff`]: normalise both objects (server metadata, `status` per `ignoreResourceStatusField`,
//!   Secret `stringData`, Role rules, Endpoints order, ignoreDifferences rules), then predict the live
//!   object the desired state would produce (three-way: fields applied before — last-applied-configuration,
//!   or fields owned by Capstan's manager for server-side apply — and no longer desired are removed;
//!   fields never desired are kept) and compare it with the live object. Quantities ("1000m" = "1"),
//!   int-or-string ports, empty versus absent maps and lists, and zero values of built-in kinds compare
//!   equal.
//! * [`Differ::server_side_diff`]: compare against a server-side apply dry-run result.
//! * [`tracking`]: tracking-id annotation and instance label; shared resources.
//! * [`output`]: unified YAML diff and JSON form, with Secret values masked ([`mask`]).

mod applied_cache;
mod engine;
mod fast;
mod ignore;
mod jq;
mod managed_fields;
pub mod mask;
mod merge;
mod normalize;
mod options;
pub mod output;
pub mod quantity;
pub mod tracking;

use capstan_types::SyncStatusCode;
use capstan_types::annotations::{COMPARE_OPTIONS, compare_options};
use serde_json::Value;

pub use engine::{DiffResult, Differ};
pub use options::{
    COMPARE_OPTIONS_KEY, CompareOptions, DEFAULT_MANAGER, DiffOptions,
    IGNORE_DIFFERENCES_KEY_PREFIX, IgnoreDifferencesRule, MASK_ANNOTATIONS_KEY, StatusFieldMode,
    SystemDiffSettings,
};

/// Errors of the diff engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// Neither a desired nor a live object was given.
    #[error("nothing to compare: both the desired and the live object are missing")]
    NothingToCompare,
    /// A jq path expression does not compile or fails at run time.
    #[error("invalid jq path expression {expression:?}: {message}")]
    InvalidJq {
        /// The expression.
        expression: String,
        /// The error.
        message: String,
    },
    /// An ignoreDifferences rule is malformed.
    #[error("invalid ignoreDifferences rule ({rule}): {message}")]
    InvalidRule {
        /// The offending part of the rule.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// An argocd-cm entry cannot be read.
    #[error("argocd-cm key {key:?}: {message}")]
    Settings {
        /// The key.
        key: String,
        /// The error.
        message: String,
    },
}

/// Compares one desired object with one live object (compiles the options each call; build a
/// [`Differ`] to compare many objects). When the options (or the resource's compare-options
/// annotation) ask for a server-side diff, `predicted_live` must hold the dry-run result.
pub fn diff(
    desired: Option<&Value>,
    live: Option<&Value>,
    opts: &DiffOptions,
) -> Result<DiffResult, DiffError> {
    Differ::new(opts.clone())?.diff(desired, live)
}

/// The resource's `argocd.argoproj.io/compare-options` annotation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareOptionsAnnotation {
    /// `IgnoreExtraneous`: an extra live object does not make the application OutOfSync.
    pub ignore_extraneous: bool,
    /// `ServerSideDiff=true|false`, when given.
    pub server_side_diff: Option<bool>,
    /// `IncludeMutationWebhook=true`.
    pub include_mutation_webhook: bool,
}

impl CompareOptionsAnnotation {
    /// Reads the annotation of an object.
    pub fn of(obj: &Value) -> Self {
        let mut out = CompareOptionsAnnotation::default();
        let Some(raw) = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(COMPARE_OPTIONS))
            .and_then(Value::as_str)
        else {
            return out;
        };
        for option in raw.split(',').map(str::trim) {
            let (name, value) = option
                .split_once('=')
                .map_or((option, None), |(n, v)| (n.trim(), Some(v.trim())));
            match name {
                compare_options::IGNORE_EXTRANEOUS => out.ignore_extraneous = true,
                compare_options::SERVER_SIDE_DIFF => {
                    out.server_side_diff = value.map(|v| v == "true")
                }
                compare_options::INCLUDE_MUTATION_WEBHOOK => {
                    out.include_mutation_webhook = value != Some("false")
                }
                _ => {}
            }
        }
        out
    }
}

/// The sync status of one resource: a desired object missing from the cluster, or a live object that
/// differs, is OutOfSync; an extra live object is OutOfSync unless annotated `IgnoreExtraneous`.
pub fn resource_sync_status(
    desired: Option<&Value>,
    live: Option<&Value>,
    result: &DiffResult,
) -> SyncStatusCode {
    match (desired, live) {
        (None, Some(l)) if CompareOptionsAnnotation::of(l).ignore_extraneous => {
            SyncStatusCode::Synced
        }
        (None, Some(_)) | (Some(_), None) => SyncStatusCode::OutOfSync,
        (None, None) => SyncStatusCode::Unknown,
        (Some(_), Some(_)) if result.modified => SyncStatusCode::OutOfSync,
        (Some(_), Some(_)) => SyncStatusCode::Synced,
    }
}
