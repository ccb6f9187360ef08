//! Segment file header, seal trailer and file naming (FORMAT.md, "Segment files").

use crate::record::{u32_at, u64_at};

/// Segment files start with these 8 bytes.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"FLOGSEG\0";
/// A sealed segment ends with a trailer starting with these 8 bytes.
pub(crate) const SEAL_MAGIC: [u8; 8] = *b"FLOGSEAL";
/// The segment format version this build writes (and reads; version 1 segments
/// are read only to upgrade them).
pub(crate) const SEGMENT_VERSION: u32 = 2;
/// The version of segments written by version 1 of firstlog.
pub(crate) const SEGMENT_VERSION_V1: u32 = 1;
/// Bytes of the segment header; the first record starts here.
pub(crate) const SEGMENT_HEADER_BYTES: usize = 64;
/// Bytes of the seal trailer.
pub(crate) const TRAILER_BYTES: usize = 64;

/// The segment header, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// The format version.
    pub version: u32,
    /// The sequence number of the first record (also the file name).
    pub first_seq: u64,
    /// The size the file was allocated with.
    pub capacity: u64,
    /// When the segment was created (ms since the Unix epoch).
    pub created_ms: i64,
    /// The id of the store the segment belongs to.
    pub store_id: [u8; 16],
    /// 0 for a segment written by appends; incremented by each compaction that
    /// rewrites it (FORMAT.md §2.6). A rewritten segment's sequence numbers may
    /// have gaps (erased records).
    pub generation: u32,
}

impl SegmentHeader {
    /// The 64 header bytes.
    pub(crate) fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut b = [0u8; SEGMENT_HEADER_BYTES];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&(SEGMENT_HEADER_BYTES as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        b[24..32].copy_from_slice(&self.capacity.to_le_bytes());
        b[32..40].copy_from_slice(&self.created_ms.to_le_bytes());
        b[40..56].copy_from_slice(&self.store_id);
        b[56..60].copy_from_slice(&self.generation.to_le_bytes());
        let crc = crc32fast::hash(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header. Errors say what is wrong; the version is
    /// returned separately so callers can report `UnsupportedVersion`.
    pub(crate) fn decode(b: &[u8]) -> Result<SegmentHeader, HeaderError> {
        let Some(b) = b.get(..SEGMENT_HEADER_BYTES) else {
            return Err(HeaderError::Invalid("file shorter than a segment header"));
        };
        if b.iter().all(|&x| x == 0) {
            return Err(HeaderError::Zero);
        }
        if b[0..8] != SEGMENT_MAGIC {
            return Err(HeaderError::Invalid("bad segment magic"));
        }
        if crc32fast::hash(&b[..60]) != u32_at(b, 60) {
            return Err(HeaderError::Invalid("segment header CRC mismatch"));
        }
        let version = u32_at(b, 8);
        if version != SEGMENT_VERSION && version != SEGMENT_VERSION_V1 {
            return Err(HeaderError::Version(version));
        }
        let generation = u32_at(b, 56);
        if version == SEGMENT_VERSION_V1 && generation != 0 {
            return Err(HeaderError::Invalid(
                "reserved bytes of a version-1 header are not zero",
            ));
        }
        if u32_at(b, 12) as usize != SEGMENT_HEADER_BYTES {
            return Err(HeaderError::Invalid("unexpected segment header length"));
        }
        let mut store_id = [0u8; 16];
        store_id.copy_from_slice(&b[40..56]);
        Ok(SegmentHeader {
            version,
            first_seq: u64_at(b, 16),
            capacity: u64_at(b, 24),
            created_ms: u64_at(b, 32) as i64,
            store_id,
            generation,
        })
    }
}

/// Why a segment header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// All zeros: a file created but never initialised.
    Zero,
    /// An unknown version.
    Version(u32),
    /// Not a valid header.
    Invalid(&'static str),
}

/// The seal trailer, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Trailer {
    /// First sequence number of the segment.
    pub first_seq: u64,
    /// Last sequence number in the segment (`first_seq - 1` when empty).
    pub last_seq: u64,
    /// Number of records.
    pub record_count: u64,
    /// Offset where the records end and the trailer begins.
    pub data_end: u64,
    /// When the segment was sealed (ms since the Unix epoch).
    pub sealed_ms: i64,
}

impl Trailer {
    /// The 64 trailer bytes.
    pub(crate) fn encode(&self) -> [u8; TRAILER_BYTES] {
        let mut b = [0u8; TRAILER_BYTES];
        b[0..8].copy_from_slice(&SEAL_MAGIC);
        b[8..16].copy_from_slice(&self.first_seq.to_le_bytes());
        b[16..24].copy_from_slice(&self.last_seq.to_le_bytes());
        b[24..32].copy_from_slice(&self.record_count.to_le_bytes());
        b[32..40].copy_from_slice(&self.data_end.to_le_bytes());
        b[40..48].copy_from_slice(&self.sealed_ms.to_le_bytes());
        let crc = crc32fast::hash(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a trailer; `None` when the bytes are not a valid trailer.
    pub(crate) fn decode(b: &[u8]) -> Option<Trailer> {
        let b = b.get(..TRAILER_BYTES)?;
        if b[0..8] != SEAL_MAGIC || crc32fast::hash(&b[..60]) != u32_at(b, 60) {
            return None;
        }
        if b[48..60].iter().any(|&x| x != 0) {
            return None;
        }
        Some(Trailer {
            first_seq: u64_at(b, 8),
            last_seq: u64_at(b, 16),
            record_count: u64_at(b, 24),
            data_end: u64_at(b, 32),
            sealed_ms: u64_at(b, 40) as i64,
        })
    }
}

/// The file name of the segment whose first record is `first_seq`.
pub(crate) fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// The file name of the index of the segment whose first record is `first_seq`.
pub(crate) fn index_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.idx")
}

/// The first sequence number named by a segment file name (`None` for other files).
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod golden {
    use super::*;

    #[test]
    fn segment_header_and_trailer_bytes_are_pinned() {
        let header = SegmentHeader {
            version: SEGMENT_VERSION,
            first_seq: 1,
            capacity: 65536,
            created_ms: 2,
            store_id: [0xAB; 16],
            generation: 3,
        };
        let b = header.encode();
        assert_eq!(&b[..8], b"FLOGSEG\0");
        assert_eq!(&b[8..16], &[2, 0, 0, 0, 64, 0, 0, 0]);
        assert_eq!(&b[16..24], &1u64.to_le_bytes());
        assert_eq!(&b[24..32], &65536u64.to_le_bytes());
        assert_eq!(&b[32..40], &2i64.to_le_bytes());
        assert_eq!(&b[40..56], &[0xAB; 16]);
        assert_eq!(&b[56..60], &[3, 0, 0, 0]);
        assert_eq!(&b[60..64], &crc32fast::hash(&b[..60]).to_le_bytes());
        assert_eq!(SegmentHeader::decode(&b), Ok(header));
        let mut newer = b;
        newer[8] = 3;
        let crc = crc32fast::hash(&newer[..60]);
        newer[60..64].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(SegmentHeader::decode(&newer), Err(HeaderError::Version(3)));

        let trailer = Trailer {
            first_seq: 1,
            last_seq: 3,
            record_count: 3,
            data_end: 4096,
            sealed_ms: 5,
        };
        let t = trailer.encode();
        assert_eq!(&t[..8], b"FLOGSEAL");
        assert_eq!(&t[16..24], &3u64.to_le_bytes());
        assert_eq!(&t[32..40], &4096u64.to_le_bytes());
        assert_eq!(&t[60..64], &crc32fast::hash(&t[..60]).to_le_bytes());
        assert_eq!(Trailer::decode(&t), Some(trailer));
        assert_eq!(segment_file_name(42), "00000000000000000042.seg");
        assert_eq!(
            parse_segment_file_name("00000000000000000042.seg"),
            Some(42)
        );
        assert_eq!(parse_segment_file_name("42.seg"), None);
    }
}
