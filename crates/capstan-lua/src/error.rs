//! Errors of the Lua sandbox.

use std::time::Duration;

/// An error while running or configuring a Lua script.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LuaError {
    /// The script ran longer than the time limit (e.g. an endless loop).
    #[error("Lua script exceeded its time limit of {0:?}")]
    Timeout(Duration),
    /// The script allocated more memory than allowed.
    #[error("Lua script exceeded its memory limit of {0} bytes")]
    Memory(usize),
    /// A syntax or runtime error raised by the script (including calls to functions the sandbox refuses).
    #[error("{0}")]
    Script(String),
    /// The script returned a value of the wrong type (Argo CD's wording).
    #[error("expect {expected} output from Lua script, not {got}")]
    ReturnType {
        /// What was expected (e.g. `table`).
        expected: &'static str,
        /// The Lua type that was returned.
        got: String,
    },
    /// The returned value could not be converted (e.g. a function inside the table, a cycle).
    #[error("invalid Lua output: {0}")]
    Output(String),
    /// A resource customization entry could not be read.
    #[error("invalid resource customization {key:?}: {message}")]
    Config {
        /// The argocd-cm key (or group/kind) of the entry.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The interpreter could not be set up.
    #[error("Lua sandbox setup failed: {0}")]
    Setup(String),
}
