//! Running external programs (git, kustomize, helm, plugins) with a scrubbed environment and a timeout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Most output kept from a tool (stdout) unless set ([`ToolCommand::max_output`]); a tool printing
/// more is an error.
const MAX_STDOUT: u64 = 256 * 1024 * 1024;
/// Most error output kept for messages.
const MAX_STDERR: usize = 64 * 1024;

/// One program to run.
#[derive(Debug, Clone)]
pub struct ToolCommand {
    /// Program (name looked up on `PATH`, or a path).
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<OsString>,
    /// Working directory.
    pub dir: Option<PathBuf>,
    /// Environment: only these variables (plus `PATH`, `HOME`, `LANG` and `TMPDIR` of this process
    /// unless set here) reach the program.
    pub env: Vec<(String, String)>,
    /// Time limit.
    pub timeout: Duration,
    /// Most bytes of standard output; more is an error (the program is killed).
    pub max_stdout: u64,
}

/// Result of a finished program.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error (truncated).
    pub stderr: String,
}

impl ToolOutput {
    /// True when the program exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Why a program could not run to completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The program could not be started.
    #[error("cannot run {program}: {detail}")]
    Spawn {
        /// Program name.
        program: String,
        /// OS error.
        detail: String,
    },
    /// The time limit passed; the program was killed.
    #[error("{program} timed out after {seconds} s")]
    Timeout {
        /// Program name.
        program: String,
        /// The limit.
        seconds: u64,
    },
    /// Output could not be read or was too large.
    #[error("{program}: {detail}")]
    Output {
        /// Program name.
        program: String,
        /// What went wrong.
        detail: String,
    },
}

impl ToolCommand {
    /// A command with no arguments, no extra environment and the given timeout.
    pub fn new(program: impl Into<PathBuf>, timeout: Duration) -> Self {
        ToolCommand {
            program: program.into(),
            args: Vec::new(),
            dir: None,
            env: Vec::new(),
            timeout,
            max_stdout: MAX_STDOUT,
        }
    }

    /// Sets the most bytes of standard output accepted.
    pub fn max_output(mut self, bytes: u64) -> Self {
        self.max_stdout = bytes;
        self
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn program_name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.display().to_string())
    }

    /// Runs the program to completion, killing it (and its process group) at the timeout.
    ///
    /// The program is resolved to an absolute path first: with a bare name and a changed
    /// environment, the standard library must `fork` (copying the page tables of this large
    /// process) instead of using `posix_spawn`, which made every git call cost milliseconds of CPU.
    pub async fn run(&self) -> Result<ToolOutput, ExecError> {
        let name = self.program_name();
        let path_override = self
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| OsString::from(v));
        let mut cmd = Command::new(resolve_program(&self.program, path_override));
        cmd.args(&self.args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] {
            if !self.env.iter().any(|(k, _)| k == key)
                && let Some(value) = std::env::var_os(key)
            {
                cmd.env(key, value);
            }
        }
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
            program: name.clone(),
            detail: e.to_string(),
        })?;
        let pid = child.id();
        let max_stdout = self.max_stdout;
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let work = async {
            let out = async {
                let mut buf = Vec::new();
                if let Some(s) = stdout.as_mut() {
                    let mut limited = s.take(max_stdout.saturating_add(1));
                    limited.read_to_end(&mut buf).await?;
                    if buf.len() as u64 > max_stdout {
                        // it would block on a full pipe: stop it now
                        kill_group(pid);
                    }
                }
                Ok::<_, std::io::Error>(buf)
            };
            let err = async {
                let mut buf = Vec::new();
                if let Some(s) = stderr.as_mut() {
                    let mut chunk = [0u8; 8192];
                    loop {
                        let n = s.read(&mut chunk).await?;
                        if n == 0 {
                            break;
                        }
                        if buf.len() < MAX_STDERR {
                            buf.extend_from_slice(&chunk[..n.min(MAX_STDERR - buf.len())]);
                        }
                    }
                }
                Ok::<_, std::io::Error>(buf)
            };
            let (out, err) = tokio::join!(out, err);
            let status = child.wait().await;
            (out, err, status)
        };
        match tokio::time::timeout(self.timeout, work).await {
            Err(_) => {
                kill_group(pid);
                Err(ExecError::Timeout {
                    program: name,
                    seconds: self.timeout.as_secs(),
                })
            }
            Ok((out, err, status)) => {
                let stdout = out.map_err(|e| ExecError::Output {
                    program: name.clone(),
                    detail: e.to_string(),
                })?;
                if stdout.len() as u64 > max_stdout {
                    kill_group(pid);
                    return Err(ExecError::Output {
                        program: name,
                        detail: format!("output larger than the maximum of {max_stdout} bytes"),
                    });
                }
                let stderr = String::from_utf8_lossy(&err.unwrap_or_default()).into_owned();
                let status = status.map_err(|e| ExecError::Output {
                    program: name.clone(),
                    detail: e.to_string(),
                })?;
                Ok(ToolOutput {
                    code: status.code(),
                    stdout,
                    stderr,
                })
            }
        }
    }
}

/// Parses a time limit as Argo CD's `ARGOCD_EXEC_TIMEOUT` takes it: a Go duration (`90s`, `2m`,
/// `1m30s`, `1h`) or plain seconds (`90`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(seconds) = t.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let bad = || format!("time limit {text:?}: use seconds (90) or a duration (90s, 2m, 1m30s)");
    let mut total = 0f64;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(split);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let factor = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * factor;
        rest = next;
    }
    Ok(Duration::from_secs_f64(total))
}

/// Kills the process group a timed-out program leads (its children included).
fn kill_group(pid: Option<u32>) {
    // The group id is the child's pid (it was started with `process_group(0)`); never signal
    // anything that is not such a group.
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// `program` as an absolute path, looked up in `path` (or this process's `PATH`) when it is a bare
/// name; the name itself when it is not found (the spawn then reports it).
fn resolve_program(program: &Path, path: Option<OsString>) -> PathBuf {
    if program.components().count() != 1 || program.is_absolute() {
        return program.to_path_buf();
    }
    static FOUND: std::sync::LazyLock<
        std::sync::RwLock<std::collections::HashMap<(PathBuf, OsString), PathBuf>>,
    > = std::sync::LazyLock::new(Default::default);
    let search = path
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    let key = (program.to_path_buf(), search.clone());
    if let Some(found) = FOUND.read().ok().and_then(|f| f.get(&key).cloned()) {
        return found;
    }
    let found = std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
    match found {
        Some(found) => {
            if let Ok(mut cache) = FOUND.write() {
                cache.insert(key, found.clone());
            }
            found
        }
        None => program.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn bare_names_resolve_to_absolute_paths() {
        let sh = resolve_program(Path::new("sh"), None);
        assert!(sh.is_absolute(), "{}", sh.display());
        assert_eq!(
            resolve_program(Path::new("/bin/sh"), None),
            PathBuf::from("/bin/sh")
        );
        let missing = resolve_program(Path::new("no-such-tool-capstan"), None);
        assert_eq!(missing, PathBuf::from("no-such-tool-capstan"));
        // a PATH given to the command is the one searched
        let empty = resolve_program(Path::new("sh"), Some(OsString::from("/nonexistent")));
        assert_eq!(empty, PathBuf::from("sh"));
    }

    use super::*;

    #[tokio::test]
    async fn environment_is_scrubbed() {
        // cargo sets CARGO_MANIFEST_DIR for test processes; the child must not inherit it.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let out = ToolCommand::new("sh", Duration::from_secs(10))
            .args(["-c", "echo \"${CARGO_MANIFEST_DIR-unset}:$MINE\""])
            .env("MINE", "yes")
            .run()
            .await
            .unwrap();
        assert!(out.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "unset:yes");
    }

    #[test]
    fn timeouts_parse_like_argo_cd() {
        assert_eq!(parse_timeout("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("5d").is_err());
        assert!(parse_timeout("").is_err());
    }

    #[tokio::test]
    async fn endless_output_is_cut_at_the_limit() {
        let started = std::time::Instant::now();
        let err = ToolCommand::new("sh", Duration::from_secs(30))
            .args(["-c", "yes CAPSTAN-FLOOD"])
            .max_output(1 << 20)
            .run()
            .await
            .unwrap_err();
        assert!(matches!(err, ExecError::Output { .. }), "{err}");
        assert!(err.to_string().contains("1048576"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn timeout_kills_the_program() {
        let started = std::time::Instant::now();
        let err = ToolCommand::new("sh", Duration::from_millis(300))
            .args(["-c", "sleep 30 & sleep 30"])
            .run()
            .await
            .unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
