//! Appending: sequence numbers, the positional write of a batch, publishing it to
//! readers, and rolling to a new segment (sealing the old one and writing its
//! index file).

use std::sync::Arc;

use super::{Appended, Batch, Durability, Log, SegmentHandle, Writer};
use crate::error::{Error, Result};
use crate::index::{SealedIndex, SegmentFacts, SegmentIndex, encode_index_file};
use crate::segment::{Segment, Trailer, index_file_name};

impl Log {
    /// Appends every record of `batch`, giving them contiguous sequence numbers.
    /// The batch is written as one unit (it is atomic across a crash) unless it is
    /// larger than a whole segment, in which case it is written as several units,
    /// each as large as a segment allows. Returns after the durability mode's
    /// promise holds.
    pub(crate) fn append(&self, batch: &mut Batch) -> Result<Appended> {
        if batch.is_empty() {
            let seq = self.visible_seq();
            return Ok(Appended {
                first_seq: seq + 1,
                last_seq: seq,
            });
        }
        self.check_writable()?;
        if self.config.durability == Durability::Sync {
            return self.append_durably(batch);
        }
        let appended = self.write_batch(batch)?;
        self.wake_tailers();
        Ok(appended)
    }

    /// Writes one batch under the writer lock (no sync); a failure poisons the log.
    fn write_batch(&self, batch: &mut Batch) -> Result<Appended> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        self.append_locked(&mut writer, batch)
            .inspect_err(|e| self.poison_on_storage_failure(e))
    }

    pub(super) fn append_locked(&self, writer: &mut Writer, batch: &mut Batch) -> Result<Appended> {
        if writer.active.segment.is_sealed() {
            // The disk was full when the last segment was sealed.
            self.start_segment(writer, batch.bytes_from(0))?;
        }
        let first_seq = writer.next_seq;
        let room = Segment::room_for_records(self.config.segment_bytes);
        let n = batch.len();
        let mut i = 0;
        while i < n {
            let rest = batch.bytes_from(i);
            let free = writer.active.segment.free_bytes();
            if rest <= free {
                self.write_range(writer, batch, i..n)?;
                break;
            }
            let empty = writer.active.segment.record_count() == 0;
            if !empty && rest <= room {
                self.roll_locked(writer, rest)?;
                continue;
            }
            // Larger than what is left here and (or) than a whole segment: write
            // the prefix that fits as one unit, then continue in a new segment.
            let j = batch.fitting_from(i, free);
            if j == i {
                let reduced = writer.active.segment.capacity() < self.config.segment_bytes;
                if empty && reduced && batch.record_len(i) as u64 <= room {
                    // It fits a segment of the configured size: a matter of space.
                    return Err(Error::DiskFull {
                        dir: self.dir.clone(),
                        needed: self.config.segment_bytes,
                    });
                }
                if empty {
                    return Err(Error::TooLarge {
                        what: "record",
                        size: batch.record_len(i),
                        limit: room as usize,
                    });
                }
            } else {
                self.write_range(writer, batch, i..j)?;
                i = j;
            }
            self.roll_locked(writer, batch.bytes_from(i))?;
        }
        debug_assert_eq!(
            writer.next_seq - first_seq,
            n as u64,
            "every record got a seq"
        );
        Ok(Appended {
            first_seq,
            last_seq: writer.next_seq - 1,
        })
    }

    /// Writes records `range` of the batch at the end of the active segment, indexes
    /// them and publishes them.
    fn write_range(
        &self,
        writer: &mut Writer,
        batch: &mut Batch,
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        let first_seq = writer.next_seq;
        batch.seal_range(range.clone(), first_seq);
        let segment = &writer.active.segment;
        let at = segment.published_end();
        let (bytes, records) = batch.unit(range.clone());
        segment.write_at(bytes, at)?;
        if let SegmentIndex::Active(index) = &mut *writer.active.index.write() {
            for (offset, pending) in records {
                debug_assert_eq!(
                    crate::record::RecordHeader::read_from(&bytes[offset..]).map(|h| h.seq),
                    Ok(pending.header.seq),
                    "the index entry matches the record it points to"
                );
                index.add(&pending.header, at + offset, pending.len());
            }
        }
        let last_seq = first_seq + range.len() as u64 - 1;
        segment.publish(at + bytes.len(), last_seq);
        writer.next_seq = last_seq + 1;
        // SeqCst pairs with `wait_for`: either the waiter sees this sequence
        // number, or this thread sees the waiter and notifies it.
        self.visible
            .store(last_seq, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Seals the active segment and starts a new one (if the active one holds any
    /// record).
    pub(crate) fn roll(&self) -> Result<()> {
        self.check_writable()?;
        let mut writer = self.writer.lock();
        self.check_writable()?;
        if writer.active.segment.record_count() == 0 {
            return Ok(());
        }
        self.roll_locked(&mut writer, 0)
            .inspect_err(|e| self.poison_on_storage_failure(e))
    }

    /// Seals the active segment (unless a full disk left it sealed already)
    /// and starts a new one with room for `pending` bytes of records.
    pub(super) fn roll_locked(&self, writer: &mut Writer, pending: u64) -> Result<()> {
        if !writer.active.segment.is_sealed() {
            self.seal_active(writer)?;
        }
        self.start_segment(writer, pending)
    }

    /// Seals the active segment and writes its index file. On a full disk the
    /// index stays in memory (it is complete; the next open writes the file).
    fn seal_active(&self, writer: &Writer) -> Result<()> {
        let old = &writer.active;
        let trailer = old.segment.seal(self.now_ms())?;
        self.sync.mark(trailer.last_seq);
        match self.write_index(old, trailer_facts(&trailer)) {
            Ok(sealed_index) => *old.index.write() = SegmentIndex::Sealed(sealed_index),
            Err(e) if e.is_out_of_space() => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Adds a segment at the end of the list readers see.
    pub(super) fn push_segment(&self, handle: Arc<SegmentHandle>) {
        let mut segments = self.segments.write();
        let mut list = Vec::with_capacity(segments.len() + 1);
        list.extend(segments.iter().cloned());
        list.push(handle);
        *segments = Arc::new(list);
    }

    /// Writes the index file of a just-sealed segment (temp file, fsync, rename,
    /// directory fsync) and maps it.
    fn write_index(&self, handle: &SegmentHandle, facts: SegmentFacts) -> Result<SealedIndex> {
        let bytes = match &*handle.index.read() {
            SegmentIndex::Active(active) => encode_index_file(active, facts, &self.names),
            SegmentIndex::Sealed(_) => {
                return Err(Error::corrupt(
                    handle.segment.path(),
                    0,
                    "segment sealed twice",
                ));
            }
        };
        let path = self.dir.join(index_file_name(handle.segment.first_seq()));
        super::open::write_index_file(&*self.fs, &self.dir, &path, &bytes, facts)
    }
}

fn trailer_facts(t: &Trailer) -> SegmentFacts {
    SegmentFacts {
        first_seq: t.first_seq,
        last_seq: t.last_seq,
        record_count: t.record_count,
        data_end: t.data_end,
    }
}
