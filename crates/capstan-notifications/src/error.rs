//! Errors of the notifications controller.

use crate::gotmpl::TemplateError;

/// Something the notifications controller could not do.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Kube(#[from] capstan_kube::KubeError),
    /// A template named by a trigger does not exist.
    #[error("template {0:?} is not defined")]
    UnknownTemplate(String),
    /// A template failed to render.
    #[error("template {name:?}: {field}: {source}")]
    Render {
        /// The template.
        name: String,
        /// The field of the template (`message`, `slack.attachments`, ...).
        field: String,
        /// What went wrong.
        source: TemplateError,
    },
    /// The metrics listener could not start.
    #[error("metrics listener on {addr}: {message}")]
    Metrics {
        /// The address.
        addr: String,
        /// The error.
        message: String,
    },
}
