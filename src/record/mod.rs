//! Record framing: the fixed 72-byte header every stored event starts with, its
//! CRC, and the stable hashes stored in it. See FORMAT.md, "Record".
//!
//! The header holds everything recovery, indexing and filtering need (sequence
//! number, source, timestamps, name and profile hashes), so none of them decode the
//! body. The body codec lives in [`crate::codec`]. Version 1's 64-byte header,
//! read only to upgrade old stores, is in [`v1`].

// The `pub` items here are the record framing that `firstlog::testing` exposes
// to the test suite and the fuzz targets; without that feature they are crate-internal.
#![cfg_attr(not(feature = "testing"), allow(unreachable_pub))]

pub(crate) mod v1;

use xxhash_rust::xxh3::xxh3_64;

/// Bytes of the fixed record header (version 2; version 1's is in [`v1`]).
pub const HEADER_BYTES: usize = 72;
/// Records start at offsets that are multiples of this.
pub const ALIGN: usize = 8;
/// The record marker, bytes `F L R C`.
pub(crate) const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"FLRC");
/// The largest body any reader accepts from disk, whatever the options say.
pub const BODY_BYTES_MAX: usize = 16 << 20;

/// Flag: the last record of an atomically written batch (every single append sets it).
pub const FLAG_END_OF_BATCH: u16 = 1;
/// Flag: the event has a profile id.
pub const FLAG_HAS_PROFILE: u16 = 1 << 1;
/// Flag: the event has a message id.
pub const FLAG_HAS_MESSAGE_ID: u16 = 1 << 2;
/// Every flag this version knows; others are corruption.
pub(crate) const FLAGS_KNOWN: u16 = FLAG_END_OF_BATCH | FLAG_HAS_PROFILE | FLAG_HAS_MESSAGE_ID;

// Field offsets inside the header (FORMAT.md, "Record header").
const OFF_MAGIC: usize = 0;
const OFF_BODY_LEN: usize = 4;
const OFF_SEQ: usize = 8;
const OFF_SOURCE: usize = 16;
const OFF_FLAGS: usize = 20;
const OFF_RESERVED: usize = 22;
const OFF_TIMESTAMP: usize = 24;
const OFF_RECEIVED: usize = 32;
const OFF_NAME_HASH: usize = 40;
const OFF_PROFILE_HASH: usize = 48;
const OFF_ANONYMOUS_HASH: usize = 56;
const OFF_MESSAGE_HASH: usize = 64;
const OFF_CRC: usize = 68;

/// The fixed header of a record, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// Length of the body that follows the header, in bytes.
    pub body_len: u32,
    /// Global sequence number.
    pub seq: u64,
    /// The source the event belongs to.
    pub source: u32,
    /// `FLAG_*` bits.
    pub flags: u16,
    /// When the event happened, milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// When the store received it, milliseconds since the Unix epoch (UTC).
    pub received_ms: i64,
    /// [`name_hash`] of the event name.
    pub name_hash: u64,
    /// [`profile_hash`] of the profile id (0 without one).
    pub profile_hash: u64,
    /// [`profile_hash`] of the anonymous id kept in `context.anonymous_id` (0
    /// without one): erasing a person finds their events by either id.
    pub anonymous_hash: u64,
    /// [`message_hash`] of the message id (0 without one).
    pub message_hash: u32,
}

/// Why a header could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The header's bytes are all zero: the end of the written data.
    Zero,
    /// Fewer bytes than a header remain.
    Short,
    /// The bytes are not a record header.
    Invalid(&'static str),
}

impl RecordHeader {
    /// The total size of the record on disk: header, body and padding.
    pub fn padded_len(&self) -> usize {
        padded_len(self.body_len as usize)
    }

    /// True for the last record of a batch.
    pub fn ends_batch(&self) -> bool {
        self.flags & FLAG_END_OF_BATCH != 0
    }

    /// Writes the header into `out[..HEADER_BYTES]`, with a zero CRC.
    pub(crate) fn write_to(&self, out: &mut [u8]) {
        let out = &mut out[..HEADER_BYTES];
        out[OFF_MAGIC..OFF_MAGIC + 4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
        out[OFF_BODY_LEN..OFF_BODY_LEN + 4].copy_from_slice(&self.body_len.to_le_bytes());
        out[OFF_SEQ..OFF_SEQ + 8].copy_from_slice(&self.seq.to_le_bytes());
        out[OFF_SOURCE..OFF_SOURCE + 4].copy_from_slice(&self.source.to_le_bytes());
        out[OFF_FLAGS..OFF_FLAGS + 2].copy_from_slice(&self.flags.to_le_bytes());
        out[OFF_RESERVED..OFF_RESERVED + 2].copy_from_slice(&0u16.to_le_bytes());
        out[OFF_TIMESTAMP..OFF_TIMESTAMP + 8].copy_from_slice(&self.timestamp_ms.to_le_bytes());
        out[OFF_RECEIVED..OFF_RECEIVED + 8].copy_from_slice(&self.received_ms.to_le_bytes());
        out[OFF_NAME_HASH..OFF_NAME_HASH + 8].copy_from_slice(&self.name_hash.to_le_bytes());
        out[OFF_PROFILE_HASH..OFF_PROFILE_HASH + 8]
            .copy_from_slice(&self.profile_hash.to_le_bytes());
        out[OFF_ANONYMOUS_HASH..OFF_ANONYMOUS_HASH + 8]
            .copy_from_slice(&self.anonymous_hash.to_le_bytes());
        out[OFF_MESSAGE_HASH..OFF_MESSAGE_HASH + 4]
            .copy_from_slice(&self.message_hash.to_le_bytes());
        out[OFF_CRC..OFF_CRC + 4].copy_from_slice(&0u32.to_le_bytes());
    }

    /// The header bytes, with a zero CRC.
    #[cfg(any(test, feature = "testing"))]
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        self.write_to(&mut out);
        out
    }

    /// The header bytes of a record with this `body`, CRC included (`body_len`
    /// is taken from `self`, not from `body`).
    #[cfg(any(test, feature = "testing"))]
    pub fn encode_with_crc(&self, body: &[u8]) -> [u8; HEADER_BYTES] {
        let mut out = self.encode();
        let crc = record_crc(&out, body);
        put_crc(&mut out, crc);
        out
    }

    /// Reads a header from the start of `bytes`, checking its shape (magic, flags,
    /// reserved bits, body length bound) but not its CRC.
    pub fn read_from(bytes: &[u8]) -> Result<RecordHeader, HeaderProblem> {
        let Some(h) = bytes.get(..HEADER_BYTES) else {
            return Err(HeaderProblem::Short);
        };
        if h.iter().all(|&b| b == 0) {
            return Err(HeaderProblem::Zero);
        }
        if u32_at(h, OFF_MAGIC) != RECORD_MAGIC {
            return Err(HeaderProblem::Invalid("bad record magic"));
        }
        let header = RecordHeader {
            body_len: u32_at(h, OFF_BODY_LEN),
            seq: u64_at(h, OFF_SEQ),
            source: u32_at(h, OFF_SOURCE),
            flags: u16_at(h, OFF_FLAGS),
            timestamp_ms: u64_at(h, OFF_TIMESTAMP) as i64,
            received_ms: u64_at(h, OFF_RECEIVED) as i64,
            name_hash: u64_at(h, OFF_NAME_HASH),
            profile_hash: u64_at(h, OFF_PROFILE_HASH),
            anonymous_hash: u64_at(h, OFF_ANONYMOUS_HASH),
            message_hash: u32_at(h, OFF_MESSAGE_HASH),
        };
        if header.flags & !FLAGS_KNOWN != 0 || u16_at(h, OFF_RESERVED) != 0 {
            return Err(HeaderProblem::Invalid("unknown flag or reserved bits set"));
        }
        if header.body_len as usize > BODY_BYTES_MAX {
            return Err(HeaderProblem::Invalid("body length over the maximum"));
        }
        Ok(header)
    }
}

/// The stored CRC of the record starting at `bytes`.
pub(crate) fn stored_crc(bytes: &[u8]) -> u32 {
    u32_at(bytes, OFF_CRC)
}

/// The CRC32 of a record: over the body, then the header bytes before the CRC. Body
/// first lets writers checksum the body outside the writer lock and finish with the
/// header (which holds the sequence number) inside it.
pub(crate) fn record_crc(header: &[u8], body: &[u8]) -> u32 {
    finish_crc(body_crc(body), body.len(), header)
}

/// The CRC32 state after the body.
pub(crate) fn body_crc(body: &[u8]) -> u32 {
    crc32fast::hash(body)
}

/// Continues a body CRC over the header bytes before the CRC field.
pub(crate) fn finish_crc(body_crc: u32, body_len: usize, header: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial_len(body_crc, body_len as u64);
    hasher.update(&header[..OFF_CRC]);
    hasher.finalize()
}

/// Stores `crc` in the header at the start of `bytes`.
pub(crate) fn put_crc(bytes: &mut [u8], crc: u32) {
    bytes[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Stores `seq` in the header at the start of `bytes`.
pub(crate) fn put_seq(bytes: &mut [u8], seq: u64) {
    bytes[OFF_SEQ..OFF_SEQ + 8].copy_from_slice(&seq.to_le_bytes());
}

/// Stores `flags` in the header at the start of `bytes`.
pub(crate) fn put_flags(bytes: &mut [u8], flags: u16) {
    bytes[OFF_FLAGS..OFF_FLAGS + 2].copy_from_slice(&flags.to_le_bytes());
}

/// The size of a record with a body of `body_len` bytes, padded to [`ALIGN`].
pub fn padded_len(body_len: usize) -> usize {
    (HEADER_BYTES + body_len).next_multiple_of(ALIGN)
}

/// A complete, checked record inside a byte slice.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    /// The decoded header.
    pub header: RecordHeader,
    /// The body bytes.
    pub body: &'a [u8],
}

/// Why a record could not be read at an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordProblem {
    /// The header is all zeros (the end of the written data).
    Zero,
    /// The bytes end inside the record.
    Short,
    /// The header is malformed.
    Invalid(&'static str),
    /// The CRC does not match.
    Checksum,
}

impl RecordProblem {
    /// A short description for error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            RecordProblem::Zero => "zero bytes where a record header was expected",
            RecordProblem::Short => "record runs past the end of the data",
            RecordProblem::Invalid(why) => why,
            RecordProblem::Checksum => "record CRC mismatch",
        }
    }
}

impl From<HeaderProblem> for RecordProblem {
    fn from(p: HeaderProblem) -> Self {
        match p {
            HeaderProblem::Zero => RecordProblem::Zero,
            HeaderProblem::Short => RecordProblem::Short,
            HeaderProblem::Invalid(why) => RecordProblem::Invalid(why),
        }
    }
}

/// The record layout of a segment: version 2, or version 1 (read only to
/// upgrade a store written by version 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    V1,
    V2,
}

impl Framing {
    /// Reads and CRC-checks the record at the start of `bytes`.
    pub(crate) fn read_record(self, bytes: &[u8]) -> Result<RecordView<'_>, RecordProblem> {
        match self {
            Framing::V1 => v1::read_record(bytes),
            Framing::V2 => read_record(bytes),
        }
    }

    /// The size on disk of a record with a body of `body_len` bytes.
    pub(crate) fn padded_len(self, body_len: usize) -> usize {
        match self {
            Framing::V1 => v1::padded_len(body_len),
            Framing::V2 => padded_len(body_len),
        }
    }

    /// Bytes of the record header.
    pub(crate) fn header_bytes(self) -> usize {
        match self {
            Framing::V1 => v1::HEADER_BYTES_V1,
            Framing::V2 => HEADER_BYTES,
        }
    }
}

/// Reads and CRC-checks the record at the start of `bytes`.
pub fn read_record(bytes: &[u8]) -> Result<RecordView<'_>, RecordProblem> {
    let header = RecordHeader::read_from(bytes).map_err(RecordProblem::from)?;
    let end = HEADER_BYTES + header.body_len as usize;
    let Some(body) = bytes.get(HEADER_BYTES..end) else {
        return Err(RecordProblem::Short);
    };
    if record_crc(&bytes[..HEADER_BYTES], body) != stored_crc(bytes) {
        return Err(RecordProblem::Checksum);
    }
    Ok(RecordView { header, body })
}

/// The stable 64-bit hash of an event name stored in headers and index entries:
/// XXH3-64 (seed 0) of its UTF-8 bytes.
pub fn name_hash(name: &str) -> u64 {
    xxh3_64(name.as_bytes())
}

/// The stable 64-bit hash of a profile id: XXH3-64 (seed 0) of its UTF-8 bytes,
/// with 0 meaning "no profile" (a real id hashing to 0 is stored as 1).
pub fn profile_hash(profile: Option<&str>) -> u64 {
    match profile {
        None => 0,
        Some(p) => xxh3_64(p.as_bytes()).max(1),
    }
}

/// The stable 32-bit hash of a message id: the low 32 bits of XXH3-64, with 0
/// meaning "no message id" (a real id hashing to 0 is stored as 1).
pub fn message_hash(message_id: Option<&str>) -> u32 {
    match message_id {
        None => 0,
        Some(m) => (xxh3_64(m.as_bytes()) as u32).max(1),
    }
}

/// Reads a little-endian `u16` at `at`; the caller guarantees the bounds.
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[at..at + 2]);
    u16::from_le_bytes(a)
}

/// Reads a little-endian `u32` at `at`; the caller guarantees the bounds.
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Reads a little-endian `u64` at `at`; the caller guarantees the bounds.
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod golden {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn record_header_bytes_are_pinned() {
        let header = RecordHeader {
            body_len: 0x0102,
            seq: 7,
            source: 3,
            flags: FLAG_END_OF_BATCH | FLAG_HAS_PROFILE,
            timestamp_ms: 1_700_000_000_000,
            received_ms: -1,
            name_hash: 0x1122_3344_5566_7788,
            profile_hash: 9,
            anonymous_hash: 0x0A0B,
            message_hash: 0xAABB_CCDD,
        };
        let mut bytes = [0u8; HEADER_BYTES];
        header.write_to(&mut bytes);
        assert_eq!(
            hex(&bytes),
            concat!(
                "464c5243",
                "02010000",
                "0700000000000000",
                "03000000",
                "0300",
                "0000",
                "0068e5cf8b010000",
                "ffffffffffffffff",
                "8877665544332211",
                "0900000000000000",
                "0b0a000000000000",
                "ddccbbaa",
                "00000000"
            )
        );
        assert_eq!(RecordHeader::read_from(&bytes), Ok(header));
    }

    #[test]
    fn crc_covers_body_then_header() {
        let mut header = [0u8; HEADER_BYTES];
        RecordHeader {
            body_len: 3,
            seq: 1,
            ..Default::default()
        }
        .write_to(&mut header);
        let body = b"abc";
        let mut all = body.to_vec();
        all.extend_from_slice(&header[..68]);
        assert_eq!(record_crc(&header, body), crc32fast::hash(&all));
    }
}
