//! The index file of a sealed segment (FORMAT.md, "Index files").

use super::{
    ActiveIndex, DedupEntry, ENTRY_BYTES, IndexEntry, NameDictionary, Postings, SourceSummary,
};
use crate::io::{Map, VFile};
use crate::record::{u32_at, u64_at};

/// Index files start with these 8 bytes.
pub(super) const INDEX_MAGIC: [u8; 8] = *b"FLOGIDX\0";
/// The index format version this build reads and writes.
pub(super) const INDEX_VERSION: u32 = 2;
/// The last 4 bytes of an index file.
pub(super) const INDEX_FOOTER_MAGIC: [u8; 4] = *b"FIDX";
const HEADER_BYTES: usize = 64;
const SOURCE_BYTES: usize = 80;
const DEDUP_BYTES: usize = 24;
const FOOTER_BYTES: usize = 8;

/// What an index file must agree with: its segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentFacts {
    /// First sequence number of the segment.
    pub first_seq: u64,
    /// Last sequence number of the segment.
    pub last_seq: u64,
    /// Number of records.
    pub record_count: u64,
    /// End of the records in the segment file.
    pub data_end: u64,
}

/// Encodes the index file of a segment from its in-memory index. `names` gives
/// the name behind each name hash (hashes without a known name are left out).
pub(crate) fn encode_index_file(
    index: &ActiveIndex,
    facts: SegmentFacts,
    names: &NameDictionary,
) -> Vec<u8> {
    let mut sources: Vec<(SourceSummary, &[IndexEntry])> = index
        .sources
        .values()
        .map(|(s, e)| (*s, e.as_slice()))
        .collect();
    sources.sort_by_key(|(s, _)| s.source);
    let mut names: Vec<(u64, std::sync::Arc<str>)> = index
        .names
        .iter()
        .filter_map(|&h| names.get(h).map(|n| (h, n)))
        .collect();
    names.sort_by_key(|(h, _)| *h);
    let mut name_bytes = Vec::new();
    for (hash, name) in &names {
        name_bytes.extend_from_slice(&hash.to_le_bytes());
        name_bytes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        name_bytes.extend_from_slice(name.as_bytes());
    }
    name_bytes.resize(name_bytes.len().next_multiple_of(8), 0);

    let entries: usize = sources.iter().map(|(_, e)| e.len()).sum();
    let total = HEADER_BYTES
        + SOURCE_BYTES * sources.len()
        + ENTRY_BYTES * entries
        + DEDUP_BYTES * index.dedup.len()
        + name_bytes.len()
        + FOOTER_BYTES;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&INDEX_MAGIC);
    out.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    out.extend_from_slice(&(sources.len() as u32).to_le_bytes());
    out.extend_from_slice(&facts.first_seq.to_le_bytes());
    out.extend_from_slice(&facts.last_seq.to_le_bytes());
    out.extend_from_slice(&facts.record_count.to_le_bytes());
    out.extend_from_slice(&facts.data_end.to_le_bytes());
    out.extend_from_slice(&(names.len() as u32).to_le_bytes());
    out.extend_from_slice(&(index.dedup.len() as u32).to_le_bytes());
    out.extend_from_slice(&(name_bytes.len() as u32).to_le_bytes());
    let crc = crc32fast::hash(&out[..60]);
    out.extend_from_slice(&crc.to_le_bytes());
    let mut first_entry = 0u64;
    for (s, e) in &sources {
        out.extend_from_slice(&s.source.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&s.count.to_le_bytes());
        out.extend_from_slice(&first_entry.to_le_bytes());
        out.extend_from_slice(&s.first_seq.to_le_bytes());
        out.extend_from_slice(&s.last_seq.to_le_bytes());
        out.extend_from_slice(&s.min_ts.to_le_bytes());
        out.extend_from_slice(&s.max_ts.to_le_bytes());
        out.extend_from_slice(&s.bytes.to_le_bytes());
        out.extend_from_slice(&s.min_received.to_le_bytes());
        out.extend_from_slice(&s.max_received.to_le_bytes());
        first_entry += e.len() as u64;
    }
    for (_, entries) in &sources {
        for e in entries.iter() {
            out.extend_from_slice(&e.seq.to_le_bytes());
            out.extend_from_slice(&e.timestamp_ms.to_le_bytes());
            out.extend_from_slice(&e.name_hash.to_le_bytes());
            out.extend_from_slice(&e.profile_hash.to_le_bytes());
            out.extend_from_slice(&e.anonymous_hash.to_le_bytes());
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&e.len.to_le_bytes());
        }
    }
    for d in &index.dedup {
        out.extend_from_slice(&d.source.to_le_bytes());
        out.extend_from_slice(&d.message_hash.to_le_bytes());
        out.extend_from_slice(&d.seq.to_le_bytes());
        out.extend_from_slice(&d.received_ms.to_le_bytes());
    }
    out.extend_from_slice(&name_bytes);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&INDEX_FOOTER_MAGIC);
    out
}

/// Why an index file cannot be used.
#[derive(Debug)]
pub(crate) enum IndexProblem {
    /// Reading it failed (an I/O error, not evidence of damage).
    Io(std::io::Error),
    /// Its bytes are not a valid index of this segment (it is rebuilt).
    Invalid(String),
}

impl From<String> for IndexProblem {
    fn from(reason: String) -> Self {
        IndexProblem::Invalid(reason)
    }
}

impl From<&str> for IndexProblem {
    fn from(reason: &str) -> Self {
        IndexProblem::Invalid(reason.to_owned())
    }
}

impl std::fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexProblem::Io(e) => write!(f, "unreadable: {e}"),
            IndexProblem::Invalid(why) => f.write_str(why),
        }
    }
}

/// How [`SealedIndex::open`] verifies the CRC that covers the whole file.
#[derive(Clone, Copy)]
pub(crate) enum BodyCheck<'a> {
    /// Read the file in chunks and check it: for index files found on disk. Not
    /// through the map, so opening leaves no index page resident in the process
    /// (RSS stays independent of the number of sealed events).
    ReadFile(&'a dyn VFile),
    /// The bytes were encoded, CRC included, by this process a moment ago and are
    /// still in the page cache: reading them back would check nothing the encoder
    /// did not (the structure is still checked).
    JustWritten,
}

/// The CRC32 of the first `len` bytes of `file`, read in chunks.
fn crc_of_prefix(file: &dyn VFile, len: usize) -> std::io::Result<u32> {
    const CHUNK: usize = 1 << 20;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; CHUNK.min(len)];
    let mut at = 0;
    while at < len {
        let n = CHUNK.min(len - at);
        file.read_exact_at(&mut buf[..n], at as u64)?;
        hasher.update(&buf[..n]);
        at += n;
    }
    Ok(hasher.finalize())
}

/// A sealed segment's index, read in place from its memory-mapped file.
pub(crate) struct SealedIndex {
    map: Map,
    sources: usize,
    entries: usize,
    dedup: usize,
    names: usize,
    names_bytes: usize,
}

/// A source's posting list inside a mapped index file.
#[derive(Clone, Copy)]
pub(crate) struct MappedPostings<'a> {
    bytes: &'a [u8],
}

impl Postings for MappedPostings<'_> {
    fn len(&self) -> usize {
        self.bytes.len() / ENTRY_BYTES
    }
    fn get(&self, i: usize) -> IndexEntry {
        let b = &self.bytes[i * ENTRY_BYTES..(i + 1) * ENTRY_BYTES];
        IndexEntry {
            seq: u64_at(b, 0),
            timestamp_ms: u64_at(b, 8) as i64,
            name_hash: u64_at(b, 16),
            profile_hash: u64_at(b, 24),
            anonymous_hash: u64_at(b, 32),
            offset: u32_at(b, 40),
            len: u32_at(b, 44),
        }
    }
}

impl SealedIndex {
    /// The size of the index file.
    pub(crate) fn file_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    /// Checks a mapped index file against its segment. `Err` says why it cannot be
    /// used: an I/O error, or invalid bytes (the caller rebuilds the file).
    ///
    /// `check` says how the whole-file CRC is verified (see [`BodyCheck`]); the
    /// header, lengths and structure are always checked.
    pub(crate) fn open(
        map: Map,
        facts: SegmentFacts,
        check: BodyCheck<'_>,
    ) -> Result<SealedIndex, IndexProblem> {
        let b = map.prefix(map.len());
        if b.len() < HEADER_BYTES + FOOTER_BYTES {
            return Err("index file too short".into());
        }
        if b[..8] != INDEX_MAGIC {
            return Err("bad index magic".into());
        }
        if crc32fast::hash(&b[..60]) != u32_at(b, 60) {
            return Err("index header CRC mismatch".into());
        }
        let version = u32_at(b, 8);
        if version != INDEX_VERSION {
            return Err(format!("index format version {version} is not {INDEX_VERSION}").into());
        }
        let found = SegmentFacts {
            first_seq: u64_at(b, 16),
            last_seq: u64_at(b, 24),
            record_count: u64_at(b, 32),
            data_end: u64_at(b, 40),
        };
        if found != facts {
            return Err("index does not match its segment".into());
        }
        let sources = u32_at(b, 12) as usize;
        let names = u32_at(b, 48) as usize;
        let dedup = u32_at(b, 52) as usize;
        let names_bytes = u32_at(b, 56) as usize;
        let entries = usize::try_from(facts.record_count).map_err(|_| "too many records")?;
        let expected = (|| {
            HEADER_BYTES
                .checked_add(SOURCE_BYTES.checked_mul(sources)?)?
                .checked_add(ENTRY_BYTES.checked_mul(entries)?)?
                .checked_add(DEDUP_BYTES.checked_mul(dedup)?)?
                .checked_add(names_bytes)?
                .checked_add(FOOTER_BYTES)
        })();
        if expected != Some(b.len()) {
            return Err("index file length does not match its header".into());
        }
        let body_end = b.len() - FOOTER_BYTES;
        let crc = match check {
            BodyCheck::ReadFile(file) => {
                Some(crc_of_prefix(file, body_end).map_err(IndexProblem::Io)?)
            }
            BodyCheck::JustWritten => None,
        };
        if b[body_end + 4..] != INDEX_FOOTER_MAGIC
            || crc.is_some_and(|crc| crc != u32_at(b, body_end))
        {
            return Err("index CRC mismatch".into());
        }
        let index = SealedIndex {
            map,
            sources,
            entries,
            dedup,
            names,
            names_bytes,
        };
        index.check_structure().map_err(IndexProblem::Invalid)?;
        Ok(index)
    }

    fn bytes(&self) -> &[u8] {
        self.map.prefix(self.map.len())
    }

    /// Structural checks that make every later access in bounds.
    fn check_structure(&self) -> Result<(), String> {
        let mut next = 0u64;
        let mut previous: Option<u32> = None;
        for i in 0..self.sources {
            let s = self.summary_at(i);
            let first = u64_at(self.dir(i), 16);
            if first != next || previous.is_some_and(|p| p >= s.source) {
                return Err("index source directory is inconsistent".into());
            }
            previous = Some(s.source);
            next = next.checked_add(s.count).ok_or("index count overflow")?;
        }
        if next != self.entries as u64 {
            return Err("index source counts do not add up".into());
        }
        let mut at = 0usize;
        let names = self.names_section();
        for _ in 0..self.names {
            let len = names.get(at + 8..at + 12).map(|b| u32_at(b, 0) as usize);
            match len {
                Some(len) if at + 12 + len <= names.len() => {
                    if std::str::from_utf8(&names[at + 12..at + 12 + len]).is_err() {
                        return Err("index name is not UTF-8".into());
                    }
                    at += 12 + len;
                }
                _ => return Err("index name table is malformed".into()),
            }
        }
        Ok(())
    }

    fn dir(&self, i: usize) -> &[u8] {
        let at = HEADER_BYTES + i * SOURCE_BYTES;
        &self.bytes()[at..at + SOURCE_BYTES]
    }

    fn summary_at(&self, i: usize) -> SourceSummary {
        let d = self.dir(i);
        SourceSummary {
            source: u32_at(d, 0),
            count: u64_at(d, 8),
            first_seq: u64_at(d, 24),
            last_seq: u64_at(d, 32),
            min_ts: u64_at(d, 40) as i64,
            max_ts: u64_at(d, 48) as i64,
            bytes: u64_at(d, 56),
            min_received: u64_at(d, 64) as i64,
            max_received: u64_at(d, 72) as i64,
        }
    }

    fn entries_start(&self) -> usize {
        HEADER_BYTES + self.sources * SOURCE_BYTES
    }

    fn dedup_start(&self) -> usize {
        self.entries_start() + self.entries * ENTRY_BYTES
    }

    fn names_section(&self) -> &[u8] {
        let start = self.dedup_start() + self.dedup * DEDUP_BYTES;
        &self.bytes()[start..start + self.names_bytes]
    }

    /// The summary and posting list of `source`.
    pub(crate) fn source(&self, source: u32) -> Option<(SourceSummary, MappedPostings<'_>)> {
        let (mut lo, mut hi) = (0, self.sources);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let id = u32_at(self.dir(mid), 0);
            if id < source {
                lo = mid + 1;
            } else if id > source {
                hi = mid;
            } else {
                let summary = self.summary_at(mid);
                let first = u64_at(self.dir(mid), 16) as usize;
                let start = self.entries_start() + first * ENTRY_BYTES;
                let end = start + summary.count as usize * ENTRY_BYTES;
                return Some((
                    summary,
                    MappedPostings {
                        bytes: &self.bytes()[start..end],
                    },
                ));
            }
        }
        None
    }

    /// Summaries of every source.
    pub(crate) fn summaries(&self) -> impl Iterator<Item = SourceSummary> + '_ {
        (0..self.sources).map(|i| self.summary_at(i))
    }

    /// Message ids recorded in the segment.
    pub(crate) fn dedup(&self) -> impl Iterator<Item = DedupEntry> + '_ {
        let start = self.dedup_start();
        (0..self.dedup).map(move |i| {
            let b = &self.bytes()[start + i * DEDUP_BYTES..start + (i + 1) * DEDUP_BYTES];
            DedupEntry {
                source: u32_at(b, 0),
                message_hash: u32_at(b, 4),
                seq: u64_at(b, 8),
                received_ms: u64_at(b, 16) as i64,
            }
        })
    }

    /// The event names used in the segment, with their hashes.
    pub(crate) fn names(&self) -> impl Iterator<Item = (u64, &str)> + '_ {
        let section = self.names_section();
        let mut at = 0usize;
        (0..self.names).filter_map(move |_| {
            let hash = u64_at(section, at);
            let len = u32_at(section, at + 8) as usize;
            let name = std::str::from_utf8(&section[at + 12..at + 12 + len]).ok();
            at += 12 + len;
            name.map(|n| (hash, n))
        })
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use crate::record::RecordHeader;

    #[test]
    fn index_file_layout_is_pinned() {
        let mut active = ActiveIndex::new();
        let header = |seq, source, ts| RecordHeader {
            seq,
            source,
            timestamp_ms: ts,
            name_hash: 77,
            profile_hash: 5,
            anonymous_hash: 6,
            message_hash: if seq == 2 { 9 } else { 0 },
            received_ms: 100 + seq as i64,
            ..Default::default()
        };
        active.add(&header(1, 2, 10), 64, 128);
        active.add(&header(2, 1, 30), 192, 128);
        active.add(&header(3, 2, 20), 320, 136);
        let facts = SegmentFacts {
            first_seq: 1,
            last_seq: 3,
            record_count: 3,
            data_end: 456,
        };
        let names = NameDictionary::default();
        names.note(77, "Page Viewed");
        let bytes = encode_index_file(&active, facts, &names);
        // header + 2 sources + 3 entries + 1 dedup + name table (8+4+11 -> 24) + footer
        assert_eq!(bytes.len(), 64 + 2 * 80 + 3 * 48 + 24 + 24 + 8);
        assert_eq!(&bytes[..8], b"FLOGIDX\0");
        assert_eq!(u32_at(&bytes, 8), 2);
        assert_eq!(u32_at(&bytes, 12), 2);
        assert_eq!(u64_at(&bytes, 40), 456);
        // Source 1 first (sorted), one entry starting at entry 0; source 2 from entry 1.
        assert_eq!(u32_at(&bytes, 64), 1);
        assert_eq!(u64_at(&bytes, 64 + 16), 0);
        let second = 64 + 80;
        assert_eq!(u32_at(&bytes, second), 2);
        assert_eq!(u64_at(&bytes, second + 8), 2);
        assert_eq!(u64_at(&bytes, second + 16), 1);
        assert_eq!(u64_at(&bytes, second + 40), 10);
        assert_eq!(u64_at(&bytes, second + 48), 20);
        assert_eq!(u64_at(&bytes, second + 64), 101); // received: min, max
        assert_eq!(u64_at(&bytes, second + 72), 103);
        let entries = 64 + 2 * 80;
        assert_eq!(u64_at(&bytes, entries), 2); // source 1's entry: seq 2
        assert_eq!(u64_at(&bytes, entries + 32), 6); // anonymous hash
        assert_eq!(u32_at(&bytes, entries + 40), 192);
        assert_eq!(u64_at(&bytes, entries + 48), 1); // then source 2: seq 1, 3
        assert_eq!(u64_at(&bytes, entries + 96), 3);
        let end = bytes.len() - 8;
        assert_eq!(u32_at(&bytes, end), crc32fast::hash(&bytes[..end]));
        assert_eq!(&bytes[end + 4..], b"FIDX");

        let index = SealedIndex::open(
            Map::of_bytes(bytes.clone().into_boxed_slice()),
            facts,
            BodyCheck::JustWritten,
        )
        .unwrap();
        let (summary, postings) = index.source(2).unwrap();
        assert_eq!((summary.count, summary.bytes), (2, 264));
        assert_eq!(postings.get(1).seq, 3);
        assert_eq!(index.names().collect::<Vec<_>>(), vec![(77, "Page Viewed")]);
        assert_eq!(
            index
                .dedup()
                .map(|d| (d.source, d.message_hash, d.seq))
                .collect::<Vec<_>>(),
            vec![(1, 9, 2)]
        );
        let stale = SegmentFacts {
            data_end: 457,
            ..facts
        };
        assert!(
            SealedIndex::open(
                Map::of_bytes(bytes.into_boxed_slice()),
                stale,
                BodyCheck::JustWritten
            )
            .is_err()
        );
    }
}
