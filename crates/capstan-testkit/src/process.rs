//! Child processes of a test: free loopback ports, and a guard that kills a spawned process when it
//! goes out of scope, so that a failing assertion never leaves a server or a controller running.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A TCP port on 127.0.0.1 that was free a moment ago (the listener that found it is closed).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A spawned process, killed (SIGKILL) and reaped when dropped, also when the test panics.
/// Dereferences to the [`Child`] for its pipes, its id and `try_wait`.
pub struct KillOnDrop(Child);

impl KillOnDrop {
    /// Takes ownership of `child`.
    pub fn new(child: Child) -> KillOnDrop {
        KillOnDrop(child)
    }

    /// Spawns `command`; panics naming `what` when it cannot be started.
    pub fn spawn(command: &mut Command, what: &str) -> KillOnDrop {
        KillOnDrop(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("{what} starts: {e}")),
        )
    }

    /// Kills the process now (SIGKILL) and waits for it; harmless when it has already ended.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Deref for KillOnDrop {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `capstan controller` (the binary at `capstan`) against the cluster of `kubeconfig`, with its
/// repository cache in `cache`, waves 0.2 s apart, four status processors, `extra` arguments
/// (sharding, for example), warnings only and its output discarded.
pub fn start_controller(
    capstan: &Path,
    kubeconfig: &Path,
    cache: &Path,
    extra: &[&str],
) -> KillOnDrop {
    KillOnDrop::spawn(
        Command::new(capstan)
            .arg("controller")
            .args(extra)
            .args(["--wave-delay", "0.2", "--status-processors", "4"])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--repo-cache-dir")
            .arg(cache)
            .env("CAPSTAN_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "capstan controller",
    )
}

/// The command of `capstan up` (the binary at `capstan`) with its data in `data`, the embedded
/// apiserver on `apiserver_port` and the API server on `api_port`, reconciling every 2 s; the caller
/// chooses its log level and where its output goes, then spawns it with [`KillOnDrop::spawn`].
pub fn up_command(capstan: &Path, data: &Path, apiserver_port: u16, api_port: u16) -> Command {
    let mut command = Command::new(capstan);
    command
        .args(["up", "--reconciliation", "2s"])
        .arg("--data-dir")
        .arg(data)
        .arg("--apiserver-listen")
        .arg(format!("127.0.0.1:{apiserver_port}"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{api_port}"));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    }

    #[test]
    fn a_dropped_guard_kills_its_process() {
        let guard = KillOnDrop::spawn(Command::new("sleep").arg("30"), "sleep");
        let pid = guard.id();
        drop(guard);
        // reaped: no such process any more
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        assert!(
            !alive,
            "process {pid} still exists after the guard was dropped"
        );
    }

    #[test]
    fn kill_ends_a_running_process_and_may_be_repeated() {
        let mut guard = KillOnDrop::spawn(Command::new("sleep").arg("30"), "sleep");
        assert!(guard.try_wait().unwrap().is_none(), "sleep runs");
        guard.kill();
        guard.kill();
        assert!(guard.try_wait().unwrap().is_some(), "sleep ended");
    }
}
