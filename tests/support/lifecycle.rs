//! A data-lifecycle workload and its model, shared by the fault-injection loop
//! and the crash model (`tests/storage`): a store of two sources over several
//! 64 KiB segments and 30 days of a manual clock, then a source's own maximum
//! age, erasures (of every source; of one source with suppression), a
//! suppression lifted again, retention by age and by size, and maintenance
//! passes between ingest.
//!
//! The model knows, at any point of the workload (a step in flight counts as
//! "maybe"), what a store must show ([`Model::check`]):
//! - every acknowledged event that no erasure covers, no source maximum age
//!   expired and that is not below the log start, with its sequence number and
//!   content; nothing that was never sent, suppressed, or stored twice;
//! - never an event covered by an erasure request that returned `Ok` (or that
//!   reached the catalog): not through `read_from`, not through queries;
//! - the log start within what the passes run so far can have made it;
//! - after a maintenance pass: every request done, and no file of the store
//!   holding a byte of an erased event (each event carries a unique tag).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use firstlog::testing::{Clock, ManualClock, MemFs, Vfs};
use firstlog::{
    Durability, Erasure, Error, Event, Map, NewEvent, Options, Retention, Scope, Source, Store,
};
use parking_lot::Mutex;

use super::store::T0;

/// Segments roll by size every 40-odd events.
pub const SEGMENT_BYTES: u64 = 64 << 10;
/// The sources, by position in [`Model::sources`].
pub const WEB: usize = 0;
pub const DESK: usize = 1;
/// One day.
pub const DAY: Duration = Duration::from_secs(24 * 3600);
const DAY_MS: i64 = 86_400_000;
/// The help desk's own maximum age.
pub const DESK_MAX_AGE: Duration = Duration::from_secs(40 * 24 * 3600);
/// The size limit of the last retention policy: about two segments less than
/// the store holds by then.
pub const RETENTION_BYTES: u64 = 200 << 10;

/// The options of every lifecycle store: small segments, every acknowledged
/// event durable, maintenance only when asked, time from `clock`.
pub fn options(fs: Arc<dyn Vfs>, clock: Arc<ManualClock>) -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .durability(Durability::Sync)
        .background_maintenance(false)
        .clock(clock)
        .fs(fs)
}

// ---- the events: everything is a function of the uid (and the source) -----------

const NAMES: [&str; 3] = ["Page Viewed", "Ticket Opened", "Plan Upgraded"];

/// `user-{uid % 7}`, except every 11th event, sent by the anonymous `anon-3`.
pub fn profile_of(uid: u64) -> String {
    if uid.is_multiple_of(11) {
        "anon-3".to_owned()
    } else {
        format!("user-{}", uid % 7)
    }
}

/// On the web, user-3 was `anon-3` before identifying (every other event says
/// so) and user-4 is `anon-4`.
pub fn anonymous_of(uid: u64, source: usize) -> Option<&'static str> {
    if source != WEB || uid.is_multiple_of(11) {
        return None;
    }
    match uid % 7 {
        3 if uid.is_multiple_of(2) => Some("anon-3"),
        4 => Some("anon-4"),
        _ => None,
    }
}

/// The tag of event `uid`: `<` six digits `>`, found in the bytes of any file
/// that holds the event.
pub fn tag(uid: u64) -> String {
    format!("<{uid:06}>")
}

fn timestamp(uid: u64) -> i64 {
    T0 - 5_000 + uid as i64
}

fn props(uid: u64) -> Map {
    let mut m = Map::new();
    m.insert("uid", uid);
    m.insert("tag", tag(uid));
    m.insert("plan", ["free", "team", "enterprise"][(uid % 3) as usize]);
    m.insert("pad", "p".repeat(1300 + (uid % 97) as usize));
    m
}

/// Event `uid` of `source`, for `key`.
pub fn new_event(key: &str, uid: u64, source: usize) -> NewEvent {
    let mut e = NewEvent::new(NAMES[(uid % 3) as usize], key)
        .profile(profile_of(uid))
        .timestamp_ms(timestamp(uid))
        .properties(props(uid));
    if let Some(anon) = anonymous_of(uid, source) {
        e = e.context_field("anonymous_id", anon);
    }
    e
}

/// Every tag in `bytes`.
pub fn tags_in(bytes: &[u8], found: &mut BTreeSet<u64>) {
    let mut i = 0;
    while i + 8 <= bytes.len() {
        if bytes[i] == b'<'
            && bytes[i + 7] == b'>'
            && bytes[i + 1..i + 7].iter().all(u8::is_ascii_digit)
        {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 7]).unwrap_or("0");
            found.insert(digits.parse().unwrap_or(0));
            i += 8;
        } else {
            i += 1;
        }
    }
}

// ---- the workload ---------------------------------------------------------------

/// One step of the workload.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// A batch of `n` events to a source.
    Ingest {
        source: usize,
        n: u64,
    },
    /// The clock moves on (no I/O).
    Advance {
        days: u64,
    },
    /// The help desk gets its own maximum age ([`DESK_MAX_AGE`]).
    DeskMaxAge,
    /// An erasure request (of the web source only, or of all), with suppression.
    Erase {
        profile: &'static str,
        web_only: bool,
        suppress: bool,
    },
    Suppress(&'static str),
    Unsuppress(&'static str),
    /// A retention policy: a maximum age in days, [`RETENTION_BYTES`] or not.
    Retention {
        max_age_days: u64,
        by_size: bool,
    },
    /// One maintenance pass.
    Maintain,
}

/// The workload, run on [`build_base`]'s store (day 30).
pub const WORKLOAD: &[Step] = &[
    Step::DeskMaxAge,
    Step::Erase {
        profile: "user-3",
        web_only: false,
        suppress: false,
    },
    // user-3 again: new data, not erased.
    Step::Ingest { source: WEB, n: 8 },
    Step::Advance { days: 20 },
    // Day 50: the desk's day-0 events expired; user-3 and anon-3 go.
    Step::Maintain,
    Step::Suppress("user-5"),
    Step::Ingest { source: DESK, n: 8 },
    Step::Erase {
        profile: "user-1",
        web_only: true,
        suppress: true,
    },
    Step::Ingest { source: WEB, n: 8 },
    Step::Unsuppress("user-5"),
    Step::Ingest { source: DESK, n: 8 },
    // Day 50: the segments holding only day-0 events expired.
    Step::Retention {
        max_age_days: 45,
        by_size: false,
    },
    Step::Maintain,
    Step::Advance { days: 10 },
    Step::Retention {
        max_age_days: 45,
        by_size: true,
    },
    Step::Maintain,
    // user-6 has events in the active segment: the pass seals it first.
    Step::Erase {
        profile: "user-6",
        web_only: false,
        suppress: false,
    },
    Step::Maintain,
];

/// An event sent, and what the store said.
#[derive(Clone, Debug)]
pub struct Sent {
    pub uid: u64,
    pub source: usize,
    pub received_ms: i64,
    /// Acknowledged with this sequence number (`None`: the call failed or is in
    /// flight: the event may or may not be stored).
    pub seq: Option<u64>,
    /// Its profile was suppressed: never stored.
    pub suppressed: bool,
}

/// An erasure request asked.
#[derive(Clone, Debug)]
pub struct Asked {
    pub profile: &'static str,
    pub web_only: bool,
    pub up_to_seq: u64,
    /// The ids it covers: the profile and its anonymous ids.
    pub ids: Vec<String>,
    /// The call returned `Ok` (else it failed or is in flight: the request may
    /// or may not be in the catalog).
    pub sure: bool,
}

/// Whether a setting took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    No,
    Maybe,
    Yes,
}

/// What a store must show; see the module documentation.
#[derive(Clone)]
pub struct Model {
    pub sources: Vec<Source>,
    pub clock: Arc<ManualClock>,
    pub sent: BTreeMap<u64, Sent>,
    pub next_uid: u64,
    pub asked: Vec<Asked>,
    /// The desk's own maximum age.
    pub desk_max_age: Applied,
    /// Desk events received before this may have been removed by a pass.
    pub expiry_cutoff: Option<i64>,
    /// Suppressed profiles (with "web only"), sure and maybe.
    pub suppressed: BTreeMap<&'static str, (bool, Applied)>,
    /// Bounds of the log start.
    pub log_start_min: u64,
    pub log_start_max: Option<u64>,
}

/// How far a checked store has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The store the workload ran on.
    Live,
    /// Reopened, nothing done yet: `verify()` must be clean.
    Reopened,
    /// After a successful maintenance pass: every request done, every expired
    /// desk event gone.
    Maintained,
}

impl Model {
    /// A fresh model for a store with these sources, on this clock.
    pub fn new(sources: Vec<Source>, clock: Arc<ManualClock>) -> Model {
        Model {
            sources,
            clock,
            sent: BTreeMap::new(),
            next_uid: 1,
            asked: Vec::new(),
            desk_max_age: Applied::No,
            expiry_cutoff: None,
            suppressed: BTreeMap::new(),
            log_start_min: 1,
            log_start_max: Some(1),
        }
    }

    /// This model on another clock showing the same time.
    pub fn with_clock(&self, clock: Arc<ManualClock>) -> Model {
        Model {
            clock,
            ..self.clone()
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A new clock showing the model's time (for a store opened on a copy).
    pub fn fresh_clock(&self) -> Arc<ManualClock> {
        Arc::new(ManualClock::new(self.now()))
    }

    /// True when a sure suppression covers event `uid` of `source`.
    fn is_suppressed(&self, uid: u64, source: usize) -> bool {
        let profile = profile_of(uid);
        let ids = [Some(profile.as_str()), anonymous_of(uid, source)];
        self.suppressed.iter().any(|(p, (web_only, state))| {
            *state == Applied::Yes && (!web_only || source == WEB) && ids.contains(&Some(p))
        })
    }

    /// True when `request` covers event `uid` of `source` stored at `seq`.
    fn covers(request: &Asked, uid: u64, source: usize, seq: u64) -> bool {
        let profile = profile_of(uid);
        seq <= request.up_to_seq
            && (!request.web_only || source == WEB)
            && request
                .ids
                .iter()
                .any(|id| *id == profile || Some(id.as_str()) == anonymous_of(uid, source))
    }
}

/// Runs one step against the store and the model. The model is unlocked while
/// the store works (a crash checker reads it then): a step in flight is "maybe".
/// `log_start_after`: the log start after this step in a run without faults,
/// when known (it bounds what a pass interrupted here can have deleted).
pub fn run_step(
    model: &Mutex<Model>,
    store: &Store,
    step: Step,
    log_start_after: Option<u64>,
) -> Result<(), Error> {
    match step {
        Step::Ingest { source, n } => ingest(model, store, source, n),
        Step::Advance { days } => {
            model.lock().clock.advance(DAY * days as u32);
            Ok(())
        }
        Step::DeskMaxAge => {
            let desk = {
                let mut m = model.lock();
                if m.desk_max_age == Applied::No {
                    m.desk_max_age = Applied::Maybe;
                }
                m.sources[DESK].id()
            };
            let source = store.set_source_max_age(desk, Some(DESK_MAX_AGE))?;
            assert_eq!(source.max_age(), Some(DESK_MAX_AGE));
            model.lock().desk_max_age = Applied::Yes;
            Ok(())
        }
        Step::Erase {
            profile,
            web_only,
            suppress,
        } => erase(model, store, profile, web_only, suppress),
        Step::Suppress(profile) => {
            model
                .lock()
                .suppressed
                .insert(profile, (false, Applied::Maybe));
            store.suppress_profile(profile, Scope::All)?;
            model
                .lock()
                .suppressed
                .insert(profile, (false, Applied::Yes));
            Ok(())
        }
        Step::Unsuppress(profile) => {
            if let Some(s) = model.lock().suppressed.get_mut(profile) {
                s.1 = Applied::Maybe;
            }
            assert!(
                store.unsuppress_profile(profile)?,
                "{profile} was suppressed"
            );
            model.lock().suppressed.remove(profile);
            Ok(())
        }
        Step::Retention {
            max_age_days,
            by_size,
        } => {
            let mut policy = Retention::default().max_age(DAY * max_age_days as u32);
            if by_size {
                policy = policy.max_bytes(RETENTION_BYTES);
            }
            store.set_retention(policy)?;
            assert_eq!(store.retention(), policy);
            Ok(())
        }
        Step::Maintain => maintain(model, store, log_start_after).map(|_| ()),
    }
}

fn ingest(model: &Mutex<Model>, store: &Store, source: usize, n: u64) -> Result<(), Error> {
    let (events, uids) = {
        let mut m = model.lock();
        let key = m.sources[source].write_key().to_owned();
        let first = m.next_uid;
        m.next_uid += n;
        let now = m.now();
        let uids: Vec<u64> = (first..first + n).collect();
        for &uid in &uids {
            let suppressed = m.is_suppressed(uid, source);
            m.sent.insert(
                uid,
                Sent {
                    uid,
                    source,
                    received_ms: now,
                    seq: None,
                    suppressed,
                },
            );
        }
        let events: Vec<NewEvent> = uids.iter().map(|&u| new_event(&key, u, source)).collect();
        (events, uids)
    };
    let receipts = store.collect_batch(events)?;
    let mut m = model.lock();
    assert_eq!(receipts.len(), uids.len());
    for (uid, receipt) in uids.iter().zip(receipts) {
        let receipt = receipt.expect("a valid event in a batch is accepted");
        let sent = m.sent.get_mut(uid).expect("sent");
        assert_eq!(
            receipt.suppressed,
            sent.suppressed,
            "uid {uid} ({}): suppression",
            profile_of(*uid)
        );
        assert_eq!(receipt.seq.is_none(), sent.suppressed, "{receipt:?}");
        sent.seq = receipt.seq;
    }
    Ok(())
}

fn erase(
    model: &Mutex<Model>,
    store: &Store,
    profile: &'static str,
    web_only: bool,
    suppress: bool,
) -> Result<(), Error> {
    let scope = {
        let mut m = model.lock();
        let up_to_seq = store.last_seq();
        let mut ids = vec![profile.to_owned()];
        for s in m.sent.values() {
            let in_scope = !web_only || s.source == WEB;
            let stored = s.seq.is_some_and(|seq| seq <= up_to_seq);
            if in_scope
                && stored
                && profile_of(s.uid) == profile
                && let Some(anon) = anonymous_of(s.uid, s.source)
                && !ids.iter().any(|id| id == anon)
            {
                ids.push(anon.to_owned());
            }
        }
        m.asked.push(Asked {
            profile,
            web_only,
            up_to_seq,
            ids,
            sure: false,
        });
        if suppress {
            m.suppressed.insert(profile, (web_only, Applied::Maybe));
        }
        if web_only {
            Scope::Sources(vec![m.sources[WEB].id()])
        } else {
            Scope::All
        }
    };
    let request: Erasure = if suppress {
        store.erase_and_suppress_profile(profile, scope)?
    } else {
        store.erase_profile(profile, scope)?
    };
    let mut m = model.lock();
    let asked = m.asked.last_mut().expect("asked");
    assert_eq!(request.up_to_seq, asked.up_to_seq, "{request:?}");
    assert_eq!(request.profile_id.as_deref(), Some(profile));
    assert!(!request.is_done(), "{request:?}");
    assert_eq!(request.suppress, suppress);
    asked.sure = true;
    if suppress {
        m.suppressed.insert(profile, (web_only, Applied::Yes));
    }
    Ok(())
}

/// One maintenance pass, in the model too; returns the log start after it.
pub fn maintain(
    model: &Mutex<Model>,
    store: &Store,
    log_start_after: Option<u64>,
) -> Result<u64, Error> {
    {
        let mut m = model.lock();
        if m.desk_max_age != Applied::No {
            let cutoff = m.now() - DESK_MAX_AGE.as_millis() as i64;
            m.expiry_cutoff = Some(m.expiry_cutoff.map_or(cutoff, |c| c.max(cutoff)));
        }
        m.log_start_max = log_start_after;
    }
    let report = store.maintain()?;
    let start = store.log_start();
    assert_eq!(report.log_start, start);
    for request in store.erasures() {
        assert!(request.is_done(), "a pass left {request:?}");
    }
    let mut m = model.lock();
    assert!(start >= m.log_start_min, "the log start moved back");
    if let Some(max) = log_start_after {
        assert!(start <= max, "log start {start}, at most {max} expected");
    }
    m.log_start_min = start;
    m.log_start_max = Some(start);
    Ok(start)
}

impl Model {
    /// Checks `store` against the model (see the module documentation); `files`
    /// lists the store's files with their bytes (checked after a pass: no byte of
    /// an erased event left, no stray file). Returns the visible events' uids by
    /// sequence number.
    pub fn check(
        &self,
        store: &Store,
        phase: Phase,
        files: Option<&dyn Fn() -> Files>,
        what: &str,
    ) -> BTreeMap<u64, u64> {
        let active = self.requests(store, phase, what);
        let log_start = store.log_start();
        assert!(
            log_start >= self.log_start_min
                && self.log_start_max.is_none_or(|max| log_start <= max),
            "{what}: log start {log_start} outside {}..={:?}",
            self.log_start_min,
            self.log_start_max
        );
        let visible = self.visible(store, &active, log_start, what);
        // Desk events older than its maximum age are gone after a pass.
        let expired_before = match store
            .source(self.sources[DESK].id())
            .and_then(|s| s.max_age())
        {
            Some(age) if phase == Phase::Maintained => {
                assert_ne!(
                    self.desk_max_age,
                    Applied::No,
                    "{what}: a max age never set"
                );
                Some(self.now() - age.as_millis() as i64)
            }
            Some(_) => None,
            None => {
                assert_ne!(
                    self.desk_max_age,
                    Applied::Yes,
                    "{what}: the desk's max age was lost"
                );
                None
            }
        };
        for s in self.sent.values() {
            let (Some(seq), false) = (s.seq, s.suppressed) else {
                continue;
            };
            let erased = active.iter().any(|r| Self::covers(r, s.uid, s.source, seq));
            let may_expire =
                s.source == DESK && self.expiry_cutoff.is_some_and(|c| s.received_ms < c);
            let expired = s.source == DESK && expired_before.is_some_and(|c| s.received_ms < c);
            let seen = visible.contains_key(&seq);
            if expired {
                assert!(
                    !seen,
                    "{what}: desk event {seq} (uid {}) outlived its max age",
                    s.uid
                );
            }
            if seq >= log_start && !erased && !may_expire && !expired {
                assert!(
                    seen,
                    "{what}: acknowledged event {seq} (uid {}, {}) lost",
                    s.uid,
                    profile_of(s.uid)
                );
            }
        }
        self.check_queries(store, &visible, what);
        self.check_suppressions(store, what);
        if phase != Phase::Live {
            let report = store.verify().expect("verify");
            assert!(report.is_clean(), "{what}: {:?}", report.problems);
        }
        if let Some(files) = files {
            self.check_files(&files(), &active, &visible, phase, what);
        }
        visible
    }

    /// The erasure requests the store holds: those asked with `Ok`, and maybe
    /// the one in flight, in order, each as asked.
    fn requests(&self, store: &Store, phase: Phase, what: &str) -> Vec<Asked> {
        let requests = store.erasures();
        let sure = self.asked.iter().filter(|a| a.sure).count();
        let maybe = self.asked.len() - sure;
        assert!(
            (sure..=sure + maybe).contains(&requests.len()),
            "{what}: {} erasure requests, {sure} asked (+{maybe} maybe): {requests:?}",
            requests.len()
        );
        for (request, asked) in requests.iter().zip(&self.asked) {
            assert_eq!(request.up_to_seq, asked.up_to_seq, "{what}: {request:?}");
            if !request.is_done() {
                assert_eq!(request.profile_id.as_deref(), Some(asked.profile), "{what}");
            }
            if phase == Phase::Maintained {
                assert!(request.is_done(), "{what}: a pass left {request:?}");
            }
        }
        self.asked[..requests.len()].to_vec()
    }

    /// Every event `read_from` shows, checked one by one: uids by seq.
    fn visible(
        &self,
        store: &Store,
        active: &[Asked],
        log_start: u64,
        what: &str,
    ) -> BTreeMap<u64, u64> {
        let mut visible = BTreeMap::new();
        let mut uids = BTreeSet::new();
        let mut last = 0;
        for e in store.read_from(0) {
            let e = e.unwrap_or_else(|e| panic!("{what}: reading: {e}"));
            let seq = e.seq();
            assert!(
                seq > last && seq >= log_start,
                "{what}: seq {seq} after {last}, start {log_start}"
            );
            last = seq;
            let uid = e
                .properties()
                .get("uid")
                .and_then(|v| v.as_i64())
                .unwrap_or_else(|| panic!("{what}: event without uid: {}", e.to_json()))
                as u64;
            let sent = self
                .sent
                .get(&uid)
                .unwrap_or_else(|| panic!("{what}: never-sent event appeared: {}", e.to_json()));
            assert!(
                !sent.suppressed,
                "{what}: suppressed event stored: {}",
                e.to_json()
            );
            assert!(uids.insert(uid), "{what}: uid {uid} stored twice");
            if let Some(acked) = sent.seq {
                assert_eq!(seq, acked, "{what}: uid {uid} moved");
            }
            self.check_content(&e, sent, what);
            if let Some(r) = active
                .iter()
                .find(|r| Self::covers(r, uid, sent.source, seq))
            {
                panic!(
                    "{what}: event {seq} (uid {uid}, {}) erased by the request for {} is readable",
                    profile_of(uid),
                    r.profile
                );
            }
            visible.insert(seq, uid);
        }
        visible
    }

    fn check_content(&self, e: &Event, sent: &Sent, what: &str) {
        let uid = sent.uid;
        let ok = e.source() == self.sources[sent.source].id()
            && e.name() == NAMES[(uid % 3) as usize]
            && e.profile_id() == Some(profile_of(uid).as_str())
            && e.timestamp() == timestamp(uid)
            && e.received_at() == sent.received_ms
            && e.context().get("anonymous_id").and_then(|v| v.as_str())
                == anonymous_of(uid, sent.source)
            && *e.properties() == props(uid);
        assert!(ok, "{what}: stored event is not {sent:?}: {}", e.to_json());
    }

    /// Queries (the index path) agree with `read_from`, profile by profile.
    fn check_queries(&self, store: &Store, visible: &BTreeMap<u64, u64>, what: &str) {
        for (i, source) in self.sources.iter().enumerate() {
            let mine: Vec<(u64, u64)> = visible
                .iter()
                .filter(|(_, uid)| self.sent[uid].source == i)
                .map(|(seq, uid)| (*seq, *uid))
                .collect();
            let query = store.query(source.id());
            assert_eq!(query.count().unwrap(), mine.len() as u64, "{what}: count");
            let seqs: Vec<u64> = query.iter().map(|e| e.unwrap().seq()).collect();
            let expected: Vec<u64> = mine.iter().map(|(seq, _)| *seq).collect();
            assert_eq!(seqs, expected, "{what}: query of source {i}");
            for profile in ["user-3", "anon-3", "user-1", "user-6"] {
                let n = mine
                    .iter()
                    .filter(|(_, uid)| profile_of(*uid) == profile)
                    .count();
                let q = store.query(source.id()).profile(profile);
                assert_eq!(
                    q.count().unwrap(),
                    n as u64,
                    "{what}: {profile} in source {i}"
                );
            }
        }
    }

    fn check_suppressions(&self, store: &Store, what: &str) {
        let held: BTreeSet<String> = store
            .suppressions()
            .into_iter()
            .map(|s| s.profile_id)
            .collect();
        for (profile, (_, state)) in &self.suppressed {
            if *state == Applied::Yes {
                assert!(
                    held.contains(*profile),
                    "{what}: suppression of {profile} lost"
                );
            }
        }
        for profile in &held {
            assert!(
                self.suppressed.contains_key(profile.as_str()),
                "{what}: {profile} suppressed, never asked (or lifted)"
            );
        }
    }

    /// No file holds a tag of an erased event; every visible event's tag is
    /// somewhere (the search works); after reopening, no stray file.
    fn check_files(
        &self,
        files: &Files,
        active: &[Asked],
        visible: &BTreeMap<u64, u64>,
        phase: Phase,
        what: &str,
    ) {
        let mut found = BTreeSet::new();
        for (_, bytes) in files {
            tags_in(bytes, &mut found);
        }
        for uid in visible.values() {
            assert!(
                found.contains(uid),
                "{what}: the tag of visible uid {uid} is in no file"
            );
        }
        for s in self.sent.values() {
            let erased = s
                .seq
                .is_some_and(|seq| active.iter().any(|r| Self::covers(r, s.uid, s.source, seq)));
            if phase == Phase::Maintained && erased && found.contains(&s.uid) {
                let holders: Vec<&String> = files
                    .iter()
                    .filter(|(_, b)| {
                        let mut f = BTreeSet::new();
                        tags_in(b, &mut f);
                        f.contains(&s.uid)
                    })
                    .map(|(n, _)| n)
                    .collect();
                panic!(
                    "{what}: erased event uid {} ({}) still in {holders:?}",
                    s.uid,
                    profile_of(s.uid)
                );
            }
        }
        let names: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        for name in &names {
            let known = *name == "catalog"
                || name.starts_with("rejected.ndjson")
                || name.ends_with(".seg")
                || name.ends_with(".tmp")
                || name.ends_with(".idx");
            assert!(known, "{what}: unknown file {name}");
            if let Some(first) = name.strip_suffix(".idx") {
                assert!(
                    names.contains(format!("{first}.seg").as_str()),
                    "{what}: index file {name} without its segment: {names:?}"
                );
            }
        }
    }
}

/// Every event of `store` by sequence number (to compare stores: equal events
/// write the same JSON).
pub fn events_by_seq(store: &Store) -> BTreeMap<u64, Event> {
    store
        .read_from(0)
        .map(|e| {
            let e = e.expect("reading");
            (e.seq(), e)
        })
        .collect()
}

// ---- the base store ------------------------------------------------------------

/// The store the workload starts from, as files.
#[derive(Clone)]
pub struct Base {
    pub files: Files,
    pub model: Model,
}

/// Builds the base store in `dir` on a fresh in-memory disk: web and desk
/// events received on day 0, 15 and 30 (several sealed segments), closed.
pub fn build_base(dir: &Path) -> Base {
    let mem = MemFs::new();
    let clock = Arc::new(ManualClock::new(T0));
    let store = Store::open_with(dir, options(Arc::new(mem.clone()), clock.clone())).unwrap();
    let sources = vec![
        store.create_source("www Marketing Page").unwrap(),
        store.create_source("Help Desk").unwrap(),
    ];
    let model = Mutex::new(Model::new(sources, clock.clone()));
    for (day, web, desk) in [(0, 40, 32), (15, 32, 24), (30, 24, 16)] {
        clock.set(T0 + day * DAY_MS);
        for _ in 0..8 {
            ingest(&model, &store, WEB, web / 8).unwrap();
            ingest(&model, &store, DESK, desk / 8).unwrap();
        }
    }
    store.close().unwrap();
    drop(store);
    let model = model.into_inner();
    let model = model.with_clock(model.fresh_clock());
    Base {
        files: snapshot(&mem, dir),
        model,
    }
}

/// Files by name with their bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// Every file of `dir` with its bytes, sorted by name.
pub fn snapshot(mem: &MemFs, dir: &Path) -> Files {
    let mut names = mem.list(dir).unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| {
            let bytes = mem.read(&dir.join(&n))?;
            Some((n, bytes))
        })
        .collect()
}

/// A disk holding `files` in `dir`, all durable.
pub fn restore(dir: &Path, files: &[(String, Vec<u8>)]) -> MemFs {
    let mem = MemFs::new();
    mem.create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        mem.write(&dir.join(name), bytes.clone());
    }
    mem
}

/// The log start after each step of [`WORKLOAD`] run on `base` without faults.
pub fn reference_log_starts(dir: &Path, base: &Base) -> Vec<u64> {
    let mem = restore(dir, &base.files);
    let clock = base.model.fresh_clock();
    let store = Store::open_with(dir, options(Arc::new(mem.clone()), clock.clone())).unwrap();
    let model = Mutex::new(base.model.with_clock(clock));
    let mut starts = Vec::new();
    for &step in WORKLOAD {
        run_step(&model, &store, step, None).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        starts.push(store.log_start());
    }
    let files = || snapshot(&mem, dir);
    model
        .lock()
        .check(&store, Phase::Maintained, Some(&files), "reference run");
    starts
}
