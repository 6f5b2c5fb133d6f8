/// Errors that stop the controller from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The control-plane cluster could not be used.
    #[error("control plane: {0}")]
    Kube(#[from] capstan_kube::KubeError),
    /// Settings could not be read.
    #[error("settings: {0}")]
    Settings(String),
}
