//! One segment file: creation with reserved space, appends, read views, sealing,
//! and crash recovery of the active segment. A segment knows records, not sources.

pub(crate) mod format;
mod recovery;
mod rewrite;
pub(crate) mod scan;
mod upgrade;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::io::{Map, OpenMode, VFile, Vfs};
use crate::record::{RecordProblem, RecordView, read_record};
use format::{HeaderError, SEGMENT_HEADER_BYTES, SEGMENT_VERSION, SegmentHeader, TRAILER_BYTES};
pub(crate) use format::{Trailer, index_file_name, parse_segment_file_name, segment_file_name};
pub(crate) use recovery::Recovery;
pub(crate) use upgrade::{Upgraded, upgrade_segment};

/// The smallest capacity a segment header may state (FORMAT.md §2.1).
pub(crate) const CAPACITY_MIN: u64 = 64 << 10;
/// The largest capacity a segment header may state.
pub(crate) const CAPACITY_MAX: u64 = 1 << 30;

/// How opening treats damage in the active segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Cut a damaged tail (a torn write: nothing valid follows the damage) and
    /// report it; damage followed by valid records is [`Error::Corrupt`]. The default.
    #[default]
    TolerateTornTail,
    /// Cut the active segment at its first damaged record even if valid records
    /// follow, reporting what was dropped. For a store that lost power on a disk that
    /// writes back out of order; can drop synced data if the damage was bit rot.
    SalvagePrefix,
}

/// What recovery did to the active segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TailRepair {
    /// The segment file.
    pub file: PathBuf,
    /// Where the valid data ends (and the cut was made).
    pub offset: u64,
    /// How many non-zero bytes after that were dropped.
    pub dropped_bytes: u64,
    /// Why the tail was invalid.
    pub reason: String,
}

/// A view of a segment's published bytes: every record inside is complete.
#[derive(Clone)]
pub(crate) struct SegmentView {
    map: Arc<Map>,
    end: usize,
}

impl SegmentView {
    /// The published bytes (header included).
    pub(crate) fn bytes(&self) -> &[u8] {
        self.map.prefix(self.end)
    }

    /// The CRC-checked record at `offset` (its zero padding checked too).
    pub(crate) fn record_at(&self, offset: usize) -> Result<RecordView<'_>, RecordProblem> {
        let bytes = self.bytes();
        let tail = match bytes.get(offset..) {
            Some(tail) if offset >= SEGMENT_HEADER_BYTES => tail,
            _ => return Err(RecordProblem::Short),
        };
        let record = read_record(tail)?;
        let body_end = crate::record::HEADER_BYTES + record.body.len();
        match tail.get(body_end..record.header.padded_len()) {
            Some(padding) if padding.iter().all(|&b| b == 0) => Ok(record),
            Some(_) => Err(RecordProblem::Invalid("non-zero record padding")),
            None => Err(RecordProblem::Short),
        }
    }
}

/// A segment file, shared by the writer and readers.
pub(crate) struct Segment {
    path: PathBuf,
    first_seq: u64,
    capacity: u64,
    generation: u32,
    file: Arc<dyn VFile>,
    /// The current map and the length below which its bytes are current.
    map: RwLock<(Arc<Map>, usize)>,
    published_end: AtomicUsize,
    last_seq: AtomicU64,
    /// Records published: `last_seq - first_seq + 1` unless compaction left gaps.
    records: AtomicU64,
    sealed: AtomicBool,
}

/// What a segment is made of when it is opened or created.
pub(super) struct Parts {
    pub(super) path: PathBuf,
    pub(super) header: SegmentHeader,
    pub(super) file: Arc<dyn VFile>,
    pub(super) map: Map,
    /// The end of the published records.
    pub(super) end: usize,
    /// The last sequence number the segment covers.
    pub(super) last_seq: u64,
    /// How many records it holds.
    pub(super) records: u64,
    pub(super) sealed: bool,
}

/// The result of opening the last segment of a log.
pub(crate) enum Recovered {
    /// The segment is open for appends; `repair` says what was cut, if anything.
    Active(Segment, Option<TailRepair>),
    /// The segment carried a seal trailer (a crash after sealing, before the next
    /// segment existed): it is sealed.
    Sealed(Segment),
    /// The file was created but never initialised (all zeros): it holds no data.
    Uninitialised,
}

impl Segment {
    /// Creates and initialises a new segment file with `capacity` bytes reserved.
    pub(crate) fn create(
        fs: &dyn Vfs,
        dir: &Path,
        first_seq: u64,
        capacity: u64,
        store_id: [u8; 16],
        now_ms: i64,
    ) -> Result<Segment> {
        let path = dir.join(segment_file_name(first_seq));
        let io = |e| Error::io(&path, e);
        let file = fs.open(&path, OpenMode::CreateNew).map_err(io)?;
        if let Err(e) = file.allocate(capacity) {
            if crate::error::io_out_of_space(&e) {
                // Nothing was written: remove the file, so that a smaller
                // segment, or this one once space is freed, can be created.
                drop(file);
                fs.remove(&path).map_err(io)?;
            }
            return Err(io(e));
        }
        let header = SegmentHeader {
            version: SEGMENT_VERSION,
            first_seq,
            capacity,
            created_ms: now_ms,
            store_id,
            generation: 0,
        };
        file.write_all_at(&header.encode(), 0).map_err(io)?;
        file.sync_data().map_err(io)?;
        fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
        let map = file.map(capacity).map_err(io)?;
        Ok(Segment::new(Parts {
            path,
            header,
            file,
            map,
            end: SEGMENT_HEADER_BYTES,
            last_seq: first_seq - 1,
            records: 0,
            sealed: false,
        }))
    }

    pub(super) fn new(parts: Parts) -> Segment {
        let valid = if parts.map.is_live() {
            usize::MAX
        } else {
            parts.end
        };
        Segment {
            path: parts.path,
            first_seq: parts.header.first_seq,
            capacity: parts.header.capacity,
            generation: parts.header.generation,
            file: parts.file,
            map: RwLock::new((Arc::new(parts.map), valid)),
            published_end: AtomicUsize::new(parts.end),
            last_seq: AtomicU64::new(parts.last_seq),
            records: AtomicU64::new(parts.records),
            sealed: AtomicBool::new(parts.sealed),
        }
    }

    pub(super) fn read_header(
        file: &dyn VFile,
        path: &Path,
        len: u64,
    ) -> Result<Option<SegmentHeader>> {
        let mut buf = [0u8; SEGMENT_HEADER_BYTES];
        let n = (len as usize).min(SEGMENT_HEADER_BYTES);
        file.read_exact_at(&mut buf[..n], 0)
            .map_err(|e| Error::io(path, e))?;
        match SegmentHeader::decode(&buf) {
            Ok(h) => Ok(Some(h)),
            Err(HeaderError::Zero) => Ok(None),
            Err(HeaderError::Version(found)) => Err(Error::UnsupportedVersion {
                file: path.to_path_buf(),
                found,
                supported: SEGMENT_VERSION,
            }),
            Err(HeaderError::Invalid(why)) => Err(Error::corrupt(path, 0, why)),
        }
    }

    pub(super) fn check_header(
        header: &SegmentHeader,
        path: &Path,
        first_seq: u64,
        store_id: [u8; 16],
    ) -> Result<()> {
        if header.version != SEGMENT_VERSION {
            return Err(Error::UpgradeNeeded {
                path: path.to_path_buf(),
                found: header.version,
            });
        }
        Self::check_identity(header, path, first_seq, store_id)
    }

    /// The checks of any version's header: the file name, the store, the size.
    pub(super) fn check_identity(
        header: &SegmentHeader,
        path: &Path,
        first_seq: u64,
        store_id: [u8; 16],
    ) -> Result<()> {
        if header.first_seq != first_seq {
            return Err(Error::corrupt(
                path,
                16,
                format!(
                    "header says first sequence {} but the file name says {first_seq}",
                    header.first_seq
                ),
            ));
        }
        if header.store_id != store_id {
            return Err(Error::corrupt(path, 40, "segment belongs to another store"));
        }
        if !(CAPACITY_MIN..=CAPACITY_MAX).contains(&header.capacity) {
            return Err(Error::corrupt(
                path,
                24,
                format!("impossible capacity {}", header.capacity),
            ));
        }
        Ok(())
    }

    pub(super) fn read_trailer(file: &dyn VFile, path: &Path, len: u64) -> Result<Option<Trailer>> {
        if len < (SEGMENT_HEADER_BYTES + TRAILER_BYTES) as u64 {
            return Ok(None);
        }
        let mut buf = [0u8; TRAILER_BYTES];
        file.read_exact_at(&mut buf, len - TRAILER_BYTES as u64)
            .map_err(|e| Error::io(path, e))?;
        Ok(Trailer::decode(&buf).filter(|t| t.data_end == len - TRAILER_BYTES as u64))
    }

    pub(super) fn sealed_from(
        path: PathBuf,
        header: SegmentHeader,
        file: Arc<dyn VFile>,
        trailer: Trailer,
    ) -> Result<Segment> {
        let span = trailer
            .last_seq
            .wrapping_sub(header.first_seq)
            .wrapping_add(1);
        // A compacted segment may hold fewer records than its span (gaps).
        let count_ok = if header.generation == 0 {
            span == trailer.record_count
        } else {
            trailer.last_seq.wrapping_add(1) >= header.first_seq && trailer.record_count <= span
        };
        if trailer.first_seq != header.first_seq || !count_ok {
            return Err(Error::corrupt(
                &path,
                trailer.data_end,
                "seal trailer disagrees with the header",
            ));
        }
        let map = file
            .map(trailer.data_end)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Segment::new(Parts {
            path,
            header,
            file,
            map,
            end: trailer.data_end as usize,
            last_seq: trailer.last_seq,
            records: trailer.record_count,
            sealed: true,
        }))
    }

    /// Opens a sealed segment (every segment but the last). Checks the header and
    /// the seal trailer; records are checked when read, and all of them by verify.
    pub(crate) fn open_sealed(
        fs: &dyn Vfs,
        path: &Path,
        first_seq: u64,
        store_id: [u8; 16],
    ) -> Result<Segment> {
        let io = |e| Error::io(path, e);
        let file = fs.open(path, OpenMode::ReadOnly).map_err(io)?;
        let len = file.len().map_err(io)?;
        let Some(header) = Self::read_header(&*file, path, len)? else {
            return Err(Error::corrupt(
                path,
                0,
                "sealed segment has a zeroed header",
            ));
        };
        Self::check_header(&header, path, first_seq, store_id)?;
        let Some(trailer) = Self::read_trailer(&*file, path, len)? else {
            return Err(Error::corrupt(
                path,
                len.saturating_sub(TRAILER_BYTES as u64),
                "a segment that is not the last has no valid seal trailer (truncated or damaged)",
            ));
        };
        Self::sealed_from(path.to_path_buf(), header, file, trailer)
    }

    /// The file path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number of the first record.
    pub(crate) fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// The last published sequence number (`first_seq - 1` when empty).
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// The number of published records.
    pub(crate) fn record_count(&self) -> u64 {
        self.records.load(Ordering::Acquire)
    }

    /// 0 for a segment as appended; how many times compaction rewrote it.
    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    /// How its records follow each other (for scans).
    pub(crate) fn layout(&self) -> scan::Layout {
        scan::Layout {
            framing: crate::record::Framing::V2,
            first_seq: self.first_seq,
            gaps: self.generation > 0,
        }
    }

    /// The end of the published records.
    pub(crate) fn published_end(&self) -> usize {
        self.published_end.load(Ordering::Acquire)
    }

    /// The reserved size of the file.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The bytes still free for records (keeping room for the seal trailer).
    pub(crate) fn free_bytes(&self) -> u64 {
        self.capacity
            .saturating_sub(TRAILER_BYTES as u64)
            .saturating_sub(self.published_end() as u64)
    }

    /// The capacity a segment needs to hold `records` bytes of records.
    pub(crate) fn capacity_for(records: u64) -> u64 {
        records.saturating_add((SEGMENT_HEADER_BYTES + TRAILER_BYTES) as u64)
    }

    /// The most bytes of records any segment of `capacity` can hold.
    pub(crate) fn room_for_records(capacity: u64) -> u64 {
        capacity.saturating_sub((SEGMENT_HEADER_BYTES + TRAILER_BYTES) as u64)
    }

    /// True once sealed.
    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    /// Writes record bytes at `offset` (the writer only; not yet visible).
    pub(crate) fn write_at(&self, bytes: &[u8], offset: usize) -> Result<()> {
        self.file
            .write_all_at(bytes, offset as u64)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Makes records up to `end` (last sequence `last_seq`) visible to readers.
    /// Only the active segment is appended to: its records are contiguous.
    pub(crate) fn publish(&self, end: usize, last_seq: u64) {
        debug_assert!(end >= self.published_end(), "published ends only grow");
        debug_assert!(last_seq >= self.last_seq(), "sequence numbers only grow");
        debug_assert_eq!(self.generation, 0, "only appended segments are appended to");
        self.published_end.store(end, Ordering::Release);
        self.records
            .store(last_seq + 1 - self.first_seq, Ordering::Release);
        self.last_seq.store(last_seq, Ordering::Release);
    }

    /// fdatasync of the file.
    pub(crate) fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    /// A view of the published records.
    pub(crate) fn view(&self) -> Result<SegmentView> {
        let end = self.published_end();
        {
            let guard = self.map.read();
            if guard.1 >= end {
                return Ok(SegmentView {
                    map: guard.0.clone(),
                    end,
                });
            }
        }
        let mut guard = self.map.write();
        if guard.1 < end {
            let map = self
                .file
                .map(end as u64)
                .map_err(|e| Error::io(&self.path, e))?;
            *guard = (Arc::new(map), end);
        }
        Ok(SegmentView {
            map: guard.0.clone(),
            end,
        })
    }

    /// Writes the seal trailer after the published records, trims the reserved
    /// space and syncs. The segment is never written again.
    pub(crate) fn seal(&self, now_ms: i64) -> Result<Trailer> {
        let end = self.published_end();
        let trailer = Trailer {
            first_seq: self.first_seq,
            last_seq: self.last_seq(),
            record_count: self.record_count(),
            data_end: end as u64,
            sealed_ms: now_ms,
        };
        let io = |e| Error::io(&self.path, e);
        self.file
            .write_all_at(&trailer.encode(), end as u64)
            .map_err(io)?;
        // Never below `end`: readers may hold maps and read up to it.
        self.file
            .set_len((end + TRAILER_BYTES) as u64)
            .map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.sealed.store(true, Ordering::Release);
        Ok(trailer)
    }

    /// Trims the reserved space of the active segment at a clean close, so the next
    /// open scans only real data. The file keeps 64 zero bytes after the records,
    /// so its last 64 bytes can never be taken for a seal trailer (records end in
    /// client-chosen bytes).
    pub(crate) fn trim(&self) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        let end = self.published_end();
        self.file
            .write_all_at(&[0u8; TRAILER_BYTES], end as u64)
            .map_err(io)?;
        self.file
            .set_len((end + TRAILER_BYTES) as u64)
            .map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}
