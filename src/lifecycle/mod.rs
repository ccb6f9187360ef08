//! The data lifecycle (FORMAT.md §2.6, §2.7): whole events leave the store, never
//! edited. Retention deletes sealed segments by age and size, and drops a
//! source's expired records; erasure removes every event of a profile;
//! suppression keeps a profile's new events out. Removing records from a sealed
//! segment is compaction: the segment is rewritten without them.
//!
//! This module holds the public types and the planning (which segments, which
//! records); the log does the file work, the store runs the passes.

mod compact;
mod erasure;
mod maintainer;
mod retention;

use std::time::Duration;

use serde::Serialize;

pub(crate) use compact::{Compaction, Drop as DropReason};

pub(crate) use erasure::{discover_ids, erasure_of, hidden_of};
pub(crate) use maintainer::Maintainer;
pub use retention::BytesByAge;
pub(crate) use retention::{SegmentAge, bytes_by_age, plan_deletion};

use crate::event::SourceId;
use crate::time::format_rfc3339;

/// One day: the default [`Retention::roll_interval`].
pub(crate) const DAY: Duration = Duration::from_secs(24 * 3600);

/// The store's retention policy (persisted in the catalog). Nothing expires by
/// default.
///
/// ```
/// use std::time::Duration;
/// use firstlog::Retention;
/// let keep_13_months = Retention::default()
///     .max_age(Duration::from_secs(396 * 24 * 3600))
///     .max_bytes(10 << 30);
/// assert_eq!(keep_13_months.get_max_bytes(), Some(10 << 30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    max_age: Option<Duration>,
    max_bytes: Option<u64>,
    roll_interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: None,
            max_bytes: None,
            roll_interval: DAY,
        }
    }
}

impl Retention {
    /// Deletes a sealed segment once its newest record was received more than
    /// `age` ago.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Keeps no maximum age.
    pub fn no_max_age(mut self) -> Self {
        self.max_age = None;
        self
    }

    /// Deletes the oldest sealed segments while the store's files take more than
    /// `bytes`.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// Keeps no maximum size.
    pub fn no_max_bytes(mut self) -> Self {
        self.max_bytes = None;
        self
    }

    /// Under a policy, the active segment is sealed once its oldest record is this
    /// old, so that a quiet store still ages out. Default one day.
    pub fn roll_interval(mut self, every: Duration) -> Self {
        self.roll_interval = every;
        self
    }

    /// The maximum age, if any.
    pub fn get_max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The maximum size, if any.
    pub fn get_max_bytes(&self) -> Option<u64> {
        self.max_bytes
    }

    /// The roll interval.
    pub fn get_roll_interval(&self) -> Duration {
        self.roll_interval
    }

    /// True when the policy deletes nothing.
    pub fn is_unlimited(&self) -> bool {
        self.max_age.is_none() && self.max_bytes.is_none()
    }
}

/// Where an erasure request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ErasureState {
    /// Asked, durable, hidden from every read; not compacted yet.
    Pending,
    /// Being compacted.
    Running,
    /// No byte of an erased event is left in any file of the store.
    Done,
    /// Compaction failed; the events stay hidden and the next maintenance pass
    /// (or the next open) tries again.
    Failed {
        /// What failed.
        reason: String,
    },
}

/// An erasure request, as [`Store::erasures`](crate::Store::erasures) lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The request's id.
    pub id: u64,
    /// The erased profile id; `None` once done: the request forgets it (a
    /// suppression asked with it keeps the id in its own record).
    pub profile_id: Option<String>,
    /// The sources it covers; empty for all.
    pub sources: Vec<SourceId>,
    /// Whether the profile's new events are suppressed too.
    pub suppress: bool,
    /// Events up to this sequence number are erased; later ones are new data.
    pub up_to_seq: u64,
    /// Where it stands.
    #[serde(flatten)]
    pub state: ErasureState,
    /// When it was asked (ms since the Unix epoch).
    #[serde(rename = "asked_at", serialize_with = "rfc3339")]
    pub asked_ms: i64,
    /// When it finished.
    #[serde(rename = "finished_at", serialize_with = "rfc3339_opt")]
    pub finished_ms: Option<i64>,
    /// Events removed.
    pub removed_events: u64,
    /// Bytes of records removed.
    pub removed_bytes: u64,
}

impl Erasure {
    /// True when done.
    pub fn is_done(&self) -> bool {
        self.state == ErasureState::Done
    }
}

/// A suppression: a profile whose new events are not stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// The profile id (matched against the profile id and the anonymous id of
    /// incoming events).
    pub profile_id: String,
    /// The sources it covers; empty for all.
    pub sources: Vec<SourceId>,
    /// Since when (ms since the Unix epoch).
    #[serde(rename = "since", serialize_with = "rfc3339")]
    pub since_ms: i64,
}

/// What one maintenance pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Segments deleted whole by retention.
    pub deleted_segments: usize,
    /// Bytes of the files deleted.
    pub deleted_bytes: u64,
    /// The log start after the pass.
    pub log_start: u64,
    /// Segments rewritten by compaction.
    pub compacted_segments: usize,
    /// Records removed by compaction (erasures and per-source retention).
    pub removed_events: u64,
    /// Bytes of those records.
    pub removed_bytes: u64,
    /// Bytes read by compaction.
    pub read_bytes: u64,
    /// Bytes written by compaction (segments and indexes).
    pub written_bytes: u64,
    /// Erasure requests finished.
    pub finished_erasures: Vec<u64>,
    /// True when the active segment was sealed (by age, or to erase from it).
    pub rolled: bool,
}

fn rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*ms))
}

fn rfc3339_opt<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&format_rfc3339(*ms)),
        None => s.serialize_none(),
    }
}
