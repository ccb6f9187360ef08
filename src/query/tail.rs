//! Reading the whole log in order, for consumers that ship events onward, and
//! tailing it without busy polling.

use std::sync::Arc;

use crate::codec::decode_event;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::log::{Hidden, Log, SegmentHandle};
use crate::record::RecordHeader;
use crate::segment::SegmentView;
use crate::segment::format::SEGMENT_HEADER_BYTES;

/// Every source's events from a sequence number on, in log order. Built by
/// [`Store::read_from`](crate::Store::read_from). It reads what was published when
/// it was created; to follow new events, remember [`LogReader::next_seq`], wait with
/// [`Store::wait_for`](crate::Store::wait_for) and read again.
///
/// Sequence numbers of erased events are skipped: a reader sees gaps where an
/// erasure removed records, never an erased event. A reader asked to start below
/// the log start (records retention deleted) yields
/// [`Error::BelowLogStart`] first; start from 0 to read from wherever the log
/// starts.
pub struct LogReader {
    segments: Arc<Vec<Arc<SegmentHandle>>>,
    hidden: Arc<Hidden>,
    /// Set when the reader was asked for deleted records: its first item.
    below_start: Option<Error>,
    visible: u64,
    next_seq: u64,
    segment: usize,
    at: Option<Position>,
}

/// Where a reader is inside a segment.
struct Position {
    view: SegmentView,
    pos: usize,
    /// The previous record's sequence number (records only increase).
    previous: Option<u64>,
    /// The sequence number the index says the first record read has.
    first: u64,
}

impl LogReader {
    pub(crate) fn new(log: &Log, from_seq: u64) -> LogReader {
        let snapshot = log.snapshot();
        let below_start =
            (from_seq != 0 && from_seq < snapshot.log_start).then_some(Error::BelowLogStart {
                requested: from_seq,
                log_start: snapshot.log_start,
            });
        let from_seq = from_seq.max(snapshot.log_start).max(1);
        let segment = snapshot
            .segments
            .partition_point(|h| h.segment.first_seq() <= from_seq)
            .saturating_sub(1);
        LogReader {
            segments: snapshot.segments,
            hidden: snapshot.hidden,
            below_start,
            visible: snapshot.visible_seq,
            next_seq: from_seq,
            segment,
            at: None,
        }
    }

    /// The sequence number the next event will have at the earliest (resume
    /// point: one more than the last event returned).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn next_event(&mut self) -> Result<Option<Event>> {
        while self.next_seq <= self.visible {
            let Some(handle) = self.segments.get(self.segment).cloned() else {
                return Err(self.log_ends());
            };
            if self.at.is_none() && !self.enter(&handle)? {
                continue;
            }
            if let Some(event) = self.step(&handle)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    fn log_ends(&self) -> Error {
        let file = self
            .segments
            .last()
            .map(|h| h.segment.path().to_path_buf())
            .unwrap_or_default();
        Error::corrupt(
            file,
            0,
            format!("the log ends before sequence number {}", self.next_seq),
        )
    }

    /// Positions the reader in `handle` at its first record at or after
    /// `next_seq`; false (and on to the next segment) when it has none.
    fn enter(&mut self, handle: &SegmentHandle) -> Result<bool> {
        let segment = &handle.segment;
        if segment.last_seq() < self.next_seq {
            self.segment += 1;
            return Ok(false);
        }
        let Some((pos, first)) = handle.locate(self.next_seq) else {
            // No record at or after next_seq here (erased): skip the segment.
            self.next_seq = segment.last_seq() + 1;
            self.segment += 1;
            return Ok(false);
        };
        self.at = Some(Position {
            view: segment.view()?,
            pos: pos.max(SEGMENT_HEADER_BYTES),
            previous: None,
            first,
        });
        Ok(true)
    }

    /// Reads the next record of the current segment; `None` when it has no more
    /// (the reader moves on to the next segment).
    fn step(&mut self, handle: &SegmentHandle) -> Result<Option<Event>> {
        let segment = &handle.segment;
        let path = segment.path();
        let Some(at) = self.at.as_mut() else {
            return Ok(None);
        };
        let bytes = at.view.bytes();
        if at.pos >= bytes.len() {
            let complete =
                segment.generation() > 0 || at.previous.is_some_and(|p| p >= segment.last_seq());
            if !complete && at.previous.is_some() {
                return Err(Error::corrupt(
                    path,
                    at.pos as u64,
                    "records end before the segment's last sequence number",
                ));
            }
            self.next_seq = self.next_seq.max(segment.last_seq() + 1);
            self.at = None;
            self.segment += 1;
            return Ok(None);
        }
        let offset = at.pos;
        let header = RecordHeader::read_from(&bytes[offset..])
            .map_err(|_| Error::corrupt(path, offset as u64, "bad record header"))?;
        let in_order = match at.previous {
            None => header.seq == at.first,
            Some(p) if segment.generation() > 0 => header.seq > p,
            Some(p) => header.seq == p + 1,
        };
        if !in_order || header.seq > segment.last_seq() {
            return Err(Error::corrupt(
                path,
                offset as u64,
                "sequence number out of order",
            ));
        }
        at.pos += header.padded_len();
        at.previous = Some(header.seq);
        if header.seq < self.next_seq {
            return Ok(None);
        }
        let record = at
            .view
            .record_at(offset)
            .map_err(|p| Error::corrupt(path, offset as u64, p.describe()))?;
        self.next_seq = header.seq + 1;
        if self.hidden.hides(&record, path, offset as u64)? {
            return Ok(None);
        }
        let event = decode_event(&record, path, offset as u64)?.to_owned_event()?;
        Ok(Some(event))
    }
}

impl Iterator for LogReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        if let Some(e) = self.below_start.take() {
            self.visible = 0;
            return Some(Err(e));
        }
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
