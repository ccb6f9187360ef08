//! Waiting for another process to write the store, without polling: a thread
//! blocks on inotify(7) for changes in the store directory (appends to the
//! active segment, new segments, the catalog) and signals a channel; the
//! waiter also wakes after a timeout, so a platform or file system without
//! inotify only makes following slower, never stuck.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Signals when the watched directory changes.
pub struct DirWatch {
    changes: Option<Receiver<()>>,
}

impl DirWatch {
    /// Watches `dir`; without inotify, [`DirWatch::wait`] only times out.
    pub fn new(dir: &Path) -> DirWatch {
        DirWatch {
            changes: start(dir),
        }
    }

    /// Waits until the directory changes or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        match &self.changes {
            Some(changes) => match changes.recv_timeout(timeout) {
                Ok(()) => while changes.try_recv().is_ok() {},
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            },
            None => std::thread::sleep(timeout),
        }
    }
}

#[cfg(target_os = "linux")]
fn start(dir: &Path) -> Option<Receiver<()>> {
    use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
    let fd = inotify::init(CreateFlags::CLOEXEC).ok()?;
    let flags = WatchFlags::MODIFY | WatchFlags::CREATE | WatchFlags::MOVED_TO;
    inotify::add_watch(&fd, dir, flags).ok()?;
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("firstlog-watch".into())
        .spawn(move || {
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
            let mut reader = inotify::Reader::new(&fd, &mut buf);
            while reader.next().is_ok() {
                if let Err(mpsc::TrySendError::Disconnected(())) = tx.try_send(()) {
                    return;
                }
            }
        })
        .ok()?;
    Some(rx)
}

#[cfg(not(target_os = "linux"))]
fn start(_dir: &Path) -> Option<Receiver<()>> {
    None
}
