//! For every I/O operation N of a deterministic workload (and of `Store::open`), a
//! failure injected at N — once or forever — surfaces as an error (never a panic),
//! poisons the log after a failed write/fsync, and a reopen recovers every event
//! acknowledged under `Durability::Sync`, byte-identical, and nothing never appended.
//! The same for the data lifecycle (retention, erasure, suppression, compaction):
//! see [`lifecycle_fault_point`].

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;

use firstlog::testing::now_ms;
use firstlog::testing::{CrashMode, FaultPlan, FaultyFs, MemFs, Vfs};
use firstlog::{Durability, Error, Event, Map, NewEvent, Options, Source, SourceId, Store, Value};
use parking_lot::Mutex;

use crate::support::lifecycle::{self, Base, Phase};

const SEGMENT_BYTES: u64 = 64 << 10;
const TS_BASE_MS: i64 = 1_700_000_000_000;
const NAMES: [&str; 3] = ["Page Viewed", "Button Clicked", "Form Submitted"];

fn dir() -> PathBuf {
    PathBuf::from("/store")
}

fn options(fs: Arc<dyn Vfs>) -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .durability(Durability::Sync)
        .fs(fs)
}

/// The properties of the event with unique id `uid` (about 1.2 KiB, so a 64 KiB
/// segment rolls by size every ~50 events).
fn props(uid: u64) -> Map {
    let mut nested = Map::new();
    nested.insert("depth", 2);
    nested.insert("tags", Value::from(vec!["a", "b"]));
    let mut m = Map::new();
    m.insert("uid", uid);
    m.insert("ratio", uid as f64 + 0.25);
    m.insert("flag", uid.is_multiple_of(2));
    m.insert("nested", nested);
    m.insert("pad", format!("{uid:06}-").repeat(170));
    m
}

/// One attempted event and what the store said about it.
#[derive(Clone, Debug)]
struct Attempt {
    uid: u64,
    source: SourceId,
    t0: i64,
    t1: i64,
    /// `Some(seq)` when acknowledged; `None` when the call failed (it may or may
    /// not have reached the log).
    acked: Option<u64>,
}

impl Attempt {
    fn name(&self) -> &'static str {
        NAMES[(self.uid % 3) as usize]
    }
    fn profile(&self) -> String {
        format!("user-{}", self.uid % 7)
    }
    fn timestamp(&self) -> i64 {
        TS_BASE_MS + self.uid as i64 * 1000
    }
    fn new_event(&self, key: &str) -> NewEvent {
        NewEvent::new(self.name(), key)
            .profile(self.profile())
            .timestamp_ms(self.timestamp())
            .properties(props(self.uid))
            .context_field("locale", "en-US")
    }
    fn json(&self, key: &str) -> String {
        format!(
            r#"{{"event":"{}","write_key":"{key}","profile_id":"{}","timestamp":{},"properties":{},"context":{{"locale":"en-US"}}}}"#,
            self.name(),
            self.profile(),
            self.timestamp(),
            props(self.uid).to_json()
        )
    }
    /// True when `e` is this event (everything but the sequence number and the
    /// receive time, which is checked against the call's time window).
    fn matches(&self, e: &Event) -> bool {
        e.source() == self.source
            && e.name() == self.name()
            && e.profile_id() == Some(self.profile().as_str())
            && e.timestamp() == self.timestamp()
            && e.properties().to_json() == props(self.uid).to_json()
            && e.context().get("locale").and_then(|v| v.as_str()) == Some("en-US")
            && (self.t0..=self.t1).contains(&e.received_at())
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Create(&'static str),
    One(usize),
    Json(usize),
    Batch(usize, u64),
    Sync,
    Roll,
}

/// The workload: singles, JSON singles, batches (one larger than what is left of a
/// segment), syncs, explicit rolls (one of an empty segment), source creation.
const WORKLOAD: &[Step] = &[
    Step::Create("www Marketing Page"),
    Step::One(0),
    Step::One(0),
    Step::Batch(0, 4),
    Step::Sync,
    Step::Create("Help Desk"),
    Step::Json(1),
    Step::Batch(1, 30),
    Step::Roll,
    Step::Roll,
    Step::One(1),
    Step::Batch(0, 25),
    Step::Json(0),
    Step::Sync,
    Step::Create("Android App"),
    Step::Batch(2, 3),
    Step::One(2),
    Step::Roll,
    Step::One(0),
    Step::Batch(1, 45),
    Step::One(1),
    Step::Json(2),
    Step::One(0),
    Step::Sync,
    Step::Batch(2, 2),
    Step::One(1),
    Step::Roll,
    Step::One(2),
];

/// Whether the failing step wrote to the log (its failure must poison the log).
fn is_log_step(step: Step) -> bool {
    !matches!(step, Step::Create(_))
}

#[derive(Default)]
struct Model {
    sources: Vec<Source>,
    attempts: Vec<Attempt>,
    /// The name of a source whose creation failed (it may exist after reopen).
    failed_source: Option<&'static str>,
}

impl Model {
    fn next_uid(&self) -> u64 {
        self.attempts.len() as u64 + 1
    }

    fn acked(&self) -> impl Iterator<Item = &Attempt> {
        self.attempts.iter().filter(|a| a.acked.is_some())
    }

    /// Runs one step, recording every attempt.
    fn run(&mut self, store: &Store, step: Step) -> Result<(), Error> {
        match step {
            Step::Create(name) => match store.create_source(name) {
                Ok(source) => {
                    self.sources.push(source);
                    Ok(())
                }
                Err(e) => {
                    self.failed_source = Some(name);
                    Err(e)
                }
            },
            Step::One(s) | Step::Json(s) => {
                let source = self.sources[s].clone();
                let mut attempt = Attempt {
                    uid: self.next_uid(),
                    source: source.id(),
                    t0: now_ms(),
                    t1: 0,
                    acked: None,
                };
                let result = if matches!(step, Step::Json(_)) {
                    store.collect_json(attempt.json(source.write_key()).as_bytes())
                } else {
                    store.collect(attempt.new_event(source.write_key()))
                };
                attempt.t1 = now_ms();
                let outcome = result.map(|r| {
                    assert!(r.seq.is_some() && !r.duplicate, "{r:?}");
                    attempt.acked = r.seq;
                });
                self.attempts.push(attempt);
                outcome
            }
            Step::Batch(s, n) => {
                let source = self.sources[s].clone();
                let t0 = now_ms();
                let first = self.next_uid();
                let mut attempts: Vec<Attempt> = (first..first + n)
                    .map(|uid| Attempt {
                        uid,
                        source: source.id(),
                        t0,
                        t1: 0,
                        acked: None,
                    })
                    .collect();
                let events = attempts
                    .iter()
                    .map(|a| a.new_event(source.write_key()))
                    .collect();
                let result = store.collect_batch(events);
                let t1 = now_ms();
                let outcome = result.map(|receipts| {
                    assert_eq!(receipts.len(), attempts.len());
                    for (a, r) in attempts.iter_mut().zip(receipts) {
                        let r = r.expect("a valid event in a batch is accepted");
                        a.acked = r.seq;
                        assert!(a.acked.is_some());
                    }
                });
                for a in &mut attempts {
                    a.t1 = t1;
                }
                self.attempts.extend(attempts);
                outcome
            }
            Step::Sync => store.sync(),
            Step::Roll => store.roll(),
        }
    }
}

/// Every event of the store, in log order, by sequence number; checks contiguity.
fn all_events(store: &Store) -> Vec<Event> {
    let events: Vec<Event> = store
        .read_from(1)
        .collect::<Result<_, _>>()
        .expect("reading the whole log");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq(), i as u64 + 1, "sequence numbers have a gap");
    }
    assert_eq!(store.last_seq(), events.len() as u64);
    events
}

/// Checks a reopened store against the model and against what the live store
/// showed readers before it was dropped (`live_json`, by sequence number).
fn check_recovered(store: &Store, model: &Model, live_json: &BTreeMap<u64, String>, what: &str) {
    // Sources: every acknowledged one, unchanged; at most the one whose creation failed.
    let sources = store.sources();
    assert!(
        sources.len() == model.sources.len()
            || (sources.len() == model.sources.len() + 1
                && model.failed_source == Some(sources[model.sources.len()].name())),
        "{what}: sources {sources:?} vs model {:?}",
        model.sources
    );
    assert_eq!(
        &sources[..model.sources.len()],
        &model.sources[..],
        "{what}"
    );

    let by_uid: HashMap<u64, &Attempt> = model.attempts.iter().map(|a| (a.uid, a)).collect();
    let events = all_events(store);
    let mut seen = HashMap::new();
    for e in &events {
        let uid = e
            .properties()
            .get("uid")
            .and_then(|v| v.as_i64())
            .unwrap_or_else(|| panic!("{what}: event without uid: {}", e.to_json()));
        let attempt = by_uid
            .get(&(uid as u64))
            .unwrap_or_else(|| panic!("{what}: never-appended event appeared: {}", e.to_json()));
        assert!(
            seen.insert(uid as u64, e.seq()).is_none(),
            "{what}: uid {uid} stored twice"
        );
        assert!(
            attempt.matches(e),
            "{what}: {} is not {attempt:?}",
            e.to_json()
        );
        if let Some(seq) = attempt.acked {
            assert_eq!(e.seq(), seq, "{what}: uid {uid} moved");
            assert_eq!(
                Some(&e.to_json()),
                live_json.get(&seq),
                "{what}: acknowledged event {seq} is not byte-identical"
            );
        }
    }
    for a in model.acked() {
        assert!(
            seen.contains_key(&a.uid),
            "{what}: acknowledged event seq {:?} (uid {}) lost",
            a.acked,
            a.uid
        );
    }
    // The index agrees with the log, and everything checks.
    for source in &sources {
        let n = events.iter().filter(|e| e.source() == source.id()).count() as u64;
        assert_eq!(store.query(source.id()).count().unwrap(), n, "{what}");
    }
    let report = store.verify().expect("verify");
    assert!(report.is_clean(), "{what}: {:?}", report.problems);
    // A recovered store takes writes again.
    let source = match sources.first() {
        Some(source) => source.clone(),
        None => store
            .create_source("Reopened")
            .expect("create after reopen"),
    };
    let r = store
        .collect(NewEvent::new("Store Reopened", source.write_key()))
        .unwrap_or_else(|e| panic!("{what}: append after reopen: {e}"));
    assert_eq!(r.seq, Some(events.len() as u64 + 1), "{what}");
}

fn is_injected(e: &Error) -> bool {
    e.to_string().contains("injected fault")
}

/// Runs the workload with a fault at the `n`th operation after the store opened;
/// returns whether the fault was hit (false: the workload completed before it).
fn run_fault_point(n: u64, forever: bool) -> bool {
    let mem = MemFs::new();
    let faulty = FaultyFs::new(mem.clone());
    let store = Store::open_with(dir(), options(Arc::new(faulty.clone()))).expect("clean open");
    let fail_at = faulty.ops() + n;
    faulty.set_plan(FaultPlan {
        fail_at: Some(fail_at),
        forever,
    });
    let mut model = Model::default();
    let mut failed = None;
    for &step in WORKLOAD {
        if let Err(e) = model.run(&store, step) {
            failed = Some((step, e));
            break;
        }
    }
    let hit = faulty.ops() >= fail_at;
    match &failed {
        // No I/O error is swallowed: a hit fault fails the call that met it.
        None => assert!(!hit, "the workload ignored an injected fault"),
        Some((step, e)) => {
            assert!(hit, "{step:?} failed without a fault: {e}");
            assert!(
                // Io, never Corrupt: callers match on Corrupt to decide that data
                // on disk is damaged.
                is_injected(e) && matches!(e, Error::Io { .. }),
                "{step:?}: the failing call must report the injected I/O error, got {e:?}"
            );
        }
    }
    if let Some((step, _)) = failed
        && !model.sources.is_empty()
    {
        let next = model.run(&store, Step::One(0));
        if is_log_step(step) {
            assert!(
                matches!(next, Err(Error::Poisoned { .. })),
                "{step:?} failed; the next append must be Poisoned, got {next:?}"
            );
            assert!(matches!(store.sync(), Err(Error::Poisoned { .. })));
            assert!(matches!(store.roll(), Err(Error::Poisoned { .. })));
        } else if forever {
            assert!(next.is_err(), "a dead disk took an append");
        } else if let Err(e) = next {
            // A failed catalog update does not touch the log.
            panic!("{step:?} failed once; the next append failed too: {e}");
        }
    }
    // What readers of the live store see (the disk works again for this).
    faulty.set_plan(FaultPlan::default());
    let live = all_events(&store);
    let mut live_json = BTreeMap::new();
    for e in &live {
        live_json.insert(e.seq(), e.to_json());
    }
    // Every acknowledged event is visible in the live store, intact.
    for a in model.acked() {
        let seq = a.acked.unwrap_or_default();
        let e = &live[(seq - 1) as usize];
        assert!(a.matches(e), "live: {} is not {a:?}", e.to_json());
    }
    // Power loss right now: only synced data survives.
    let crashed = mem.crash(CrashMode::DropAll, n);
    drop(store);
    // Reopen what the disk holds after the failure (fault disarmed), and what it
    // would hold after a power loss at the failure.
    for (fs, what) in [(mem, "reopen"), (crashed, "power loss")] {
        let reopened = Store::open_with(dir(), options(Arc::new(fs.clone())))
            .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
        check_recovered(&reopened, &model, &live_json, what);
    }
    hit
}

fn fault_loop(forever: bool) -> u64 {
    let mut points = 0;
    for n in 1.. {
        let outcome = catch_unwind(AssertUnwindSafe(|| run_fault_point(n, forever)));
        match outcome {
            Ok(true) => points += 1,
            Ok(false) => break,
            Err(panic) => {
                eprintln!("fault point {n} (forever: {forever}) failed");
                std::panic::resume_unwind(panic);
            }
        }
        assert!(n < 10_000, "the workload never completes");
    }
    points
}

#[test]
fn every_fault_point_of_the_workload_once() {
    let points = fault_loop(false);
    println!("fault points run (once): {points}");
    assert!(points > 100, "{points}");
}

#[test]
fn every_fault_point_of_the_workload_forever() {
    let points = fault_loop(true);
    println!("fault points run (forever): {points}");
    assert!(points > 100, "{points}");
}

// ---- the open path -----------------------------------------------------------------

/// A store that makes `open` do every kind of work: several sealed segments, a
/// missing index (rebuild), a damaged index (rebuild), a leftover temp file
/// (removal), and a torn tail in the active segment (cut).
fn messy_store() -> (MemFs, Vec<String>) {
    let mem = MemFs::new();
    let store = Store::open_with(dir(), options(Arc::new(mem.clone()))).unwrap();
    let source = store.create_source("www Marketing Page").unwrap();
    let mut model = Model {
        sources: vec![source],
        ..Model::default()
    };
    for _ in 0..3 {
        model.run(&store, Step::Batch(0, 20)).unwrap();
        model.run(&store, Step::Roll).unwrap();
    }
    model.run(&store, Step::Batch(0, 5)).unwrap();
    let expected: Vec<String> = all_events(&store).iter().map(Event::to_json).collect();
    store.close().unwrap();
    drop(store);

    let mut files: Vec<String> = mem.list(&dir()).unwrap();
    files.sort();
    let segs: Vec<&String> = files.iter().filter(|f| f.ends_with(".seg")).collect();
    let idxs: Vec<&String> = files.iter().filter(|f| f.ends_with(".idx")).collect();
    assert!(segs.len() >= 4 && idxs.len() >= 3, "{files:?}");
    mem.remove(&dir().join(idxs[0])).unwrap();
    let damaged = dir().join(idxs[1]);
    let mut bytes = mem.read(&damaged).unwrap();
    bytes[70] ^= 0x40;
    mem.write(&damaged, bytes);
    mem.write(&dir().join("00000000000000000001.idx.tmp"), vec![1, 2, 3]);
    let active = dir().join(segs[segs.len() - 1]);
    let mut bytes = mem.read(&active).unwrap();
    bytes.extend_from_slice(b"FLRC");
    bytes.extend_from_slice(&[0xAB; 100]);
    mem.write(&active, bytes);
    (mem, expected)
}

fn snapshot(mem: &MemFs) -> Vec<(String, Vec<u8>)> {
    let mut files = mem.list(&dir()).unwrap();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = mem.read(&dir().join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

fn restore(files: &[(String, Vec<u8>)]) -> MemFs {
    let mem = MemFs::new();
    mem.create_dir_all(&dir()).unwrap();
    for (name, bytes) in files {
        mem.write(&dir().join(name), bytes.clone());
    }
    mem
}

fn open_fault_point(
    files: &[(String, Vec<u8>)],
    expected: &[String],
    n: u64,
    forever: bool,
) -> bool {
    let mem = restore(files);
    let faulty = FaultyFs::new(mem.clone());
    faulty.set_plan(FaultPlan {
        fail_at: Some(n),
        forever,
    });
    let opened = Store::open_with(dir(), options(Arc::new(faulty.clone())));
    let hit = faulty.ops() >= n;
    match opened {
        Err(e) => {
            assert!(hit, "open failed without a fault: {e}");
            assert!(
                is_injected(&e) && matches!(e, Error::Io { .. }),
                "open must report the injected I/O error, got {e:?}"
            );
        }
        Ok(store) => {
            // A fault in a step whose failure open tolerates (none today) would
            // still have to leave a consistent store.
            faulty.set_plan(FaultPlan::default());
            let got: Vec<String> = all_events(&store).iter().map(Event::to_json).collect();
            assert_eq!(got, expected);
        }
    }
    // The next clean open works and has every event.
    let store =
        Store::open_with(dir(), options(Arc::new(mem))).expect("clean open after a failed open");
    let got: Vec<String> = all_events(&store).iter().map(Event::to_json).collect();
    assert_eq!(got, expected, "fault point {n} of open changed the data");
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    hit
}

fn open_fault_loop() -> u64 {
    let (mem, expected) = messy_store();
    let files = snapshot(&mem);
    // The clean open of the messy store repairs everything it should.
    {
        let store = Store::open_with(dir(), options(Arc::new(restore(&files)))).unwrap();
        let report = store.open_report();
        assert_eq!(report.rebuilt_indexes.len(), 2, "{report:?}");
        assert!(report.tail_repair.is_some(), "{report:?}");
        assert!(!report.removed_files.is_empty(), "{report:?}");
    }
    let mut points = 0;
    for forever in [false, true] {
        for n in 1.. {
            let hit = catch_unwind(AssertUnwindSafe(|| {
                open_fault_point(&files, &expected, n, forever)
            }))
            .unwrap_or_else(|panic| {
                eprintln!("open fault point {n} (forever: {forever}) failed");
                std::panic::resume_unwind(panic)
            });
            if !hit {
                break;
            }
            points += 1;
        }
    }
    points
}

#[test]
fn every_fault_point_of_open() {
    let points = open_fault_loop();
    println!("open fault points run: {points}");
    assert!(points > 40, "{points}");
}

// ---- the data lifecycle --------------------------------------------------------------

/// For every I/O operation N of the lifecycle workload (`support::lifecycle`:
/// a source's maximum age, erasures with and without suppression, suppression,
/// retention by age and by size, maintenance passes between ingest), a failure
/// at N — once or forever — fails the call that met it with the injected I/O
/// error, and then:
/// - the live store shows no event an `Ok` erasure covers, and every other
///   acknowledged event that did not expire (per-source age) or fall below the
///   log start; a pass retried there (once the disk works) finishes;
/// - the disk as the failure left it (the process dies there) and as a power
///   loss at the failure leaves it both reopen, `verify()` clean, with the same
///   events; a pass then finishes every erasure and no file holds a byte of an
///   erased event (nor a stray index file).
///
/// Returns the step that failed (`None`: the workload completed before N).
/// `FIRSTLOG_FAULT_DEBUG=1` prints each point's failing call.
fn lifecycle_fault_point(
    base: &Base,
    reference: &[u64],
    n: u64,
    forever: bool,
) -> Option<lifecycle::Step> {
    let dir = dir();
    let mem = lifecycle::restore(&dir, &base.files);
    let faulty = FaultyFs::new(mem.clone());
    let clock = base.model.fresh_clock();
    let store = Store::open_with(
        &dir,
        lifecycle::options(Arc::new(faulty.clone()), clock.clone()),
    )
    .expect("clean open");
    let model = Mutex::new(base.model.with_clock(clock.clone()));
    let fail_at = faulty.ops() + n;
    faulty.set_plan(FaultPlan {
        fail_at: Some(fail_at),
        forever,
    });
    let mut failed = None;
    for (i, &step) in lifecycle::WORKLOAD.iter().enumerate() {
        if let Err(e) = lifecycle::run_step(&model, &store, step, Some(reference[i])) {
            failed = Some((step, e));
            break;
        }
    }
    let hit = faulty.ops() >= fail_at;
    match &failed {
        None => assert!(!hit, "the workload ignored an injected fault"),
        Some((step, e)) => {
            if std::env::var_os("FIRSTLOG_FAULT_DEBUG").is_some() {
                eprintln!("fault point {n}: {step:?} failed: {e}");
            }
            assert!(hit, "{step:?} failed without a fault: {e}");
            assert!(
                is_injected(e) && matches!(e, Error::Io { .. }),
                "{step:?}: the failing call must report the injected I/O error, got {e:?}"
            );
        }
    }
    // The disk as a power loss at the failure leaves it, and as the failure left
    // it (the process dies now).
    let power_loss = mem.crash(CrashMode::DropAll, n);
    let killed = mem.crash(CrashMode::KeepAll, n);
    faulty.set_plan(FaultPlan::default());
    let model = model.into_inner();
    model.check(&store, Phase::Live, None, "live");
    let live = lifecycle::events_by_seq(&store);
    // The live store retries the pass and finishes (a failed log write poisoned
    // it: then it refuses, and reopening is the way on).
    let retried = Mutex::new(model.clone());
    match lifecycle::maintain(&retried, &store, None) {
        Ok(_) => {
            let files = || lifecycle::snapshot(&mem, &dir);
            retried
                .lock()
                .check(&store, Phase::Maintained, Some(&files), "live, retried");
        }
        Err(Error::Poisoned { .. }) => {}
        Err(e) => panic!("a pass retried on the live store failed: {e}"),
    }
    drop(store);
    // Most failures leave nothing unsynced: the power loss then changes nothing
    // (but leftover temporary files, which opening deletes).
    let durable = |fs: &MemFs| {
        let mut files = lifecycle::snapshot(fs, &dir);
        files.retain(|(name, _)| !name.ends_with(".tmp"));
        files
    };
    let mut images = vec![(killed.clone(), "killed")];
    if durable(&power_loss) != durable(&killed) {
        images.push((power_loss, "power loss"));
    }
    for (fs, what) in images {
        let model = model.with_clock(model.fresh_clock());
        let reopened = Store::open_with(
            &dir,
            lifecycle::options(Arc::new(fs.clone()), model.clock.clone()),
        )
        .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
        model.check(&reopened, Phase::Reopened, None, what);
        for (seq, event) in &lifecycle::events_by_seq(&reopened) {
            if let Some(before) = live.get(seq) {
                assert_eq!(before, event, "{what}: event {seq} changed");
            }
        }
        let model = Mutex::new(model);
        lifecycle::maintain(&model, &reopened, None)
            .unwrap_or_else(|e| panic!("{what}: the pass after reopening failed: {e}"));
        let files = || lifecycle::snapshot(&fs, &dir);
        model
            .lock()
            .check(&reopened, Phase::Maintained, Some(&files), what);
    }
    failed.map(|(step, _)| step)
}

/// Runs every fault point; returns how many, by the kind of step that failed.
fn lifecycle_fault_loop(forever: bool) -> BTreeMap<String, u64> {
    let base = lifecycle::build_base(&dir());
    let reference = lifecycle::reference_log_starts(&dir(), &base);
    let mut points = BTreeMap::new();
    for n in 1.. {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            lifecycle_fault_point(&base, &reference, n, forever)
        }));
        match outcome {
            Ok(Some(step)) => {
                let kind = format!("{step:?}");
                let kind = kind.split([' ', '(']).next().unwrap_or_default();
                *points.entry(kind.to_owned()).or_default() += 1;
            }
            Ok(None) => break,
            Err(panic) => {
                eprintln!("lifecycle fault point {n} (forever: {forever}) failed");
                std::panic::resume_unwind(panic);
            }
        }
        assert!(n < 20_000, "the workload never completes");
    }
    points
}

/// Every kind of step met faults, the passes most.
fn check_lifecycle_points(points: &BTreeMap<String, u64>) {
    for kind in [
        "DeskMaxAge",
        "Erase",
        "Ingest",
        "Suppress",
        "Unsuppress",
        "Retention",
        "Maintain",
    ] {
        assert!(
            points.contains_key(kind),
            "no fault in a {kind} step: {points:?}"
        );
    }
    assert!(points["Maintain"] > 200, "{points:?}");
}

#[test]
fn every_fault_point_of_the_lifecycle_once() {
    let points = lifecycle_fault_loop(false);
    println!("lifecycle fault points run (once), by step: {points:?}");
    check_lifecycle_points(&points);
}

#[test]
fn every_fault_point_of_the_lifecycle_forever() {
    let points = lifecycle_fault_loop(true);
    println!("lifecycle fault points run (forever), by step: {points:?}");
    check_lifecycle_points(&points);
}
