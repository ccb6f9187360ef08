//! A batch of framed records, encoded outside the writer lock into a reused buffer.

use crate::error::{Error, Result};
use crate::record::{
    self, FLAG_END_OF_BATCH, HEADER_BYTES, RecordHeader, body_crc, finish_crc, padded_len, put_crc,
    put_flags, put_seq,
};

/// One record of a [`Batch`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    /// Offset of the record in the batch buffer.
    pub start: usize,
    /// The header, with `seq` still 0.
    pub header: RecordHeader,
    /// CRC32 state after the body.
    pub body_crc: u32,
}

impl Pending {
    /// The padded length of the record.
    pub(crate) fn len(&self) -> usize {
        self.header.padded_len()
    }
}

/// Framed records waiting for sequence numbers. Clear and reuse it: appending
/// allocates nothing once the buffers have grown to the working size.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) buf: Vec<u8>,
    pub(crate) records: Vec<Pending>,
}

impl Batch {
    /// An empty batch.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Removes every record, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.records.clear();
    }

    /// The number of records.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the batch holds no record.
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The bytes the batch will occupy on disk.
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Frames one record: writes `header` (without sequence number and CRC), lets
    /// `encode` append the body, pads, and checksums the body. A body over
    /// `max_body` bytes is refused and leaves the batch as it was.
    pub(crate) fn push(
        &mut self,
        mut header: RecordHeader,
        max_body: usize,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let start = self.buf.len();
        self.buf.resize(start + HEADER_BYTES, 0);
        if let Err(e) = encode(&mut self.buf) {
            self.buf.truncate(start);
            return Err(e);
        }
        let body_len = self.buf.len() - start - HEADER_BYTES;
        let limit = max_body.min(record::BODY_BYTES_MAX);
        if body_len > limit {
            self.buf.truncate(start);
            return Err(Error::TooLarge {
                what: "encoded event",
                size: body_len,
                limit,
            });
        }
        header.body_len = body_len as u32;
        header.seq = 0;
        header.flags &= !FLAG_END_OF_BATCH;
        header.write_to(&mut self.buf[start..start + HEADER_BYTES]);
        let crc = body_crc(&self.buf[start + HEADER_BYTES..]);
        self.buf.resize(start + padded_len(body_len), 0);
        self.records.push(Pending {
            start,
            header,
            body_crc: crc,
        });
        Ok(())
    }

    /// The bytes of records `i..` on disk.
    pub(crate) fn bytes_from(&self, i: usize) -> u64 {
        self.records[i..].iter().map(|r| r.len() as u64).sum()
    }

    /// The padded length of record `i`.
    pub(crate) fn record_len(&self, i: usize) -> usize {
        self.records[i].len()
    }

    /// The end of the longest run of records from `i` that fits in `room` bytes.
    pub(crate) fn fitting_from(&self, i: usize, room: u64) -> usize {
        let mut used = 0u64;
        let mut j = i;
        while j < self.records.len() && used + self.records[j].len() as u64 <= room {
            used += self.records[j].len() as u64;
            j += 1;
        }
        j
    }

    /// The bytes of records `range` (written as one unit) and each record with
    /// its offset inside them.
    pub(crate) fn unit(
        &self,
        range: std::ops::Range<usize>,
    ) -> (&[u8], impl Iterator<Item = (usize, &Pending)>) {
        let start = self.records[range.start].start;
        let last = &self.records[range.end - 1];
        let end = last.start + last.len();
        let records = self.records[range]
            .iter()
            .map(move |r| (r.start - start, r));
        (&self.buf[start..end], records)
    }

    /// Assigns sequence numbers from `first_seq` to records `range`, marks the last
    /// one as the end of an atomic unit, and finishes the CRCs.
    pub(crate) fn seal_range(&mut self, range: std::ops::Range<usize>, first_seq: u64) {
        debug_assert!(!range.is_empty() && range.end <= self.records.len());
        let last = range.end.saturating_sub(1);
        for (i, seq) in range.clone().zip(first_seq..) {
            let pending = &mut self.records[i];
            pending.header.seq = seq;
            if i == last {
                pending.header.flags |= FLAG_END_OF_BATCH;
            }
            let at = pending.start;
            let header = &mut self.buf[at..at + HEADER_BYTES];
            put_seq(header, seq);
            put_flags(header, pending.header.flags);
            let crc = finish_crc(pending.body_crc, pending.header.body_len as usize, header);
            put_crc(header, crc);
        }
        debug_assert!(
            self.records[range.clone()]
                .windows(2)
                .all(|w| w[1].header.seq == w[0].header.seq + 1),
            "a unit's sequence numbers are contiguous"
        );
    }
}
