//! TLS for the API port: a provided certificate and key (PEM files) or, by default, a self-signed
//! certificate generated at start for `localhost`, the host name and the loopback addresses.

use std::path::PathBuf;

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Generate a self-signed certificate at start.
    SelfSigned {
        /// Extra subject alternative names (host names or IP addresses).
        names: Vec<String>,
    },
    /// PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating the certificate failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(String),
    /// Reading the files or loading them into rustls failed.
    #[error("loading the TLS certificate {path}: {message}")]
    Load {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
}

/// PEM certificate and key.
pub fn self_signed(extra: &[String]) -> Result<(String, String), TlsError> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    names.extend(extra.iter().cloned());
    let cert =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((cert.cert.pem(), cert.key_pair.serialize_pem()))
}

/// The rustls configuration of the API port.
pub async fn config(source: &TlsSource) -> Result<axum_server::tls_rustls::RustlsConfig, TlsError> {
    capstan_kube::install_crypto_provider();
    match source {
        TlsSource::SelfSigned { names } => {
            let (cert, key) = self_signed(names)?;
            axum_server::tls_rustls::RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes())
                .await
                .map_err(|e| TlsError::Load {
                    path: "<generated>".into(),
                    message: e.to_string(),
                })
        }
        TlsSource::Files { cert, key } => {
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| TlsError::Load {
                    path: format!("{} / {}", cert.display(), key.display()),
                    message: e.to_string(),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_certificate() {
        let (cert, key) = self_signed(&["capstan.example".into()]).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
    }
}
