//! Polling with a deadline: a test waits for a state by asking again and again, and when the time
//! is up it fails with a message describing the last state it saw.

use std::time::{Duration, Instant};

/// Calls `attempt` every `interval` until it returns `Ok`, and returns that value; once `timeout`
/// has passed, the next `Err` fails the test with its message (which should say what was seen).
pub async fn poll<T>(
    timeout: Duration,
    interval: Duration,
    mut attempt: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(message) => assert!(Instant::now() < deadline, "{message}"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// [`poll`] for a test without a runtime: sleeps the thread between attempts.
pub fn poll_blocking<T>(
    timeout: Duration,
    interval: Duration,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match attempt() {
            Ok(value) => return value,
            Err(message) => assert!(Instant::now() < deadline, "{message}"),
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn poll_returns_the_first_success() {
        let mut calls = 0;
        let value = poll(
            Duration::from_secs(5),
            Duration::from_millis(1),
            async || {
                calls += 1;
                if calls == 3 {
                    Ok(calls * 10)
                } else {
                    Err(format!("only {calls}"))
                }
            },
        )
        .await;
        assert_eq!(value, 30);
    }

    #[tokio::test]
    #[should_panic(expected = "still 7")]
    async fn poll_fails_with_the_last_message() {
        poll(
            Duration::from_millis(50),
            Duration::from_millis(5),
            async || Err::<(), _>("still 7".to_string()),
        )
        .await;
    }

    #[test]
    fn poll_blocking_returns_the_first_success() {
        let mut calls = 0;
        let value = poll_blocking(Duration::from_secs(5), Duration::from_millis(1), || {
            calls += 1;
            if calls == 2 {
                Ok("done")
            } else {
                Err("not yet".into())
            }
        });
        assert_eq!((value, calls), ("done", 2));
    }

    #[test]
    #[should_panic(expected = "timed out waiting: x")]
    fn poll_blocking_fails_with_the_last_message() {
        poll_blocking(Duration::from_millis(20), Duration::from_millis(5), || {
            Err::<(), _>("timed out waiting: x".to_string())
        });
    }
}
