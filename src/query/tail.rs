//! Reading the whole log in order, for consumers that ship events onward, and
//! tailing it without busy polling.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::log::{Log, SegmentHandle};
use crate::record::RecordHeader;
use crate::segment::SegmentView;
use crate::segment::format::SEGMENT_HEADER_BYTES;

/// Every source's events from a sequence number on, in log order. Built by
/// [`Store::read_from`](crate::Store::read_from). It reads what was published when
/// it was created; to follow new events, remember [`LogReader::next_seq`], wait with
/// [`Store::wait_for`](crate::Store::wait_for) and read again.
pub struct LogReader {
    segments: Arc<Vec<Arc<SegmentHandle>>>,
    visible: u64,
    next_seq: u64,
    segment: usize,
    view: Option<Position>,
}

impl LogReader {
    pub(crate) fn new(log: &Log, from_seq: u64) -> LogReader {
        let snapshot = log.snapshot();
        let from_seq = from_seq.max(1);
        let segment = snapshot
            .segments
            .partition_point(|h| h.segment.first_seq() <= from_seq)
            .saturating_sub(1);
        LogReader {
            segments: snapshot.segments,
            visible: snapshot.visible_seq,
            next_seq: from_seq,
            segment,
            view: None,
        }
    }

    /// The sequence number the next event will have (resume point).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn next_event(&mut self) -> Result<Option<Event>> {
        while self.next_seq <= self.visible {
            let Some(handle) = self.segments.get(self.segment) else {
                let file = self
                    .segments
                    .last()
                    .map(|h| h.segment.path().to_path_buf())
                    .unwrap_or_default();
                return Err(Error::corrupt(
                    file,
                    0,
                    format!("the log ends before sequence number {}", self.next_seq),
                ));
            };
            if self.view.is_none() {
                let segment = &handle.segment;
                if segment.record_count() == 0 || segment.last_seq() < self.next_seq {
                    self.segment += 1;
                    continue;
                }
                let (pos, seq) = handle
                    .locate(self.next_seq)
                    .unwrap_or((SEGMENT_HEADER_BYTES, segment.first_seq()));
                self.view = Some(Position {
                    view: segment.view()?,
                    pos,
                    expected: seq,
                });
            }
            let path = handle.segment.path();
            let Some(at) = self.view.as_mut() else {
                continue;
            };
            let bytes = at.view.bytes();
            if at.pos >= bytes.len() {
                if at.expected <= handle.segment.last_seq() {
                    return Err(Error::corrupt(
                        path,
                        at.pos as u64,
                        "records end before the segment's last sequence number",
                    ));
                }
                self.view = None;
                self.segment += 1;
                continue;
            }
            let offset = at.pos;
            let header = RecordHeader::read_from(&bytes[offset..])
                .map_err(|_| Error::corrupt(path, offset as u64, "bad record header"))?;
            if header.seq != at.expected {
                return Err(Error::corrupt(
                    path,
                    offset as u64,
                    "sequence number out of order",
                ));
            }
            at.pos += header.padded_len();
            at.expected += 1;
            if header.seq < self.next_seq {
                continue;
            }
            let record = at
                .view
                .record_at(offset)
                .map_err(|p| Error::corrupt(path, offset as u64, p.describe()))?;
            let event = crate::codec::decode_event(&record, path, offset as u64)?.to_owned_event();
            self.next_seq = header.seq + 1;
            return Ok(Some(event));
        }
        Ok(None)
    }
}

/// Where a reader is inside a segment.
struct Position {
    view: SegmentView,
    pos: usize,
    expected: u64,
}

impl Iterator for LogReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        match self.next_event() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => {
                self.visible = 0;
                Some(Err(e))
            }
        }
    }
}
