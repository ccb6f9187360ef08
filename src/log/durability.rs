//! Durability modes and group commit.

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// When appended records reach stable storage.
///
/// | mode | an acknowledged record survives a process kill | ... survives a power loss |
/// |---|---|---|
/// | `Buffered` | yes (it is in the OS page cache when the call returns) | only once synced: on roll, [`Store::sync`](crate::Store::sync), [`Store::close`](crate::Store::close) |
/// | `Interval(d)` | yes | if older than about `d` (a background thread syncs every `d`) |
/// | `Sync` | yes | yes: the call returns after the fdatasync covering it |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Fastest: written to the page cache, synced on roll, `sync()` and close.
    Buffered,
    /// As `Buffered`, plus a background sync every interval. The default is 1 s.
    Interval(Duration),
    /// Every append returns only after its record is on stable storage. Concurrent
    /// appenders share one fdatasync (group commit).
    Sync,
}

impl Default for Durability {
    fn default() -> Self {
        Durability::Interval(Duration::from_secs(1))
    }
}

/// Group-commit bookkeeping: which sequence numbers are durable, and whether a
/// sync is under way.
#[derive(Default)]
pub(crate) struct SyncState {
    pub inner: Mutex<SyncInner>,
    pub done: Condvar,
}

#[derive(Default)]
pub(crate) struct SyncInner {
    /// Every record up to this sequence number is on stable storage.
    pub synced_seq: u64,
    /// A thread is running fdatasync now; others wait for it.
    pub in_progress: bool,
}

impl SyncState {
    /// Records that everything up to `seq` is durable.
    pub(super) fn mark(&self, seq: u64) {
        let mut inner = self.inner.lock();
        inner.synced_seq = inner.synced_seq.max(seq);
        drop(inner);
        self.done.notify_all();
    }

    /// The highest durable sequence number.
    pub(super) fn synced(&self) -> u64 {
        self.inner.lock().synced_seq
    }
}

/// The stop signal of the interval-sync thread.
#[derive(Default)]
pub(crate) struct Stopper {
    pub stopped: Mutex<bool>,
    pub wake: Condvar,
}

impl Stopper {
    /// Asks the thread to stop.
    pub(super) fn stop(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
    }

    /// Sleeps up to `d`; true when asked to stop.
    pub(super) fn sleep(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.wake.wait_for(&mut stopped, d);
        }
        *stopped
    }
}
