//! Running command-line programs from a test: the `capstan` binary as a user runs it (with its own
//! configuration directory, so that contexts never come from the developer's machine) and `kubectl`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one run of a program left: its exit code (-1 when a signal ended it) and its output.
#[derive(Debug)]
pub struct Output {
    /// The exit code, -1 when a signal ended the process.
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Output {
    fn from_std(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Whether the program exited with 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Standard output followed by standard error.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The `capstan` binary run as a client: `XDG_CONFIG_HOME` is the test's configuration directory,
/// `CAPSTAN_SERVER` and `CAPSTAN_AUTH_TOKEN` are removed from its environment, its standard input is
/// empty and it logs errors only (see [`Cli::log`]).
#[derive(Clone, Debug)]
pub struct Cli {
    capstan: PathBuf,
    config_dir: PathBuf,
    home: Option<PathBuf>,
    log: Option<String>,
    timeout: Option<Duration>,
}

impl Cli {
    /// The binary at `capstan` (a test passes `env!("CARGO_BIN_EXE_capstan")`) with its
    /// configuration in `config_dir`.
    pub fn new(capstan: impl Into<PathBuf>, config_dir: impl Into<PathBuf>) -> Cli {
        Cli {
            capstan: capstan.into(),
            config_dir: config_dir.into(),
            home: None,
            log: Some("error".into()),
            timeout: None,
        }
    }

    /// Sets `HOME` too.
    pub fn home(mut self, home: impl Into<PathBuf>) -> Cli {
        self.home = Some(home.into());
        self
    }

    /// Sets `CAPSTAN_LOG` to `level`, or with `None` leaves it as the test's environment has it
    /// (a test that inspects everything the CLI prints wants its default logging).
    pub fn log(mut self, level: Option<&str>) -> Cli {
        self.log = level.map(str::to_string);
        self
    }

    /// Bounds each [`Cli::run`]: a run still going after `timeout` is killed and the test panics.
    /// [`Cli::run_blocking`] is not bounded.
    pub fn timeout(mut self, timeout: Duration) -> Cli {
        self.timeout = Some(timeout);
        self
    }

    fn std_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.capstan);
        command
            .args(args)
            .env("XDG_CONFIG_HOME", &self.config_dir)
            .env_remove("CAPSTAN_SERVER")
            .env_remove("CAPSTAN_AUTH_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(home) = &self.home {
            command.env("HOME", home);
        }
        if let Some(level) = &self.log {
            command.env("CAPSTAN_LOG", level);
        }
        command
    }

    /// The command for `args`, set up as described on [`Cli`], with its output piped and killed
    /// when dropped; for a run the test watches while it goes on (more environment may be added).
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::from(self.std_command(args));
        command.kill_on_drop(true);
        command
    }

    /// Runs `capstan ARGS` to its end.
    pub async fn run(&self, args: &[&str]) -> Output {
        let child = self.command(args).spawn().expect("capstan runs");
        let out = match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, child.wait_with_output())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "capstan {args:?} did not finish within {} s",
                        timeout.as_secs()
                    )
                }),
            None => child.wait_with_output().await,
        };
        Output::from_std(out.expect("capstan output"))
    }

    /// Runs `capstan ARGS`, asserts exit 0 and returns the whole output.
    pub async fn succeeds(&self, args: &[&str]) -> Output {
        let out = self.run(args).await;
        assert_eq!(
            out.code, 0,
            "capstan {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Runs `capstan ARGS`, asserts exit 0 and returns standard output.
    pub async fn ok(&self, args: &[&str]) -> String {
        self.succeeds(args).await.stdout
    }

    /// Runs `capstan ARGS`, asserts exit `code` and a one-line `error: ...` without a panic on
    /// standard error, and returns that line.
    pub async fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args).await;
        assert_eq!(
            out.code, code,
            "capstan {args:?}\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "one line expected: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        err.to_string()
    }

    /// `capstan admin initial-password --kubeconfig KUBECONFIG`, asserted to succeed: the initial
    /// admin password of the control plane there.
    pub async fn initial_admin_password(&self, kubeconfig: &Path) -> String {
        let kubeconfig = kubeconfig.display().to_string();
        self.ok(&["admin", "initial-password", "--kubeconfig", &kubeconfig])
            .await
            .trim()
            .to_string()
    }

    /// `capstan login ADDRESS --plaintext --username admin --password PASSWORD`, asserted to
    /// succeed; returns its standard output.
    pub async fn login_admin(&self, address: &str, password: &str) -> String {
        self.ok(&[
            "login",
            address,
            "--plaintext",
            "--username",
            "admin",
            "--password",
            password,
        ])
        .await
    }

    /// Runs `capstan ARGS` to its end, blocking the thread (for tests without a runtime).
    pub fn run_blocking(&self, args: &[&str]) -> Output {
        Output::from_std(self.std_command(args).output().expect("capstan runs"))
    }
}

/// Runs `kubectl --kubeconfig KUBECONFIG ARGS`, with `stdin` as its standard input (empty when
/// `None`); returns whether it succeeded and its standard output followed by its standard error.
pub fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = Output::from_std(child.wait_with_output().unwrap());
    (out.success(), out.combined())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c SCRIPT` stands in for the binary.
    const SH: &str = "/bin/sh";

    #[tokio::test]
    async fn the_environment_is_the_tests_own() {
        let dir = tempfile::tempdir().unwrap();
        let cli = Cli::new(SH, dir.path().join("config")).home(dir.path());
        let script = "echo \"$XDG_CONFIG_HOME|${CAPSTAN_SERVER-unset}|$CAPSTAN_LOG|$HOME|$*\"";
        let out = cli.ok(&["-c", script, "sh", "app", "list"]).await;
        assert_eq!(
            out.trim(),
            format!("{0}/config|unset|error|{0}|app list", dir.path().display())
        );
        let out = cli.log(Some("debug")).run_blocking(&["-c", script]);
        assert!(out.stdout.contains("|debug|"), "{}", out.stdout);
    }

    #[tokio::test]
    async fn fails_returns_the_one_error_line_and_checks_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let cli = Cli::new(SH, dir.path());
        let args = ["-c", "echo 'error: no' >&2; exit 2"];
        assert_eq!(cli.fails(&args, 2).await, "error: no");
        let out = cli.run(&args).await;
        assert!(!out.success());
        assert_eq!(out.combined(), "error: no\n");
    }

    #[tokio::test]
    async fn login_and_initial_password_arguments() {
        let dir = tempfile::tempdir().unwrap();
        // `echo` stands in for the binary: it prints the arguments it was given
        let cli = Cli::new("echo", dir.path());
        assert_eq!(
            cli.initial_admin_password(Path::new("/k")).await,
            "admin initial-password --kubeconfig /k"
        );
        assert_eq!(
            cli.login_admin("h:1", "pw").await.trim(),
            "login h:1 --plaintext --username admin --password pw"
        );
    }

    #[tokio::test]
    #[should_panic(expected = "did not finish within 1 s")]
    async fn a_run_past_its_timeout_panics() {
        let dir = tempfile::tempdir().unwrap();
        let cli = Cli::new(SH, dir.path()).timeout(Duration::from_secs(1));
        cli.run(&["-c", "sleep 30"]).await;
    }

    #[test]
    fn kubectl_reports_failure_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-kubeconfig");
        let (ok, out) = kubectl(&missing, &["get", "pods"], Some("ignored"));
        assert!(!ok, "{out}");
        assert!(!out.is_empty());
    }
}
