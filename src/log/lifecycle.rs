//! What the data lifecycle asks of the log (FORMAT.md §2.6, §2.7): roll the active
//! segment by age, drop sealed segments below a new log start, swap a sealed
//! segment for its compacted rewrite, hide erased events until then.
//!
//! Readers are never disturbed: they hold a snapshot of the segment list, and a
//! replaced or deleted segment stays mapped (and readable) until the last
//! snapshot holding it is dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::RwLock;

use super::hidden::HiddenProfile;
use super::open::{facts_of, write_index_file};
use super::{Log, SegmentHandle};
use crate::error::{Error, Result};
use crate::index::{ActiveIndex, SegmentIndex, encode_index_file};
use crate::io::write_atomic;
use crate::record::RecordView;
use crate::segment::{Segment, index_file_name};

/// What compacting one segment did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CompactStats {
    pub removed: u64,
    pub removed_bytes: u64,
    /// Bytes of the old file read.
    pub read_bytes: u64,
    /// Bytes of the new segment and index files written.
    pub written_bytes: u64,
}

impl Log {
    /// Rolls the active segment when its oldest record was received before
    /// `cutoff_ms` (so that retention can delete it once sealed). True when it
    /// rolled.
    pub(crate) fn roll_if_older(&self, cutoff_ms: i64) -> Result<bool> {
        self.check_writable()?;
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let oldest = writer.active.index.read().min_received();
        let active = &writer.active.segment;
        if active.is_sealed() || active.record_count() == 0 || oldest.is_none_or(|t| t >= cutoff_ms)
        {
            return Ok(false);
        }
        self.roll_locked(&mut writer, 0)
            .inspect_err(|e| self.poison_on_storage_failure(e))?;
        Ok(true)
    }

    /// Seals the active segment if it holds a record at or below `seq` (an
    /// erasure must compact it). True when it rolled.
    pub(crate) fn roll_if_holds(&self, seq: u64) -> Result<bool> {
        self.check_writable()?;
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let active = &writer.active.segment;
        if active.is_sealed() || active.record_count() == 0 || active.first_seq() > seq {
            return Ok(false);
        }
        self.roll_locked(&mut writer, 0)
            .inspect_err(|e| self.poison_on_storage_failure(e))?;
        Ok(true)
    }

    /// Removes the sealed segments below `start` from the list readers see (a
    /// reader holding an older snapshot keeps reading them) and makes `start` the
    /// log start. The caller made `start` durable first. Returns the removed
    /// segments' files, for the caller to unlink.
    pub(crate) fn drop_segments_below(&self, start: u64) -> Vec<PathBuf> {
        let _writer = self.writer.lock();
        let mut segments = self.segments.write();
        let (gone, kept): (Vec<_>, Vec<_>) = segments
            .iter()
            .cloned()
            .partition(|h| h.segment.is_sealed() && h.segment.last_seq() < start);
        *segments = Arc::new(kept);
        self.log_start.fetch_max(start, Ordering::AcqRel);
        // The index first: a segment left without one is still found (and
        // removed) by the next open; an index file without its segment is not.
        gone.iter()
            .flat_map(|h| {
                let first = h.segment.first_seq();
                [
                    self.dir.join(index_file_name(first)),
                    h.segment.path().to_path_buf(),
                ]
            })
            .collect()
    }

    /// Unlinks files of dropped segments, and those an earlier call failed to
    /// unlink, and makes the removal durable. What it fails to unlink is kept
    /// for the next call: a dropped segment may hold erased records, and a pass
    /// must not finish an erasure while its file is still there.
    pub(crate) fn unlink(&self, files: &[PathBuf]) -> Result<()> {
        let mut pending = self.unlink_pending.lock();
        pending.extend_from_slice(files);
        if pending.is_empty() {
            return Ok(());
        }
        while let Some(path) = pending.first() {
            if self.fs.exists(path) {
                self.fs.remove(path).map_err(|e| Error::io(path, e))?;
            }
            pending.remove(0);
        }
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))
    }

    /// Rewrites the sealed segment of `handle` without the records `drop` picks
    /// (FORMAT.md §2.6): the new file and its index are each written under a
    /// temporary name, synced and renamed over the old ones, then the new segment
    /// replaces the old in the list readers see. `None` when `drop` picks none.
    ///
    /// A crash at any step leaves the old segment or the new one: with a stale
    /// index, which the next open notices (its counts disagree) and rebuilds.
    pub(crate) fn compact(
        &self,
        handle: &Arc<SegmentHandle>,
        drop: impl FnMut(usize, &RecordView<'_>) -> Result<bool>,
    ) -> Result<Option<CompactStats>> {
        let old = &handle.segment;
        let Some(rewrite) = old.without(drop, self.now_ms())? else {
            return Ok(None);
        };
        let path = old.path().to_path_buf();
        write_atomic(&*self.fs, &self.dir, &path, &rewrite.bytes)?;
        let segment = Segment::open_sealed(&*self.fs, &path, old.first_seq(), self.store_id)?;
        let mut index = ActiveIndex::new();
        for (offset, header) in &rewrite.records {
            index.add(header, *offset, header.padded_len());
        }
        let facts = facts_of(&segment);
        let index_bytes = encode_index_file(&index, facts, &self.names);
        let index_path = self.dir.join(index_file_name(segment.first_seq()));
        let sealed = write_index_file(&*self.fs, &self.dir, &index_path, &index_bytes, facts)?;
        self.replace_segment(Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(SegmentIndex::Sealed(sealed)),
        }))?;
        Ok(Some(CompactStats {
            removed: rewrite.removed,
            removed_bytes: rewrite.removed_bytes,
            read_bytes: old.published_end() as u64,
            written_bytes: (rewrite.bytes.len() + index_bytes.len()) as u64,
        }))
    }

    /// Swaps a sealed segment for its rewrite (same first sequence number).
    fn replace_segment(&self, handle: Arc<SegmentHandle>) -> Result<()> {
        let mut segments = self.segments.write();
        let first = handle.segment.first_seq();
        let Some(at) = segments
            .iter()
            .position(|h| h.segment.first_seq() == first && h.segment.is_sealed())
        else {
            return Err(Error::corrupt(
                handle.segment.path(),
                0,
                "the segment to replace is no longer in the log",
            ));
        };
        let mut list = segments.as_ref().clone();
        list[at] = handle;
        *segments = Arc::new(list);
        Ok(())
    }

    /// Hides an erased profile's events from every read from now on.
    pub(crate) fn hide(&self, profile: HiddenProfile) {
        let mut hidden = self.hidden.write();
        *hidden = Arc::new(hidden.with(profile));
    }

    /// Stops hiding the events of erasure `request` (compaction removed them).
    pub(crate) fn unhide(&self, request: u64) {
        let mut hidden = self.hidden.write();
        *hidden = Arc::new(hidden.without(request));
    }
}
