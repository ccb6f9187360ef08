//! Waiting for new records without polling.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Log;

impl Log {
    /// Blocks until a record with sequence number `seq` or higher is published or
    /// `timeout` passes; returns the last published sequence number.
    pub(crate) fn wait_for(&self, seq: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now().checked_add(timeout);
        self.tail_waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.tail_lock.lock();
        while self.visible.load(Ordering::SeqCst) < seq && !self.closed.load(Ordering::Acquire) {
            match deadline {
                Some(deadline) => {
                    if self.tail_cv.wait_until(&mut guard, deadline).timed_out() {
                        break;
                    }
                }
                None => self.tail_cv.wait(&mut guard),
            }
        }
        drop(guard);
        self.tail_waiters.fetch_sub(1, Ordering::AcqRel);
        self.visible_seq()
    }

    /// Wakes the threads waiting in `wait_for`, if any.
    pub(super) fn wake_tailers(&self) {
        if self.tail_waiters.load(Ordering::SeqCst) > 0 {
            self.wake_all_tailers();
        }
    }

    /// Wakes every waiter (they re-check, e.g. after close).
    pub(super) fn wake_all_tailers(&self) {
        let _guard = self.tail_lock.lock();
        self.tail_cv.notify_all();
    }
}
