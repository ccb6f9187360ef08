//! Walking the records of a segment: used by recovery, index rebuilds and verify.

use super::format::SEGMENT_HEADER_BYTES;
use crate::record::{ALIGN, RECORD_MAGIC, RecordProblem, RecordView, read_record, u32_at};

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
    pub end: usize,
    /// Sequence number of the last committed record (`first_seq - 1` if none).
    pub last_seq: u64,
    /// Number of committed records.
    pub records: u64,
    /// End of the last valid record, committed or not (`>= end`).
    pub valid_end: usize,
    /// Why the scan stopped.
    pub stop: Stop,
}

/// Walks the records of `data` (a whole segment, header included) from the first
/// record, calling `each(offset, record)` for every valid record in order. Records
/// after the last batch end are reported to `each` too; callers keep only the first
/// `Scan::records` of them.
pub(crate) fn scan<'a>(
    data: &'a [u8],
    first_seq: u64,
    mut each: impl FnMut(usize, &RecordView<'a>),
) -> Scan {
    let mut pos = SEGMENT_HEADER_BYTES;
    let mut expected = first_seq;
    let mut result = Scan {
        end: pos,
        last_seq: first_seq.wrapping_sub(1),
        records: 0,
        valid_end: pos,
        stop: Stop::Clean,
    };
    let mut seen = 0u64;
    loop {
        if pos >= data.len() {
            break;
        }
        let record = match read_record(&data[pos..]) {
            Ok(record) => record,
            Err(RecordProblem::Zero) => break,
            Err(RecordProblem::Short) if data[pos..].iter().all(|&b| b == 0) => break,
            Err(problem) => {
                result.stop = Stop::Damaged {
                    offset: pos,
                    reason: problem.describe(),
                };
                break;
            }
        };
        if record.header.seq != expected {
            result.stop = Stop::Damaged {
                offset: pos,
                reason: "sequence number out of order",
            };
            break;
        }
        let padded = record.header.padded_len();
        let body_end = pos + crate::record::HEADER_BYTES + record.header.body_len as usize;
        let padding = data.get(body_end..pos + padded);
        if !padding.is_some_and(|p| p.iter().all(|&b| b == 0)) {
            result.stop = Stop::Damaged {
                offset: pos,
                reason: "non-zero or missing record padding",
            };
            break;
        }
        each(pos, &record);
        pos += padded;
        seen += 1;
        expected += 1;
        result.valid_end = pos;
        if record.header.ends_batch() {
            result.end = pos;
            result.last_seq = record.header.seq;
            result.records = seen;
        }
    }
    result
}

/// The offset just past the last non-zero byte of `data[from..]`, if any.
pub(crate) fn nonzero_end(data: &[u8], from: usize) -> Option<usize> {
    let tail = data.get(from..)?;
    tail.iter().rposition(|&b| b != 0).map(|i| from + i + 1)
}

/// The first offset after `from` (aligned) holding a valid record with a sequence
/// number of at least `min_seq`: evidence that damage at `from` is not a torn tail.
pub(crate) fn find_valid_record(data: &[u8], from: usize, min_seq: u64) -> Option<usize> {
    let magic = RECORD_MAGIC;
    let mut pos = (from + ALIGN).next_multiple_of(ALIGN);
    while pos + crate::record::HEADER_BYTES <= data.len() {
        if u32_at(data, pos) == magic
            && let Ok(record) = read_record(&data[pos..])
            && record.header.seq >= min_seq
        {
            return Some(pos);
        }
        pos += ALIGN;
    }
    None
}
