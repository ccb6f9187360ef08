//! Limits on what collection accepts.

use crate::error::{Error, Result};

/// Limits on what collection accepts. Defaults follow Segment's: 32 KiB per event,
/// 500 KiB per batch request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest event: its JSON payload, and its encoded body.
    pub event_bytes_max: usize,
    /// Largest batch request (raw JSON bytes).
    pub batch_bytes_max: usize,
    /// Most events in one JSON batch request (typed batches are bounded by the
    /// caller's memory and written in atomic units of at most 16 MiB).
    pub batch_events_max: usize,
    /// Longest event name, in bytes.
    pub name_bytes_max: usize,
    /// Longest profile, session or message id, in bytes.
    pub id_bytes_max: usize,
    /// Deepest nesting of arrays and objects inside `properties` and `context`
    /// (an object of scalars has depth 1). At most 100.
    pub depth_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            event_bytes_max: 32 * 1024,
            batch_bytes_max: 500 * 1024,
            batch_events_max: 10_000,
            name_bytes_max: 512,
            id_bytes_max: 1024,
            depth_max: 32,
        }
    }
}

impl Limits {
    /// The hard ceiling of `depth_max` (the JSON parser's own recursion guard is above it).
    pub const DEPTH_CEILING: usize = 100;

    pub(crate) fn check(&self) -> Result<()> {
        if self.depth_max == 0 || self.depth_max > Self::DEPTH_CEILING {
            return Err(Error::argument("limits.depth_max", "must be 1 to 100"));
        }
        if self.event_bytes_max == 0 || self.event_bytes_max > crate::record::BODY_BYTES_MAX {
            return Err(Error::argument(
                "limits.event_bytes_max",
                "must be 1 byte to 16 MiB",
            ));
        }
        if self.name_bytes_max == 0 || self.id_bytes_max == 0 || self.batch_events_max == 0 {
            return Err(Error::argument("limits", "limits must be positive"));
        }
        Ok(())
    }
}
