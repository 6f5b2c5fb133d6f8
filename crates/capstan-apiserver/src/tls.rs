//! The TLS option: a self-signed certificate for `localhost` and the loopback addresses,
//! generated once and kept in the data directory (`tls.crt`, `tls.key`), so that clients keep
//! trusting the server across restarts. The generated kubeconfig carries it as the CA.

use std::path::Path;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating a self-signed certificate: {0}")]
    Generate(String),
    #[error("reading or writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("loading the certificate into rustls: {0}")]
    Load(String),
}

/// The certificate and key (PEM) in `dir`, generated when missing.
pub fn certificate(dir: &Path) -> Result<(String, String), TlsError> {
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    fn io(p: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
        move |source| TlsError::Io {
            path: p.display().to_string(),
            source,
        }
    }
    if crt.exists() && key.exists() {
        return Ok((
            std::fs::read_to_string(&crt).map_err(io(&crt))?,
            std::fs::read_to_string(&key).map_err(io(&key))?,
        ));
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let cert =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    let (c, k) = (cert.cert.pem(), cert.key_pair.serialize_pem());
    std::fs::write(&key, &k).map_err(io(&key))?;
    std::fs::write(&crt, &c).map_err(io(&crt))?;
    Ok((c, k))
}

/// The rustls configuration for a PEM certificate and key (ring provider).
pub async fn rustls_config(
    cert: &str,
    key: &str,
) -> Result<axum_server::tls_rustls::RustlsConfig, TlsError> {
    // Another crate may have installed a provider already; either is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.as_bytes().to_vec(),
        key.as_bytes().to_vec(),
    )
    .await
    .map_err(|e| TlsError::Load(e.to_string()))
}
