//! Version-1 records (FORMAT.md §8.1): the 64-byte header of stores written by
//! version 1, read only to upgrade them. Same fields as version 2 but no
//! anonymous hash; the CRC covers the body, then the header's first 60 bytes.

use super::{
    BODY_BYTES_MAX, FLAGS_KNOWN, HeaderProblem, RECORD_MAGIC, RecordHeader, RecordProblem,
    RecordView, body_crc, u16_at, u32_at, u64_at,
};

/// Bytes of a version-1 record header.
pub(crate) const HEADER_BYTES_V1: usize = 64;

/// Reads a version-1 header, checking its shape but not its CRC.
pub(crate) fn read_header(bytes: &[u8]) -> Result<RecordHeader, HeaderProblem> {
    let Some(h) = bytes.get(..HEADER_BYTES_V1) else {
        return Err(HeaderProblem::Short);
    };
    if h.iter().all(|&b| b == 0) {
        return Err(HeaderProblem::Zero);
    }
    if u32_at(h, 0) != RECORD_MAGIC {
        return Err(HeaderProblem::Invalid("bad record magic"));
    }
    let header = RecordHeader {
        body_len: u32_at(h, 4),
        seq: u64_at(h, 8),
        source: u32_at(h, 16),
        flags: u16_at(h, 20),
        timestamp_ms: u64_at(h, 24) as i64,
        received_ms: u64_at(h, 32) as i64,
        name_hash: u64_at(h, 40),
        profile_hash: u64_at(h, 48),
        anonymous_hash: 0,
        message_hash: u32_at(h, 56),
    };
    if header.flags & !FLAGS_KNOWN != 0 || u16_at(h, 22) != 0 {
        return Err(HeaderProblem::Invalid("unknown flag or reserved bits set"));
    }
    if header.body_len as usize > BODY_BYTES_MAX {
        return Err(HeaderProblem::Invalid("body length over the maximum"));
    }
    Ok(header)
}

/// Reads and CRC-checks the version-1 record at the start of `bytes`.
pub(crate) fn read_record(bytes: &[u8]) -> Result<RecordView<'_>, RecordProblem> {
    let header = read_header(bytes).map_err(RecordProblem::from)?;
    let end = HEADER_BYTES_V1 + header.body_len as usize;
    let Some(body) = bytes.get(HEADER_BYTES_V1..end) else {
        return Err(RecordProblem::Short);
    };
    let mut hasher = crc32fast::Hasher::new_with_initial_len(body_crc(body), body.len() as u64);
    hasher.update(&bytes[..60]);
    if hasher.finalize() != u32_at(bytes, 60) {
        return Err(RecordProblem::Checksum);
    }
    Ok(RecordView { header, body })
}

/// The size of a version-1 record with a body of `body_len` bytes.
pub(crate) fn padded_len(body_len: usize) -> usize {
    (HEADER_BYTES_V1 + body_len).next_multiple_of(super::ALIGN)
}
