//! Queries: "events of source S", with time, name and profile filters, a cursor, a
//! limit and an order. Plans come from the per-source index: a query reads only
//! the index entries of its source in segments whose summary overlaps the filter,
//! and decodes only the records it returns. `count()` and the analytics in
//! [`counts`] decode nothing.

mod counts;
mod plan;
mod tail;

use std::ops::ControlFlow;

use crate::codec::EventRef;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::event::SourceId;
use crate::index::IndexEntry;
use crate::log::Log;
use crate::record::{name_hash, profile_hash};
pub use counts::{Bucket, BucketCount, CountBy, CountGroup, Counts, NameCount};
use plan::{Filter, Plan};
pub use tail::LogReader;

/// A query over one source's events. Build it with [`Store::query`](crate::Store::query).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use firstlog::{NewEvent, Store};
/// let store = Store::open(dir.path())?;
/// let site = store.create_source("www Marketing Page")?;
/// for page in ["/", "/pricing", "/signup"] {
///     store.collect(NewEvent::new("Page Viewed", site.write_key()).property("path", page))?;
/// }
/// let latest: Vec<_> = store.query(site.id()).name("Page Viewed").descending().limit(2).iter()
///     .collect::<Result<_, _>>()?;
/// assert_eq!(latest[0].properties().get("path").and_then(|v| v.as_str()), Some("/signup"));
/// assert_eq!(store.query(site.id()).count()?, 3);
/// # Ok::<(), firstlog::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "a query does nothing until iterated or counted"]
pub struct Query<'s> {
    log: &'s Log,
    known_source: bool,
    filter: Filter,
    limit: Option<usize>,
}

impl<'s> Query<'s> {
    pub(crate) fn new(log: &'s Log, source: SourceId, known_source: bool) -> Self {
        Query {
            log,
            known_source,
            filter: Filter::new(source.0),
            limit: None,
        }
    }

    /// Only events whose timestamp is at or after `ms` (ms since the Unix epoch).
    /// Events may arrive late: the filter is on the event timestamp, not on arrival.
    pub fn since(mut self, ms: i64) -> Self {
        self.filter.since = Some(ms);
        self
    }

    /// Only events whose timestamp is before `ms` (exclusive).
    pub fn until(mut self, ms: i64) -> Self {
        self.filter.until = Some(ms);
        self
    }

    /// Only events with this name; repeat for several names (any of them matches).
    pub fn name(mut self, name: &str) -> Self {
        self.filter.names.push(name_hash(name));
        self
    }

    /// Only events of this profile.
    pub fn profile(mut self, profile_id: &str) -> Self {
        self.filter.profile = Some(profile_hash(Some(profile_id)));
        self
    }

    /// Resume after a cursor: events with a sequence number greater than `seq`
    /// (ascending) or smaller than `seq` (descending).
    pub fn after(mut self, seq: u64) -> Self {
        self.filter.after = Some(seq);
        self
    }

    /// Only events with a sequence number up to `seq` (inclusive): a read that
    /// ends where another began (the export reads each run's range this way).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn through(mut self, seq: u64) -> Self {
        self.filter.through = Some(seq);
        self
    }

    /// At most `n` events.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Newest (highest sequence number) first.
    pub fn descending(mut self) -> Self {
        self.filter.descending = true;
        self
    }

    fn plan(&self) -> Result<Plan> {
        if !self.known_source {
            return Err(Error::UnknownSource {
                id: self.filter.source,
            });
        }
        Ok(Plan::new(
            self.log.snapshot(),
            self.filter.clone(),
            self.limit.unwrap_or(usize::MAX),
        ))
    }

    /// The matching events, owned. The iterator works on a snapshot taken now:
    /// it sees every event acknowledged before this call, and none appended later.
    pub fn iter(&self) -> QueryIter {
        match self.plan() {
            Ok(plan) => QueryIter {
                plan: Some(plan),
                error: None,
            },
            Err(e) => QueryIter {
                plan: None,
                error: Some(e),
            },
        }
    }

    /// Calls `f` with each matching event, borrowed straight from the store's
    /// memory (no allocation per string), until `f` breaks. The fastest way to read.
    pub fn for_each(
        &self,
        mut f: impl FnMut(&EventRef<'_>) -> ControlFlow<()>,
    ) -> Result<QueryStats> {
        let mut plan = self.plan()?;
        while let Some(segment) = plan.next_segment()? {
            for entry in &segment.entries {
                let event = segment.decode(entry, self.filter.source)?;
                plan.stats.decoded += 1;
                if f(&event).is_break() {
                    return Ok(plan.stats);
                }
            }
        }
        Ok(plan.stats)
    }

    /// The number of matching events (capped by `limit`), from the index alone:
    /// no record is read or decoded.
    pub fn count(&self) -> Result<u64> {
        let plan = self.plan()?;
        let total = plan.count()?;
        Ok(self.limit.map_or(total, |l| total.min(l as u64)))
    }

    /// Calls `f` with each matching index entry (no record is read).
    pub(crate) fn for_each_entry(&self, f: impl FnMut(&IndexEntry)) -> Result<()> {
        self.plan()?.for_each_entry(f)
    }

    pub(crate) fn log(&self) -> &'s Log {
        self.log
    }

    /// The source this query reads.
    pub fn source_id(&self) -> u32 {
        self.filter.source
    }
}

/// What a query touched: evidence that it cost what the answer costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Segments whose index was consulted for the source (segments outside the
    /// sequence range are not counted; a consulted segment may still be skipped
    /// by its per-source summary without examining entries).
    pub segments_read: u64,
    /// Index entries examined.
    pub entries_examined: u64,
    /// Record bodies decoded.
    pub decoded: u64,
}

/// The events of a query, owned, in order. See [`Query::iter`].
pub struct QueryIter {
    plan: Option<Plan>,
    error: Option<Error>,
}

impl QueryIter {
    /// The sequence number of the last event returned: pass it to
    /// [`Query::after`] to resume.
    pub fn cursor(&self) -> Option<u64> {
        self.plan.as_ref().and_then(|p| p.cursor)
    }

    /// What the query touched so far.
    pub fn stats(&self) -> QueryStats {
        self.plan.as_ref().map(|p| p.stats).unwrap_or_default()
    }
}

impl Iterator for QueryIter {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        if let Some(e) = self.error.take() {
            self.plan = None;
            return Some(Err(e));
        }
        let plan = self.plan.as_mut()?;
        match plan.next_owned() {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => None,
            Err(e) => {
                self.plan = None;
                Some(Err(e))
            }
        }
    }
}
