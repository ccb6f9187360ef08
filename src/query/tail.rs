//! Reading the whole log in order, for consumers that ship events onward, and
//! tailing it without busy polling.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::log::{Log, SegmentHandle};
use crate::record::{HEADER_BYTES, RecordHeader};
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
    view: Option<(SegmentView, usize)>,
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
                return Ok(None);
            };
            if self.view.is_none() {
                if handle.segment.record_count() == 0 || handle.segment.last_seq() < self.next_seq {
                    self.segment += 1;
                    continue;
                }
                self.view = Some((handle.segment.view()?, SEGMENT_HEADER_BYTES));
            }
            let path = handle.segment.path();
            let Some((view, pos)) = self.view.as_mut() else {
                continue;
            };
            let bytes = view.bytes();
            if *pos >= bytes.len() {
                self.view = None;
                self.segment += 1;
                continue;
            }
            let header = RecordHeader::read_from(&bytes[*pos..])
                .map_err(|_| Error::corrupt(path, *pos as u64, "bad record header"))?;
            let at = *pos;
            *pos += header.padded_len();
            if header.seq < self.next_seq {
                continue;
            }
            if header.seq != self.next_seq || *pos > bytes.len() || at + HEADER_BYTES > bytes.len()
            {
                return Err(Error::corrupt(path, at as u64, "records out of sequence"));
            }
            let record = view
                .record_at(at)
                .map_err(|p| Error::corrupt(path, at as u64, p.describe()))?;
            let event = Event::decode(&record, path, at as u64)?.to_owned_event();
            self.next_seq += 1;
            return Ok(Some(event));
        }
        Ok(None)
    }
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
