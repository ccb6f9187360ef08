//! Store options.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::event::{Limits, NamingPolicy};
use crate::io::Vfs;
use crate::log::Durability;
use crate::rules::{Rule, Scope};
use crate::segment::RecoveryMode;

/// How a store is opened.
///
/// ```
/// use std::time::Duration;
/// use firstlog::{Durability, Options};
/// let options = Options::default()
///     .segment_bytes(16 << 20)
///     .durability(Durability::Interval(Duration::from_millis(200)));
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct Options {
    /// Size of a segment file; the active segment rolls when full. Default 64 MiB,
    /// at least 64 KiB and large enough for the largest event, at most 1 GiB.
    pub segment_bytes: u64,
    /// When appends reach stable storage. Default `Interval(1 s)`.
    pub durability: Durability,
    /// How opening treats damage in the active segment.
    pub recovery: RecoveryMode,
    /// Limits on collected events.
    pub limits: Limits,
    /// The naming policy of a new store (an existing store keeps its own).
    pub naming: NamingPolicy,
    /// How long a `message_id` is remembered for duplicate detection. Default 24 h.
    pub dedup_window: Duration,
    /// The most message ids remembered (older ones are forgotten first). Default 1,000,000.
    pub dedup_capacity: usize,
    /// Bytes kept of refused JSON payloads (two files of half this); 0 keeps none.
    /// Default 16 MiB.
    pub quarantine_bytes: u64,
    /// Rules, in order.
    pub rules: Vec<(Scope, Arc<dyn Rule>)>,
    /// The file system (tests inject faults here); `None` is the real one.
    pub fs: Option<Arc<dyn Vfs>>,
    /// Open without the writer lock and without writing anything: see
    /// [`Store::open_read_only`](crate::Store::open_read_only).
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_bytes: 64 << 20,
            durability: Durability::default(),
            recovery: RecoveryMode::default(),
            limits: Limits::default(),
            naming: NamingPolicy::default(),
            dedup_window: Duration::from_secs(24 * 3600),
            dedup_capacity: 1_000_000,
            quarantine_bytes: 16 << 20,
            rules: Vec::new(),
            fs: None,
            read_only: false,
        }
    }
}

impl Options {
    /// The smallest segment size accepted.
    pub const SEGMENT_BYTES_MIN: u64 = crate::segment::CAPACITY_MIN;
    /// The largest segment size accepted.
    pub const SEGMENT_BYTES_MAX: u64 = crate::segment::CAPACITY_MAX;

    /// Sets the segment size.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// Sets the durability mode.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the recovery mode.
    pub fn recovery(mut self, recovery: RecoveryMode) -> Self {
        self.recovery = recovery;
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the naming policy of a new store.
    pub fn naming(mut self, policy: NamingPolicy) -> Self {
        self.naming = policy;
        self
    }

    /// Adds a rule.
    pub fn rule(mut self, scope: Scope, rule: Arc<dyn Rule>) -> Self {
        self.rules.push((scope, rule));
        self
    }

    /// Uses another file system (tests).
    pub fn fs(mut self, fs: Arc<dyn Vfs>) -> Self {
        self.fs = Some(fs);
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        self.limits.check()?;
        if !(Self::SEGMENT_BYTES_MIN..=Self::SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            return Err(Error::argument(
                "segment_bytes",
                "must be between 64 KiB and 1 GiB",
            ));
        }
        let record_max = crate::record::padded_len(self.limits.event_bytes_max) as u64;
        if self.segment_bytes < record_max + 128 {
            return Err(Error::argument(
                "segment_bytes",
                "must hold at least one event of the largest size (limits.event_bytes_max)",
            ));
        }
        if let Durability::Interval(d) = self.durability
            && d.is_zero()
        {
            return Err(Error::argument(
                "durability",
                "the sync interval must be positive",
            ));
        }
        Ok(())
    }
}
