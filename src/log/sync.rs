//! Making appended records durable: `sync` (a barrier, shared by concurrent
//! callers) and the background thread of `Durability::Interval`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Log;
use crate::error::Result;

impl Log {
    /// Makes every record appended so far durable. Concurrent callers share one
    /// fdatasync (group commit).
    pub(crate) fn sync(&self) -> Result<()> {
        if !self.config.writable {
            return Ok(());
        }
        self.sync_through(self.visible_seq())
    }

    /// Returns once every record up to `seq` is durable.
    pub(crate) fn sync_through(&self, seq: u64) -> Result<()> {
        let mut inner = self.sync.inner.lock();
        loop {
            if self.poisoned.load(Ordering::Acquire) {
                return Err(self.poison_error());
            }
            if inner.synced_seq >= seq {
                return Ok(());
            }
            if inner.in_progress {
                self.sync.done.wait(&mut inner);
                continue;
            }
            inner.in_progress = true;
            drop(inner);
            // Lead a sync: everything written so far is in the active segment or in
            // sealed segments (synced when sealed).
            let (target, active) = {
                let writer = self.writer.lock();
                (writer.next_seq - 1, writer.active.clone())
            };
            let result = active.segment.sync();
            inner = self.sync.inner.lock();
            inner.in_progress = false;
            if let Err(e) = result {
                drop(inner);
                self.poison(&e);
                return Err(e);
            }
            inner.synced_seq = inner.synced_seq.max(target);
            self.sync.done.notify_all();
        }
    }

    /// Starts the background sync thread of `Durability::Interval`.
    pub(super) fn start_interval_sync(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        let stopper = self.stopper.clone();
        let spawned = std::thread::Builder::new()
            .name("firstlog-sync".into())
            .spawn(move || {
                while !stopper.sleep(every) {
                    let Some(log) = weak.upgrade() else { return };
                    if log.is_poisoned() || log.is_closed() {
                        return;
                    }
                    if log.visible_seq() > log.synced_seq() {
                        // A failure poisons the log; appenders will see it.
                        let _ = log.sync();
                    }
                }
            });
        if let Ok(handle) = spawned {
            *self.syncer.lock() = Some(handle);
        }
    }

    /// Stops the background sync thread and waits for it.
    pub(super) fn stop_interval_sync(&self) {
        self.stopper.stop();
        if let Some(handle) = self.syncer.lock().take() {
            // The sync thread can itself drop the last handle of the log.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}
