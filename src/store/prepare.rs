//! Preparing one event of a collect call: source lookup, duplicate claim, rules,
//! naming verdict, then framing into the call's batch. [`CollectCall`] carries
//! what every event of the call shares; each step is one method.

use std::borrow::Cow;
use std::sync::Arc;

use parking_lot::RwLock;

use super::Inner;
use super::receipt::Receipt;
use crate::catalog::{CatalogState, Source};
use crate::codec::value::EncodeError;
use crate::codec::{decode_event, decode_object, encode_body, put_head};
use crate::dedup::Claim;
use crate::error::{Error, Result};
use crate::event::{
    BodyOut, Draft, Limits, NamingPolicy, NamingWarning, NewEvent, SourceId, check_event_name,
};
use crate::intake::RawEvent;
use crate::log::Batch;
use crate::record::{
    FLAG_HAS_MESSAGE_ID, FLAG_HAS_PROFILE, RecordHeader, message_hash, name_hash, profile_hash,
};
use crate::rules::{Outcome, Pipeline};

/// The most distinct event names whose naming verdict is cached.
const NAMING_CACHE_MAX: usize = 100_000;

/// Naming verdicts by name hash; a name in here is also in the name dictionary.
#[derive(Default)]
pub(crate) struct NamingCache {
    map: RwLock<rustc_hash::FxHashMap<u64, Option<Arc<NamingWarning>>>>,
}

/// An event on its way in: typed (owned, or borrowed from the caller) or parsed
/// from a JSON payload (borrowing from the request).
pub(crate) enum Incoming<'e> {
    Typed(Cow<'e, NewEvent>),
    Json(RawEvent<'e>),
}

impl Incoming<'_> {
    /// Checks limits (JSON payloads were checked when parsed).
    fn validate(&self, limits: &Limits) -> Result<()> {
        match self {
            Incoming::Typed(e) => e.validate(limits),
            Incoming::Json(_) => Ok(()),
        }
    }

    fn name(&self) -> &str {
        match self {
            Incoming::Typed(e) => e.name(),
            Incoming::Json(e) => &e.name,
        }
    }

    fn write_key(&self) -> &str {
        match self {
            Incoming::Typed(e) => e.write_key(),
            Incoming::Json(e) => &e.write_key,
        }
    }

    /// The profile id and the anonymous id (what suppression matches).
    fn identity(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Incoming::Typed(e) => (e.profile_id.as_deref(), e.body().anonymous_id()),
            Incoming::Json(e) => (e.profile_id.as_deref(), e.anonymous_id.as_deref()),
        }
    }

    fn message_id(&self) -> Option<&str> {
        match self {
            Incoming::Typed(e) => e.message_id.as_deref(),
            Incoming::Json(e) => e.message_id.as_deref(),
        }
    }

    /// An owned event (for rules, which edit a draft). A JSON payload's objects
    /// are decoded from the scratch they were encoded into.
    fn into_new_event(self, scratch: &[u8]) -> Result<NewEvent> {
        match self {
            Incoming::Typed(e) => Ok(e.into_owned()),
            Incoming::Json(e) => {
                let (properties, context) = e.objects(scratch);
                let decode = |bytes: &[u8]| {
                    decode_object(bytes)
                        .map(|m| m.to_owned_map())
                        .map_err(|e| Error::invalid("json", e.reason))
                };
                let mut event = NewEvent::new(e.name.into_owned(), e.write_key.into_owned())
                    .properties(decode(properties)?)
                    .context(decode(context)?);
                event.profile_id = e.profile_id.map(Into::into);
                event.session_id = e.session_id.map(Into::into);
                event.message_id = e.message_id.map(Into::into);
                event.timestamp_ms = e.timestamp_ms;
                Ok(event)
            }
        }
    }
}

/// A message id met in this call: the first copy claims it in the dedup window,
/// later copies in the same call become duplicates of the first.
pub(crate) struct ClaimNote {
    pub index: usize,
    pub source: u32,
    pub hash: u32,
    pub message_id: String,
    pub first: bool,
}

/// What preparing an event came to.
pub(crate) enum Prepared<'e> {
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

/// What every event of one collect call shares.
pub(crate) struct CollectCall<'c> {
    pub inner: &'c Inner,
    /// Where JSON payloads' objects were encoded (empty for typed events).
    pub scratch: &'c [u8],
    pub catalog: Arc<CatalogState>,
    pub pipeline: Arc<Pipeline>,
    pub received: i64,
    /// Identifies the call in the dedup window's pending claims.
    pub owner: u64,
    pub claims: Vec<ClaimNote>,
}

/// One event being prepared: its position in the call and its source.
struct Target<'c> {
    index: usize,
    source: &'c Source,
    policy: NamingPolicy,
}

impl Target<'_> {
    fn receipt(&self, seq: Option<u64>, duplicate: bool, dropped_by: Option<String>) -> Receipt {
        Receipt {
            seq,
            source: self.source.id(),
            duplicate,
            dropped_by,
            suppressed: false,
            naming: None,
        }
    }

    /// The receipt of an event of a suppressed profile (not stored).
    fn suppressed(&self) -> Receipt {
        Receipt {
            suppressed: true,
            ..self.receipt(None, false, None)
        }
    }
}

impl CollectCall<'_> {
    /// Validates, dedups, runs rules and frames one event into `batch`.
    pub(super) fn prepare<'e>(
        &mut self,
        event: Incoming<'e>,
        index: usize,
        batch: &mut Batch,
    ) -> Result<Prepared<'e>> {
        event.validate(&self.inner.options.limits)?;
        let catalog = self.catalog.clone();
        let source = catalog
            .by_key(event.write_key())
            .ok_or(Error::UnknownWriteKey)?;
        if !source.is_enabled() {
            return Err(Error::SourceDisabled { id: source.id().0 });
        }
        let target = Target {
            index,
            source,
            policy: catalog.naming_for(source),
        };
        match self.claim(&event, &target)? {
            Claimed::Proceed => {}
            Claimed::Settled(receipt) => return Ok(Prepared::Done(receipt)),
            Claimed::Later => return Ok(Prepared::Deferred(event)),
        }
        let framed = self.rule_and_frame(event, &target, batch);
        if framed.is_err() {
            // Not stored: a later copy of its message id may be.
            self.release_claim(index);
        }
        framed
    }

    /// Runs the rules (if any apply), judges the name, and frames the event.
    fn rule_and_frame<'e>(
        &mut self,
        event: Incoming<'e>,
        target: &Target<'_>,
        batch: &mut Batch,
    ) -> Result<Prepared<'e>> {
        let source = target.source;
        let msg_hash = message_hash(event.message_id());
        if self.pipeline.applies_to(source.id()) {
            return self.prepare_with_rules(event, target, msg_hash, batch);
        }
        let (profile_id, anonymous_id) = event.identity();
        if self
            .catalog
            .is_suppressed(source.id(), profile_id, anonymous_id)
        {
            return Ok(Prepared::Done(target.suppressed()));
        }
        // No rule applies: encode straight from what was given, without copying.
        // The name's hash serves the naming verdict and the record header alike.
        let hash = name_hash(event.name());
        let naming = self.naming(target, hash, event.name())?;
        let frame = self.frame(target, msg_hash);
        match &event {
            Incoming::Typed(e) => frame.push_body(
                batch,
                &e.body(),
                e.timestamp_ms.unwrap_or(self.received),
                hash,
                self.inner.options.limits.depth_max,
            )?,
            Incoming::Json(e) => frame.push_json(
                batch,
                e,
                self.scratch,
                e.timestamp_ms.unwrap_or(self.received),
                hash,
            )?,
        }
        Ok(Prepared::Framed {
            source: source.id(),
            naming,
        })
    }

    /// Gives up the claim event `index` holds (it will not be stored).
    fn release_claim(&mut self, index: usize) {
        let Some(at) = self.claims.iter().position(|c| c.index == index && c.first) else {
            return;
        };
        let note = self.claims.swap_remove(at);
        self.inner
            .dedup
            .resolve(note.source, note.hash, &note.message_id, self.owner, None);
    }

    /// Claims the event's message id in the dedup window.
    fn claim(&mut self, event: &Incoming<'_>, target: &Target<'_>) -> Result<Claimed> {
        let Some(message_id) = event.message_id() else {
            return Ok(Claimed::Proceed);
        };
        let source = target.source.id();
        let hash = message_hash(Some(message_id));
        let holds_claims = self.claims.iter().any(|c| c.first);
        let same = |seq: u64| self.inner.stored_message_id_is(seq, source, message_id);
        let claim = self.inner.dedup.claim(
            source.0,
            hash,
            message_id,
            self.owner,
            holds_claims,
            self.received,
            &same,
        );
        let mut note = |first| {
            self.claims.push(ClaimNote {
                index: target.index,
                source: source.0,
                hash,
                message_id: message_id.to_owned(),
                first,
            })
        };
        match claim {
            Claim::New => {
                note(true);
                Ok(Claimed::Proceed)
            }
            // The original was already judged (after its rules): a retry neither
            // re-checks the raw name nor repeats the warning.
            Claim::Stored(seq) => Ok(Claimed::Settled(target.receipt(Some(seq), true, None))),
            // Settled after the append: the receipt of the first copy.
            Claim::SameBatch => {
                note(false);
                Ok(Claimed::Settled(target.receipt(None, true, None)))
            }
            // Another call is collecting this id: one that holds claims may not
            // wait, so the event is collected again once its own are settled.
            Claim::InFlight if holds_claims => Ok(Claimed::Later),
            Claim::InFlight => Err(Error::InFlight {
                message_id: message_id.to_owned(),
            }),
        }
    }

    /// Runs the rules on an owned draft, then validates and frames what they left.
    fn prepare_with_rules<'e>(
        &mut self,
        event: Incoming<'e>,
        target: &Target<'_>,
        msg_hash: u32,
        batch: &mut Batch,
    ) -> Result<Prepared<'e>> {
        let source = target.source.id();
        let mut draft = Draft::new(event.into_new_event(self.scratch)?, source, self.received);
        match self.pipeline.run(&mut draft) {
            Outcome::Keep => {}
            Outcome::Dropped { rule } => {
                self.inner.counters.count_drop(&rule);
                return Ok(Prepared::Done(target.receipt(None, false, Some(rule))));
            }
            Outcome::Rejected { rule, reason } => return Err(Error::Rejected { rule, reason }),
            Outcome::Panicked { rule, message } => {
                return Err(Error::RulePanicked { rule, message });
            }
        }
        draft.validate(&self.inner.options.limits)?;
        let body = draft.body();
        if self
            .catalog
            .is_suppressed(source, body.profile_id, body.anonymous_id())
        {
            return Ok(Prepared::Done(target.suppressed()));
        }
        let hash = name_hash(&draft.name);
        let naming = self.naming(target, hash, &draft.name)?;
        let levels = self.inner.options.limits.depth_max;
        self.frame(target, msg_hash).push_body(
            batch,
            &draft.body(),
            draft.timestamp_ms,
            hash,
            levels,
        )?;
        Ok(Prepared::Framed { source, naming })
    }

    /// The naming verdict of `name` under the source's policy: a warning to
    /// report, or an error under `Enforce`.
    fn naming(
        &self,
        target: &Target<'_>,
        hash: u64,
        name: &str,
    ) -> Result<Option<Arc<NamingWarning>>> {
        let warning = self.inner.naming_verdict(hash, name);
        match (target.policy, warning) {
            (NamingPolicy::Off, _) | (_, None) => Ok(None),
            (NamingPolicy::Warn, w) => Ok(w),
            (NamingPolicy::Enforce, Some(w)) => Err(Error::NamingViolation {
                name: name.to_owned(),
                violations: w.describe(),
            }),
        }
    }

    fn frame(&self, target: &Target<'_>, message_hash: u32) -> Frame {
        Frame {
            source: target.source.id().0,
            received_ms: self.received,
            message_hash,
            max_body: self.inner.options.limits.event_bytes_max,
        }
    }
}

/// What claiming an event's message id decided.
enum Claimed {
    /// A new message id (or none): go on.
    Proceed,
    /// A duplicate: this is its receipt.
    Settled(Receipt),
    /// Another call holds the id and this one may not wait: collect it later.
    Later,
}

impl Inner {
    /// The naming verdict of a name (cached by hash); notes the name in the
    /// dictionary.
    pub(crate) fn naming_verdict(&self, hash: u64, name: &str) -> Option<Arc<NamingWarning>> {
        if let Some(v) = self.naming_cache.map.read().get(&hash) {
            return v.clone();
        }
        let verdict = check_event_name(name).map(Arc::new);
        self.log.names().note(hash, name);
        let mut map = self.naming_cache.map.write();
        if map.len() < NAMING_CACHE_MAX {
            map.insert(hash, verdict.clone());
        }
        verdict
    }

    /// True when the stored record `seq` of `source` carries exactly `message_id`
    /// (the dedup window keys on a 32-bit hash: a hit is confirmed here).
    pub(crate) fn stored_message_id_is(
        &self,
        seq: u64,
        source: SourceId,
        message_id: &str,
    ) -> bool {
        let Ok(Some(found)) = self.log.record_at(seq, source.0) else {
            return false;
        };
        let Ok(record) = found.record() else {
            return false;
        };
        decode_event(&record, &found.path, found.offset as u64)
            .is_ok_and(|event| event.message_id() == Some(message_id))
    }
}

/// What framing a record needs besides its body.
struct Frame {
    source: u32,
    received_ms: i64,
    message_hash: u32,
    max_body: usize,
}

impl Frame {
    /// The header of a record (without length, sequence number and CRC, which
    /// the batch fills in).
    fn header(
        &self,
        ts: i64,
        name_hash: u64,
        ids: [Option<&str>; 3],
        anonymous_id: Option<&str>,
    ) -> RecordHeader {
        let [profile_id, _, message_id] = ids;
        let mut flags = 0;
        if profile_id.is_some() {
            flags |= FLAG_HAS_PROFILE;
        }
        if message_id.is_some() {
            flags |= FLAG_HAS_MESSAGE_ID;
        }
        RecordHeader {
            body_len: 0,
            seq: 0,
            source: self.source,
            flags,
            timestamp_ms: ts,
            received_ms: self.received_ms,
            name_hash,
            profile_hash: profile_hash(profile_id),
            anonymous_hash: profile_hash(anonymous_id),
            message_hash: self.message_hash,
        }
    }

    /// Frames a record from a typed body, encoded once (its objects checked for
    /// depth and finite numbers as they are written).
    fn push_body<S: AsRef<str>>(
        &self,
        batch: &mut Batch,
        body: &BodyOut<'_, S>,
        ts: i64,
        name_hash: u64,
        levels: usize,
    ) -> Result<()> {
        let ids = [body.profile_id, body.session_id, body.message_id];
        let header = self.header(ts, name_hash, ids, body.anonymous_id());
        batch.push(header, self.max_body, |buf| {
            encode_body(buf, body, levels).map_err(|(field, e)| encode_refusal(field, e, levels))
        })
    }

    /// Frames a record from a parsed JSON payload: its head, then the objects
    /// the parser already encoded.
    fn push_json(
        &self,
        batch: &mut Batch,
        event: &RawEvent<'_>,
        scratch: &[u8],
        ts: i64,
        name_hash: u64,
    ) -> Result<()> {
        let header = self.header(ts, name_hash, event.ids(), event.anonymous_id.as_deref());
        let (properties, context) = event.objects(scratch);
        batch.push(header, self.max_body, |buf| {
            put_head(buf, &event.name, event.ids());
            buf.extend_from_slice(properties);
            buf.extend_from_slice(context);
            Ok(())
        })
    }
}

/// The error of an object the encoder refused.
fn encode_refusal(field: &str, e: EncodeError, levels: usize) -> Error {
    match e {
        EncodeError::NotFinite => Error::invalid(field, "numbers must be finite"),
        EncodeError::DuplicateKey => Error::invalid(field, "an object has a key twice"),
        EncodeError::TooDeep => {
            Error::invalid(field, format!("nested deeper than {levels} levels"))
        }
    }
}
