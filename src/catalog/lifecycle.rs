//! The lifecycle records of the catalog (FORMAT.md §5): the log start, the
//! retention policy, erasure requests and suppressions. Each change is one
//! atomic catalog write: durable when the method returns.

use super::Catalog;
use super::data::{StoredErasure, StoredRetention, StoredState, StoredSuppression};
use crate::error::{Error, Result};
use crate::event::SourceId;

/// Finished erasure requests kept in the catalog (the oldest are forgotten).
pub(crate) const FINISHED_ERASURES_KEPT: usize = 10_000;

/// What a new erasure request asks.
pub(crate) struct NewErasure {
    pub ids: Vec<String>,
    pub sources: Vec<SourceId>,
    pub up_to_seq: u64,
    pub suppress: bool,
    pub asked_ms: i64,
}

impl Catalog {
    /// Makes `start` the durable log start (it only moves forward).
    pub(crate) fn set_log_start(&self, start: u64) -> Result<()> {
        self.update(|data| {
            data.log_start = data.log_start.max(start);
            Ok(())
        })
    }

    /// Makes `bytes` the store's segment size.
    pub(crate) fn set_segment_bytes(&self, bytes: u64) -> Result<()> {
        self.update(|data| {
            data.segment_bytes = Some(bytes);
            Ok(())
        })
    }

    /// Replaces the store's retention policy.
    pub(crate) fn set_retention(&self, retention: StoredRetention) -> Result<()> {
        self.update(|data| {
            data.retention = retention;
            Ok(())
        })
    }

    /// Sets (or, with `None`, removes) a source's own maximum age.
    pub(crate) fn set_source_max_age(&self, id: SourceId, max_age_ms: Option<u64>) -> Result<()> {
        self.update(|data| {
            Self::source_mut(data, id)?.max_age_ms = max_age_ms;
            Ok(())
        })
    }

    /// Records an erasure request (and, when it asks for one, the suppression of
    /// its profile); returns it.
    pub(crate) fn add_erasure(&self, asked: NewErasure) -> Result<StoredErasure> {
        self.update(|data| {
            let id = data.next_request;
            data.next_request += 1;
            let request = StoredErasure {
                id,
                ids: asked.ids,
                sources: asked.sources,
                up_to_seq: asked.up_to_seq,
                suppress: asked.suppress,
                state: StoredState::Pending,
                asked_ms: asked.asked_ms,
                finished_ms: None,
                removed_events: 0,
                removed_bytes: 0,
                failure: None,
            };
            if asked.suppress
                && let Some(profile_id) = request.ids.first()
            {
                suppress(
                    &mut data.suppressions,
                    profile_id,
                    &request.sources,
                    asked.asked_ms,
                );
            }
            data.erasures.push(request.clone());
            Ok(request)
        })
    }

    /// Changes an erasure request with `change`.
    pub(crate) fn update_erasure(
        &self,
        id: u64,
        change: impl FnOnce(&mut StoredErasure),
    ) -> Result<()> {
        self.update(|data| {
            let request = data
                .erasures
                .iter_mut()
                .find(|r| r.id == id)
                .ok_or(Error::UnknownErasure { id })?;
            change(request);
            if request.state == StoredState::Done {
                // The ids are personal data: a finished request forgets them.
                request.ids = Vec::new();
                forget_oldest_finished(&mut data.erasures);
            }
            Ok(())
        })
    }

    /// Suppresses a profile's new events in `sources` (all when empty).
    pub(crate) fn add_suppression(
        &self,
        profile_id: &str,
        sources: &[SourceId],
        now_ms: i64,
    ) -> Result<()> {
        self.update(|data| {
            suppress(&mut data.suppressions, profile_id, sources, now_ms);
            Ok(())
        })
    }

    /// Lifts a profile's suppression; false when there was none.
    pub(crate) fn remove_suppression(&self, profile_id: &str) -> Result<bool> {
        self.update(|data| {
            let before = data.suppressions.len();
            data.suppressions.retain(|s| s.profile_id != profile_id);
            Ok(data.suppressions.len() != before)
        })
    }
}

/// Adds (or replaces) the suppression of `profile_id`.
fn suppress(
    suppressions: &mut Vec<StoredSuppression>,
    profile_id: &str,
    sources: &[SourceId],
    now_ms: i64,
) {
    suppressions.retain(|s| s.profile_id != profile_id);
    suppressions.push(StoredSuppression {
        profile_id: profile_id.to_owned(),
        sources: sources.to_vec(),
        since_ms: now_ms,
    });
}

/// Keeps at most [`FINISHED_ERASURES_KEPT`] finished requests.
fn forget_oldest_finished(erasures: &mut Vec<StoredErasure>) {
    let finished = erasures
        .iter()
        .filter(|r| r.state == StoredState::Done)
        .count();
    let mut excess = finished.saturating_sub(FINISHED_ERASURES_KEPT);
    erasures.retain(|r| {
        let forget = excess > 0 && r.state == StoredState::Done;
        excess -= usize::from(forget);
        !forget
    });
}
