//! Walking the records of a segment file by their headers (no CRC check), to
//! aim damage at exact bytes.

use firstlog::testing::{HEADER_BYTES, RecordHeader};

/// Bytes of a segment file header: the first record starts here.
pub const SEGMENT_HEADER_BYTES: usize = 64;

/// A record found by walking a segment's headers.
#[derive(Clone, Copy, Debug)]
pub struct Rec {
    /// Offset of the record header.
    pub start: usize,
    /// Offset just past the body (padding follows).
    pub body_end: usize,
    /// Offset just past the padding: the next record's start.
    pub end: usize,
    /// Its sequence number.
    pub seq: u64,
    /// True for the last record of an atomic batch.
    pub ends_batch: bool,
    /// Where its batch starts, and the batch's first sequence number.
    pub batch_start: usize,
    pub batch_first_seq: u64,
}

/// Every record of the segment file `bytes`, in order, up to the first bytes
/// that are not a record header.
pub fn records(bytes: &[u8]) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut pos = SEGMENT_HEADER_BYTES;
    let mut batch = None;
    while let Some(Ok(h)) = bytes.get(pos..).map(RecordHeader::read_from) {
        let end = pos + h.padded_len();
        assert!(end <= bytes.len(), "a record runs past the end of the file");
        let (batch_start, batch_first_seq) = *batch.get_or_insert((pos, h.seq));
        out.push(Rec {
            start: pos,
            body_end: pos + HEADER_BYTES + h.body_len as usize,
            end,
            seq: h.seq,
            ends_batch: h.ends_batch(),
            batch_start,
            batch_first_seq,
        });
        if h.ends_batch() {
            batch = None;
        }
        pos = end;
    }
    out
}
