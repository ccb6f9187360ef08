//! Whole-file rewrites of sealed segments: the version-1 upgrade (FORMAT.md §8)
//! and compaction (§2.6) both build the image of a sealed segment here, then swap
//! it in atomically.

use super::format::{SEGMENT_HEADER_BYTES, SEGMENT_VERSION, SegmentHeader, TRAILER_BYTES, Trailer};
use super::scan::{self, Stop};
use super::{CAPACITY_MAX, CAPACITY_MIN, Segment};
use crate::error::{Error, Result};
use crate::record::{
    FLAG_END_OF_BATCH, HEADER_BYTES, RecordHeader, RecordView, body_crc, finish_crc, padded_len,
    put_crc,
};

/// The bytes of a sealed segment being built: header, records, trailer.
pub(crate) struct SealedImage {
    out: Vec<u8>,
    /// Where each record starts, with its header (for the new index).
    records: Vec<(usize, RecordHeader)>,
}

impl SealedImage {
    pub(crate) fn new(capacity_hint: usize) -> Self {
        let mut out = Vec::with_capacity(capacity_hint);
        out.resize(SEGMENT_HEADER_BYTES, 0);
        SealedImage {
            out,
            records: Vec::new(),
        }
    }

    /// Appends a record with `header` (length and CRC recomputed). Every record of
    /// a sealed segment ends its own batch: atomicity no longer matters once sealed.
    pub(crate) fn push(&mut self, header: &RecordHeader, body: &[u8]) {
        let header = RecordHeader {
            body_len: body.len() as u32,
            flags: header.flags | FLAG_END_OF_BATCH,
            ..*header
        };
        let start = self.out.len();
        self.out.extend_from_slice(&[0u8; HEADER_BYTES]);
        header.write_to(&mut self.out[start..start + HEADER_BYTES]);
        let crc = finish_crc(
            body_crc(body),
            body.len(),
            &self.out[start..start + HEADER_BYTES],
        );
        put_crc(&mut self.out[start..start + HEADER_BYTES], crc);
        self.out.extend_from_slice(body);
        self.out.resize(start + padded_len(body.len()), 0);
        self.records.push((start, header));
    }

    /// The finished file: `old`'s identity at `generation`, covering sequence
    /// numbers up to `last_seq`; and where its records start.
    pub(crate) fn finish(
        mut self,
        old: &SegmentHeader,
        generation: u32,
        last_seq: u64,
        sealed_ms: i64,
    ) -> (Vec<u8>, Vec<(usize, RecordHeader)>) {
        let data_end = self.out.len();
        let header = SegmentHeader {
            version: SEGMENT_VERSION,
            capacity: ((data_end + TRAILER_BYTES) as u64).clamp(CAPACITY_MIN, CAPACITY_MAX),
            generation,
            ..*old
        };
        self.out[..SEGMENT_HEADER_BYTES].copy_from_slice(&header.encode());
        let trailer = Trailer {
            first_seq: old.first_seq,
            last_seq,
            record_count: self.records.len() as u64,
            data_end: data_end as u64,
            sealed_ms,
        };
        self.out.extend_from_slice(&trailer.encode());
        (self.out, self.records)
    }
}

/// A sealed segment rewritten without some records (FORMAT.md §2.6).
pub(crate) struct Compacted {
    /// The new file.
    pub(crate) bytes: Vec<u8>,
    /// Where its records start, with their headers.
    pub(crate) records: Vec<(usize, RecordHeader)>,
    /// Records left out, and their bytes (headers and padding included).
    pub(crate) removed: u64,
    pub(crate) removed_bytes: u64,
}

impl Segment {
    /// This sealed segment without the records `drop` picks (it is told each
    /// record in order, CRC-checked), at the next generation; `None` when it picks
    /// none. `drop` is told each record's offset too.
    pub(crate) fn without(
        &self,
        mut drop: impl FnMut(usize, &RecordView<'_>) -> Result<bool>,
        sealed_ms: i64,
    ) -> Result<Option<Compacted>> {
        debug_assert!(self.is_sealed(), "only sealed segments are compacted");
        let view = self.view()?;
        let bytes = view.bytes();
        let old = SegmentHeader::decode(&bytes[..SEGMENT_HEADER_BYTES.min(bytes.len())])
            .map_err(|_| Error::corrupt(&self.path, 0, "segment header no longer decodes"))?;
        let mut image = SealedImage::new(bytes.len());
        let (mut removed, mut removed_bytes) = (0u64, 0u64);
        let mut failed = Ok(());
        let found = scan::scan(bytes, self.layout(), |offset, record| {
            if failed.is_err() {
                return;
            }
            match drop(offset, record) {
                Ok(true) => {
                    removed += 1;
                    removed_bytes += record.header.padded_len() as u64;
                }
                Ok(false) => image.push(&record.header, record.body),
                Err(e) => failed = Err(e),
            }
        });
        failed?;
        if let Stop::Damaged { offset, reason } = found.stop {
            return Err(Error::corrupt(&self.path, offset as u64, reason));
        }
        if found.end != self.published_end() || found.records != self.record_count() {
            return Err(Error::corrupt(
                &self.path,
                found.end as u64,
                "records end before the seal trailer says they do",
            ));
        }
        if removed == 0 {
            return Ok(None);
        }
        let generation = self
            .generation
            .checked_add(1)
            .ok_or_else(|| Error::corrupt(&self.path, 56, "segment generation would overflow"))?;
        let (bytes, records) = image.finish(&old, generation, self.last_seq(), sealed_ms);
        Ok(Some(Compacted {
            bytes,
            records,
            removed,
            removed_bytes,
        }))
    }
}
