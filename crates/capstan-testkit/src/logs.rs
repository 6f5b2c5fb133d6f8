//! Everything a test binary logs, captured in memory: a global `tracing` subscriber at debug level, so
//! a test can assert that a secret or a refused file's content never reached a log line.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The captured log output; the first call installs the subscriber.
pub fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    let buf = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        struct Sink;
        impl Write for Sink {
            fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
                logs()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(data);
                Ok(data.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(|| Sink)
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    buf
}

/// Everything logged so far, as text.
pub fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_are_captured() {
        super::logs();
        tracing::info!(marker = "captured-7f1", "a line");
        assert!(super::logged().contains("captured-7f1"));
    }
}
