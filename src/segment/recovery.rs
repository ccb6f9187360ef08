//! Recovery of the last segment of a log after a clean close or a crash: scan
//! its records, judge what follows the last complete batch (a torn tail is cut
//! and reported; damage followed by valid records is corruption), then restore
//! the reserved space. FORMAT.md §2.5 states the rules; each is one step here.

use std::path::Path;

use super::format::TRAILER_BYTES;
use super::scan::{self, Layout, Scan, Stop};
use super::{Parts, Recovered, RecoveryMode, Segment, TailRepair};
use crate::error::{Error, Result};
use crate::io::{Map, OpenMode, VFile, Vfs};
use crate::record::{Framing, RecordView};

/// Where the last segment is being recovered, and how.
pub(crate) struct Recovery<'a> {
    pub(crate) fs: &'a dyn Vfs,
    pub(crate) path: &'a Path,
    pub(crate) first_seq: u64,
    pub(crate) store_id: [u8; 16],
    pub(crate) mode: RecoveryMode,
    /// False for a reader beside a live writer: nothing is judged or written.
    pub(crate) writable: bool,
}

impl Segment {
    /// Opens the last segment of a log after a clean close or a crash: scans its
    /// records, cuts a torn tail (reporting it), and restores its reserved space.
    /// `each(offset, record)` sees every record that is kept, in order.
    ///
    /// With `writable: false` (a read-only open beside a live writer) nothing is
    /// written: the segment ends, for this reader, at its last complete batch.
    pub(crate) fn recover(
        how: &Recovery<'_>,
        mut each: impl FnMut(usize, &RecordView<'_>),
    ) -> Result<Recovered> {
        let io = |e| Error::io(how.path, e);
        let open_mode = if how.writable {
            OpenMode::ReadWrite
        } else {
            OpenMode::ReadOnly
        };
        let file = how.fs.open(how.path, open_mode).map_err(io)?;
        let len = file.len().map_err(io)?;
        let mut header = match Self::read_header(&*file, how.path, len) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(Recovered::Uninitialised),
            Err(e) if e.is_corruption() && how.never_initialised(&*file, len)? => {
                return Ok(Recovered::Uninitialised);
            }
            Err(e) => return Err(e),
        };
        Self::check_header(&header, how.path, how.first_seq, how.store_id)?;
        if let Some(trailer) = Self::read_trailer(&*file, how.path, len)? {
            let sealed = Self::sealed_from(how.path.to_path_buf(), header, file, trailer)?;
            return Ok(Recovered::Sealed(sealed));
        }
        let (found, repair) = how.scan(&*file, len, &mut each)?;
        let map_len = if how.writable {
            let capacity =
                how.restore_space(&*file, found.end, repair.is_some(), len, header.capacity)?;
            // Short of space, the segment is full at its current length: the
            // first append seals it and starts one that fits.
            header.capacity = capacity;
            capacity
        } else {
            len
        };
        let map = file.map(map_len).map_err(io)?;
        let segment = Segment::new(Parts {
            path: how.path.to_path_buf(),
            header,
            file,
            map,
            end: found.end,
            last_seq: found.last_seq,
            records: found.records,
            sealed: false,
        });
        Ok(Recovered::Active(segment, repair))
    }
}

impl Segment {
    /// For a reader (verify on a read-only open): what a writable open would
    /// judge of the tail of the last segment `path`. `Some((offset, reason))`
    /// when damage is followed by valid records, which a writable open refuses;
    /// `None` for a clean end or a torn tail (which it would cut). Reads the file,
    /// writes nothing.
    pub(crate) fn judge_tail_read_only(
        fs: &dyn Vfs,
        path: &Path,
        first_seq: u64,
        store_id: [u8; 16],
    ) -> Result<Option<(u64, String)>> {
        let how = Recovery {
            fs,
            path,
            first_seq,
            store_id,
            mode: RecoveryMode::TolerateTornTail,
            writable: false,
        };
        let data = fs
            .open(path, OpenMode::ReadOnly)
            .and_then(|f| f.read_all())
            .map_err(|e| Error::io(path, e))?;
        let found = scan::scan(&data, Layout::appended(first_seq), |_, _| {});
        match how.judge_tail(&data, &found) {
            Err(Error::Corrupt { offset, reason, .. }) => Ok(Some((offset, reason))),
            Err(e) => Err(e),
            Ok(_) => Ok(None),
        }
    }
}

impl Recovery<'_> {
    /// True when a last segment whose header is damaged holds no valid record:
    /// its creation was interrupted before the header was synced (records are
    /// appended only after it is), so nothing in it was ever acknowledged.
    fn never_initialised(&self, file: &dyn VFile, len: u64) -> Result<bool> {
        if !self.writable {
            return Ok(false);
        }
        let data = file.read_all().map_err(|e| Error::io(self.path, e))?;
        debug_assert_eq!(data.len() as u64, len);
        Ok(scan::find_valid_record(&data, 0, self.first_seq, Framing::V2).is_none())
    }

    /// Scans the records, reports the kept ones to `each`, and judges the tail.
    fn scan(
        &self,
        file: &dyn VFile,
        len: u64,
        each: &mut impl FnMut(usize, &RecordView<'_>),
    ) -> Result<(Scan, Option<TailRepair>)> {
        let io = |e| Error::io(self.path, e);
        // The writer scans through a map (nothing else touches the file). A reader
        // beside a live writer copies the file instead: the writer may shrink it
        // (seal, close) at any moment, which would fault a map read past the end.
        let scan_map = if self.writable {
            file.map(len).map_err(io)?
        } else {
            Map::of_bytes(file.read_all().map_err(io)?.into_boxed_slice())
        };
        let data = scan_map.prefix(len as usize);
        let mut records = Vec::new();
        let found = scan::scan(data, Layout::appended(self.first_seq), |offset, record| {
            records.push((offset, *record))
        });
        // Only the writer judges the tail: a reader sees the writer's bytes in
        // flight and simply stops at the last complete batch.
        let repair = if self.writable {
            self.judge_tail(data, &found)?
        } else {
            None
        };
        for (offset, record) in records.iter().take(found.records as usize) {
            each(*offset, record);
        }
        Ok((found, repair))
    }

    /// What follows the last complete batch: nothing (zeros), a torn tail to cut
    /// (reported), or damage followed by valid records (corruption, unless the
    /// mode salvages the prefix).
    fn judge_tail(&self, data: &[u8], found: &Scan) -> Result<Option<TailRepair>> {
        let Some(garbage_end) = scan::nonzero_end(data, found.end) else {
            return Ok(None);
        };
        let next_seq = found.last_seq.wrapping_add(1);
        let valid_after = |at: usize| {
            self.mode == RecoveryMode::TolerateTornTail
                && scan::find_valid_record(data, at, next_seq, Framing::V2).is_some()
        };
        let reason = match found.stop {
            Stop::Damaged { offset, reason } => {
                if valid_after(offset) {
                    return Err(self.not_a_torn_tail(offset, reason));
                }
                reason
            }
            Stop::Clean => {
                // The scan met zeros where a header belongs. Valid records after
                // them mean a zeroed record, not the end of the data.
                let at = found.valid_end;
                if valid_after(at) {
                    return Err(self.not_a_torn_tail(at, "a zeroed record header"));
                }
                if at > found.end {
                    "incomplete batch at the end of the segment"
                } else {
                    "zeroed bytes followed by garbage at the end of the segment"
                }
            }
        };
        Ok(Some(TailRepair {
            file: self.path.to_path_buf(),
            offset: found.end as u64,
            dropped_bytes: (garbage_end - found.end) as u64,
            reason: reason.to_owned(),
        }))
    }

    fn not_a_torn_tail(&self, offset: usize, what: &str) -> Error {
        Error::corrupt(
            self.path,
            offset as u64,
            format!(
                "{what}, followed by valid records (not a torn tail; \
                 open with RecoveryMode::SalvagePrefix to cut here)"
            ),
        )
    }

    /// The writer cuts the damage (a shorter future record must never be followed
    /// by stale valid-looking bytes) and reserves the capacity again, durably.
    /// Returns the capacity the segment has now: on a disk too full to reserve
    /// it again, the length it keeps (its records and room for the seal trailer).
    fn restore_space(
        &self,
        file: &dyn VFile,
        end: usize,
        cut: bool,
        len: u64,
        capacity: u64,
    ) -> Result<u64> {
        let io = |e| Error::io(self.path, e);
        if cut {
            file.set_len(end as u64).map_err(io)?;
        }
        if !cut && len >= capacity {
            return Ok(capacity);
        }
        let kept = match file.allocate(capacity) {
            Ok(()) => capacity,
            Err(e) if crate::error::io_out_of_space(&e) => {
                let full = (end + TRAILER_BYTES) as u64;
                if cut || len < full {
                    // Written, not a sparse extension: sealing writes its
                    // trailer there, and must not need a new block then.
                    file.write_all_at(&[0u8; TRAILER_BYTES], end as u64)
                        .map_err(io)?;
                    file.set_len(full).map_err(io)?;
                }
                full
            }
            Err(e) => return Err(io(e)),
        };
        file.sync_data().map_err(io)?;
        Ok(kept)
    }
}
