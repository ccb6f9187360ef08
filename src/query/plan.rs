//! Query planning: which segments, which index entries.

use std::sync::Arc;

use super::QueryStats;
use crate::codec::EventRef;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::index::{IndexEntry, Postings, SourceSummary, walk};
use crate::log::{Hidden, SegmentHandle, Snapshot};
use crate::segment::SegmentView;

/// Which entries a read may return: all but those a pending erasure hides. A
/// hash match in the index is confirmed by decoding the record's ids, so a hash
/// collision never hides another profile's event.
struct Visibility {
    hidden: Arc<Hidden>,
}

impl Visibility {
    /// True unless the record of `e` in `handle` is hidden. `view` is mapped on
    /// first need.
    fn shows(
        &self,
        handle: &SegmentHandle,
        view: &mut Option<SegmentView>,
        e: &IndexEntry,
    ) -> Result<bool> {
        if !self.hidden.may_hide(e.profile_hash, e.anonymous_hash) {
            return Ok(true);
        }
        let view = match view {
            Some(view) => view,
            None => view.insert(handle.segment.view()?),
        };
        let path = handle.segment.path();
        let offset = u64::from(e.offset);
        let record = view
            .record_at(e.offset as usize)
            .map_err(|p| Error::corrupt(path, offset, p.describe()))?;
        Ok(!self.hidden.hides(&record, path, offset)?)
    }

    /// Walks the entries of `postings` in the filter's range that match it and
    /// are visible, calling `f` until it returns false. Returns the entries
    /// examined.
    fn walk(
        &self,
        handle: &SegmentHandle,
        filter: &Filter,
        postings: &dyn Postings,
        f: &mut dyn FnMut(IndexEntry) -> bool,
    ) -> Result<u64> {
        let mut view = None;
        let mut failure = Ok(());
        let examined = walk(postings, filter.seq_bounds(), filter.descending, &mut |e| {
            if !filter.entry_matches(&e) {
                return true;
            }
            match self.shows(handle, &mut view, &e) {
                Ok(true) => f(e),
                Ok(false) => true,
                Err(err) => {
                    failure = Err(err);
                    false
                }
            }
        });
        failure.map(|()| examined)
    }
}

/// The filter of a query, in index terms.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    pub source: u32,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub names: Vec<u64>,
    pub profile: Option<u64>,
    pub after: Option<u64>,
    /// Only sequence numbers up to this one (inclusive).
    pub through: Option<u64>,
    pub descending: bool,
    /// The last published sequence number when the query started.
    pub visible: u64,
}

impl Filter {
    pub(super) fn new(source: u32) -> Self {
        Filter {
            source,
            since: None,
            until: None,
            names: Vec::new(),
            profile: None,
            after: None,
            through: None,
            descending: false,
            visible: 0,
        }
    }

    /// Sequence numbers in range: `(low exclusive, high inclusive)`.
    pub(super) fn seq_bounds(&self) -> (u64, u64) {
        let low = if self.descending {
            0
        } else {
            self.after.unwrap_or(0)
        };
        let high = match (self.descending, self.after) {
            (true, Some(after)) => self.visible.min(after.saturating_sub(1)),
            _ => self.visible,
        };
        (low, self.through.map_or(high, |t| high.min(t)))
    }

    fn time_matches(&self, ts: i64) -> bool {
        self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts < u)
    }

    pub(super) fn entry_matches(&self, e: &IndexEntry) -> bool {
        self.time_matches(e.timestamp_ms)
            && (self.names.is_empty() || self.names.contains(&e.name_hash))
            && self.profile.is_none_or(|p| p == e.profile_hash)
    }

    fn summary_overlaps(&self, s: &SourceSummary) -> bool {
        let (low, high) = self.seq_bounds();
        s.last_seq > low
            && s.first_seq <= high
            && self.since.is_none_or(|since| s.max_ts >= since)
            && self.until.is_none_or(|until| s.min_ts < until)
    }

    /// True when every entry summarised by `s` matches (count shortcut).
    fn summary_all_match(&self, s: &SourceSummary) -> bool {
        let (low, high) = self.seq_bounds();
        self.names.is_empty()
            && self.profile.is_none()
            && s.first_seq > low
            && s.last_seq <= high
            && self.time_matches(s.min_ts)
            && self.time_matches(s.max_ts)
    }
}

/// One segment's matching entries, with a view to read their records.
pub(crate) struct SegmentMatches {
    pub handle: Arc<SegmentHandle>,
    pub view: SegmentView,
    pub entries: Vec<IndexEntry>,
}

impl SegmentMatches {
    /// Reads, checks and decodes the record of `entry`.
    pub(super) fn decode(&self, entry: &IndexEntry, source: u32) -> Result<EventRef<'_>> {
        let path = self.handle.segment.path();
        let offset = u64::from(entry.offset);
        let record = self
            .view
            .record_at(entry.offset as usize)
            .map_err(|p| Error::corrupt(path, offset, p.describe()))?;
        if record.header.seq != entry.seq || record.header.source != source {
            return Err(Error::corrupt(
                path,
                offset,
                "index entry does not match the record it points to",
            ));
        }
        crate::codec::decode_event(&record, path, offset)
    }
}

/// A query in progress.
pub(crate) struct Plan {
    segments: Arc<Vec<Arc<SegmentHandle>>>,
    visibility: Visibility,
    /// Segments not yet visited, as positions in `segments` (front = next).
    next: std::collections::VecDeque<usize>,
    filter: Filter,
    remaining: usize,
    current: Option<(SegmentMatches, usize)>,
    pub cursor: Option<u64>,
    pub stats: QueryStats,
}

impl Plan {
    pub(super) fn new(snapshot: Snapshot, mut filter: Filter, limit: usize) -> Plan {
        filter.visible = snapshot.visible_seq;
        let segments = snapshot.segments;
        let (low, high) = filter.seq_bounds();
        let mut next: std::collections::VecDeque<usize> = (0..segments.len())
            .filter(|&i| {
                let s = &segments[i].segment;
                s.first_seq() <= high && s.last_seq() > low && s.record_count() > 0
            })
            .collect();
        if filter.descending {
            next.make_contiguous().reverse();
        }
        Plan {
            segments,
            visibility: Visibility {
                hidden: snapshot.hidden,
            },
            next,
            filter,
            remaining: limit,
            current: None,
            cursor: None,
            stats: QueryStats::default(),
        }
    }

    /// Runs `f` on the summary and postings of the filter's source in `handle`.
    fn with_postings<T>(
        handle: &SegmentHandle,
        source: u32,
        f: impl FnOnce(SourceSummary, &dyn Postings) -> T,
    ) -> Option<T> {
        handle.index.read().with_source(source, f)
    }

    /// The matches of the next segment that has any.
    pub(super) fn next_segment(&mut self) -> Result<Option<SegmentMatches>> {
        while self.remaining > 0 {
            let Some(i) = self.next.pop_front() else {
                return Ok(None);
            };
            let handle = self.segments[i].clone();
            let filter = &self.filter;
            let visibility = &self.visibility;
            let remaining = self.remaining;
            let mut examined = 0;
            let found = Self::with_postings(&handle, filter.source, |summary, postings| {
                if !filter.summary_overlaps(&summary) {
                    return Ok(Vec::new());
                }
                let mut out = Vec::new();
                examined = visibility.walk(&handle, filter, postings, &mut |e| {
                    out.push(e);
                    out.len() < remaining
                })?;
                Ok(out)
            });
            self.stats.segments_read += 1;
            self.stats.entries_examined += examined;
            let entries = found.transpose()?.unwrap_or_default();
            if entries.is_empty() {
                continue;
            }
            self.remaining -= entries.len();
            let view = handle.segment.view()?;
            return Ok(Some(SegmentMatches {
                handle,
                view,
                entries,
            }));
        }
        Ok(None)
    }

    /// The next event, owned.
    pub(super) fn next_owned(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some((segment, pos)) = &mut self.current
                && let Some(entry) = segment.entries.get(*pos)
            {
                *pos += 1;
                let event = segment
                    .decode(entry, self.filter.source)?
                    .to_owned_event()?;
                self.stats.decoded += 1;
                self.cursor = Some(entry.seq);
                return Ok(Some(event));
            }
            match self.next_segment()? {
                Some(segment) => self.current = Some((segment, 0)),
                None => {
                    self.current = None;
                    return Ok(None);
                }
            }
        }
    }

    /// Counts matches from summaries where they settle it (nothing hidden),
    /// else from entries.
    pub(super) fn count(mut self) -> Result<u64> {
        let mut total = 0u64;
        let shortcut = self.visibility.hidden.is_empty();
        while let Some(i) = self.next.pop_front() {
            let filter = &self.filter;
            let handle = &self.segments[i];
            let visibility = &self.visibility;
            let counted = Self::with_postings(handle, filter.source, |summary, postings| {
                if !filter.summary_overlaps(&summary) {
                    Ok(0)
                } else if shortcut && filter.summary_all_match(&summary) {
                    Ok(summary.count)
                } else {
                    let mut n = 0u64;
                    visibility.walk(handle, filter, postings, &mut |_| {
                        n += 1;
                        true
                    })?;
                    Ok(n)
                }
            });
            total += counted.transpose()?.unwrap_or(0);
        }
        Ok(total)
    }

    /// Calls `f` with every matching entry (no record read, unless one may be
    /// hidden by a pending erasure).
    pub(super) fn for_each_entry(mut self, mut f: impl FnMut(&IndexEntry)) -> Result<()> {
        while let Some(i) = self.next.pop_front() {
            let filter = &self.filter;
            let handle = &self.segments[i];
            let visibility = &self.visibility;
            Self::with_postings(handle, filter.source, |summary, postings| {
                if !filter.summary_overlaps(&summary) {
                    return Ok(0);
                }
                visibility.walk(handle, filter, postings, &mut |e| {
                    f(&e);
                    true
                })
            })
            .transpose()?;
        }
        Ok(())
    }
}
