//! A small OpenID provider run in the test process (plain HTTP, or HTTPS with a self-signed
//! certificate): discovery, JWKS and a token endpoint that checks the PKCE verifier against the
//! challenge of the login and answers the ID token the test chose. Tokens are signed with an RSA
//! key made by `openssl`, so a test can forge every variant an attacker could.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::RsaKeyPair;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An RSA key pair with its public modulus.
pub struct RsaKey {
    pair: RsaKeyPair,
    pub n: Vec<u8>,
}

impl RsaKey {
    /// A fresh 2048-bit key (openssl CLI).
    pub fn generate() -> RsaKey {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("key.pem");
        let der = dir.path().join("key.der");
        let ok = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&pem)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs")
            .success();
        assert!(ok, "openssl genpkey");
        let ok = std::process::Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(&pem)
            .arg("-out")
            .arg(&der)
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl pkcs8");
        let out = std::process::Command::new("openssl")
            .args(["rsa", "-noout", "-modulus", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let n = hex::decode(text.trim().strip_prefix("Modulus=").unwrap()).unwrap();
        let pair = RsaKeyPair::from_pkcs8(&std::fs::read(&der).unwrap()).unwrap();
        RsaKey { pair, n }
    }

    /// The JWK of the public key.
    pub fn jwk(&self, kid: &str) -> Value {
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
               "n": URL_SAFE_NO_PAD.encode(&self.n), "e": "AQAB"})
    }

    /// A compact RS256 JWT with this header and these claims.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// What the provider remembers.
#[derive(Default)]
pub struct IdpState {
    pub issuer: String,
    pub jwks: Value,
    /// The PKCE challenge of the login in progress (the test copies it from the redirect).
    pub challenge: String,
    /// The verifier the server sent to the token endpoint.
    pub verifier_seen: Option<String>,
    /// The ID token the token endpoint answers.
    pub id_token: String,
    /// Requests for the JWKS.
    pub jwks_fetches: usize,
}

pub struct Idp {
    pub issuer: String,
    pub state: Arc<Mutex<IdpState>>,
    handle: axum_server::Handle,
}

async fn discovery(State(st): State<Arc<Mutex<IdpState>>>) -> axum::Json<Value> {
    let issuer = st.lock().unwrap().issuer.clone();
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
    }))
}

async fn jwks(State(st): State<Arc<Mutex<IdpState>>>) -> axum::Json<Value> {
    let mut s = st.lock().unwrap();
    s.jwks_fetches += 1;
    axum::Json(s.jwks.clone())
}

async fn token(
    State(st): State<Arc<Mutex<IdpState>>>,
    body: String,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let verifier = form
        .iter()
        .find(|(k, _)| k == "code_verifier")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut s = st.lock().unwrap();
    s.verifier_seen = Some(verifier.clone());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if challenge != s.challenge {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": "invalid_grant", "error_description": "PKCE verification failed"}),
            ),
        );
    }
    (
        axum::http::StatusCode::OK,
        axum::Json(json!({"id_token": s.id_token, "access_token": "x", "token_type": "Bearer"})),
    )
}

impl Idp {
    /// Starts the provider; with `tls`, over HTTPS with a self-signed certificate (not trusted by
    /// anyone).
    pub async fn start(jwks_value: Value, tls: bool) -> Idp {
        let state = Arc::new(Mutex::new(IdpState {
            jwks: jwks_value,
            ..IdpState::default()
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let handle = axum_server::Handle::new();
        let scheme = if tls { "https" } else { "http" };
        let issuer = format!("{scheme}://127.0.0.1:{}", addr.port());
        state.lock().unwrap().issuer = issuer.clone();
        if tls {
            let config = capstan_server::tls::config(&capstan_server::tls::TlsSource::SelfSigned {
                names: vec![],
            })
            .await
            .unwrap();
            let server = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
            tokio::spawn(async move { server.serve(app.into_make_service()).await });
        } else {
            let server = axum_server::from_tcp(listener).handle(handle.clone());
            tokio::spawn(async move { server.serve(app.into_make_service()).await });
        }
        Idp {
            issuer,
            state,
            handle,
        }
    }

    pub fn stop(&self) {
        self.handle.shutdown();
    }
}
