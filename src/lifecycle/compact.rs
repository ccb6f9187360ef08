//! Which records compaction removes (FORMAT.md §2.6): those of pending erasures
//! (hidden from reads already) and those a source's own maximum age expired.

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::error::Result;
use crate::index::walk;
use crate::log::{Hidden, SegmentHandle};
use crate::record::RecordView;

/// Why a record is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drop {
    /// Its source's maximum age expired it.
    Expired,
    /// Erasure request `id` covers it.
    Erased(u64),
}

/// What one compaction pass removes.
pub(crate) struct Compaction {
    pub hidden: Arc<Hidden>,
    /// Per source with its own maximum age: records received before this go.
    pub cutoffs: FxHashMap<u32, i64>,
    /// The highest sequence number an erasure covers (0 without one).
    pub erased_up_to: u64,
}

impl Compaction {
    /// True when nothing would be removed anywhere.
    pub(crate) fn is_empty(&self) -> bool {
        self.hidden.is_empty() && self.cutoffs.is_empty()
    }

    /// True when the segment may hold a record to remove, judged from its index
    /// alone (receive times, id hashes).
    pub(crate) fn may_touch(&self, handle: &SegmentHandle) -> bool {
        let index = handle.index.read();
        let summaries = index.summaries();
        let expired = summaries.iter().any(|s| {
            self.cutoffs
                .get(&s.source)
                .is_some_and(|&cutoff| s.min_received < cutoff)
        });
        if expired {
            return true;
        }
        if self.hidden.is_empty() || handle.segment.first_seq() > self.erased_up_to {
            return false;
        }
        summaries.iter().any(|s| {
            index
                .with_source(s.source, |_, postings| {
                    let mut hit = false;
                    walk(postings, (0, self.erased_up_to), false, &mut |e| {
                        hit = self.hidden.may_hide(e.profile_hash, e.anonymous_hash);
                        !hit
                    });
                    hit
                })
                .unwrap_or(false)
        })
    }

    /// Why the record read from `file` at `offset` goes, if it does.
    pub(crate) fn verdict(
        &self,
        record: &RecordView<'_>,
        file: &Path,
        offset: u64,
    ) -> Result<Option<Drop>> {
        let h = &record.header;
        if self
            .cutoffs
            .get(&h.source)
            .is_some_and(|&cutoff| h.received_ms < cutoff)
        {
            return Ok(Some(Drop::Expired));
        }
        Ok(self
            .hidden
            .covering(record, file, offset)?
            .map(Drop::Erased))
    }
}
