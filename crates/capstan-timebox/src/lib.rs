//! CPU-bound evaluations of untrusted programs (jq path expressions, Jsonnet) run on their own thread
//! with a time limit. A thread cannot be stopped from outside, so an evaluation that passes its limit
//! is abandoned and keeps its CPU until it ends by itself; a [`Timebox`] counts those and refuses new
//! evaluations while too many still run, so that runaway programs cannot take every core.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// Why an evaluation gave no result.
#[derive(Debug, thiserror::Error)]
pub enum TimeboxError {
    /// Too many earlier evaluations still run past their limit.
    #[error("too many earlier evaluations are still running past their time limit")]
    Busy,
    /// The evaluation passed its time limit and was abandoned.
    #[error("the evaluation took longer than {0:?} and was stopped")]
    TimedOut(Duration),
    /// The thread could not be started.
    #[error("cannot start the evaluation: {0}")]
    Spawn(std::io::Error),
    /// The evaluation ended without a result (it panicked).
    #[error("the evaluation stopped without a result")]
    Stopped,
}

/// States of one evaluation, shared by the caller and its thread.
const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;

/// Evaluations of one kind, with the number of abandoned ones still running.
#[derive(Debug)]
pub struct Timebox {
    runaway: AtomicUsize,
    max_runaway: usize,
}

/// Marks an evaluation finished when its thread ends (also by a panic); an abandoned one is
/// uncounted.
struct Finished {
    state: Arc<AtomicU8>,
    runaway: &'static AtomicUsize,
}

impl Drop for Finished {
    fn drop(&mut self) {
        if self
            .state
            .compare_exchange(RUNNING, DONE, SeqCst, SeqCst)
            .is_err()
        {
            self.runaway.fetch_sub(1, SeqCst);
        }
    }
}

impl Timebox {
    /// Evaluations that refuse new work while `max_runaway` abandoned ones still run.
    pub const fn new(max_runaway: usize) -> Timebox {
        Timebox {
            runaway: AtomicUsize::new(0),
            max_runaway,
        }
    }

    /// Abandoned evaluations still running.
    pub fn running_past_limit(&self) -> usize {
        self.runaway.load(SeqCst)
    }

    /// Runs `evaluation` on a thread named `name` (with `stack_size` bytes of stack when given) and
    /// waits at most `limit` for its result.
    pub fn run<T, F>(
        &'static self,
        name: &str,
        stack_size: Option<usize>,
        limit: Duration,
        evaluation: F,
    ) -> Result<T, TimeboxError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.runaway.load(SeqCst) >= self.max_runaway {
            return Err(TimeboxError::Busy);
        }
        let (tx, rx) = sync_channel(1);
        let state = Arc::new(AtomicU8::new(RUNNING));
        let finished = Finished {
            state: state.clone(),
            runaway: &self.runaway,
        };
        let mut builder = std::thread::Builder::new().name(name.to_string());
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        builder
            .spawn(move || {
                let _finished = finished;
                let _ = tx.send(evaluation());
            })
            .map_err(TimeboxError::Spawn)?;
        match rx.recv_timeout(limit) {
            Ok(value) => Ok(value),
            Err(RecvTimeoutError::Disconnected) => Err(TimeboxError::Stopped),
            Err(RecvTimeoutError::Timeout) => {
                // counted before it is marked, so that the thread's decrement always follows
                self.runaway.fetch_add(1, SeqCst);
                if state
                    .compare_exchange(RUNNING, ABANDONED, SeqCst, SeqCst)
                    .is_err()
                {
                    // it finished just now (its result was sent before it was marked)
                    self.runaway.fetch_sub(1, SeqCst);
                    return rx
                        .try_recv()
                        .map_err(|_: mpsc::TryRecvError| TimeboxError::Stopped);
                }
                Err(TimeboxError::TimedOut(limit))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_and_runaways_are_counted_until_they_end() {
        static BOX: Timebox = Timebox::new(1);
        assert_eq!(BOX.run("t", None, Duration::from_secs(5), || 7).unwrap(), 7);
        let (release, wait) = mpsc::channel::<()>();
        let slow = BOX.run("t", None, Duration::from_millis(50), move || {
            let _ = wait.recv();
        });
        assert!(matches!(slow, Err(TimeboxError::TimedOut(_))), "{slow:?}");
        assert_eq!(BOX.running_past_limit(), 1);
        // the one abandoned evaluation still runs: new ones are refused
        assert!(matches!(
            BOX.run("t", None, Duration::from_secs(5), || 1),
            Err(TimeboxError::Busy)
        ));
        release.send(()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while BOX.running_past_limit() > 0 {
            assert!(std::time::Instant::now() < deadline, "never uncounted");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            BOX.run("t", Some(1 << 20), Duration::from_secs(5), || 2)
                .unwrap(),
            2
        );
    }

    #[test]
    fn a_panicking_evaluation_is_an_error() {
        static BOX: Timebox = Timebox::new(1);
        let r: Result<(), _> = BOX.run("t", None, Duration::from_secs(5), || panic!("boom"));
        assert!(matches!(r, Err(TimeboxError::Stopped)), "{r:?}");
        assert_eq!(BOX.running_past_limit(), 0);
    }
}
