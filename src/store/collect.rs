//! Collection: the public collect calls, and the machinery of one call: prepare
//! every event (see [`prepare`](super::prepare)) into a reused batch, append it,
//! settle duplicate claims, and count.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::Store;
use super::prepare::{ClaimNote, CollectCall, Incoming, Prepared};
use super::receipt::Receipt;
use crate::error::{Error, Result};
use crate::event::NewEvent;
use crate::intake::{EventBatch, RawEvent, check_built};
use crate::log::Batch;

/// Encoded events above this size are appended as several atomic units.
const UNIT_BYTES_MAX: usize = 16 << 20;

/// Collection counters since the store was opened.
#[derive(Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub naming_warnings: AtomicU64,
    pub suppressed: AtomicU64,
    pub dropped: Mutex<HashMap<String, u64>>,
}

impl Counters {
    /// Counts the outcomes of a call.
    fn count_outcomes(&self, outcomes: &[Result<Receipt>]) {
        let mut accepted = 0u64;
        let mut duplicates = 0u64;
        let mut warnings = 0u64;
        let mut suppressed = 0u64;
        for receipt in outcomes.iter().flatten() {
            suppressed += u64::from(receipt.suppressed);
            accepted += u64::from(receipt.seq.is_some() && !receipt.duplicate);
            duplicates += u64::from(receipt.duplicate);
            warnings += u64::from(receipt.naming.is_some() && !receipt.duplicate);
        }
        self.accepted.fetch_add(accepted, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        self.naming_warnings.fetch_add(warnings, Ordering::Relaxed);
        self.suppressed.fetch_add(suppressed, Ordering::Relaxed);
    }

    /// Counts an event dropped by `rule`.
    pub(super) fn count_drop(&self, rule: &str) {
        *self.dropped.lock().entry(rule.to_owned()).or_default() += 1;
    }
}

thread_local! {
    static BATCH: RefCell<Batch> = RefCell::new(Batch::new());
    /// Where JSON payloads' objects are encoded while their call is prepared.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's (cleared) scratch buffer, or a fresh one when a
/// rule collects from inside a collect call.
pub(super) fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.clear();
            let out = f(&mut scratch);
            if scratch.capacity() > UNIT_BYTES_MAX {
                *scratch = Vec::new();
            }
            out
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// The outcomes of one collect call, and the events (with their positions) to
/// collect again because another call held their message id.
type Round<'e> = (Vec<Result<Receipt>>, Vec<(usize, Incoming<'e>)>);

impl Store {
    /// Collects one typed event.
    pub fn collect(&self, event: NewEvent) -> Result<Receipt> {
        let once = std::iter::once(Incoming::Typed(Cow::Owned(event)));
        let mut out = self.collect_events(once, 1, &[])?;
        out.pop().unwrap_or(Err(Error::Closed))
    }

    /// Collects a batch of typed events: one outcome per event, in order. Valid
    /// events are stored with contiguous sequence numbers in one write (batches
    /// over 16 MiB encoded are written as several atomic units); invalid ones get
    /// their error. The call itself fails only when the write fails; when a batch
    /// over 16 MiB fails in a later unit, earlier units are stored (and readable)
    /// although the call returns the error.
    pub fn collect_batch(&self, events: Vec<NewEvent>) -> Result<Vec<Result<Receipt>>> {
        let n = events.len();
        self.collect_events(
            events.into_iter().map(|e| Incoming::Typed(Cow::Owned(e))),
            n,
            &[],
        )
    }

    /// As [`collect_batch`](Self::collect_batch), borrowing the events (they are
    /// cloned only for sources that have rules).
    pub fn collect_batch_from(&self, events: &[NewEvent]) -> Result<Vec<Result<Receipt>>> {
        self.collect_events(
            events.iter().map(|e| Incoming::Typed(Cow::Borrowed(e))),
            events.len(),
            &[],
        )
    }

    /// Collects the events of a batch built in place (see [`EventBatch`]): one
    /// outcome per event, in order, as [`collect_batch`](Self::collect_batch).
    /// The batch is emptied (its buffers kept for the next one).
    pub fn collect_event_batch(&self, batch: &mut EventBatch<'_>) -> Result<Vec<Result<Receipt>>> {
        let limits = self.inner.options.limits;
        let mut built: Vec<Result<Option<RawEvent<'_>>>> = batch
            .events
            .drain(..)
            .zip(&batch.depths)
            .map(|(event, &depth)| {
                let event = event?;
                check_built(&event, depth, &limits)?;
                Ok(Some(event))
            })
            .collect();
        let outcome = self.collect_parsed(&mut built, &batch.scratch);
        batch.clear();
        outcome
    }

    /// Collects the events that parsed (or were built) without error, in one
    /// call, and puts the outcomes of all of them in order: an error where one
    /// failed to parse, the receipt (or collection error) of the others.
    pub(super) fn collect_parsed<'e>(
        &self,
        parsed: &mut [Result<Option<RawEvent<'e>>>],
        scratch: &[u8],
    ) -> Result<Vec<Result<Receipt>>> {
        let valid = parsed.iter().filter(|p| p.is_ok()).count();
        let events = parsed
            .iter_mut()
            .filter_map(|p| p.as_mut().ok().and_then(Option::take).map(Incoming::Json));
        let mut stored = self.collect_events(events, valid, scratch)?.into_iter();
        let mut out = Vec::with_capacity(parsed.len());
        for p in parsed.iter_mut() {
            out.push(match std::mem::replace(p, Ok(None)) {
                Err(e) => Err(e),
                Ok(_) => stored.next().unwrap_or(Err(Error::Closed)),
            });
        }
        Ok(out)
    }

    pub(super) fn collect_events<'e>(
        &self,
        events: impl Iterator<Item = Incoming<'e>>,
        n: usize,
        scratch: &[u8],
    ) -> Result<Vec<Result<Receipt>>> {
        let (mut outcomes, mut deferred) = self.collect_round(events, n, scratch)?;
        // Events deferred because another call was collecting the same message id
        // are collected again, as new calls, until none is left: each round holds
        // no claim when it starts, so its first event may wait and progress is sure.
        while !deferred.is_empty() {
            let (positions, events): (Vec<usize>, Vec<Incoming<'e>>) = deferred.into_iter().unzip();
            let n = events.len();
            let (again, later) = self.collect_round(events.into_iter(), n, scratch)?;
            deferred = later
                .into_iter()
                .map(|(i, event)| (positions[i], event))
                .collect();
            for (position, outcome) in positions.into_iter().zip(again) {
                outcomes[position] = outcome;
            }
        }
        Ok(outcomes)
    }

    /// One collect call: outcomes, and the events to collect again.
    fn collect_round<'e>(
        &self,
        events: impl Iterator<Item = Incoming<'e>>,
        n: usize,
        scratch: &[u8],
    ) -> Result<Round<'e>> {
        BATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut batch) => {
                let out = self.collect_into(events, n, scratch, &mut batch);
                batch.clear();
                if batch.buf.capacity() > UNIT_BYTES_MAX * 2 {
                    *batch = Batch::new();
                }
                out
            }
            // A rule that collects from inside a collect call: use a fresh buffer.
            Err(_) => self.collect_into(events, n, scratch, &mut Batch::new()),
        })
    }

    fn collect_into<'e>(
        &self,
        events: impl Iterator<Item = Incoming<'e>>,
        n: usize,
        scratch: &[u8],
        batch: &mut Batch,
    ) -> Result<Round<'e>> {
        let inner = &*self.inner;
        if inner.options.read_only {
            return Err(Error::ReadOnly);
        }
        let mut call = CollectCall {
            inner,
            scratch,
            catalog: inner.catalog.state(),
            pipeline: inner.pipeline.read().clone(),
            received: inner.now_ms(),
            owner: inner.owner(),
            claims: Vec::new(),
        };
        let mut outcomes: Vec<Result<Receipt>> = Vec::with_capacity(n);
        let mut deferred: Vec<(usize, Incoming<'e>)> = Vec::new();
        let result = self.frame_and_append(&mut call, events, batch, &mut outcomes, &mut deferred);
        self.resolve_claims(&call, &result, &outcomes);
        result?;
        self.settle_same_batch_duplicates(&mut outcomes, &call.claims);
        inner.counters.count_outcomes(&outcomes);
        Ok((outcomes, deferred))
    }

    /// Prepares every event into `batch`, appending a unit whenever the batch
    /// reaches `UNIT_BYTES_MAX` and at the end. One outcome per event.
    fn frame_and_append<'e>(
        &self,
        call: &mut CollectCall<'_>,
        events: impl Iterator<Item = Incoming<'e>>,
        batch: &mut Batch,
        outcomes: &mut Vec<Result<Receipt>>,
        deferred: &mut Vec<(usize, Incoming<'e>)>,
    ) -> Result<()> {
        // Outcome positions of the events framed into `batch`, in batch order.
        let mut framed: Vec<usize> = Vec::with_capacity(outcomes.capacity());
        let mut first_unwritten = 0;
        batch.clear();
        for event in events {
            let index = outcomes.len();
            let outcome = match call.prepare(event, index, batch) {
                Ok(Prepared::Framed { source, naming }) => {
                    framed.push(index);
                    Ok(Receipt {
                        seq: None,
                        source,
                        duplicate: false,
                        dropped_by: None,
                        suppressed: false,
                        naming,
                    })
                }
                Ok(Prepared::Done(receipt)) => Ok(receipt),
                Ok(Prepared::Deferred(event)) => {
                    deferred.push((index, event));
                    // A placeholder: replaced when the event is collected again.
                    Err(Error::Closed)
                }
                Err(e) => Err(e),
            };
            outcomes.push(outcome);
            if batch.bytes() >= UNIT_BYTES_MAX {
                self.append_unit(batch, &framed[first_unwritten..], outcomes)?;
                first_unwritten = framed.len();
            }
        }
        self.append_unit(batch, &framed[first_unwritten..], outcomes)
    }

    /// Settles the call's dedup claims whatever happened, so no waiter hangs.
    fn resolve_claims(
        &self,
        call: &CollectCall<'_>,
        result: &Result<()>,
        outcomes: &[Result<Receipt>],
    ) {
        for claim in call.claims.iter().filter(|c| c.first) {
            let stored = match (result, outcomes.get(claim.index)) {
                (Ok(()), Some(Ok(r))) => r.seq.map(|s| (s, call.received)),
                _ => None,
            };
            self.inner.dedup.resolve(
                claim.source,
                claim.hash,
                &claim.message_id,
                call.owner,
                stored,
            );
        }
    }

    /// Appends the framed events and fills in their sequence numbers.
    fn append_unit(
        &self,
        batch: &mut Batch,
        framed: &[usize],
        outcomes: &mut [Result<Receipt>],
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let appended = self.inner.log.append(batch)?;
        for (k, &index) in framed.iter().enumerate() {
            if let Some(Ok(receipt)) = outcomes.get_mut(index) {
                receipt.seq = Some(appended.first_seq + k as u64);
            }
        }
        batch.clear();
        Ok(())
    }

    /// A second copy of a message id inside one call gets the first copy's seq.
    fn settle_same_batch_duplicates(&self, outcomes: &mut [Result<Receipt>], claims: &[ClaimNote]) {
        for later in claims.iter().filter(|c| !c.first) {
            let first = claims
                .iter()
                .find(|c| c.first && c.source == later.source && c.message_id == later.message_id);
            let seq = first
                .and_then(|c| outcomes.get(c.index))
                .and_then(|o| o.as_ref().ok())
                .and_then(|r| r.seq);
            if let Some(Ok(receipt)) = outcomes.get_mut(later.index) {
                receipt.seq = seq;
            }
        }
    }
}
