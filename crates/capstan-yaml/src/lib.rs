//! YAML and JSON streams parsed into [`serde_json::Value`] documents that remember the line and column of
//! every node, so that a problem found later (a wrong type, a missing field) can be reported as
//! `file:line:column: field.path: message`.
//!
//! Scalars are resolved the way Kubernetes' YAML library (go-yaml v2 behind `sigs.k8s.io/yaml`) resolves
//! them, so a manifest means here what it means to kubectl: `yes`/`no`/`on`/`off` are booleans, `0755` is
//! octal, `~` is null. Quoted scalars are always strings. Duplicate keys are errors, as in kubectl.
//! Aliases and `<<` merge keys are expanded, with a limit that stops alias bombs.
//!
//! This crate is pure: it reads strings, never files.

mod emit;
mod path;
mod position;
mod reader;
mod scalar;

pub use emit::{to_yaml_stream, to_yaml_string};
pub use path::{FieldPath, PathSegment};
pub use position::Position;
pub use reader::{Document, Limits, parse_stream, parse_stream_with_limits};

/// A document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {message}")]
pub struct YamlError {
    /// Where the problem is (1-based line and column).
    pub position: Position,
    /// What is wrong.
    pub message: String,
}
