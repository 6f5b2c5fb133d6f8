//! A work queue of application names: an item waiting in the queue is not added twice, and an item is
//! never processed by two workers at once (a change that arrives while it is processed runs it again
//! afterwards).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    active: HashSet<String>,
    dirty: HashSet<String>,
    closed: bool,
}

/// The queue; cheap to clone.
#[derive(Clone, Default)]
pub struct WorkQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
}

impl WorkQueue {
    /// Adds `name` unless it is already waiting.
    pub fn add(&self, name: &str) {
        let Ok(mut s) = self.state.lock() else { return };
        if s.closed {
            return;
        }
        if s.active.contains(name) {
            s.dirty.insert(name.to_string());
            return;
        }
        if s.queued.insert(name.to_string()) {
            s.queue.push_back(name.to_string());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Adds `name` after `delay` (a periodic refresh or a retry).
    pub fn add_after(&self, name: &str, delay: Duration) {
        let queue = self.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(&name);
        });
    }

    /// Waits for the next item; `None` once the queue is closed.
    pub async fn next(&self) -> Option<String> {
        loop {
            {
                let Ok(mut s) = self.state.lock() else {
                    return None;
                };
                if s.closed {
                    return None;
                }
                if let Some(name) = s.queue.pop_front() {
                    s.queued.remove(&name);
                    s.active.insert(name.clone());
                    return Some(name);
                }
            }
            self.notify.notified().await;
        }
    }

    /// Marks `name` as processed; if it changed meanwhile it is queued again.
    pub fn done(&self, name: &str) {
        let Ok(mut s) = self.state.lock() else { return };
        s.active.remove(name);
        if s.dirty.remove(name) && s.queued.insert(name.to_string()) {
            s.queue.push_back(name.to_string());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Items waiting or being processed.
    pub fn busy(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.queue.len() + s.active.len())
            .unwrap_or(0)
    }

    /// Stops the queue: waiting workers get `None`.
    pub fn close(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.closed = true;
        }
        self.notify.notify_waiters();
    }

    /// Items waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.queue.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedupes_and_requeues_changes_made_while_active() {
        let q = WorkQueue::default();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        let first = q.next().await.unwrap();
        assert_eq!(first, "a");
        q.add("a"); // changed while processed
        assert_eq!(q.len(), 1);
        q.done("a");
        assert_eq!(q.next().await.unwrap(), "b");
        assert_eq!(q.next().await.unwrap(), "a");
        q.close();
        assert!(q.next().await.is_none());
    }
}
