//! Verification of every byte firstlog can check.

use std::path::{Path, PathBuf};

use super::Store;
use crate::catalog::CATALOG_FILE;
use crate::codec::check_body;
use crate::error::Result;
use crate::index::{ActiveIndex, SegmentFacts, encode_index_file};
use crate::io::OpenMode;
use crate::log::Log;
use crate::segment::Segment;
use crate::segment::index_file_name;
use crate::segment::scan::{Stop, scan};

/// One thing verification found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The damaged file.
    pub file: PathBuf,
    /// Byte offset of the damage (0 when the whole file is concerned).
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at byte {}: {}",
            self.file.display(),
            self.offset,
            self.reason
        )
    }
}

/// The result of [`Store::verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Segments checked.
    pub segments: usize,
    /// Records checked (CRC and body decode).
    pub records: u64,
    /// Bytes of records checked.
    pub bytes: u64,
    /// Index files checked against a rebuild from their segment.
    pub index_files: usize,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Problem {
    fn at(file: &Path, offset: u64, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

impl Store {
    /// Checks every record of every segment (framing, sequence, CRC, body decode),
    /// every index file (byte-for-byte against a rebuild from its segment), and the
    /// catalog. Returns what it found; an `Err` only for I/O failures.
    pub fn verify(&self) -> Result<VerifyReport> {
        let log = &self.inner.log;
        let mut report = VerifyReport::default();
        for handle in log.snapshot().segments.iter() {
            let rebuilt = verify_segment(&handle.segment, &mut report)?;
            if handle.index.read().is_sealed() {
                verify_index_file(log, &handle.segment, &rebuilt, &mut report);
            }
            if self.is_read_only() && !handle.segment.is_sealed() {
                let store_id = self.inner.catalog.state().data.store_id;
                verify_tail(log, &handle.segment, store_id, &mut report)?;
            }
        }
        let catalog_path = log.dir().join(CATALOG_FILE);
        if let Err(e) = crate::catalog::read_catalog(&**log.fs(), &catalog_path) {
            report
                .problems
                .push(Problem::at(&catalog_path, 0, e.to_string()));
        }
        Ok(report)
    }
}

/// Checks every record of a segment; returns the index rebuilt from them.
fn verify_segment(segment: &Segment, report: &mut VerifyReport) -> Result<ActiveIndex> {
    let path = segment.path();
    report.segments += 1;
    let view = segment.view()?;
    let mut rebuilt = ActiveIndex::new();
    let mut problems = Vec::new();
    let found = scan(view.bytes(), segment.layout(), |offset, record| {
        rebuilt.add(&record.header, offset, record.header.padded_len());
        if let Err(e) = check_body(record.body) {
            let reason = format!("body does not decode: {} (body byte {})", e.reason, e.at);
            problems.push(Problem::at(path, offset as u64, reason));
        }
    });
    report.records += found.records;
    report.bytes += found.end as u64;
    report.problems.extend(problems);
    if let Stop::Damaged { offset, reason } = found.stop {
        report
            .problems
            .push(Problem::at(path, offset as u64, reason));
    } else if found.end != view.bytes().len() {
        let reason = "records end before the published end";
        report
            .problems
            .push(Problem::at(path, found.end as u64, reason));
    }
    Ok(rebuilt)
}

/// A read-only open stops at the last complete batch of the active segment
/// without judging what follows (a live writer may be writing it): verify judges
/// it as a writable open would, twice (a batch in flight is never judged damaged
/// by two reads), and reports damage followed by valid records.
fn verify_tail(
    log: &Log,
    segment: &Segment,
    store_id: [u8; 16],
    report: &mut VerifyReport,
) -> Result<()> {
    let judge = || {
        Segment::judge_tail_read_only(&**log.fs(), segment.path(), segment.first_seq(), store_id)
    };
    if let (Some(first), Some(again)) = (judge()?, judge()?)
        && first == again
    {
        let reason = format!("{}; a writable open refuses the store", first.1);
        report
            .problems
            .push(Problem::at(segment.path(), first.0, reason));
    }
    Ok(())
}

/// Compares a sealed segment's index file with a rebuild from its records.
fn verify_index_file(
    log: &Log,
    segment: &Segment,
    rebuilt: &ActiveIndex,
    report: &mut VerifyReport,
) {
    report.index_files += 1;
    let facts = SegmentFacts {
        first_seq: segment.first_seq(),
        last_seq: segment.last_seq(),
        record_count: segment.record_count(),
        data_end: segment.published_end() as u64,
    };
    let expected = encode_index_file(rebuilt, facts, log.names());
    let path = log.dir().join(index_file_name(segment.first_seq()));
    let actual = log
        .fs()
        .open(&path, OpenMode::ReadOnly)
        .and_then(|f| f.read_all());
    let problem = match actual {
        Ok(actual) if actual == expected => return,
        Ok(actual) => {
            let offset = actual
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            Problem::at(
                &path,
                offset as u64,
                "index file differs from a rebuild of its segment",
            )
        }
        Err(e) => Problem::at(&path, 0, format!("index file unreadable: {e}")),
    };
    report.problems.push(problem);
}
