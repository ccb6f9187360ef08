//! Verification of every byte firstlog can check.

use std::path::PathBuf;

use super::Store;
use crate::catalog::CATALOG_FILE;
use crate::codec::decode_body;
use crate::error::Result;
use crate::index::{SegmentFacts, encode_index_file};
use crate::io::OpenMode;
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

impl Store {
    /// Checks every record of every segment (framing, sequence, CRC, body decode),
    /// every index file (byte-for-byte against a rebuild from its segment), and the
    /// catalog. Returns what it found; an `Err` only for I/O failures.
    pub fn verify(&self) -> Result<VerifyReport> {
        let log = &self.inner.log;
        let snapshot = log.snapshot();
        let mut report = VerifyReport::default();
        for handle in snapshot.segments.iter() {
            let segment = &handle.segment;
            let path = segment.path().to_path_buf();
            let problem = |offset: u64, reason: String| crate::store::Problem {
                file: path.clone(),
                offset,
                reason,
            };
            report.segments += 1;
            let view = segment.view()?;
            let mut rebuilt = crate::index::ActiveIndex::new();
            let mut body_problems = Vec::new();
            let found = scan(view.bytes(), segment.first_seq(), |offset, record| {
                rebuilt.add(&record.header, offset, record.header.padded_len());
                if let Err(e) = decode_body(record.body) {
                    body_problems.push(problem(
                        offset as u64,
                        format!("body does not decode: {}", e.0),
                    ));
                }
            });
            report.records += found.records;
            report.bytes += found.end as u64;
            report.problems.extend(body_problems);
            if let Stop::Damaged { offset, reason } = found.stop {
                report
                    .problems
                    .push(problem(offset as u64, reason.to_owned()));
            } else if found.end != view.bytes().len() {
                report.problems.push(problem(
                    found.end as u64,
                    "records end before the published end".to_owned(),
                ));
            }
            if !handle.index.read().is_sealed() {
                continue;
            }
            report.index_files += 1;
            let facts = SegmentFacts {
                first_seq: segment.first_seq(),
                last_seq: segment.last_seq(),
                record_count: segment.record_count(),
                data_end: segment.published_end() as u64,
            };
            let expected = encode_index_file(&rebuilt, facts, log.names());
            let index_path = log.dir().join(index_file_name(segment.first_seq()));
            let actual = log
                .fs()
                .open(&index_path, OpenMode::ReadOnly)
                .and_then(|f| f.read_all());
            match actual {
                Ok(actual) if actual == expected => {}
                Ok(actual) => {
                    let offset = actual
                        .iter()
                        .zip(&expected)
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    report.problems.push(crate::store::Problem {
                        file: index_path,
                        offset: offset as u64,
                        reason: "index file differs from a rebuild of its segment".to_owned(),
                    });
                }
                Err(e) => report.problems.push(crate::store::Problem {
                    file: index_path,
                    offset: 0,
                    reason: format!("index file unreadable: {e}"),
                }),
            }
        }
        let catalog_path = log.dir().join(CATALOG_FILE);
        if let Err(e) = crate::catalog::read_catalog(&**log.fs(), &catalog_path) {
            report.problems.push(crate::store::Problem {
                file: catalog_path,
                offset: 0,
                reason: e.to_string(),
            });
        }
        Ok(report)
    }
}
