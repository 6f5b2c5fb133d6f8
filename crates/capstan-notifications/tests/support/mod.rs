//! Real receivers on loopback (an HTTP server recording requests, Python's aiosmtpd) and setup of
//! a cluster with the notifications controller.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use capstan_notifications::{ControllerOptions, Metrics, RetryPolicy, run_controller};
use capstan_testkit::Cluster;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

/// An HTTP server that records every request; the first `fail_first` get 503.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Captured>>>,
    fail_first: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts one replying `reply` (with `content_type`).
    pub async fn start(reply: &'static str, fail_first: usize) -> Receiver {
        let requests: Arc<Mutex<Vec<Captured>>> = Arc::default();
        let fail = Arc::new(AtomicUsize::new(fail_first));
        let (r, f) = (requests.clone(), fail.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (r, f) = (r.clone(), f.clone());
                async move {
                    r.lock().unwrap().push(Captured {
                        method: method.to_string(),
                        path: uri.path().to_string(),
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let failing = f
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        (StatusCode::SERVICE_UNAVAILABLE, "try later")
                    } else {
                        (StatusCode::OK, reply)
                    }
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            addr,
            requests,
            fail_first: fail,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn got(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Captured> {
        let got = wait_until(timeout, || {
            let g = self.got();
            (g.len() >= n).then_some(g)
        })
        .await;
        got.unwrap_or_else(|| panic!("expected {n} requests, got {:#?}", self.got()))
    }
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Polls `f` every 50 ms until it returns Some or `timeout` passes.
pub async fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A cluster with `argocd-notifications-cm` and `argocd-notifications-secret`.
pub async fn cluster(dir: &Path, cm: &[(&str, String)], secret: &[(&str, &str)]) -> Cluster {
    let cluster = Cluster::start(dir, Duration::from_millis(100)).await;
    let data: serde_json::Map<String, Value> = cm
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect();
    cluster
        .apply(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-notifications-cm", "namespace": "argocd"}, "data": data}))
        .await;
    let string_data: serde_json::Map<String, Value> = secret
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    cluster
        .apply(
            &json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "argocd-notifications-secret", "namespace": "argocd"},
            "stringData": string_data}),
        )
        .await;
    cluster
}

/// Creates an Application subscribed through `annotations`.
pub async fn app(cluster: &Cluster, name: &str, annotations: Value) {
    let mut app = capstan_testkit::application(
        name,
        "https://github.com/argoproj/argocd-example-apps.git",
        "guestbook",
        "default",
        Value::Null,
    );
    app["metadata"]["annotations"] = annotations;
    cluster.apply(&app).await;
}

/// Sets an Application's status as the application controller would.
pub async fn set_status(cluster: &Cluster, name: &str, phase: &str, health: &str, revision: &str) {
    cluster
        .patch_app(
            name,
            &json!({"status": {
                "sync": {"status": if phase == "Succeeded" { "Synced" } else { "OutOfSync" }, "revision": revision},
                "health": {"status": health},
                "operationState": {
                    "operation": {"sync": {"revision": revision}},
                    "phase": phase,
                    "message": if phase == "Failed" { "one or more objects failed to apply" } else { "successfully synced" },
                    "startedAt": "2026-01-01T10:00:00Z",
                    "finishedAt": "2026-01-01T10:00:05Z",
                    "syncResult": {"revision": revision}
                }
            }}),
        )
        .await;
}

/// A running notifications controller.
pub struct Running {
    pub cancel: CancellationToken,
    pub metrics: Arc<Metrics>,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn start(cluster: &Cluster) -> Running {
        let metrics = Arc::new(Metrics::default());
        let cancel = CancellationToken::new();
        let options = ControllerOptions {
            retry: RetryPolicy {
                attempts: 3,
                initial_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(400),
            },
            metrics: metrics.clone(),
            ..Default::default()
        };
        let client = cluster.client.clone();
        let c = cancel.clone();
        let handle = tokio::spawn(async move {
            run_controller(client, options, c)
                .await
                .expect("controller runs");
        });
        Running {
            cancel,
            metrics,
            handle,
        }
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("controller stops")
            .unwrap();
    }
}

/// Python's aiosmtpd on loopback, printing each message it receives as one JSON line.
pub struct Smtp {
    pub port: u16,
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

const SMTP_SERVER: &str = r#"
import json, ssl, sys
from email import message_from_bytes
from email.policy import default
import logging, warnings
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, mode = int(sys.argv[1]), sys.argv[2]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        m = message_from_bytes(envelope.content, policy=default)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                          "subject": str(m["subject"]), "body": m.get_content(),
                          "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None, "login": login}), flush=True)
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == b"smtp-s3cret"
    return AuthResult(success=ok, auth_data=auth_data.login if ok else None)

kwargs = {}
if mode != "plain":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    kwargs = {"authenticator": authenticator, "auth_required": True}
    if mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    else:
        kwargs.update(ssl_context=ctx, auth_require_tls=False)
c = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
c.start()
print("READY", flush=True)
sys.stdin.read()
c.stop()
"#;

impl Smtp {
    /// A plain SMTP server (no TLS, no authentication).
    pub async fn start() -> Smtp {
        Smtp::start_mode("plain", None).await
    }

    /// `starttls` (STARTTLS required) or `tls` (implicit TLS), both requiring authentication as
    /// `mailer` / `smtp-s3cret`, with a self-signed certificate made in `dir`.
    pub async fn start_secure(mode: &str, dir: &Path) -> Smtp {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let status = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl made a certificate");
        Smtp::start_mode(
            mode,
            Some((cert.display().to_string(), key.display().to_string())),
        )
        .await
    }

    async fn start_mode(mode: &str, pem: Option<(String, String)>) -> Smtp {
        let port = closed_port();
        let mut args = vec![
            "-c".to_string(),
            SMTP_SERVER.to_string(),
            port.to_string(),
            mode.to_string(),
        ];
        if let Some((cert, key)) = pem {
            args.push(cert);
            args.push(key);
        }
        let mut child = tokio::process::Command::new("python3")
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (aiosmtpd comes from scripts/install-test-deps)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("aiosmtpd starts")
            .unwrap();
        assert_eq!(
            first.as_deref(),
            Some("READY"),
            "aiosmtpd did not start (is it installed?)"
        );
        Smtp { port, child, lines }
    }

    /// The next message, as JSON.
    pub async fn next(&mut self, timeout: Duration) -> Value {
        let line = tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .expect("a mail arrives")
            .unwrap()
            .expect("aiosmtpd is running");
        serde_json::from_str(&line).unwrap()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Every log line of this test binary (installed once as the global subscriber).
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = Capture(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("capstan_notifications=debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        buffer
    })
    .clone()
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
