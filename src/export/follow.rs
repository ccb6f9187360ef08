//! Exporting continuously: a run every interval, on a thread of its own, for
//! `firstlog serve --export-dir` and `firstlog export --follow`.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{ExportOptions, ExportReport};
use crate::error::{Error, Result};
use crate::store::Store;

/// Where the exporter gets its store.
#[derive(Clone, Debug)]
enum Source {
    /// A store this process has open (the writer's own, or any).
    Open(Store),
    /// A store another process writes: opened read-only for each run, so each
    /// run sees what was committed by then.
    Path(PathBuf),
}

/// Runs exports of one store into one directory, now or every interval.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let out = tempfile::tempdir().unwrap();
/// use std::time::Duration;
/// use firstlog::{ExportOptions, Exporter, Store};
/// let store = Store::open(dir.path())?;
/// let exporting = Exporter::new(store.clone(), ExportOptions::new(out.path()))
///     .spawn_every(Duration::from_secs(300), |report| {
///         if let Err(e) = report { eprintln!("export failed: {e}") }
///     });
/// // ... collect ...
/// exporting.stop(); // returns once the run in progress, if any, has ended
/// # Ok::<(), firstlog::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Exporter {
    source: Source,
    options: ExportOptions,
}

impl Exporter {
    /// Exports from `store` (for example the store a server collects into).
    pub fn new(store: Store, options: ExportOptions) -> Exporter {
        Exporter {
            source: Source::Open(store),
            options,
        }
    }

    /// Exports from the store in `path`, which another process may be writing:
    /// each run opens it read-only anew.
    pub fn read_only(path: impl Into<PathBuf>, options: ExportOptions) -> Exporter {
        Exporter {
            source: Source::Path(path.into()),
            options,
        }
    }

    /// One run now.
    pub fn run_once(&self) -> Result<ExportReport> {
        match &self.source {
            Source::Open(store) => store.export_parquet(&self.options),
            Source::Path(path) => {
                if !Store::exists(path) {
                    return Err(Error::NotAStore { path: path.clone() });
                }
                Store::open_read_only(path)?.export_parquet(&self.options)
            }
        }
    }

    /// Runs now, then every `interval`, until `stop` receives a message or
    /// its sender is dropped; each outcome goes to `on_run`. A failed run is
    /// reported and retried at the next interval (a run never leaves a
    /// partial file, so retrying is safe).
    pub fn run_every(
        &self,
        interval: Duration,
        stop: &Receiver<()>,
        mut on_run: impl FnMut(Result<ExportReport>),
    ) {
        loop {
            on_run(self.run_once());
            match stop.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => continue,
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// [`run_every`](Self::run_every) on a thread of its own.
    pub fn spawn_every(
        self,
        interval: Duration,
        on_run: impl FnMut(Result<ExportReport>) + Send + 'static,
    ) -> ExportLoop {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("firstlog-export".into())
            .spawn(move || self.run_every(interval, &stopped, on_run))
            .ok();
        ExportLoop { stop, thread }
    }
}

/// An exporter running on its own thread ([`Exporter::spawn_every`]).
#[derive(Debug)]
pub struct ExportLoop {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl ExportLoop {
    /// True when the thread was started (spawning a thread can fail).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the loop and waits for the run in progress, if any.
    pub fn stop(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
