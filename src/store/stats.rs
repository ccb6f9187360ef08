//! Store statistics.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::Store;
use crate::catalog::StoredState;
use crate::event::SourceId;
use crate::index::SourceSummary;
use crate::lifecycle::{BytesByAge, SegmentAge, bytes_by_age};

/// One source's share of the store. Serializes (e.g. with serde_json) as the
/// objects of `"sources"` in `GET /v1/stats`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceStats {
    /// The source.
    #[serde(rename = "id")]
    pub source: SourceId,
    /// Its name.
    pub name: String,
    /// Events stored.
    pub events: u64,
    /// Bytes of its records on disk (headers and padding included).
    pub bytes: u64,
    /// Its lowest sequence number.
    pub first_seq: Option<u64>,
    /// Its highest sequence number.
    pub last_seq: Option<u64>,
    /// Its earliest event timestamp (ms since the Unix epoch).
    #[serde(rename = "first_timestamp", serialize_with = "rfc3339")]
    pub first_timestamp_ms: Option<i64>,
    /// Its latest event timestamp.
    #[serde(rename = "last_timestamp", serialize_with = "rfc3339")]
    pub last_timestamp_ms: Option<i64>,
}

/// A picture of the store. Serializes as the body of `GET /v1/stats` (and
/// `firstlog stats --format ndjson`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Segment files.
    pub segments: usize,
    /// Of which sealed.
    pub sealed_segments: usize,
    /// Bytes of records (all segments).
    pub bytes: u64,
    /// Events stored.
    pub events: u64,
    /// The last sequence number (0 when empty).
    pub last_seq: u64,
    /// Every event up to this sequence number is on stable storage.
    pub synced_seq: u64,
    /// Per source, in id order (sources without events included).
    pub sources: Vec<SourceStats>,
    /// Events stored since the store was opened.
    pub accepted: u64,
    /// Retries recognised as duplicates since opened.
    pub duplicates: u64,
    /// JSON payloads refused since opened (see [`Store::rejected`]).
    pub rejected: u64,
    /// Events stored with naming-guideline warnings since opened.
    pub naming_warnings: u64,
    /// Events dropped by rules since opened, per rule name.
    #[serde(serialize_with = "dropped")]
    pub dropped: Vec<(String, u64)>,
    /// Message ids remembered for duplicate detection.
    pub dedup_entries: usize,
    /// The lowest sequence number the store holds (1 until retention deletes).
    pub log_start: u64,
    /// Bytes of the segment and index files, by the age of each segment's
    /// newest record.
    pub bytes_by_age: BytesByAge,
    /// Erasure requests not done yet (their events are hidden, not yet removed;
    /// `events` and `bytes` still count them).
    pub pending_erasures: usize,
    /// Profiles whose new events are suppressed.
    pub suppressed_profiles: usize,
    /// Events not stored since opened because their profile is suppressed.
    pub suppressed: u64,
    /// Why the last background maintenance pass failed, until one succeeds.
    pub maintenance_error: Option<String>,
    /// Whether the store took writes when last tried (`GET /readyz` and
    /// [`Store::readiness`] try again to start a segment after a full disk).
    pub readiness: Readiness,
    /// Bytes free on the store's file system (`None` when not known).
    pub disk_free_bytes: Option<u64>,
}

/// Whether the store takes writes now, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// True when an append would be attempted now.
    pub ready: bool,
    /// Why not: `poisoned` (a write or fsync failed; reopen), `disk_full` (no
    /// room for a new segment; writes resume once space is freed), `closed`,
    /// `read_only` (a read-only open).
    pub reason: Option<&'static str>,
    /// The error an append would get.
    pub message: Option<String>,
}

impl Readiness {
    fn of(check: crate::Result<()>) -> Readiness {
        match check {
            Ok(()) => Readiness {
                ready: true,
                reason: None,
                message: None,
            },
            Err(e) => Readiness {
                ready: false,
                reason: Some(match e {
                    crate::Error::Poisoned { .. } => "poisoned",
                    crate::Error::Closed => "closed",
                    crate::Error::ReadOnly => "read_only",
                    _ => e.code(),
                }),
                message: Some(e.to_string()),
            },
        }
    }
}

/// A time as RFC 3339 text (or null).
fn rfc3339<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&crate::time::format_rfc3339(*ms)),
        None => s.serialize_none(),
    }
}

/// Drop counts as `[{"rule", "events"}]`.
fn dropped<S: Serializer>(counts: &[(String, u64)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Dropped<'a> {
        rule: &'a str,
        events: u64,
    }
    let mut seq = s.serialize_seq(Some(counts.len()))?;
    for (rule, events) in counts {
        seq.serialize_element(&Dropped {
            rule,
            events: *events,
        })?;
    }
    seq.end()
}

impl Store {
    /// Whether the store takes writes now: [`Store::check_writable`] as a
    /// value (the reason a server's `/readyz` gives).
    pub fn readiness(&self) -> Readiness {
        Readiness::of(self.check_writable())
    }

    /// Statistics: per source from the index (no record is read), per store from
    /// the segments, and the collection counters since the store was opened.
    pub fn stats(&self) -> Stats {
        let inner = &*self.inner;
        let snapshot = inner.log.snapshot();
        let mut per_source: BTreeMap<u32, SourceSummary> = BTreeMap::new();
        let mut merge = |s: SourceSummary| {
            per_source
                .entry(s.source)
                .and_modify(|t| t.merge(&s))
                .or_insert(s);
        };
        let mut bytes = 0;
        let mut events = 0;
        let mut sealed = 0;
        let mut ages = Vec::with_capacity(snapshot.segments.len());
        for handle in snapshot.segments.iter() {
            ages.push(SegmentAge::of(handle));
            bytes += handle.segment.published_end() as u64;
            events += handle.segment.record_count();
            sealed += usize::from(handle.segment.is_sealed());
            handle
                .index
                .read()
                .summaries()
                .into_iter()
                .for_each(&mut merge);
        }
        let catalog = inner.catalog.state();
        let sources = catalog
            .data
            .sources
            .iter()
            .map(|source| {
                let s = per_source.get(&source.id().0);
                SourceStats {
                    source: source.id(),
                    name: source.name().to_owned(),
                    events: s.map_or(0, |s| s.count),
                    bytes: s.map_or(0, |s| s.bytes),
                    first_seq: s.map(|s| s.first_seq),
                    last_seq: s.map(|s| s.last_seq),
                    first_timestamp_ms: s.map(|s| s.min_ts),
                    last_timestamp_ms: s.map(|s| s.max_ts),
                }
            })
            .collect();
        let counters = &inner.counters;
        let mut dropped: Vec<(String, u64)> = counters
            .dropped
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        dropped.sort();
        Stats {
            segments: snapshot.segments.len(),
            sealed_segments: sealed,
            bytes,
            events,
            last_seq: snapshot.visible_seq,
            synced_seq: inner.log.synced_seq(),
            sources,
            accepted: counters.accepted.load(Ordering::Relaxed),
            duplicates: counters.duplicates.load(Ordering::Relaxed),
            rejected: counters.rejected.load(Ordering::Relaxed),
            naming_warnings: counters.naming_warnings.load(Ordering::Relaxed),
            dropped,
            dedup_entries: inner.dedup.len(),
            log_start: snapshot.log_start,
            bytes_by_age: bytes_by_age(&ages, inner.now_ms()),
            pending_erasures: catalog
                .data
                .erasures
                .iter()
                .filter(|r| r.state != StoredState::Done)
                .count(),
            suppressed_profiles: catalog.data.suppressions.len(),
            suppressed: counters.suppressed.load(Ordering::Relaxed),
            maintenance_error: inner.maintenance_error.lock().clone(),
            // As last seen: statistics touch no file (readiness() retries).
            readiness: Readiness::of(inner.log.last_write_state()),
            disk_free_bytes: inner.log.fs().free_space(inner.log.dir()).ok().flatten(),
        }
    }
}
