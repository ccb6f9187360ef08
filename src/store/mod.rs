//! The public facade: [`Store`] ties the catalog, rules, log, index and queries
//! together. It holds no storage logic of its own.

mod collect;
mod json;
mod lifecycle;
mod options;
mod prepare;
mod receipt;
mod stats;
mod upgrade;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

pub use options::Options;
pub use receipt::Receipt;
pub use stats::{Readiness, SourceStats, Stats};
pub use verify::{Problem, VerifyReport};

use crate::catalog::{Catalog, Source};
use crate::dedup::DedupWindow;
use crate::error::{Error, Result};
use crate::event::SourceId;
use crate::event::{Limits, NamingPolicy};
use crate::index::NameDictionary;
use crate::io::{LockGuard, RealFs, Vfs};
use crate::lifecycle::Maintainer;
use crate::log::{Log, LogConfig, OpenReport};
use crate::quarantine::{Quarantine, Rejection};
use crate::query::LogReader;
use crate::query::Query;
use crate::rules::{Pipeline, Rule, Scope};

/// An open firstlog store: one directory, one writer process.
///
/// `Store` is cheap to clone (an `Arc` inside) and `Send + Sync`: share it between
/// threads and call it concurrently.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use firstlog::{NewEvent, Store};
/// let store = Store::open(dir.path())?;
/// let app = store.create_source("Web App")?;
/// let receipt = store.collect(NewEvent::new("Form Submitted", app.write_key()))?;
/// assert_eq!(receipt.seq, Some(1));
/// store.close()?;
/// # Ok::<(), firstlog::Error>(())
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    options: Options,
    catalog: Catalog,
    log: Arc<Log>,
    pipeline: RwLock<Arc<Pipeline>>,
    dedup: DedupWindow,
    quarantine: Quarantine,
    counters: collect::Counters,
    naming_cache: prepare::NamingCache,
    next_owner: AtomicU64,
    open_report: OpenReport,
    close_lock: Mutex<()>,
    /// The background lifecycle thread, and the lock of a maintenance pass.
    maintainer: Maintainer,
    maintenance: Mutex<()>,
    /// Why the last background pass failed, until one succeeds.
    maintenance_error: Mutex<Option<String>>,
    /// This `Inner` (for the maintenance thread, which must not keep it alive).
    me: Weak<Inner>,
    // Dropped last: the directory stays locked until everything above is closed.
    // `None` for a read-only open.
    _lock: Option<LockGuard>,
}

impl Store {
    /// Opens the store in `path` (creating it if needed) with default [`Options`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with(path, Options::default())
    }

    /// Opens the store in `path` (creating it if needed).
    ///
    /// Takes the directory's exclusive lock ([`Error::Locked`] if another writer
    /// holds it), reads the catalog, checks every sealed segment's header and seal,
    /// maps (or rebuilds) the index files, and recovers the active segment. What
    /// was repaired is in [`Store::open_report`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        options.check()?;
        let dir = path.as_ref().to_path_buf();
        let fs: Arc<dyn Vfs> = options.fs.clone().unwrap_or_else(|| Arc::new(RealFs));
        let writable = !options.read_only;
        let lock = lock_dir(&*fs, &dir, writable)?;
        let catalog = Catalog::open(fs.clone(), &dir, options.naming, writable)?;
        if let (Some(retention), true) = (options.retention, writable)
            && retention.to_stored() != catalog.state().data.retention
        {
            catalog.set_retention(retention.to_stored())?;
        }
        let segment_bytes = segment_size(&catalog, &options, writable)?;
        let record_max = crate::record::padded_len(options.limits.event_bytes_max) as u64;
        let config = LogConfig {
            segment_bytes,
            min_segment_bytes: crate::log::min_segment_bytes(segment_bytes, record_max),
            durability: options.durability,
            recovery: options.recovery,
            writable,
            log_start: catalog.state().data.log_start,
            clock: options.clock.clone(),
        };
        let mut upgrade_report = OpenReport::default();
        if writable {
            upgrade::upgrade_store(&*fs, &dir, &catalog, &mut upgrade_report)?;
        }
        let names = Arc::new(NameDictionary::default());
        let store_id = catalog.state().data.store_id;
        let (log, mut open_report) = Log::open(fs.clone(), &dir, store_id, config, names)?;
        open_report.absorb(upgrade_report);
        let dedup = DedupWindow::new(
            i64::try_from(options.dedup_window.as_millis()).unwrap_or(i64::MAX),
            options.dedup_capacity,
        );
        rebuild_dedup(&log, &dedup, options.clock.now_ms());
        let pipeline = Pipeline::of(&options.rules);
        let quarantine_bytes = if writable {
            options.quarantine_bytes
        } else {
            0
        };
        let quarantine = Quarantine::new(fs, &dir, quarantine_bytes);
        let inner = Arc::new_cyclic(|me| Inner {
            dir,
            catalog,
            log,
            pipeline: RwLock::new(Arc::new(pipeline)),
            dedup,
            quarantine,
            counters: collect::Counters::default(),
            naming_cache: prepare::NamingCache::default(),
            next_owner: AtomicU64::new(1),
            open_report,
            close_lock: Mutex::new(()),
            options,
            maintainer: Maintainer::default(),
            maintenance: Mutex::new(()),
            maintenance_error: Mutex::new(None),
            me: me.clone(),
            _lock: lock,
        });
        // Readers too: an erased event stays hidden from a read-only open.
        inner.hide_pending_erasures();
        inner.start_maintainer();
        Ok(Store { inner })
    }

    /// True when `path` holds a firstlog store (its catalog exists).
    pub fn exists(path: impl AsRef<Path>) -> bool {
        path.as_ref().join(crate::catalog::CATALOG_FILE).is_file()
    }

    /// Opens an existing store for reading only, beside a live writer (another
    /// process holding the store, e.g. `firstlog serve`). It takes no lock and
    /// writes nothing: it sees the events committed when it was opened (reopen to
    /// see later ones), rebuilds damaged index files in memory only, and refuses
    /// every change with [`Error::ReadOnly`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with(path, Options::default().read_only())
    }

    /// [`Store::open_read_only`] with options (its file system, clock, recovery
    /// mode; the write-side options do not apply).
    pub fn open_read_only_with(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        Self::open_with(path, options.read_only())
    }

    /// True for a store opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.inner.options.read_only
    }

    /// The limits collection enforces.
    pub fn limits(&self) -> Limits {
        self.inner.options.limits
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// The store's id: 16 random bytes chosen when the store was created, kept
    /// in the catalog and in every segment header (FORMAT.md §2.1, §5).
    pub fn store_id(&self) -> [u8; 16] {
        self.inner.catalog.state().data.store_id
    }

    /// The store id as 32 lowercase hexadecimal digits (the export's file
    /// names carry it, so that several stores can share one export directory).
    pub fn store_id_hex(&self) -> String {
        use std::fmt::Write;
        self.store_id()
            .iter()
            .fold(String::with_capacity(32), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    /// The store's clock (ms since the Unix epoch): what retention compares.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }

    /// The file system the store works on (the real one unless the options
    /// gave another, as tests do).
    pub(crate) fn fs(&self) -> Arc<dyn Vfs> {
        self.inner
            .options
            .fs
            .clone()
            .unwrap_or_else(|| Arc::new(RealFs))
    }

    /// What opening found and repaired (torn tail cut, indexes rebuilt, files removed).
    pub fn open_report(&self) -> &OpenReport {
        &self.inner.open_report
    }

    // ---- sources -------------------------------------------------------------

    /// Creates a source with a fresh random write key.
    pub fn create_source(&self, name: &str) -> Result<Source> {
        self.inner.catalog.create_source(name)
    }

    /// Every source, in creation order.
    pub fn sources(&self) -> Vec<Source> {
        self.inner.catalog.state().data.sources.clone()
    }

    /// The source with this id.
    pub fn source(&self, id: SourceId) -> Option<Source> {
        self.inner.catalog.state().by_id(id).cloned()
    }

    /// The source with this write key (rotated-away keys find nothing).
    pub fn source_by_write_key(&self, write_key: &str) -> Option<Source> {
        self.inner.catalog.state().by_key(write_key).cloned()
    }

    /// Renames a source.
    pub fn rename_source(&self, id: SourceId, name: &str) -> Result<Source> {
        self.inner.catalog.rename_source(id, name)
    }

    /// Gives a source a new write key; the old key stops working at once.
    pub fn rotate_write_key(&self, id: SourceId) -> Result<Source> {
        self.inner.catalog.rotate_write_key(id)
    }

    /// Stops collection for a source (its events stay readable).
    pub fn disable_source(&self, id: SourceId) -> Result<Source> {
        self.inner.catalog.set_enabled(id, false)
    }

    /// Resumes collection for a source.
    pub fn enable_source(&self, id: SourceId) -> Result<Source> {
        self.inner.catalog.set_enabled(id, true)
    }

    /// Restricts which web origins may send events to a source (the HTTP
    /// collector checks the `Origin` header); an empty list allows any origin.
    pub fn set_allowed_origins(&self, id: SourceId, origins: Vec<String>) -> Result<Source> {
        self.inner.catalog.set_allowed_origins(id, origins)
    }

    /// Makes `bytes` the store's segment size: segments created after the next
    /// open have it (unless that open's options ask for another).
    pub fn set_segment_bytes(&self, bytes: u64) -> Result<()> {
        self.inner.options.check_segment_bytes(bytes)?;
        self.inner.catalog.set_segment_bytes(bytes)
    }

    /// The store's own segment size, if it has one (see [`Options::segment_bytes`]).
    pub fn segment_bytes(&self) -> Option<u64> {
        self.inner.catalog.state().data.segment_bytes
    }

    /// Why a write would fail now, if it would: `Ok` when the store takes writes;
    /// else the error (`Closed`, `ReadOnly`, `Poisoned` after a failed write or
    /// fsync, or `DiskFull` when there is no room for a new segment). A health
    /// check for servers (`/readyz`). After `DiskFull` it tries again to start
    /// a segment, so it turns `Ok` (and writes resume) once space is freed.
    pub fn check_writable(&self) -> Result<()> {
        self.inner.log.readiness()
    }

    /// Sets the naming policy of the store (`source: None`) or of one source.
    pub fn set_naming_policy(&self, source: Option<SourceId>, policy: NamingPolicy) -> Result<()> {
        self.inner.catalog.set_naming(source, Some(policy))
    }

    // ---- rules ---------------------------------------------------------------

    /// Adds a rule at the end of the pipeline; it applies to events collected
    /// from now on.
    pub fn add_rule(&self, scope: Scope, rule: Arc<dyn Rule>) {
        let mut pipeline = self.inner.pipeline.write();
        *pipeline = Arc::new(pipeline.with(scope, rule));
    }

    /// The number of rules in the pipeline.
    pub fn rule_count(&self) -> usize {
        self.inner.pipeline.read().len()
    }

    // ---- reads ---------------------------------------------------------------

    /// A query over the events of `source`.
    pub fn query(&self, source: SourceId) -> Query<'_> {
        let known = self.inner.catalog.state().by_id(source).is_some();
        Query::new(&self.inner.log, source, known)
    }

    /// Every source's events from sequence number `seq` on, in log order.
    pub fn read_from(&self, seq: u64) -> LogReader {
        LogReader::new(&self.inner.log, seq)
    }

    /// The named consumer's stored position (see [`Consumer`]): kept in the
    /// store directory beside the catalog, so it works on a read-only open
    /// beside a live writer too (the one file a read-only open writes, and
    /// only when [`Consumer::commit`] is called). [`Error::InUse`] while
    /// another `Consumer` of that name is open.
    pub fn consumer(&self, name: &str) -> Result<crate::consumer::Consumer> {
        crate::consumer::Consumer::open(self.fs(), &self.inner.dir, name)
    }

    /// Blocks until an event with sequence number `seq` or higher is readable, or
    /// `timeout` passes. Returns the last readable sequence number.
    pub fn wait_for(&self, seq: u64, timeout: Duration) -> u64 {
        self.inner.log.wait_for(seq, timeout)
    }

    /// The last readable sequence number (0 for an empty store).
    pub fn last_seq(&self) -> u64 {
        self.inner.log.visible_seq()
    }

    /// Every event up to this sequence number is on stable storage (as
    /// [`Stats::synced_seq`], without computing the rest of the statistics).
    pub fn synced_seq(&self) -> u64 {
        self.inner.log.synced_seq()
    }

    /// The most recent payloads turned away by JSON collection, newest last.
    pub fn rejected(&self, limit: usize) -> Vec<Rejection> {
        self.inner.quarantine.recent(limit)
    }

    // ---- maintenance ---------------------------------------------------------

    /// Makes everything collected so far durable (a barrier in every mode).
    pub fn sync(&self) -> Result<()> {
        self.inner.log.sync()
    }

    /// Seals the active segment and starts a new one.
    pub fn roll(&self) -> Result<()> {
        self.inner.log.roll()
    }

    /// Syncs and closes the store; later writes fail with [`Error::Closed`]. Reads
    /// of already opened queries keep working. The directory lock is released when
    /// the last clone of this `Store` is dropped.
    pub fn close(&self) -> Result<()> {
        let _guard = self.inner.close_lock.lock();
        self.inner.maintainer.stop();
        self.inner.log.close()
    }
}

/// The segment size of this open: the options', else the store's own, else the
/// default. A store without its own keeps the options' (FORMAT.md §5).
fn segment_size(catalog: &Catalog, options: &Options, writable: bool) -> Result<u64> {
    let stored = catalog.state().data.segment_bytes;
    match (options.segment_bytes, stored) {
        (Some(asked), None) if writable => {
            catalog.set_segment_bytes(asked)?;
            Ok(asked)
        }
        (Some(asked), _) => Ok(asked),
        (None, Some(stored)) => {
            options.check_segment_bytes(stored)?;
            Ok(stored)
        }
        (None, None) => Ok(Options::SEGMENT_BYTES_DEFAULT),
    }
}

/// Creates the store directory and takes its writer lock ([`Error::Locked`] when
/// another writer holds it); a read-only open takes none.
fn lock_dir(fs: &dyn Vfs, dir: &Path, writable: bool) -> Result<Option<LockGuard>> {
    if !writable {
        return Ok(None);
    }
    fs.create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let guard = fs
        .try_lock(dir)
        .map_err(|e| Error::io(dir, e))?
        .ok_or_else(|| Error::Locked {
            path: dir.to_path_buf(),
        })?;
    Ok(Some(guard))
}

/// Loads the message ids of the dedup window from the log's indexes.
fn rebuild_dedup(log: &Log, dedup: &DedupWindow, now: i64) {
    for handle in log.snapshot().segments.iter() {
        handle.index.read().for_each_dedup(|d| {
            dedup.remember(d.source, d.message_hash, d.seq, d.received_ms, now);
        });
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.dir)
            .field("last_seq", &self.last_seq())
            .finish()
    }
}

impl Inner {
    fn owner(&self) -> u64 {
        self.next_owner.fetch_add(1, Ordering::Relaxed)
    }
}

/// `Store` must stay shareable across threads: this fails to compile otherwise.
const _: () = {
    const fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<Store>();
};
