//! Keeping the export in step with the store's lifecycle (EXPORT.md §4):
//! which exported files a run deletes or writes again because the store
//! erased or expired events they hold.

use std::collections::HashMap;

use super::layout::PartitionKey;
use super::state::{FileEntry, Selection, State};
use crate::error::Result;
use crate::event::SourceId;
use crate::store::Store;

/// What a run does to one exported file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Delete,
    /// Read its range from the store again and replace it.
    Rewrite,
}

/// The store's lifecycle as a run sees it.
pub(super) struct Lifecycle {
    pub log_start: u64,
    /// The highest erasure request id.
    pub erasures_through: u64,
    /// Erasures newer than the state's: (sources, empty for all; up_to_seq).
    erasures: Vec<(Vec<SourceId>, u64)>,
    /// Per source with a maximum age: events received before this are gone.
    pub cutoffs: HashMap<u32, i64>,
}

impl Lifecycle {
    /// Reads the store's log start, erasure requests and per-source maximum
    /// ages, relative to what `state` has applied.
    pub(super) fn read(store: &Store, state: &State) -> Lifecycle {
        let requests = store.erasures();
        let erasures_through = requests
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap_or(0)
            .max(state.erasures_through);
        let oldest = requests.iter().map(|r| r.id).min();
        let mut erasures: Vec<(Vec<SourceId>, u64)> = requests
            .into_iter()
            .filter(|r| r.id > state.erasures_through)
            .map(|r| (r.sources, r.up_to_seq))
            .collect();
        // The catalog keeps a bounded number of finished requests: when some
        // this export never saw are gone, any file may hold their events.
        if oldest.is_some_and(|o| o > state.erasures_through.saturating_add(1)) {
            erasures.push((Vec::new(), u64::MAX));
        }
        let now = store.now_ms();
        let cutoffs = store
            .sources()
            .iter()
            .filter_map(|s| {
                let age = i64::try_from(s.max_age()?.as_millis()).unwrap_or(i64::MAX);
                Some((s.id().0, now.saturating_sub(age)))
            })
            .collect();
        Lifecycle {
            log_start: store.log_start(),
            erasures_through,
            erasures,
            cutoffs,
        }
    }

    /// True when an event received at `received_ms` of `source` has expired
    /// under the source's own maximum age.
    pub(super) fn expired(&self, source: u32, received_ms: i64) -> bool {
        self.cutoffs.get(&source).is_some_and(|&c| received_ms < c)
    }

    /// What to do with `file`, if anything.
    pub(super) fn action(
        &self,
        store: &Store,
        selection: &Selection,
        file: &FileEntry,
    ) -> Result<Option<Action>> {
        if file.last_seq < self.log_start || self.expired(file.source_id, file.max_received_ms) {
            return Ok(Some(Action::Delete));
        }
        if self.expired(file.source_id, file.min_received_ms) {
            return Ok(Some(Action::Rewrite));
        }
        let erased = self.erasures.iter().any(|(sources, up_to)| {
            file.first_seq <= *up_to
                && (sources.is_empty() || sources.contains(&SourceId(file.source_id)))
        });
        if file.first_seq >= self.log_start && !erased {
            return Ok(None);
        }
        // Compare the rows with what the store still shows (index only).
        let shown = range_query(store, selection, file).count()?;
        Ok(match shown {
            0 => Some(Action::Delete),
            n if n == file.rows => None,
            _ => Some(Action::Rewrite),
        })
    }
}

/// The store's events that `file` holds: its source, day and sequence range,
/// within the selection.
pub(super) fn range_query<'s>(
    store: &'s Store,
    selection: &Selection,
    file: &FileEntry,
) -> crate::query::Query<'s> {
    let key = PartitionKey {
        source: file.source_id,
        day: file.day,
    };
    let (start, end) = key.bounds();
    let since = selection.since_ms.map_or(start, |s| s.max(start));
    let until = selection.until_ms.map_or(end, |u| u.min(end));
    store
        .query(SourceId(file.source_id))
        .since(since)
        .until(until)
        .after(file.first_seq.saturating_sub(1))
        .through(file.last_seq)
}
