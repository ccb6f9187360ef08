//! Walking the records of a segment: used by recovery, index rebuilds, verify
//! and the upgrade of version-1 segments.

use super::format::SEGMENT_HEADER_BYTES;
use crate::record::{ALIGN, Framing, RECORD_MAGIC, RecordProblem, RecordView, u32_at};

/// Why a scan stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The data ended (end of slice, or zeros where the next header would be).
    Clean,
    /// The bytes at `offset` are not a valid record.
    Damaged {
        /// Offset of the first bad record.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What a scan found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scan {
    /// End of the last complete batch: everything before is committed data.
    pub(crate) end: usize,
    /// Sequence number of the last committed record (`first_seq - 1` if none).
    pub(crate) last_seq: u64,
    /// Number of committed records.
    pub(crate) records: u64,
    /// End of the last valid record, committed or not (`>= end`).
    pub(crate) valid_end: usize,
    /// Why the scan stopped.
    pub(crate) stop: Stop,
}

/// How the records of a segment follow each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The record format (version 1 or 2).
    pub(crate) framing: Framing,
    /// The sequence number of the segment's first record slot.
    pub(crate) first_seq: u64,
    /// False: each record's sequence number is the previous one's plus one (a
    /// segment as appended). True: they only increase (a segment rewritten by
    /// compaction, FORMAT.md §2.6, whose erased records leave gaps).
    pub(crate) gaps: bool,
}

impl Layout {
    /// Appended version-2 records from `first_seq` on, without gaps.
    pub(crate) fn appended(first_seq: u64) -> Layout {
        Layout {
            framing: Framing::V2,
            first_seq,
            gaps: false,
        }
    }
}

/// Walks the records of `data` (a whole segment, header included) from the first
/// record, calling `each(offset, record)` for every valid record in order. Records
/// after the last batch end are reported to `each` too; callers keep only the first
/// `Scan::records` of them.
pub(crate) fn scan<'a>(
    data: &'a [u8],
    layout: Layout,
    mut each: impl FnMut(usize, &RecordView<'a>),
) -> Scan {
    let mut pos = SEGMENT_HEADER_BYTES;
    let mut expected = layout.first_seq;
    let mut result = Scan {
        end: pos,
        last_seq: layout.first_seq.wrapping_sub(1),
        records: 0,
        valid_end: pos,
        stop: Stop::Clean,
    };
    let mut seen = 0u64;
    while pos < data.len() {
        let record = match layout.framing.read_record(&data[pos..]) {
            Ok(record) => record,
            Err(RecordProblem::Zero) => break,
            Err(RecordProblem::Short) if data[pos..].iter().all(|&b| b == 0) => break,
            Err(problem) => {
                result.stop = damaged(pos, problem.describe());
                break;
            }
        };
        let seq = record.header.seq;
        if seq < expected || (!layout.gaps && seq != expected) {
            result.stop = damaged(pos, "sequence number out of order");
            break;
        }
        let padded = layout.framing.padded_len(record.body.len());
        let body_end = pos + layout.framing.header_bytes() + record.body.len();
        let padding = data.get(body_end..pos + padded);
        if !padding.is_some_and(|p| p.iter().all(|&b| b == 0)) {
            result.stop = damaged(pos, "non-zero or missing record padding");
            break;
        }
        each(pos, &record);
        pos += padded;
        seen += 1;
        expected = seq + 1;
        result.valid_end = pos;
        if record.header.ends_batch() {
            result.end = pos;
            result.last_seq = seq;
            result.records = seen;
        }
    }
    result
}

fn damaged(offset: usize, reason: &'static str) -> Stop {
    Stop::Damaged { offset, reason }
}

/// The offset just past the last non-zero byte of `data[from..]`, if any.
pub(crate) fn nonzero_end(data: &[u8], from: usize) -> Option<usize> {
    let tail = data.get(from..)?;
    tail.iter().rposition(|&b| b != 0).map(|i| from + i + 1)
}

/// The first offset after `from` (aligned) holding a valid record with a sequence
/// number of at least `min_seq`: evidence that damage at `from` is not a torn tail.
pub(crate) fn find_valid_record(
    data: &[u8],
    from: usize,
    min_seq: u64,
    framing: Framing,
) -> Option<usize> {
    let magic = RECORD_MAGIC;
    let mut pos = (from + ALIGN).next_multiple_of(ALIGN);
    while pos + framing.header_bytes() <= data.len() {
        if u32_at(data, pos) == magic
            && let Ok(record) = framing.read_record(&data[pos..])
            && record.header.seq >= min_seq
        {
            return Some(pos);
        }
        pos += ALIGN;
    }
    None
}
