//! The per-source index of each segment: for every source, its records' sequence
//! numbers, positions, timestamps, name and profile hashes, plus a summary (count,
//! first/last sequence, min/max timestamp, bytes) so whole segments are skipped.
//!
//! The active segment's index lives in memory ([`ActiveIndex`]); a sealed
//! segment's is a checksummed file read through a memory map ([`SealedIndex`]), so
//! heap memory does not grow with the number of sealed events. The index never
//! decodes record bodies, and it is derivable from the segments: a missing or bad
//! index file is rebuilt.

mod file;
mod names;

use rustc_hash::{FxHashMap, FxHashSet};

pub(crate) use file::{BodyCheck, IndexProblem, SealedIndex, SegmentFacts, encode_index_file};
pub(crate) use names::NameDictionary;

use crate::record::RecordHeader;

/// Bytes of one index entry on disk.
pub(crate) const ENTRY_BYTES: usize = 48;

/// One record in a source's posting list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// Global sequence number.
    pub seq: u64,
    /// Event timestamp (ms since the Unix epoch).
    pub timestamp_ms: i64,
    /// Hash of the event name.
    pub name_hash: u64,
    /// Hash of the profile id (0 without one).
    pub profile_hash: u64,
    /// Hash of the anonymous id (`context.anonymous_id`; 0 without one).
    pub anonymous_hash: u64,
    /// Byte offset of the record in its segment.
    pub offset: u32,
    /// Padded length of the record.
    pub len: u32,
}

/// A source's records within one segment, summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SourceSummary {
    /// The source.
    pub source: u32,
    /// Number of records.
    pub count: u64,
    /// Lowest sequence number.
    pub first_seq: u64,
    /// Highest sequence number.
    pub last_seq: u64,
    /// Earliest event timestamp.
    pub min_ts: i64,
    /// Latest event timestamp.
    pub max_ts: i64,
    /// Bytes of records (padded).
    pub bytes: u64,
    /// Earliest receive time (ms since the Unix epoch).
    pub min_received: i64,
    /// Latest receive time: per-source retention deletes the source's records of
    /// a segment once this is older than its maximum age.
    pub max_received: i64,
}

impl SourceSummary {
    fn first(source: u32, e: &IndexEntry, received_ms: i64) -> Self {
        SourceSummary {
            source,
            count: 1,
            first_seq: e.seq,
            last_seq: e.seq,
            min_ts: e.timestamp_ms,
            max_ts: e.timestamp_ms,
            bytes: u64::from(e.len),
            min_received: received_ms,
            max_received: received_ms,
        }
    }

    fn add(&mut self, e: &IndexEntry, received_ms: i64) {
        self.count += 1;
        self.first_seq = self.first_seq.min(e.seq);
        self.last_seq = self.last_seq.max(e.seq);
        self.min_ts = self.min_ts.min(e.timestamp_ms);
        self.max_ts = self.max_ts.max(e.timestamp_ms);
        self.bytes += u64::from(e.len);
        self.min_received = self.min_received.min(received_ms);
        self.max_received = self.max_received.max(received_ms);
    }

    /// Folds another summary of the same source into this one.
    pub(crate) fn merge(&mut self, other: &SourceSummary) {
        self.count += other.count;
        self.first_seq = self.first_seq.min(other.first_seq);
        self.last_seq = self.last_seq.max(other.last_seq);
        self.min_ts = self.min_ts.min(other.min_ts);
        self.max_ts = self.max_ts.max(other.max_ts);
        self.bytes += other.bytes;
        self.min_received = self.min_received.min(other.min_received);
        self.max_received = self.max_received.max(other.max_received);
    }
}

/// A message id seen in a segment, for duplicate detection after a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DedupEntry {
    /// The source.
    pub source: u32,
    /// The record's message hash.
    pub message_hash: u32,
    /// The record's sequence number.
    pub seq: u64,
    /// When the record was received.
    pub received_ms: i64,
}

/// Random access to a source's posting list, in ascending sequence order.
pub(crate) trait Postings {
    /// The number of entries.
    fn len(&self) -> usize;
    /// Entry `i` (`i < len()`).
    fn get(&self, i: usize) -> IndexEntry;
    /// The first position whose sequence number is greater than `seq`.
    fn partition_after(&self, seq: u64) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid).seq <= seq {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Calls `f` on the entries of `postings` whose sequence number is in
/// `(low, high]`, in ascending order (descending when `descending`), until `f`
/// returns false. Returns the number of entries examined.
pub(crate) fn walk(
    postings: &dyn Postings,
    (low, high): (u64, u64),
    descending: bool,
    f: &mut dyn FnMut(IndexEntry) -> bool,
) -> u64 {
    let start = postings.partition_after(low);
    let end = postings.partition_after(high);
    if start >= end {
        return 0;
    }
    let mut examined = 0;
    let mut visit = |i: usize| {
        examined += 1;
        f(postings.get(i))
    };
    if descending {
        for i in (start..end).rev() {
            if !visit(i) {
                break;
            }
        }
    } else {
        for i in start..end {
            if !visit(i) {
                break;
            }
        }
    }
    examined
}

/// The index of one segment: in memory while the segment is active, a mapped
/// file once it is sealed. Readers use it through these methods, never by
/// matching on the state.
pub(crate) enum SegmentIndex {
    Active(ActiveIndex),
    Sealed(SealedIndex),
}

impl SegmentIndex {
    /// True once the index is a sealed segment's file.
    pub(crate) fn is_sealed(&self) -> bool {
        matches!(self, SegmentIndex::Sealed(_))
    }

    /// The size of the index file (0 for the active segment's, kept in memory).
    pub(crate) fn file_bytes(&self) -> u64 {
        match self {
            SegmentIndex::Active(_) => 0,
            SegmentIndex::Sealed(s) => s.file_bytes(),
        }
    }

    /// The summaries of every source with records in the segment.
    pub(crate) fn summaries(&self) -> Vec<SourceSummary> {
        match self {
            SegmentIndex::Active(a) => a.summaries().collect(),
            SegmentIndex::Sealed(s) => s.summaries().collect(),
        }
    }

    /// Runs `f` on the summary and posting list of `source`; `None` when the
    /// segment holds no record of it.
    pub(crate) fn with_source<T>(
        &self,
        source: u32,
        f: impl FnOnce(SourceSummary, &dyn Postings) -> T,
    ) -> Option<T> {
        match self {
            SegmentIndex::Active(a) => a.source(source).map(|(s, p)| f(s, &p)),
            SegmentIndex::Sealed(x) => x.source(source).map(|(s, p)| f(s, &p)),
        }
    }

    /// Calls `f` with every message id recorded in the segment.
    pub(crate) fn for_each_dedup(&self, mut f: impl FnMut(&DedupEntry)) {
        match self {
            SegmentIndex::Active(a) => a.dedup().iter().for_each(f),
            SegmentIndex::Sealed(s) => s.dedup().for_each(|d| f(&d)),
        }
    }

    /// The offset and sequence number of the first record with a sequence number
    /// of at least `seq`.
    pub(crate) fn locate(&self, seq: u64) -> Option<(usize, u64)> {
        let first_at_or_after = |p: &dyn Postings| {
            let i = p.partition_after(seq.saturating_sub(1));
            (i < p.len()).then(|| {
                let e = p.get(i);
                (e.offset as usize, e.seq)
            })
        };
        self.summaries()
            .iter()
            .filter_map(|s| {
                self.with_source(s.source, |_, p| first_at_or_after(p))
                    .flatten()
            })
            .min_by_key(|&(_, seq)| seq)
    }

    /// The earliest receive time of any record, if it holds one.
    pub(crate) fn min_received(&self) -> Option<i64> {
        self.summaries().iter().map(|s| s.min_received).min()
    }

    /// The latest receive time of any record, if it holds one.
    pub(crate) fn max_received(&self) -> Option<i64> {
        self.summaries().iter().map(|s| s.max_received).max()
    }

    /// The entry of the record `seq` of `source`, if the segment holds it.
    pub(crate) fn entry(&self, source: u32, seq: u64) -> Option<IndexEntry> {
        self.with_source(source, |_, p| {
            let i = p.partition_after(seq.saturating_sub(1));
            (i < p.len() && p.get(i).seq == seq).then(|| p.get(i))
        })
        .flatten()
    }
}

impl Postings for &[IndexEntry] {
    fn len(&self) -> usize {
        <[IndexEntry]>::len(self)
    }
    fn get(&self, i: usize) -> IndexEntry {
        self[i]
    }
}

/// The in-memory index of the active segment.
#[derive(Default)]
pub(crate) struct ActiveIndex {
    sources: FxHashMap<u32, (SourceSummary, Vec<IndexEntry>)>,
    names: FxHashSet<u64>,
    dedup: Vec<DedupEntry>,
}

impl ActiveIndex {
    /// An empty index.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds the record with `header` stored at `offset` with padded length `len`.
    pub(crate) fn add(&mut self, header: &RecordHeader, offset: usize, len: usize) {
        let entry = IndexEntry {
            seq: header.seq,
            timestamp_ms: header.timestamp_ms,
            name_hash: header.name_hash,
            profile_hash: header.profile_hash,
            anonymous_hash: header.anonymous_hash,
            offset: offset as u32,
            len: len as u32,
        };
        match self.sources.get_mut(&header.source) {
            Some((summary, entries)) => {
                summary.add(&entry, header.received_ms);
                entries.push(entry);
            }
            None => {
                let summary = SourceSummary::first(header.source, &entry, header.received_ms);
                self.sources.insert(header.source, (summary, vec![entry]));
            }
        }
        self.names.insert(header.name_hash);
        if header.message_hash != 0 {
            self.dedup.push(DedupEntry {
                source: header.source,
                message_hash: header.message_hash,
                seq: header.seq,
                received_ms: header.received_ms,
            });
        }
    }

    /// The summary and entries of `source`.
    pub(crate) fn source(&self, source: u32) -> Option<(SourceSummary, &[IndexEntry])> {
        self.sources.get(&source).map(|(s, e)| (*s, e.as_slice()))
    }

    /// Summaries of every source.
    pub(crate) fn summaries(&self) -> impl Iterator<Item = SourceSummary> + '_ {
        self.sources.values().map(|(s, _)| *s)
    }

    /// Message ids seen.
    pub(crate) fn dedup(&self) -> &[DedupEntry] {
        &self.dedup
    }
}
