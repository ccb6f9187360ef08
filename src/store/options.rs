//! Store options: a builder with private fields, checked when the store opens.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::event::{Limits, NamingPolicy};
use crate::io::Vfs;
use crate::lifecycle::Retention;
use crate::log::Durability;
use crate::rules::{Rule, Scope};
use crate::segment::{CAPACITY_MAX, CAPACITY_MIN, RecoveryMode};
use crate::time::{Clock, SystemClock};

/// How a store is opened. Start from `Options::default()` and change what you
/// need; every setting is checked by [`Store::open_with`](crate::Store::open_with).
///
/// ```
/// use std::time::Duration;
/// use firstlog::{Durability, Options};
/// let options = Options::default()
///     .segment_bytes(16 << 20)
///     .durability(Durability::Interval(Duration::from_millis(200)));
/// assert_eq!(options.get_segment_bytes(), 16 << 20);
/// ```
#[derive(Clone)]
pub struct Options {
    /// `None`: the store's own (kept in its catalog), else the default.
    pub(crate) segment_bytes: Option<u64>,
    pub(crate) durability: Durability,
    pub(crate) recovery: RecoveryMode,
    pub(crate) limits: Limits,
    pub(crate) naming: NamingPolicy,
    pub(crate) dedup_window: Duration,
    pub(crate) dedup_capacity: usize,
    pub(crate) quarantine_bytes: u64,
    pub(crate) rules: Vec<(Scope, Arc<dyn Rule>)>,
    pub(crate) fs: Option<Arc<dyn Vfs>>,
    pub(crate) read_only: bool,
    pub(crate) retention: Option<Retention>,
    pub(crate) maintenance_interval: Duration,
    pub(crate) background_maintenance: bool,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_bytes: None,
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
            retention: None,
            maintenance_interval: Duration::from_secs(60),
            background_maintenance: true,
            clock: Arc::new(SystemClock),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("segment_bytes", &self.segment_bytes)
            .field("durability", &self.durability)
            .field("recovery", &self.recovery)
            .field("limits", &self.limits)
            .field("naming", &self.naming)
            .field("dedup_window", &self.dedup_window)
            .field("dedup_capacity", &self.dedup_capacity)
            .field("quarantine_bytes", &self.quarantine_bytes)
            .field("rules", &self.rules.len())
            .field("read_only", &self.read_only)
            .field("retention", &self.retention)
            .field("maintenance_interval", &self.maintenance_interval)
            .field("background_maintenance", &self.background_maintenance)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// The smallest segment size accepted.
    pub const SEGMENT_BYTES_MIN: u64 = CAPACITY_MIN;
    /// The largest segment size accepted.
    pub const SEGMENT_BYTES_MAX: u64 = CAPACITY_MAX;
    /// The segment size of a store that sets none.
    pub const SEGMENT_BYTES_DEFAULT: u64 = 64 << 20;

    /// Size of a segment file; the active segment rolls when full. At least
    /// 64 KiB and large enough for the largest event, at most 1 GiB. Without it,
    /// the store uses the size it was created with (`firstlog init
    /// --segment-mib`, or the first open that set one), else 64 MiB. A new
    /// store keeps the size it is created with.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = Some(bytes);
        self
    }

    /// When appends reach stable storage. Default `Interval(1 s)`.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How opening treats damage in the active segment. Default
    /// [`RecoveryMode::TolerateTornTail`].
    pub fn recovery(mut self, recovery: RecoveryMode) -> Self {
        self.recovery = recovery;
        self
    }

    /// Limits on collected events. Default [`Limits::default`] (Segment's).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The naming policy of a new store (an existing store keeps its own).
    pub fn naming(mut self, policy: NamingPolicy) -> Self {
        self.naming = policy;
        self
    }

    /// How long a `message_id` is remembered for duplicate detection. Default 24 h.
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// The most message ids remembered (older ones are forgotten first). Default
    /// 1,000,000.
    pub fn dedup_capacity(mut self, capacity: usize) -> Self {
        self.dedup_capacity = capacity;
        self
    }

    /// Bytes kept of refused JSON payloads (two files of half this); 0 keeps none.
    /// Default 16 MiB.
    pub fn quarantine_bytes(mut self, bytes: u64) -> Self {
        self.quarantine_bytes = bytes;
        self
    }

    /// Adds a rule at the end of the pipeline.
    pub fn rule(mut self, scope: Scope, rule: Arc<dyn Rule>) -> Self {
        self.rules.push((scope, rule));
        self
    }

    /// The retention policy: written to the catalog when the store opens
    /// (replacing the one stored there). Without it, the store keeps the policy
    /// its catalog holds (none for a new store). See [`Store::set_retention`](crate::Store::set_retention).
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// How often the background maintenance thread (started when the store has
    /// a retention policy or an unfinished erasure) runs its pass. Default 60 s.
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.maintenance_interval = every;
        self
    }

    /// Whether a background thread runs maintenance passes (default true). With
    /// `false`, retention and erasures are carried out only when the application
    /// calls [`Store::maintain`](crate::Store::maintain); erased events are
    /// hidden from reads either way.
    pub fn background_maintenance(mut self, on: bool) -> Self {
        self.background_maintenance = on;
        self
    }

    /// Uses another clock (a `firstlog::testing::ManualClock` ages a store
    /// without sleeping): for receive times, segment times and retention.
    #[cfg(feature = "testing")]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses another file system: the in-memory or fault-injecting ones of
    /// [`testing`](crate::testing).
    #[cfg(feature = "testing")]
    pub fn fs(mut self, fs: Arc<dyn Vfs>) -> Self {
        self.fs = Some(fs);
        self
    }

    /// The segment size these options ask for (the default when none is set;
    /// an existing store may have its own, see [`Options::segment_bytes`]).
    pub fn get_segment_bytes(&self) -> u64 {
        self.segment_bytes.unwrap_or(Self::SEGMENT_BYTES_DEFAULT)
    }

    /// The durability mode.
    pub fn get_durability(&self) -> Durability {
        self.durability
    }

    /// The limits on collected events.
    pub fn get_limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Checks a segment size against the range and the largest event.
    pub(crate) fn check_segment_bytes(&self, bytes: u64) -> Result<()> {
        if !(Self::SEGMENT_BYTES_MIN..=Self::SEGMENT_BYTES_MAX).contains(&bytes) {
            return Err(Error::argument(
                "segment_bytes",
                "must be between 64 KiB and 1 GiB",
            ));
        }
        let record_max = crate::record::padded_len(self.limits.event_bytes_max) as u64;
        if bytes < record_max + 128 {
            return Err(Error::argument(
                "segment_bytes",
                "must hold at least one event of the largest size (limits.event_bytes_max)",
            ));
        }
        Ok(())
    }

    pub(crate) fn check(&self) -> Result<()> {
        self.limits.check()?;
        self.check_segment_bytes(self.get_segment_bytes())?;
        if self.maintenance_interval.is_zero() {
            return Err(Error::argument("maintenance_interval", "must be positive"));
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
