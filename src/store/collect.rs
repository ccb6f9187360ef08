//! Collection: write key -> source, validation, naming check, duplicates, rules,
//! then freeze (encode once into a reused buffer) and append.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use super::{Inner, Store};
use crate::catalog::{CatalogState, SourceId};
use crate::dedup::Claim;
use crate::error::{Error, Result};
use crate::event::json::{RawEvent, parse_event, split_batch};
use crate::event::{Draft, NamingPolicy, NamingWarning, NewEvent, check_event_name};
use crate::log::Batch;
use crate::record::codec::{BodyOut, encode_into};
use crate::record::{
    FLAG_HAS_MESSAGE_ID, FLAG_HAS_PROFILE, RecordHeader, message_hash, name_hash, profile_hash,
};
use crate::rules::{Outcome, Pipeline};
use crate::time::now_ms;

/// Encoded events above this size are appended as several atomic units.
const UNIT_BYTES_MAX: usize = 16 << 20;
/// The most distinct event names whose naming verdict is cached.
const NAMING_CACHE_MAX: usize = 100_000;

/// What collecting one event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The event's sequence number; `None` when a rule dropped it.
    pub seq: Option<u64>,
    /// The source it was collected for.
    pub source: SourceId,
    /// True when this was a retry of an event already stored (same source and
    /// `message_id` within the dedup window): `seq` is the original's.
    pub duplicate: bool,
    /// The rule that dropped the event, if one did.
    pub dropped_by: Option<String>,
    /// Naming-guideline violations of the stored name (policy `Warn`); `None` for
    /// a duplicate (its original's receipt carried them).
    pub naming: Option<Arc<NamingWarning>>,
}

/// Collection counters since the store was opened.
#[derive(Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub naming_warnings: AtomicU64,
    pub dropped: Mutex<HashMap<String, u64>>,
}

/// Naming verdicts by name hash; a name in here is also known to the log.
#[derive(Default)]
pub(crate) struct NamingCache {
    map: RwLock<rustc_hash::FxHashMap<u64, Option<Arc<NamingWarning>>>>,
}

thread_local! {
    static BATCH: RefCell<Batch> = RefCell::new(Batch::new());
}

/// A message id met in this call: the first copy claims it in the dedup window,
/// later copies in the same call become duplicates of the first.
struct ClaimNote {
    index: usize,
    source: u32,
    hash: u32,
    message_id: String,
    first: bool,
}

enum Prepared<'e> {
    /// Collect it again after this call's other events are settled.
    Deferred(Incoming<'e>),
    /// Framed into the batch.
    Framed {
        source: SourceId,
        naming: Option<Arc<NamingWarning>>,
    },
    /// Not to be stored; the receipt is final.
    Done(Receipt),
}

impl Inner {
    fn naming_verdict(&self, hash: u64, name: &str) -> Option<Arc<NamingWarning>> {
        if let Some(v) = self.naming_cache.map.read().get(&hash) {
            return v.clone();
        }
        let verdict = check_event_name(name).map(Arc::new);
        self.log.note_name(hash, name);
        let mut map = self.naming_cache.map.write();
        if map.len() < NAMING_CACHE_MAX {
            map.insert(hash, verdict.clone());
        }
        verdict
    }

    /// Validates, dedups, runs rules and frames one event.
    #[allow(clippy::too_many_arguments)]
    fn prepare<'e>(
        &self,
        event: Incoming<'e>,
        index: usize,
        catalog: &CatalogState,
        pipeline: &Pipeline,
        received: i64,
        owner: u64,
        batch: &mut Batch,
        claims: &mut Vec<ClaimNote>,
    ) -> Result<Prepared<'e>> {
        let limits = &self.options.limits;
        event.validate(limits)?;
        let source = catalog
            .by_key(event.write_key())
            .ok_or(Error::UnknownWriteKey)?;
        if !source.is_enabled() {
            return Err(Error::SourceDisabled { id: source.id().0 });
        }
        let source_id = source.id();
        let policy = catalog.naming_for(source);
        let naming_of = |hash: u64, name: &str| -> Result<Option<Arc<NamingWarning>>> {
            let warning = self.naming_verdict(hash, name);
            match (policy, warning) {
                (NamingPolicy::Off, _) | (_, None) => Ok(None),
                (NamingPolicy::Warn, w) => Ok(w),
                (NamingPolicy::Enforce, Some(w)) => Err(Error::NamingViolation {
                    name: name.to_owned(),
                    violations: w.describe(),
                }),
            }
        };
        let receipt = |seq, duplicate, dropped_by, naming| Receipt {
            seq,
            source: source_id,
            duplicate,
            dropped_by,
            naming,
        };

        let msg_hash = message_hash(event.message_id());
        let holds_claims = claims.iter().any(|c| c.first);
        let claim = event.message_id().map(|message_id| {
            let same =
                |seq: u64| crate::query::message_id_is(&self.log, seq, source_id, message_id);
            self.dedup.claim(
                source_id.0,
                msg_hash,
                message_id,
                owner,
                holds_claims,
                received,
                &same,
            )
        });
        let note = |first| ClaimNote {
            index,
            source: source_id.0,
            hash: msg_hash,
            message_id: event.message_id().unwrap_or_default().to_owned(),
            first,
        };
        match claim {
            None => {}
            Some(Claim::New) => claims.push(note(true)),
            Some(Claim::Stored(seq)) => {
                // The original was already judged (after its rules): a retry
                // neither re-checks the raw name nor repeats the warning.
                return Ok(Prepared::Done(receipt(Some(seq), true, None, None)));
            }
            Some(Claim::SameBatch) => {
                // Settled after the append: the receipt of the first copy.
                claims.push(note(false));
                return Ok(Prepared::Done(receipt(None, true, None, None)));
            }
            // Another call is collecting this id and this call may not wait (it
            // holds claims): collect the event again once this call's own events
            // are settled.
            Some(Claim::InFlight) if holds_claims => return Ok(Prepared::Deferred(event)),
            Some(Claim::InFlight) => {
                return Err(Error::InFlight {
                    message_id: event.message_id().unwrap_or_default().to_owned(),
                });
            }
        }

        let frame = Frame {
            source: source_id.0,
            received_ms: received,
            message_hash: msg_hash,
            max_body: limits.event_bytes_max,
        };
        if pipeline.applies_to(source_id) {
            let mut draft = Draft::new(event.into_new_event(), source_id, received);
            match pipeline.run(&mut draft) {
                Outcome::Keep => {}
                Outcome::Dropped { rule } => {
                    *self
                        .counters
                        .dropped
                        .lock()
                        .entry(rule.clone())
                        .or_default() += 1;
                    return Ok(Prepared::Done(receipt(None, false, Some(rule), None)));
                }
                Outcome::Rejected { rule, reason } => return Err(Error::Rejected { rule, reason }),
                Outcome::Panicked { rule, message } => {
                    return Err(Error::RulePanicked { rule, message });
                }
            }
            draft.validate(limits)?;
            let hash = name_hash(&draft.name);
            let naming = naming_of(hash, &draft.name)?;
            frame.push(batch, &draft.body(), draft.timestamp_ms, hash)?;
            return Ok(Prepared::Framed {
                source: source_id,
                naming,
            });
        }
        // No rule applies: encode straight from what was given, without copying.
        // The name's hash serves the naming verdict and the record header alike.
        let hash = name_hash(event.name());
        let naming = naming_of(hash, event.name())?;
        match &event {
            Incoming::Typed(e) => {
                frame.push(batch, &e.body(), e.timestamp_ms.unwrap_or(received), hash)?
            }
            Incoming::Json(e) => {
                frame.push(batch, &e.body(), e.timestamp_ms.unwrap_or(received), hash)?
            }
        }
        Ok(Prepared::Framed {
            source: source_id,
            naming,
        })
    }
}

/// An event on its way in: typed (owned, or borrowed from the caller) or parsed
/// from a JSON payload (borrowing from the request).
pub(crate) enum Incoming<'e> {
    Typed(Cow<'e, NewEvent>),
    Json(RawEvent<'e>),
}

impl Incoming<'_> {
    /// Checks limits (JSON payloads were checked when parsed).
    fn validate(&self, limits: &crate::event::Limits) -> Result<()> {
        match self {
            Incoming::Typed(e) => e.validate(limits),
            Incoming::Json(_) => Ok(()),
        }
    }

    fn name(&self) -> &str {
        match self {
            Incoming::Typed(e) => &e.name,
            Incoming::Json(e) => &e.name,
        }
    }

    fn write_key(&self) -> &str {
        match self {
            Incoming::Typed(e) => &e.write_key,
            Incoming::Json(e) => &e.write_key,
        }
    }

    fn message_id(&self) -> Option<&str> {
        match self {
            Incoming::Typed(e) => e.message_id.as_deref(),
            Incoming::Json(e) => e.message_id.as_deref(),
        }
    }

    fn into_new_event(self) -> NewEvent {
        match self {
            Incoming::Typed(e) => e.into_owned(),
            Incoming::Json(e) => e.into_new_event(),
        }
    }
}

/// The outcomes of one collect call, and the events (with their positions) to
/// collect again because another call held their message id.
type Round<'e> = (Vec<Result<Receipt>>, Vec<(usize, Incoming<'e>)>);

/// What framing a record needs besides its body.
struct Frame {
    source: u32,
    received_ms: i64,
    message_hash: u32,
    max_body: usize,
}

impl Frame {
    /// Frames one record: header fields from the body (`name_hash` is its name's,
    /// computed once by the caller), the body encoded once.
    fn push<S: serde::Serialize + AsRef<str>>(
        &self,
        batch: &mut Batch,
        body: &BodyOut<'_, S>,
        ts: i64,
        name_hash: u64,
    ) -> Result<()> {
        let mut flags = 0;
        if body.profile_id.is_some() {
            flags |= FLAG_HAS_PROFILE;
        }
        if body.message_id.is_some() {
            flags |= FLAG_HAS_MESSAGE_ID;
        }
        let header = RecordHeader {
            body_len: 0,
            seq: 0,
            source: self.source,
            flags,
            timestamp_ms: ts,
            received_ms: self.received_ms,
            name_hash,
            profile_hash: profile_hash(body.profile_id),
            message_hash: self.message_hash,
        };
        batch.push(header, self.max_body, |buf| {
            encode_into(body, buf)
                .map(|_| ())
                .map_err(|e| Error::invalid("event", format!("cannot encode: {}", e.0)))
        })
    }
}

impl Store {
    /// Collects one typed event.
    pub fn collect(&self, event: NewEvent) -> Result<Receipt> {
        let mut out =
            self.collect_events(std::iter::once(Incoming::Typed(Cow::Owned(event))), 1)?;
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
        )
    }

    /// As [`collect_batch`](Self::collect_batch), borrowing the events (they are
    /// cloned only for sources that have rules).
    pub fn collect_batch_from(&self, events: &[NewEvent]) -> Result<Vec<Result<Receipt>>> {
        self.collect_events(
            events.iter().map(|e| Incoming::Typed(Cow::Borrowed(e))),
            events.len(),
        )
    }

    /// Collects one event from its JSON payload (the Firstparty shape).
    /// A refused payload is kept in the quarantine (see [`Store::rejected`]).
    pub fn collect_json(&self, payload: &[u8]) -> Result<Receipt> {
        let inner = &self.inner;
        if inner.options.read_only {
            return Err(Error::ReadOnly);
        }
        let result = parse_event(payload, &inner.options.limits, None).and_then(|event| {
            let mut out = self.collect_events(std::iter::once(Incoming::Json(event)), 1)?;
            out.pop().unwrap_or(Err(Error::Closed))
        });
        if let Err(e) = &result {
            self.quarantine(payload, e);
        }
        result
    }

    /// Collects a batch request: a JSON array of payloads, or
    /// `{"batch": [...], "write_key": "..."}` (the key applies to items without
    /// one). One outcome per item, with its index; refused items are quarantined.
    pub fn collect_batch_json(&self, request: &[u8]) -> Result<Vec<Result<Receipt>>> {
        if self.inner.options.read_only {
            return Err(Error::ReadOnly);
        }
        let limits = &self.inner.options.limits;
        let batch = match split_batch(request, limits) {
            Ok(batch) => batch,
            Err(e) => {
                self.quarantine(request, &e);
                return Err(e);
            }
        };
        let mut parsed: Vec<Result<Option<RawEvent<'_>>>> = batch
            .items
            .iter()
            .map(|raw| {
                parse_event(raw.get().as_bytes(), limits, batch.write_key.as_deref()).map(Some)
            })
            .collect();
        let valid = parsed.iter().filter(|p| p.is_ok()).count();
        let events = parsed
            .iter_mut()
            .filter_map(|p| p.as_mut().ok().and_then(Option::take).map(Incoming::Json));
        let mut stored = self.collect_events(events, valid)?.into_iter();
        let mut out = Vec::with_capacity(parsed.len());
        for (i, p) in parsed.into_iter().enumerate() {
            let outcome = match p {
                Err(e) => Err(e),
                Ok(_) => stored.next().unwrap_or(Err(Error::Closed)),
            };
            if let Err(e) = &outcome {
                self.quarantine(batch.items[i].get().as_bytes(), e);
            }
            out.push(outcome);
        }
        Ok(out)
    }

    fn quarantine(&self, payload: &[u8], error: &Error) {
        let inner = &self.inner;
        inner.counters.rejected.fetch_add(1, Ordering::Relaxed);
        let cut = inner.options.limits.event_bytes_max;
        inner
            .quarantine
            .record(payload, &error.to_string(), now_ms(), cut);
    }

    fn collect_events<'e>(
        &self,
        events: impl Iterator<Item = Incoming<'e>>,
        n: usize,
    ) -> Result<Vec<Result<Receipt>>> {
        let (mut outcomes, mut deferred) = self.collect_round(events, n)?;
        // Events deferred because another call was collecting the same message id
        // are collected again, as new calls, until none is left: each round holds
        // no claim when it starts, so its first event may wait and progress is sure.
        while !deferred.is_empty() {
            let (positions, events): (Vec<usize>, Vec<Incoming<'e>>) = deferred.into_iter().unzip();
            let n = events.len();
            let (again, later) = self.collect_round(events.into_iter(), n)?;
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
    ) -> Result<Round<'e>> {
        BATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut batch) => {
                let out = self.collect_into(events, n, &mut batch);
                batch.clear();
                if batch.buf.capacity() > UNIT_BYTES_MAX * 2 {
                    *batch = Batch::new();
                }
                out
            }
            // A rule that collects from inside a collect call: use a fresh buffer.
            Err(_) => self.collect_into(events, n, &mut Batch::new()),
        })
    }

    fn collect_into<'e>(
        &self,
        events: impl Iterator<Item = Incoming<'e>>,
        n: usize,
        batch: &mut Batch,
    ) -> Result<Round<'e>> {
        let inner = &*self.inner;
        if inner.options.read_only {
            return Err(Error::ReadOnly);
        }
        let catalog = inner.catalog.state();
        let pipeline = inner.pipeline.read().clone();
        let received = now_ms();
        let owner = inner.owner();
        let mut outcomes: Vec<Result<Receipt>> = Vec::with_capacity(n);
        // Outcome positions of the events framed into `batch`, in batch order.
        let mut framed: Vec<usize> = Vec::with_capacity(n);
        let mut claims: Vec<ClaimNote> = Vec::new();
        let mut deferred: Vec<(usize, Incoming<'e>)> = Vec::new();
        let mut first_unwritten = 0;
        batch.clear();
        let mut result = Ok(());
        for event in events {
            let index = outcomes.len();
            match inner.prepare(
                event,
                index,
                &catalog,
                &pipeline,
                received,
                owner,
                batch,
                &mut claims,
            ) {
                Ok(Prepared::Framed { source, naming }) => {
                    framed.push(index);
                    outcomes.push(Ok(Receipt {
                        seq: None,
                        source,
                        duplicate: false,
                        dropped_by: None,
                        naming,
                    }));
                }
                Ok(Prepared::Done(receipt)) => outcomes.push(Ok(receipt)),
                Ok(Prepared::Deferred(event)) => {
                    deferred.push((index, event));
                    outcomes.push(Err(Error::Closed));
                }
                Err(e) => outcomes.push(Err(e)),
            }
            if batch.bytes() >= UNIT_BYTES_MAX {
                result = self.append_unit(batch, &framed[first_unwritten..], &mut outcomes);
                first_unwritten = framed.len();
                if result.is_err() {
                    break;
                }
            }
        }
        if result.is_ok() {
            result = self.append_unit(batch, &framed[first_unwritten..], &mut outcomes);
        }
        // Settle dedup claims whatever happened, so no waiter hangs.
        for claim in claims.iter().filter(|c| c.first) {
            let stored = match (&result, outcomes.get(claim.index)) {
                (Ok(()), Some(Ok(r))) => r.seq.map(|s| (s, received)),
                _ => None,
            };
            inner
                .dedup
                .resolve(claim.source, claim.hash, &claim.message_id, owner, stored);
        }
        result?;
        self.settle_same_batch_duplicates(&mut outcomes, &claims);
        let mut accepted = 0u64;
        let mut duplicates = 0u64;
        let mut warnings = 0u64;
        for receipt in outcomes.iter().flatten() {
            accepted += u64::from(receipt.seq.is_some() && !receipt.duplicate);
            duplicates += u64::from(receipt.duplicate);
            warnings += u64::from(receipt.naming.is_some() && !receipt.duplicate);
        }
        let counters = &inner.counters;
        counters.accepted.fetch_add(accepted, Ordering::Relaxed);
        counters.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        counters
            .naming_warnings
            .fetch_add(warnings, Ordering::Relaxed);
        Ok((outcomes, deferred))
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
