//! https repositories: server certificate verification (with the `insecure` option) and client
//! certificates (`tlsClientCertData` / `tlsClientCertKey`), against `git http-backend` behind a TLS
//! server on loopback (tests/tools/https_git_server.py) with certificates made by openssl.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_repo::git::CredentialSource;
use capstan_repo::{GitError, RenderError, SecretCredentials};
use capstan_settings::{RepoCreds, Repository, Sensitive};
use common::*;
use serde_json::json;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_certs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    for (name, ext) in [("server", true), ("client", false)] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.crt"),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        if ext {
            args.extend(["-extfile".to_string(), "san.ext".to_string()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(dir, &refs);
    }
}

struct HttpsServer {
    port: u16,
    child: Child,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(root: &Path, certs: &Path) -> HttpsServer {
    let port_file = certs.join("port");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/https_git_server.py");
    let child = Command::new("python3")
        .arg(script)
        .arg(root)
        .arg(certs.join("server.crt"))
        .arg(certs.join("server.key"))
        .arg(&port_file)
        .arg(certs.join("ca.crt"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // owned by the guard at once, so that it is killed and reaped whatever happens next
    let mut server = HttpsServer { port: 0, child };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(&port_file)
            && let Ok(port) = text.trim().parse()
        {
            server.port = port;
            return server;
        }
        assert!(Instant::now() < deadline, "https server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn creds(url: &str, insecure: bool, client: Option<(&str, &str)>) -> Arc<dyn CredentialSource> {
    Arc::new(SecretCredentials {
        repositories: vec![Repository {
            creds: RepoCreds {
                url: url.to_string(),
                insecure,
                tls_client_cert_data: client.map(|(c, _)| c.to_string()),
                tls_client_cert_key: client.map(|(_, k)| Sensitive::new(k)),
                ..Default::default()
            },
            ..Default::default()
        }],
        templates: vec![],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_client_certificates_and_insecure() {
    let tmp = tempfile::tempdir().unwrap();
    let work = WorkRepo::new(&tmp.path().join("work"));
    work.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: over-tls\n",
    );
    work.commit("one");
    let served = tmp.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    work.bare(&served, "repo.git");
    let certs = tmp.path().join("certs");
    make_certs(&certs);
    let server = start_server(&served, &certs);
    let url = format!("https://127.0.0.1:{}/repo.git", server.port);
    let cert = std::fs::read_to_string(certs.join("client.crt")).unwrap();
    let key = std::fs::read_to_string(certs.join("client.key")).unwrap();

    // the test CA is not trusted: refused unless insecure
    let strict = service_with(
        &tmp.path().join("c1"),
        creds(&url, false, Some((&cert, &key))),
        |_| {},
    );
    let err = strict
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RenderError::Git(GitError::Unreachable { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    // insecure and a client certificate: served
    let ok = service_with(
        &tmp.path().join("c2"),
        creds(&url, true, Some((&cert, &key))),
        |_| {},
    );
    let out = ok
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap();
    assert_eq!(names(&out.manifests), ["ConfigMap/over-tls"]);

    // no client certificate: the server refuses the TLS handshake
    let no_cert = service_with(&tmp.path().join("c3"), creds(&url, true, None), |_| {});
    let err = no_cert
        .generate(&request(json!({"repoURL": url, "path": "app"})))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::Git(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("PRIVATE KEY"));
}
