//! Test helpers: Git repositories built with the real `git`, a smart-HTTP server (`git http-backend`
//! behind a tiny CGI host on loopback, optional basic auth), an sshd on a loopback port, and a
//! RepoService wired to a private cache directory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use capstan_repo::git::{CredentialSource, NoCredentials};
use capstan_repo::render::ConfigManagementPlugin;
use capstan_repo::{ManifestRequest, RepoService, ServiceSettings};
use capstan_types::ApplicationSource;

/// Runs git in `dir`, panicking on failure; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A working repository (branch `main`) whose commits can be pushed to a bare one.
pub struct WorkRepo {
    pub dir: PathBuf,
}

impl WorkRepo {
    pub fn new(dir: &Path) -> WorkRepo {
        std::fs::create_dir_all(dir).unwrap();
        git(dir, &["init", "-q", "-b", "main"]);
        WorkRepo {
            dir: dir.to_path_buf(),
        }
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Copies a directory tree into the repository at `rel`.
    pub fn copy_dir(&self, from: &Path, rel: &str) -> &Self {
        let to = self.dir.join(rel);
        copy_tree(from, &to);
        self
    }

    pub fn commit(&self, message: &str) -> String {
        git(&self.dir, &["add", "-A"]);
        git(&self.dir, &["commit", "-q", "--allow-empty", "-m", message]);
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    /// A bare clone of this repository under `parent`, exported for http-backend.
    pub fn bare(&self, parent: &Path, name: &str) -> PathBuf {
        let bare = parent.join(name);
        git(
            parent,
            &[
                "clone",
                "-q",
                "--bare",
                self.dir.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        std::fs::write(bare.join("git-daemon-export-ok"), "").unwrap();
        bare
    }

    pub fn push(&self, bare: &Path) {
        git(
            &self.dir,
            &[
                "push",
                "-q",
                "--force",
                bare.to_str().unwrap(),
                "main",
                "--tags",
            ],
        );
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Argo CD's e2e test apps.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/argo-e2e-apps")
}

/// The test `helm` command (real Helm v4 from helm-python-sdk).
pub fn test_helm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/helm")
}

/// True when the test helm can run (helm-python-sdk installed by scripts/install-test-deps).
pub fn helm_available() -> bool {
    Command::new(test_helm())
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Service settings under `dir` with the test helm.
pub fn settings(dir: &Path) -> ServiceSettings {
    let mut s = ServiceSettings::new(dir);
    s.tools.helm = test_helm();
    s.git.timeout = Duration::from_secs(30);
    s.tools.timeout = Duration::from_secs(60);
    s
}

pub fn service(dir: &Path) -> RepoService {
    RepoService::new(settings(dir), Arc::new(NoCredentials)).unwrap()
}

pub fn service_with(
    dir: &Path,
    creds: Arc<dyn CredentialSource>,
    tweak: impl FnOnce(&mut ServiceSettings),
) -> RepoService {
    let mut s = settings(dir);
    tweak(&mut s);
    RepoService::new(s, creds).unwrap()
}

/// Generates with a hard refresh (each step of a test commits new content).
pub async fn generate(
    service: &RepoService,
    source: serde_json::Value,
) -> Result<Vec<serde_json::Value>, capstan_repo::RenderError> {
    let mut req = request(source);
    req.refresh = capstan_repo::Refresh::Hard;
    service.generate(&req).await.map(|r| r.manifests)
}

pub fn service_tweaked(
    dir: &Path,
    tweak: impl FnOnce(&mut capstan_repo::ServiceSettings),
) -> RepoService {
    service_with(dir, Arc::new(NoCredentials), tweak)
}

pub fn plugins_from(file: &Path) -> Vec<ConfigManagementPlugin> {
    let text = std::fs::read_to_string(file).unwrap();
    ConfigManagementPlugin::parse(&text, &file.display().to_string()).unwrap()
}

/// A request for `path` of `repo` from a source given as JSON (Argo CD field names).
pub fn request(source: serde_json::Value) -> ManifestRequest {
    ManifestRequest {
        source: serde_json::from_value::<ApplicationSource>(source).unwrap(),
        app_name: "my-app".into(),
        namespace: "my-ns".into(),
        ..Default::default()
    }
}

pub fn names(objects: &[serde_json::Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Smart HTTP: git http-backend behind a minimal CGI host.

/// A running HTTP Git server; stops when dropped.
pub struct GitHttpServer {
    pub port: u16,
    /// Number of pack negotiations (`want` lines sent), i.e. fetches.
    pub fetches: Arc<AtomicUsize>,
    /// Number of requests.
    pub requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl GitHttpServer {
    /// Serves the bare repositories under `root`; with `auth`, requires basic auth user:password.
    pub fn start(root: &Path, auth: Option<(&str, &str)>) -> GitHttpServer {
        let expected = auth.map(|(u, p)| format!("Basic {}", b64(format!("{u}:{p}").as_bytes())));
        GitHttpServer::start_with_header(root, expected)
    }

    /// Serves the bare repositories under `root`; with `expected`, requires exactly that
    /// `Authorization` header.
    pub fn start_with_header(root: &Path, expected: Option<String>) -> GitHttpServer {
        GitHttpServer::start_full(root, expected, None)
    }

    /// As [`GitHttpServer::start_with_header`]; requests whose path contains `slow.0` are answered
    /// only after `slow.1`.
    pub fn start_full(
        root: &Path,
        expected: Option<String>,
        slow: Option<(String, Duration)>,
    ) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let fetches = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        {
            let (fetches, requests, stop) = (fetches.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let root = root.clone();
                            let expected = expected.clone();
                            let fetches = fetches.clone();
                            let slow = slow.clone();
                            requests.fetch_add(1, Ordering::Relaxed);
                            std::thread::spawn(move || {
                                let _ = handle(stream, &root, expected.as_deref(), &fetches, slow);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        GitHttpServer {
            port,
            fetches,
            requests,
            stop,
        }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(
    stream: TcpStream,
    root: &Path,
    expected_auth: Option<&str>,
    fetches: &AtomicUsize,
    slow: Option<(String, Duration)>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                reader.read_line(&mut end)?;
                break;
            }
            let mut chunk = vec![0; n];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    }
    if let Some((marker, delay)) = &slow
        && target.contains(marker.as_str())
    {
        std::thread::sleep(*delay);
    }
    let mut out = stream;
    if let Some(expected) = expected_auth
        && header("authorization").as_deref() != Some(expected)
    {
        out.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let decoded = if header("content-encoding").as_deref() == Some("gzip") {
        let mut gz = Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        gz.stdin.take().unwrap().write_all(&body)?;
        gz.wait_with_output()?.stdout
    } else {
        body.clone()
    };
    if decoded.windows(5).any(|w| w == b"want ") {
        fetches.fetch_add(1, Ordering::Relaxed);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(ct) = header("content-type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(enc) = header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    if let Some(proto) = header("git-protocol") {
        cmd.env("GIT_PROTOCOL", proto);
    }
    if expected_auth.is_some() {
        cmd.env("REMOTE_USER", "tester");
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let raw = output.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let (head, content) = match split {
        Some((p, n)) => (
            String::from_utf8_lossy(&raw[..p]).to_string(),
            &raw[p + n..],
        ),
        None => (String::new(), &raw[..]),
    };
    let mut status = "200 OK".to_string();
    let mut response_headers = String::new();
    for h in head.lines() {
        if let Some(s) = h.strip_prefix("Status:") {
            status = s.trim().to_string();
        } else if !h.trim().is_empty() {
            response_headers.push_str(h.trim());
            response_headers.push_str("\r\n");
        }
    }
    write!(
        out,
        "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    )?;
    out.write_all(content)?;
    out.flush()
}

pub fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            s.push(if i <= c.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// sshd on a loopback port.

/// A running sshd; killed when dropped.
pub struct SshServer {
    pub port: u16,
    /// Private key accepted by the server.
    pub client_key: String,
    /// `known_hosts` line for the server.
    pub known_hosts: String,
    child: Child,
}

pub fn sshd_available() -> bool {
    Path::new("/usr/sbin/sshd").exists()
}

impl SshServer {
    pub fn start(dir: &Path) -> SshServer {
        std::fs::create_dir_all(dir).unwrap();
        let keygen = |file: &Path| {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(file)
                .status()
                .unwrap();
            assert!(st.success());
        };
        let host_key = dir.join("host_key");
        let client_key = dir.join("client_key");
        keygen(&host_key);
        keygen(&client_key);
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let port = free_port();
        let _ = std::fs::create_dir_all("/run/sshd");
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n",
                host_key.display(),
                dir.join("authorized_keys").display(),
                dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let pubkey = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let mut fields = pubkey.split_whitespace();
        let known_hosts = format!(
            "[127.0.0.1]:{port} {} {}\n",
            fields.next().unwrap(),
            fields.next().unwrap()
        );
        SshServer {
            port,
            client_key: std::fs::read_to_string(&client_key).unwrap(),
            known_hosts,
            child,
        }
    }

    pub fn url(&self, bare: &Path) -> String {
        format!("ssh://root@127.0.0.1:{}{}", self.port, bare.display())
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
