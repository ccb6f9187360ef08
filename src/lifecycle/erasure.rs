//! Erasure requests: who is erased (a profile id and the anonymous ids seen with
//! it), and how a stored request shows to callers and to reads.

use crate::catalog::{StoredErasure, StoredState};
use crate::codec::decode_event;
use crate::error::{Error, Result};
use crate::index::walk;
use crate::log::{HiddenProfile, Snapshot};
use crate::record::profile_hash;

use super::{Erasure, ErasureState};

/// The ids an erasure of `profile_id` covers: the profile id, then every
/// anonymous id (`context.anonymous_id`) stored with it in `sources` (all when
/// `None`) up to `up_to_seq`, so that the events a person sent before they were
/// identified go too. Hash matches in the index are confirmed by decoding.
pub(crate) fn discover_ids(
    snapshot: &Snapshot,
    profile_id: &str,
    sources: Option<&[u32]>,
    up_to_seq: u64,
) -> Result<Vec<String>> {
    let hash = profile_hash(Some(profile_id));
    let mut ids = vec![profile_id.to_owned()];
    for handle in snapshot.segments.iter() {
        if handle.segment.first_seq() > up_to_seq || handle.segment.record_count() == 0 {
            continue;
        }
        let mut matches = Vec::new();
        {
            let index = handle.index.read();
            for summary in index.summaries() {
                if sources.is_some_and(|s| !s.contains(&summary.source)) {
                    continue;
                }
                index.with_source(summary.source, |_, postings| {
                    walk(postings, (0, up_to_seq), false, &mut |e| {
                        if e.profile_hash == hash && e.anonymous_hash != 0 {
                            matches.push(e.offset);
                        }
                        true
                    });
                });
            }
        }
        if matches.is_empty() {
            continue;
        }
        let view = handle.segment.view()?;
        let path = handle.segment.path();
        for offset in matches {
            let record = view
                .record_at(offset as usize)
                .map_err(|p| Error::corrupt(path, u64::from(offset), p.describe()))?;
            let event = decode_event(&record, path, u64::from(offset))?;
            if event.profile_id() != Some(profile_id) {
                continue;
            }
            if let Some(anonymous) = event.anonymous_id()?
                && !ids.iter().any(|id| id == anonymous)
            {
                ids.push(anonymous.to_owned());
            }
        }
    }
    Ok(ids)
}

/// A stored request as callers see it.
pub(crate) fn erasure_of(stored: &StoredErasure) -> Erasure {
    let state = match stored.state {
        StoredState::Pending => ErasureState::Pending,
        StoredState::Running => ErasureState::Running,
        StoredState::Done => ErasureState::Done,
        StoredState::Failed => ErasureState::Failed {
            reason: stored.failure.clone().unwrap_or_default(),
        },
    };
    Erasure {
        id: stored.id,
        profile_id: stored.ids.first().cloned(),
        sources: stored.sources.clone(),
        suppress: stored.suppress,
        up_to_seq: stored.up_to_seq,
        state,
        asked_ms: stored.asked_ms,
        finished_ms: stored.finished_ms,
        removed_events: stored.removed_events,
        removed_bytes: stored.removed_bytes,
    }
}

/// What reads must hide until the request is done (`None` once it is).
pub(crate) fn hidden_of(stored: &StoredErasure) -> Option<HiddenProfile> {
    (stored.state != StoredState::Done).then(|| HiddenProfile {
        request: stored.id,
        ids: stored.ids.clone(),
        sources: (!stored.sources.is_empty()).then(|| stored.sources.iter().map(|s| s.0).collect()),
        up_to_seq: stored.up_to_seq,
    })
}
