//! Retention planning (FORMAT.md §2.7): which sealed segments a policy deletes,
//! and how the store's bytes spread by age.

use serde::Serialize;

use super::Retention;
use crate::catalog::StoredRetention;
use crate::log::SegmentHandle;
use crate::segment::format::TRAILER_BYTES;

/// A segment as retention sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentAge {
    pub first_seq: u64,
    pub sealed: bool,
    /// When its newest record was received (`None`: it holds none).
    pub newest_received: Option<i64>,
    /// Its files' size: the segment file (the active one's reserved size) and the
    /// index file.
    pub bytes: u64,
}

impl SegmentAge {
    pub(crate) fn of(handle: &SegmentHandle) -> SegmentAge {
        let segment = &handle.segment;
        let index = handle.index.read();
        let file = if segment.is_sealed() {
            segment.published_end() as u64 + TRAILER_BYTES as u64
        } else {
            segment.capacity()
        };
        SegmentAge {
            first_seq: segment.first_seq(),
            sealed: segment.is_sealed(),
            newest_received: index.max_received(),
            bytes: file + index.file_bytes(),
        }
    }
}

/// What a retention pass deletes: the segments below `new_start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RetentionPlan {
    pub new_start: u64,
    pub segments: usize,
    pub bytes: u64,
}

impl Retention {
    pub(crate) fn from_stored(stored: &StoredRetention) -> Retention {
        let ms = std::time::Duration::from_millis;
        Retention {
            max_age: stored.max_age_ms.map(ms),
            max_bytes: stored.max_bytes,
            roll_interval: stored.roll_interval_ms.map_or(super::DAY, ms),
        }
    }

    pub(crate) fn to_stored(self) -> StoredRetention {
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        StoredRetention {
            max_age_ms: self.max_age.map(ms),
            max_bytes: self.max_bytes,
            roll_interval_ms: Some(ms(self.roll_interval)),
        }
    }

    /// The receive time before which a segment's newest record makes it expired.
    pub(crate) fn cutoff_ms(&self, now_ms: i64) -> Option<i64> {
        let age = i64::try_from(self.max_age?.as_millis()).unwrap_or(i64::MAX);
        Some(now_ms.saturating_sub(age))
    }
}

/// The oldest sealed segments `policy` deletes: while the oldest is expired by
/// age or the store is over its size, it goes; the first that stays ends the
/// pass (the log start is one number: deletion only ever takes a prefix).
/// `None` when nothing is deleted.
pub(crate) fn plan_deletion(
    ages: &[SegmentAge],
    policy: &Retention,
    now_ms: i64,
) -> Option<RetentionPlan> {
    let cutoff = policy.cutoff_ms(now_ms);
    let mut total: u64 = ages.iter().map(|a| a.bytes).sum();
    let mut plan = RetentionPlan {
        new_start: 0,
        segments: 0,
        bytes: 0,
    };
    for (i, age) in ages.iter().enumerate() {
        let expired = cutoff.is_some_and(|c| age.newest_received.is_none_or(|t| t < c));
        let over = policy.max_bytes.is_some_and(|max| total > max);
        // The last segment stays even when sealed (on a full disk it stands
        // in as the active one): it holds the log's end.
        let last = i + 1 == ages.len();
        if last || !age.sealed || !(expired || over) {
            plan.new_start = age.first_seq;
            break;
        }
        total -= age.bytes;
        plan.segments += 1;
        plan.bytes += age.bytes;
    }
    (plan.segments > 0 && plan.new_start > 0).then_some(plan)
}

/// Bytes of the store's files by the age of their segment's newest record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BytesByAge {
    /// Newest record received less than a day ago (and the active segment).
    pub under_1_day: u64,
    /// One to seven days.
    pub under_7_days: u64,
    /// Seven to thirty days.
    pub under_30_days: u64,
    /// Thirty days to a year.
    pub under_365_days: u64,
    /// Older than a year.
    pub older: u64,
}

/// How the segments' bytes spread by age.
pub(crate) fn bytes_by_age(ages: &[SegmentAge], now_ms: i64) -> BytesByAge {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let mut out = BytesByAge::default();
    for age in ages {
        let days = age
            .newest_received
            .map_or(0, |t| now_ms.saturating_sub(t) / DAY_MS);
        let bucket = match days {
            _ if !age.sealed => &mut out.under_1_day,
            0 => &mut out.under_1_day,
            1..7 => &mut out.under_7_days,
            7..30 => &mut out.under_30_days,
            30..365 => &mut out.under_365_days,
            _ => &mut out.older,
        };
        *bucket += age.bytes;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn age(first_seq: u64, sealed: bool, newest: i64, bytes: u64) -> SegmentAge {
        SegmentAge {
            first_seq,
            sealed,
            newest_received: Some(newest),
            bytes,
        }
    }

    #[test]
    fn age_deletes_the_expired_prefix_and_never_the_active_segment() {
        let ages = [
            age(1, true, 100, 10),
            age(11, true, 200, 10),
            age(21, true, 150, 10),
            age(31, false, 50, 10),
        ];
        let policy = Retention::default().max_age(Duration::from_millis(900));
        // cutoff 1100 - 900 = 200: segment 1 (100) expired, 11 (200) is not.
        let plan = plan_deletion(&ages, &policy, 1100).unwrap();
        assert_eq!((plan.new_start, plan.segments, plan.bytes), (11, 1, 10));
        // Everything sealed expired: the active segment stays.
        let plan = plan_deletion(&ages, &policy, 10_000).unwrap();
        assert_eq!((plan.new_start, plan.segments), (31, 3));
    }

    #[test]
    fn size_deletes_oldest_until_the_store_fits() {
        let ages = [
            age(1, true, 0, 40),
            age(5, true, 0, 40),
            age(9, false, 0, 40),
        ];
        let policy = Retention::default().max_bytes(90);
        let plan = plan_deletion(&ages, &policy, 0).unwrap();
        assert_eq!((plan.new_start, plan.segments, plan.bytes), (5, 1, 40));
        assert_eq!(
            plan_deletion(&ages, &Retention::default().max_bytes(120), 0),
            None
        );
        assert_eq!(plan_deletion(&ages, &Retention::default(), 0), None);
    }
}
