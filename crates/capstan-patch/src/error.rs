//! The error type shared by the patch functions.

/// Why a patch could not be applied. The messages are meant to be returned to an API client
/// as the `message` of a 400/422 `Status`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The JSON patch document is not an array of operation objects.
    #[error("invalid JSON patch: {0}")]
    InvalidJsonPatch(String),
    /// One operation of a JSON patch failed; `index` is its position in the patch array.
    #[error("JSON patch operation {index} ({op} at \"{path}\"): {reason}")]
    JsonPatchOperation {
        index: usize,
        op: String,
        path: String,
        reason: String,
    },
    /// A strategic merge patch is malformed at `path` (a dotted field path such as
    /// `.spec.template.spec.containers`).
    #[error("invalid strategic merge patch at {path}: {reason}")]
    Strategic { path: String, reason: String },
}

impl PatchError {
    pub(crate) fn strategic(path: &str, reason: impl Into<String>) -> Self {
        PatchError::Strategic {
            path: if path.is_empty() {
                ".".to_string()
            } else {
                path.to_string()
            },
            reason: reason.into(),
        }
    }
}
