//! The data lifecycle on the store: retention policies, erasure requests,
//! suppressions, and the maintenance pass that carries them out (FORMAT.md §2.6,
//! §2.7; README "Data lifecycle").

use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;

use super::{Inner, Store};
use crate::catalog::{NewErasure, Source, StoredErasure, StoredState};
use crate::error::{Error, Result};
use crate::event::SourceId;
use crate::lifecycle::{
    Compaction, DropReason, Erasure, MaintenanceReport, Retention, SegmentAge, Suppression,
    discover_ids, erasure_of, hidden_of, plan_deletion,
};
use crate::log::SegmentHandle;
use crate::record::FLAG_HAS_MESSAGE_ID;
use crate::rules::Scope;

impl Store {
    /// The store's retention policy.
    pub fn retention(&self) -> Retention {
        Retention::from_stored(&self.inner.catalog.state().data.retention)
    }

    /// Sets the store's retention policy (durable when this returns). The
    /// background maintenance thread applies it; [`Store::maintain`] applies it now.
    pub fn set_retention(&self, retention: Retention) -> Result<()> {
        check_duration("roll_interval", retention.get_roll_interval())?;
        self.inner.catalog.set_retention(retention.to_stored())?;
        self.inner.start_maintainer();
        Ok(())
    }

    /// Gives a source its own maximum age (`None` removes it): its records
    /// received longer ago are removed by compaction, whatever the store's policy.
    pub fn set_source_max_age(&self, id: SourceId, max_age: Option<Duration>) -> Result<Source> {
        if let Some(age) = max_age {
            check_duration("max_age", age)?;
        }
        let ms = max_age.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.inner.catalog.set_source_max_age(id, ms)?;
        self.inner.start_maintainer();
        self.source(id).ok_or(Error::UnknownSource { id: id.0 })
    }

    /// The lowest sequence number the store holds (1 until retention deletes).
    pub fn log_start(&self) -> u64 {
        self.inner.log.log_start()
    }

    /// Erases every event of `profile_id` in `scope`: the events stored with it as
    /// their profile id or their `context.anonymous_id`, and those of the anonymous
    /// ids stored with it (the same person before they were identified).
    ///
    /// Returns once the request is durable; from then on no read returns those
    /// events. The maintenance pass then removes their bytes from every file
    /// (the request reports `done`); [`Store::maintain`] runs it now.
    pub fn erase_profile(&self, profile_id: &str, scope: Scope) -> Result<Erasure> {
        self.inner.erase(profile_id, scope, false)
    }

    /// [`Store::erase_profile`], and suppresses the profile's new events in the
    /// same scope (Segment's `SUPPRESS_WITH_DELETE`), in one durable step.
    pub fn erase_and_suppress_profile(&self, profile_id: &str, scope: Scope) -> Result<Erasure> {
        self.inner.erase(profile_id, scope, true)
    }

    /// Every erasure request, oldest first.
    pub fn erasures(&self) -> Vec<Erasure> {
        let state = self.inner.catalog.state();
        state.data.erasures.iter().map(erasure_of).collect()
    }

    /// One erasure request.
    pub fn erasure(&self, id: u64) -> Result<Erasure> {
        let state = self.inner.catalog.state();
        let stored = state.data.erasures.iter().find(|r| r.id == id);
        stored.map(erasure_of).ok_or(Error::UnknownErasure { id })
    }

    /// Stops storing events of `profile_id` (as profile id or anonymous id) in
    /// `scope`: they are answered with a receipt marked `suppressed`.
    pub fn suppress_profile(&self, profile_id: &str, scope: Scope) -> Result<()> {
        self.inner.check_profile_id(profile_id)?;
        let sources = self.inner.scope_sources(&scope)?;
        let now = self.inner.now_ms();
        self.inner
            .catalog
            .add_suppression(profile_id, &sources, now)
    }

    /// Lifts a suppression; false when the profile was not suppressed.
    pub fn unsuppress_profile(&self, profile_id: &str) -> Result<bool> {
        self.inner.catalog.remove_suppression(profile_id)
    }

    /// The suppressed profiles.
    pub fn suppressions(&self) -> Vec<Suppression> {
        let state = self.inner.catalog.state();
        state
            .data
            .suppressions
            .iter()
            .map(|s| Suppression {
                profile_id: s.profile_id.clone(),
                sources: s.sources.clone(),
                since_ms: s.since_ms,
            })
            .collect()
    }

    /// Runs one maintenance pass now: rolls the active segment by age, deletes
    /// what the retention policy expires, compacts segments holding erased or
    /// per-source expired records, and finishes the erasure requests. The
    /// background thread runs the same pass.
    pub fn maintain(&self) -> Result<MaintenanceReport> {
        self.inner.maintain()
    }
}

impl Inner {
    pub(super) fn now_ms(&self) -> i64 {
        self.log.now_ms()
    }

    /// A profile id to erase or suppress: not empty, and no longer than the
    /// longest id an event may carry.
    fn check_profile_id(&self, id: &str) -> Result<()> {
        let max = self.options.limits.id_bytes_max;
        if id.is_empty() || id.len() > max {
            return Err(Error::argument(
                "profile_id",
                format!("must be a profile id of 1 to {max} bytes"),
            ));
        }
        Ok(())
    }

    /// The source ids of a scope (empty for all), each checked to exist.
    fn scope_sources(&self, scope: &Scope) -> Result<Vec<SourceId>> {
        match scope {
            Scope::All => Ok(Vec::new()),
            Scope::Sources(ids) => {
                let state = self.catalog.state();
                for id in ids {
                    state.by_id(*id).ok_or(Error::UnknownSource { id: id.0 })?;
                }
                Ok(ids.clone())
            }
        }
    }

    fn erase(&self, profile_id: &str, scope: Scope, suppress: bool) -> Result<Erasure> {
        self.check_profile_id(profile_id)?;
        self.log.check_writable()?;
        let sources = self.scope_sources(&scope)?;
        let snapshot = self.log.snapshot();
        let up_to_seq = snapshot.visible_seq;
        let raw: Vec<u32> = sources.iter().map(|s| s.0).collect();
        let scope_ids = (!raw.is_empty()).then_some(raw.as_slice());
        let ids = discover_ids(&snapshot, profile_id, scope_ids, up_to_seq)?;
        // The events the request covers are durable before it is: else a power
        // loss could give their sequence numbers to later events, which the
        // request would then hide and erase.
        self.log.sync_through(up_to_seq)?;
        let stored = self.catalog.add_erasure(NewErasure {
            ids,
            sources,
            up_to_seq,
            suppress,
            asked_ms: self.now_ms(),
        })?;
        if let Some(hidden) = hidden_of(&stored) {
            self.log.hide(hidden);
        }
        self.start_maintainer();
        self.maintainer.wake();
        Ok(erasure_of(&stored))
    }

    /// Hides the events of every unfinished erasure request (on open).
    pub(super) fn hide_pending_erasures(&self) {
        for request in &self.catalog.state().data.erasures {
            if let Some(hidden) = hidden_of(request) {
                self.log.hide(hidden);
            }
        }
    }

    /// True when the store has lifecycle work to do in the background: a policy,
    /// a source with its own maximum age, or an unfinished erasure.
    fn needs_maintainer(&self) -> bool {
        let state = self.catalog.state();
        let data = &state.data;
        !Retention::from_stored(&data.retention).is_unlimited()
            || data.sources.iter().any(|s| s.max_age().is_some())
            || data.erasures.iter().any(|r| r.state != StoredState::Done)
    }

    /// Starts the maintenance thread if the store needs it and it is not running.
    pub(super) fn start_maintainer(&self) {
        let off = self.options.read_only || !self.options.background_maintenance;
        if off || self.maintainer.is_running() || !self.needs_maintainer() {
            return;
        }
        let me = self.me.clone();
        self.maintainer
            .start(self.options.maintenance_interval, move || {
                let Some(inner) = me.upgrade() else {
                    return false;
                };
                if let Err(e) = inner.maintain() {
                    *inner.maintenance_error.lock() = Some(e.to_string());
                }
                true
            });
    }

    /// One maintenance pass (see [`Store::maintain`]).
    pub(super) fn maintain(&self) -> Result<MaintenanceReport> {
        let _pass = self.maintenance.lock();
        self.log.check_writable()?;
        let mut report = MaintenanceReport::default();
        // Files an earlier deletion failed to unlink go first.
        self.log.unlink(&[])?;
        self.apply_retention(&mut report)?;
        self.compact(&mut report)?;
        report.log_start = self.log.log_start();
        *self.maintenance_error.lock() = None;
        Ok(report)
    }

    /// Rolls the active segment by age and deletes the oldest segments the policy
    /// expires: the new log start is made durable first, then files are unlinked
    /// (a crash in between leaves files the next open removes).
    fn apply_retention(&self, report: &mut MaintenanceReport) -> Result<()> {
        let state = self.catalog.state();
        let policy = Retention::from_stored(&state.data.retention);
        let source_ages = state.data.sources.iter().any(|s| s.max_age().is_some());
        if policy.is_unlimited() && !source_ages {
            return Ok(());
        }
        let now = self.now_ms();
        let every = i64::try_from(policy.get_roll_interval().as_millis()).unwrap_or(i64::MAX);
        report.rolled |= self.log.roll_if_older(now.saturating_sub(every))?;
        let ages: Vec<SegmentAge> = self
            .log
            .snapshot()
            .segments
            .iter()
            .map(|h| SegmentAge::of(h))
            .collect();
        let Some(plan) = plan_deletion(&ages, &policy, now) else {
            return Ok(());
        };
        self.catalog.set_log_start(plan.new_start)?;
        let files = self.log.drop_segments_below(plan.new_start);
        self.log.unlink(&files)?;
        report.deleted_segments += plan.segments;
        report.deleted_bytes += plan.bytes;
        Ok(())
    }

    /// Compacts the segments holding records of unfinished erasures or records a
    /// source's own maximum age expired, then finishes the erasures.
    fn compact(&self, report: &mut MaintenanceReport) -> Result<()> {
        let state = self.catalog.state();
        let pending: Vec<StoredErasure> = state
            .data
            .erasures
            .iter()
            .filter(|r| r.state != StoredState::Done)
            .cloned()
            .collect();
        let now = self.now_ms();
        let cutoffs: FxHashMap<u32, i64> = state
            .data
            .sources
            .iter()
            .filter_map(|s| {
                let age = i64::try_from(s.max_age()?.as_millis()).unwrap_or(i64::MAX);
                Some((s.id().0, now.saturating_sub(age)))
            })
            .collect();
        let erased_up_to = pending.iter().map(|r| r.up_to_seq).max().unwrap_or(0);
        let compaction = Compaction {
            hidden: self.log.snapshot().hidden,
            cutoffs,
            erased_up_to,
        };
        if compaction.is_empty() && pending.is_empty() {
            return Ok(());
        }
        for request in pending.iter().filter(|r| r.state != StoredState::Running) {
            self.catalog
                .update_erasure(request.id, |r| r.state = StoredState::Running)?;
        }
        let done = self.compact_segments(&compaction, erased_up_to, report);
        match done {
            Ok(true) => self.finish_erasures(&pending, report),
            // Stopped (the store is closing): the next open resumes.
            Ok(false) => Ok(()),
            Err(e) => {
                let reason = e.to_string();
                for request in &pending {
                    // Best effort: the error returned is the one that matters.
                    let _ = self.catalog.update_erasure(request.id, |r| {
                        r.state = StoredState::Failed;
                        r.failure = Some(reason.clone());
                    });
                }
                Err(e)
            }
        }
    }

    /// Compacts every segment `compaction` touches; false when stopped early.
    fn compact_segments(
        &self,
        compaction: &Compaction,
        erased_up_to: u64,
        report: &mut MaintenanceReport,
    ) -> Result<bool> {
        if erased_up_to > 0 {
            report.rolled |= self.log.roll_if_holds(erased_up_to)?;
        }
        let snapshot = self.log.snapshot();
        for handle in snapshot.segments.iter() {
            if !handle.segment.is_sealed() || !compaction.may_touch(handle) {
                continue;
            }
            if self.maintainer.is_stopping() {
                return Ok(false);
            }
            self.compact_one(handle, compaction, report)?;
        }
        Ok(true)
    }

    /// Compacts one segment, crediting each erasure request with what it removed.
    fn compact_one(
        &self,
        handle: &Arc<SegmentHandle>,
        compaction: &Compaction,
        report: &mut MaintenanceReport,
    ) -> Result<()> {
        let path = handle.segment.path().to_path_buf();
        let mut credit: FxHashMap<u64, (u64, u64)> = FxHashMap::default();
        let mut forget = Vec::new();
        let stats = self.log.compact(handle, |offset, record| {
            let Some(reason) = compaction.verdict(record, &path, offset as u64)? else {
                return Ok(false);
            };
            if let DropReason::Erased(id) = reason {
                let c = credit.entry(id).or_default();
                c.0 += 1;
                c.1 += record.header.padded_len() as u64;
            }
            let h = &record.header;
            if h.flags & FLAG_HAS_MESSAGE_ID != 0 {
                forget.push((h.source, h.message_hash, h.seq));
            }
            Ok(true)
        })?;
        let Some(stats) = stats else {
            return Ok(());
        };
        for (source, hash, seq) in forget {
            self.dedup.forget(source, hash, seq);
        }
        for (id, (events, bytes)) in credit {
            self.catalog.update_erasure(id, |r| {
                r.removed_events += events;
                r.removed_bytes += bytes;
            })?;
        }
        report.compacted_segments += 1;
        report.removed_events += stats.removed;
        report.removed_bytes += stats.removed_bytes;
        report.read_bytes += stats.read_bytes;
        report.written_bytes += stats.written_bytes;
        Ok(())
    }

    /// Removes the erased profiles' lines from the quarantine, then marks the
    /// requests done (their ids forgotten) and stops hiding their events.
    fn finish_erasures(
        &self,
        pending: &[StoredErasure],
        report: &mut MaintenanceReport,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = pending.iter().flat_map(|r| r.ids.clone()).collect();
        self.quarantine.scrub(&ids)?;
        let now = self.now_ms();
        for request in pending {
            self.catalog.update_erasure(request.id, |r| {
                r.state = StoredState::Done;
                r.finished_ms = Some(now);
                r.failure = None;
            })?;
            self.log.unhide(request.id);
            report.finished_erasures.push(request.id);
        }
        Ok(())
    }
}

fn check_duration(name: &str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::argument(name, "must be positive"));
    }
    Ok(())
}
