/// A settings object or key that cannot be used. Messages name the object and the key, never a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The object is not a Secret/ConfigMap of the expected shape.
    #[error("{object}: {message}")]
    Object {
        /// `Secret/argocd/name` or `ConfigMap/argocd/name`.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// One key has a bad value.
    #[error("{object}: {key}: {message}")]
    Key {
        /// `Secret/argocd/name` or `ConfigMap/argocd/name`.
        object: String,
        /// The data key.
        key: String,
        /// What is wrong (never the secret value itself).
        message: String,
    },
}

impl SettingsError {
    pub(crate) fn key(object: &str, key: &str, message: impl Into<String>) -> Self {
        SettingsError::Key {
            object: object.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The data key at fault, if the error concerns one key.
    pub fn data_key(&self) -> Option<&str> {
        match self {
            SettingsError::Key { key, .. } => Some(key),
            SettingsError::Object { .. } => None,
        }
    }
}
