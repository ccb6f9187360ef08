//! The background thread that runs lifecycle passes (retention, compaction of
//! pending erasures) for a store that needs them: every interval, and at once
//! when woken (a new erasure request, a new policy).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct Signal {
    stop: bool,
    wake: bool,
}

#[derive(Default)]
struct Shared {
    signal: Mutex<Signal>,
    changed: Condvar,
}

/// The maintenance thread of one store (started on first need).
#[derive(Default)]
pub(crate) struct Maintainer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Maintainer {
    /// Starts the thread if it is not running: it calls `pass` every `every` and
    /// when woken, until stopped or until `pass` returns false (the store is gone).
    pub(crate) fn start(&self, every: Duration, pass: impl Fn() -> bool + Send + 'static) {
        let mut thread = self.thread.lock();
        if thread.is_some() || self.shared.signal.lock().stop {
            return;
        }
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name("firstlog-maintain".into())
            .spawn(move || {
                loop {
                    {
                        let mut signal = shared.signal.lock();
                        if !signal.wake && !signal.stop {
                            shared.changed.wait_for(&mut signal, every);
                        }
                        if signal.stop {
                            return;
                        }
                        signal.wake = false;
                    }
                    if !pass() {
                        return;
                    }
                }
            });
        // Without a thread, passes still run on demand (`Store::maintain`).
        *thread = spawned.ok();
    }

    /// True when the thread runs.
    pub(crate) fn is_running(&self) -> bool {
        self.thread.lock().is_some()
    }

    /// Asks for a pass now.
    pub(crate) fn wake(&self) {
        self.shared.signal.lock().wake = true;
        self.shared.changed.notify_all();
    }

    /// Stops the thread and waits for it (its current pass finishes first).
    pub(crate) fn stop(&self) {
        self.shared.signal.lock().stop = true;
        self.shared.changed.notify_all();
        let thread = self.thread.lock().take();
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
        {
            // A panic in a pass is already reported by the panic hook.
            let _ = thread.join();
        }
    }

    /// True once stopped: a long pass checks it between segments.
    pub(crate) fn is_stopping(&self) -> bool {
        self.shared.signal.lock().stop
    }
}

impl Drop for Maintainer {
    fn drop(&mut self) {
        self.stop();
    }
}
