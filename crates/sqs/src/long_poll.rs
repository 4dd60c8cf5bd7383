//! Wake-ups for long polls: one `Notify` per queue name, signalled after every send
//! that stored a message. (A send through another node is seen at the next periodic
//! recheck; see `RECHECK`.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// A waiting receive looks at the store at least this often, even without a wake-up:
/// sends through other nodes sharing the store do not reach this node's `Notify`.
pub const RECHECK: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Waiters {
    queues: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Waiters {
    pub fn get(&self, queue: &str) -> Arc<Notify> {
        let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(queue.to_owned()).or_default().clone()
    }

    /// Wakes every receive waiting on `queue` (no-op when none waits).
    pub fn wake(&self, queue: &str) {
        let map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(queue) {
            n.notify_waiters();
        }
    }

    pub fn forget(&self, queue: &str) {
        let mut map = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.remove(queue) {
            n.notify_waiters();
        }
    }
}
