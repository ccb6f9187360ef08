//! Collecting Firstparty JSON: one payload, a batch request, or many payloads
//! (each with the context its request adds), parsed in one pass into the record
//! body encoding. Refused payloads are kept in the quarantine.

use std::sync::atomic::Ordering;

use super::Store;
use super::collect::with_scratch;
use super::receipt::Receipt;
use crate::error::{Error, Result};
use crate::intake::{ContextDefaults, RawEvent, parse_event, split_batch};

impl Store {
    /// Collects one event from its JSON payload (the Firstparty shape).
    /// A refused payload is kept in the quarantine (see [`Store::rejected`]).
    pub fn collect_json(&self, payload: &[u8]) -> Result<Receipt> {
        self.collect_json_with(payload, ContextDefaults::default())
    }

    /// [`collect_json`](Self::collect_json), adding `defaults` to the event's
    /// context where the payload did not set them (the HTTP collector adds the
    /// request's User-Agent and client IP).
    pub fn collect_json_with(
        &self,
        payload: &[u8],
        defaults: ContextDefaults<'_>,
    ) -> Result<Receipt> {
        let mut out = self.collect_json_payloads(&[(payload, defaults)])?;
        out.pop().unwrap_or(Err(Error::Closed))
    }

    /// Collects a batch request: a JSON array of payloads, or
    /// `{"batch": [...], "write_key": "..."}` (the key applies to items without
    /// one). One outcome per item, with its index; refused items are quarantined.
    pub fn collect_batch_json(&self, request: &[u8]) -> Result<Vec<Result<Receipt>>> {
        self.collect_batch_json_with(request, ContextDefaults::default())
    }

    /// [`collect_batch_json`](Self::collect_batch_json), adding `defaults` to
    /// each event's context where its payload did not set them.
    pub fn collect_batch_json_with(
        &self,
        request: &[u8],
        defaults: ContextDefaults<'_>,
    ) -> Result<Vec<Result<Receipt>>> {
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
        let key = batch.write_key.as_deref();
        let out = with_scratch(|scratch| {
            let mut parsed: Vec<Result<Option<RawEvent<'_>>>> = batch
                .items
                .iter()
                .map(|raw| {
                    let mut event = parse_event(raw.get().as_bytes(), limits, key, scratch)?;
                    defaults.fill(&mut event, scratch);
                    Ok(Some(event))
                })
                .collect();
            self.collect_parsed(&mut parsed, scratch)
        })?;
        for (outcome, item) in out.iter().zip(&batch.items) {
            if let Err(e) = outcome {
                self.quarantine(item.get().as_bytes(), e);
            }
        }
        Ok(out)
    }

    /// Collects many single payloads in one call (one write, one fdatasync
    /// under `Durability::Sync`), each with its own context defaults: what a
    /// server does with concurrent requests. One outcome per payload, in order;
    /// refused payloads are quarantined.
    pub fn collect_json_payloads(
        &self,
        payloads: &[(&[u8], ContextDefaults<'_>)],
    ) -> Result<Vec<Result<Receipt>>> {
        if self.inner.options.read_only {
            return Err(Error::ReadOnly);
        }
        let limits = &self.inner.options.limits;
        let out = with_scratch(|scratch| {
            let mut parsed: Vec<Result<Option<RawEvent<'_>>>> = payloads
                .iter()
                .map(|(payload, defaults)| {
                    let mut event = parse_event(payload, limits, None, scratch)?;
                    defaults.fill(&mut event, scratch);
                    Ok(Some(event))
                })
                .collect();
            self.collect_parsed(&mut parsed, scratch)
        })?;
        for (outcome, (payload, _)) in out.iter().zip(payloads) {
            if let Err(e) = outcome {
                self.quarantine(payload, e);
            }
        }
        Ok(out)
    }

    /// Keeps a refused payload, with the reason, in the quarantine.
    pub(crate) fn quarantine(&self, payload: &[u8], error: &Error) {
        let inner = &self.inner;
        inner.counters.rejected.fetch_add(1, Ordering::Relaxed);
        let cut = inner.options.limits.event_bytes_max;
        inner
            .quarantine
            .record(payload, &error.to_string(), inner.now_ms(), cut);
    }
}
