//! Model-based crash test: random sequences of collect / collect_batch / sync /
//! roll / crash(CrashMode, seed) / reopen on `MemFs`, checked against a plain `Vec`:
//! after every crash the recovered log is a prefix of what was appended (same
//! events, same order, byte-identical) and holds at least everything synced.
//! And the data lifecycle (retention, erasure, suppression, compaction) under a
//! power loss at every point where the disk's durable state changes
//! ([`lifecycle_survives_a_power_loss_at_every_point`]).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::support::fs::{HookedFs, Hooks};
use crate::support::lifecycle::{self, Phase};
use firstlog::testing::{CrashMode, MemFs, Vfs};
use firstlog::{Durability, Error, Map, NewEvent, Options, RecoveryMode, Scope, Source, Store};
use parking_lot::Mutex;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

const SEGMENT_BYTES: u64 = 64 << 10;

fn dir() -> PathBuf {
    PathBuf::from("/crash")
}

// ---- a MemFs that remembers what was synced -----------------------------------------

/// Per file, its content at its last successful `sync_data`: what FORMAT.md §3
/// promises survives a power loss ("writes that were synced are intact"). Every
/// simulated crash is checked against it, so a lost synced event is the
/// engine's fault, never the simulator's.
#[derive(Default)]
struct Synced {
    mem: MemFs,
    bytes: Mutex<HashMap<PathBuf, Vec<u8>>>,
}

impl Hooks for Synced {
    fn sync(&self, path: &Path, sync: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        // The bytes there before the sync are durable after it (other threads may
        // write or shrink the file meanwhile: the snapshot is taken atomically, and
        // before, so it never claims more than the sync covered).
        let mut synced = self.bytes.lock();
        let before = self.mem.read(path);
        sync()?;
        if let Some(bytes) = before {
            synced.insert(path.to_path_buf(), bytes);
        }
        Ok(())
    }
    fn renamed(&self, from: &Path, to: &Path) {
        let mut synced = self.bytes.lock();
        match synced.remove(from) {
            Some(bytes) => synced.insert(to.to_path_buf(), bytes),
            None => synced.remove(to),
        };
    }
    fn removed(&self, path: &Path) {
        self.bytes.lock().remove(path);
    }
}

/// A `MemFs` that remembers what each sync made durable.
type Tracked = HookedFs<Synced>;

/// The record of what each sync made durable, for `mem`, on which everything
/// is durable now (a freshly crashed disk).
fn synced_over(mem: MemFs) -> Synced {
    let mut bytes = HashMap::new();
    if let Ok(names) = mem.list(&dir()) {
        for name in names {
            let path = dir().join(name);
            if let Some(content) = mem.read(&path) {
                bytes.insert(path, content);
            }
        }
    }
    Synced {
        mem,
        bytes: Mutex::new(bytes),
    }
}

/// A tracked file system over `mem`, on which everything is durable (a freshly
/// crashed disk).
fn tracked(mem: MemFs) -> Tracked {
    HookedFs::new(mem.clone(), synced_over(mem))
}

/// A simulated power loss now, and whether some byte that was synced and not
/// overwritten since differs in it (the simulator broke FORMAT.md §3). Holds the
/// snapshot lock throughout, so a background sync (`Interval`) cannot land
/// between the crash and the check.
fn crash(fs: &Tracked, mode: CrashMode, seed: u64) -> (MemFs, bool) {
    crash_synced(&fs.hooks, mode, seed, &|_| false)
}

/// [`crash`] of the disk `fs` watches, not checking the paths `skip` names.
fn crash_synced(
    fs: &Synced,
    mode: CrashMode,
    seed: u64,
    skip: &dyn Fn(&Path) -> bool,
) -> (MemFs, bool) {
    let synced = fs.bytes.lock();
    let crashed = fs.mem.crash(mode, seed);
    let damaged = synced
        .iter()
        .filter(|(path, _)| !skip(path))
        .any(|(path, snap)| {
            let (Some(now), Some(after)) = (fs.mem.read(path), crashed.read(path)) else {
                return false;
            };
            // Bytes that were synced and not overwritten since must be in `after`.
            let n = snap.len().min(now.len());
            (0..n).any(|i| snap[i] == now[i] && after.get(i) != Some(&snap[i]))
        });
    (crashed, damaged)
}

// ---- the operations and the model --------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Collect { source: usize, pad: usize },
    Batch { source: usize, n: u64, pad: usize },
    Sync,
    Roll,
    Crash { mode: CrashMode, seed: u64 },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let mode = prop_oneof![
        Just(CrashMode::KeepAll),
        Just(CrashMode::DropAll),
        Just(CrashMode::Torn),
        Just(CrashMode::Chaos),
    ];
    prop_oneof![
        8 => (0..2usize, 0..3000usize).prop_map(|(source, pad)| Op::Collect { source, pad }),
        4 => (0..2usize, 1..25u64, 0..1500usize)
            .prop_map(|(source, n, pad)| Op::Batch { source, n, pad }),
        2 => Just(Op::Sync),
        2 => Just(Op::Roll),
        3 => (mode, any::<u64>()).prop_map(|(mode, seed)| Op::Crash { mode, seed }),
        1 => Just(Op::Reopen),
    ]
}

fn durability() -> impl Strategy<Value = Durability> {
    prop_oneof![
        Just(Durability::Buffered),
        Just(Durability::Sync),
        Just(Durability::Interval(Duration::from_millis(2))),
    ]
}

fn options(fs: &Tracked, durability: Durability, recovery: RecoveryMode) -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .durability(durability)
        .recovery(recovery)
        .fs(Arc::new(fs.clone()))
}

fn event(key: &str, uid: u64, pad: usize) -> NewEvent {
    let mut props = Map::new();
    props.insert("uid", uid);
    props.insert("pad", "p".repeat(pad));
    NewEvent::new("Page Viewed", key)
        .profile(format!("user-{}", uid % 5))
        .timestamp_ms(1_700_000_000_000 + uid as i64)
        .properties(props)
}

/// The model: the uids of the log in order, how many of them are durable, and the
/// JSON each had when it was read back from the live store.
struct Model {
    log: Vec<u64>,
    durable: usize,
    json: HashMap<u64, String>,
    next_uid: u64,
}

/// Counters over all cases, printed at the end.
static CRASHES: AtomicU64 = AtomicU64::new(0);
static SALVAGED: AtomicU64 = AtomicU64::new(0);

/// The uids of the store's log, in order, checking sequence numbers and that
/// every event is the one the model knows (byte-identical JSON when recorded).
fn read_log(store: &Store, json: &mut HashMap<u64, String>, record: bool) -> Vec<u64> {
    let mut uids = Vec::new();
    for (i, e) in store.read_from(1).enumerate() {
        let e = e.expect("reading the log");
        assert_eq!(e.seq(), i as u64 + 1, "sequence gap");
        let uid = e
            .properties()
            .get("uid")
            .and_then(|v| v.as_i64())
            .expect("uid") as u64;
        let text = e.to_json();
        match json.get(&uid) {
            Some(known) => assert_eq!(known, &text, "event {uid} changed"),
            None if record => {
                json.insert(uid, text);
            }
            None => panic!("never-appended event {uid} appeared: {text}"),
        }
        uids.push(uid);
    }
    uids
}

fn open(fs: &Tracked, durability: Durability) -> Store {
    match Store::open_with(dir(), options(fs, durability, RecoveryMode::default())) {
        Ok(store) => store,
        Err(e) => panic!("open failed: {e}"),
    }
}

/// Runs one case: the ops against the store and the model.
fn run(ops: &[Op], durability: Durability) -> Result<(), TestCaseError> {
    let mut fs = tracked(MemFs::new());
    let mut store = open(&fs, durability);
    let sources: Vec<Source> = ["Web App", "Help Desk"]
        .iter()
        .map(|n| store.create_source(n).unwrap())
        .collect();
    let mut model = Model {
        log: Vec::new(),
        durable: 0,
        json: HashMap::new(),
        next_uid: 1,
    };
    for op in ops {
        match *op {
            Op::Collect { source, pad } => {
                let uid = model.next_uid;
                model.next_uid += 1;
                let r = store
                    .collect(event(sources[source].write_key(), uid, pad))
                    .expect("collect");
                model.log.push(uid);
                prop_assert_eq!(r.seq, Some(model.log.len() as u64));
            }
            Op::Batch { source, n, pad } => {
                let first = model.next_uid;
                model.next_uid += n;
                let events = (first..first + n)
                    .map(|uid| event(sources[source].write_key(), uid, pad))
                    .collect();
                for r in store.collect_batch(events).expect("batch") {
                    r.expect("batch item");
                }
                model.log.extend(first..first + n);
            }
            Op::Sync => {
                store.sync().expect("sync");
                model.durable = model.log.len();
            }
            Op::Roll => {
                store.roll().expect("roll");
                model.durable = model.log.len();
            }
            Op::Reopen => {
                store.close().expect("close");
                drop(store);
                store = open(&fs, durability);
                let uids = read_log(&store, &mut model.json, true);
                prop_assert_eq!(&uids, &model.log, "a clean reopen lost or added events");
                model.durable = model.log.len();
            }
            Op::Crash { mode, seed } => {
                CRASHES.fetch_add(1, Ordering::Relaxed);
                // Record what readers of the live store see, then lose power.
                let live = read_log(&store, &mut model.json, true);
                prop_assert_eq!(&live, &model.log);
                let (crashed, damaged) = crash(&fs, mode, seed);
                prop_assert!(
                    !damaged,
                    "the {:?} crash (seed {}) damaged synced bytes (FORMAT.md §3)",
                    mode,
                    seed
                );
                drop(store);
                fs = tracked(crashed);
                let opened =
                    Store::open_with(dir(), options(&fs, durability, RecoveryMode::default()));
                store = match opened {
                    Ok(store) => store,
                    Err(e @ Error::Corrupt { .. }) if mode == CrashMode::Chaos => {
                        // Out-of-order sectors can leave damage followed by valid
                        // records: the default refuses, naming the active segment;
                        // salvage cuts at the damage.
                        check_corrupt_names_active_segment(&e, &fs)?;
                        SALVAGED.fetch_add(1, Ordering::Relaxed);
                        let salvage = options(&fs, durability, RecoveryMode::SalvagePrefix);
                        match Store::open_with(dir(), salvage) {
                            Ok(store) => store,
                            Err(e) => panic!("salvage open after {mode:?}/{seed}: {e}"),
                        }
                    }
                    Err(e) => panic!("open after {mode:?} crash (seed {seed}) failed: {e}"),
                };
                let uids = read_log(&store, &mut model.json, false);
                prop_assert!(
                    uids.len() <= model.log.len() && uids[..] == model.log[..uids.len()],
                    "after {:?} (seed {}) the log is not a prefix: {:?} vs {:?}",
                    mode,
                    seed,
                    uids,
                    model.log
                );
                prop_assert!(
                    uids.len() >= model.durable,
                    "after {:?} (seed {}) synced events were lost: {} recovered, {} durable",
                    mode,
                    seed,
                    uids.len(),
                    model.durable
                );
                if mode == CrashMode::KeepAll {
                    prop_assert_eq!(uids.len(), model.log.len());
                }
                let report = store.verify().expect("verify");
                prop_assert!(report.is_clean(), "{:?}", report.problems);
                // The sources survive every crash (the catalog is written atomically).
                prop_assert_eq!(&store.sources(), &sources);
                model.log.truncate(uids.len());
                // Recovery makes what it kept durable.
                model.durable = model.log.len();
            }
        }
        if durability == Durability::Sync {
            model.durable = model.log.len();
        }
    }
    Ok(())
}

fn check_corrupt_names_active_segment(e: &Error, fs: &Tracked) -> Result<(), TestCaseError> {
    let Error::Corrupt { file, offset, .. } = e else {
        unreachable!()
    };
    prop_assert_eq!(Some(file.clone()), last_segment(&fs.mem), "{}", e);
    // The header was synced when the segment was created: the damage is in records.
    prop_assert!(*offset >= 64, "{}", e);
    Ok(())
}

fn last_segment(fs: &MemFs) -> Option<PathBuf> {
    let mut names: Vec<String> = fs
        .list(&dir())
        .ok()?
        .into_iter()
        .filter(|n| n.ends_with(".seg"))
        .collect();
    names.sort();
    names.pop().map(|n| dir().join(n))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn recovered_log_is_a_prefix_holding_everything_synced() {
    let cases = env_u64("FIRSTLOG_CRASH_CASES", 200) as u32;
    let seed = env_u64("FIRSTLOG_CRASH_SEED", 0x5EED_C4A5);
    println!(
        "crash model: {cases} cases, seed {seed} (set FIRSTLOG_CRASH_SEED / FIRSTLOG_CRASH_CASES)"
    );
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (durability(), prop::collection::vec(op(), 1..40));
    let result = runner.run(&strategy, |(durability, ops)| run(&ops, durability));
    println!(
        "crashes simulated: {}, salvage opens after Chaos: {}",
        CRASHES.load(Ordering::Relaxed),
        SALVAGED.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("crash model failed (seed {seed}): {e}");
    }
}

/// FORMAT.md §3: "writes that were synced are intact" — also in a sector that later
/// unsynced appends share (the segment header and the first records live in sector
/// 0): a torn or garbled sector keeps its synced bytes, so a synced event survives
/// every `Torn` and `Chaos` crash. (The simulator once garbled the whole sector:
/// the store then lost the synced event or did not open at all.)
#[test]
fn crash_keeps_synced_bytes() {
    let mut failures = Vec::new();
    for seed in 0..64u64 {
        for mode in [CrashMode::Torn, CrashMode::Chaos] {
            let fs = tracked(MemFs::new());
            let store = open(&fs, Durability::Buffered);
            let key = store
                .create_source("Web App")
                .unwrap()
                .write_key()
                .to_owned();
            store.collect(event(&key, 1, 10)).unwrap();
            store.sync().unwrap();
            store.collect(event(&key, 2, 10)).unwrap();
            let (crashed, damaged) = crash(&fs, mode, seed);
            assert!(!damaged, "{mode:?} seed {seed} damaged synced bytes");
            drop(store);
            let fs = tracked(crashed);
            let recovered = Store::open_with(
                dir(),
                options(&fs, Durability::Buffered, RecoveryMode::SalvagePrefix),
            )
            .map(|s| s.last_seq());
            if !matches!(recovered, Ok(n) if n >= 1) {
                failures.push(format!("{mode:?} seed {seed}: {recovered:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "synced event 1 lost: {failures:#?}");
}

// ---- the data lifecycle, with a power loss at every point ---------------------------

/// A `MemFs` that, while armed, simulates a power loss at every point where
/// what the disk holds durably changes: before and after each file sync, after
/// each rename, remove and directory sync. Each crash image (after `DropAll`,
/// `KeepAll` and, in turn, `Torn` or `Chaos`) is reopened and checked against
/// the lifecycle model at once (a step in flight counts as "maybe"), then a
/// maintenance pass must finish on it.
struct PowerCuts {
    synced: Synced,
    /// Names renamed or removed since the last directory sync: a power loss may
    /// undo that (their synced bytes are then not where `synced` says).
    unsynced_names: Mutex<std::collections::HashSet<PathBuf>>,
    model: Arc<Mutex<lifecycle::Model>>,
    armed: std::sync::atomic::AtomicBool,
    step: AtomicU64,
    points: AtomicU64,
    stats: Mutex<CutStats>,
    /// Images already checked in this step (their durable files' hash).
    seen: Mutex<std::collections::HashSet<(u64, u64)>>,
    /// The first failed check.
    failure: Mutex<Option<String>>,
}

/// What the crash images showed on reopening.
#[derive(Debug, Default)]
struct CutStats {
    images: u64,
    /// A compaction cut between its two renames: a new segment with its old
    /// index, which opening rebuilds.
    rebuilt_indexes: u64,
    /// A deletion cut between the durable log start and the unlinks: segments
    /// below the log start, which opening removes.
    garbage_segments: u64,
    /// Unfinished erasure requests found on reopening (finished by the pass).
    unfinished_erasures: u64,
    salvaged: u64,
}

impl Hooks for PowerCuts {
    fn sync(&self, path: &Path, sync: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        self.cut(&format!("before syncing {}", path.display()));
        self.synced.sync(path, sync)?;
        self.cut(&format!("after syncing {}", path.display()));
        Ok(())
    }
    fn sync_dir(&self, dir: &Path, sync: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        sync()?;
        self.unsynced_names
            .lock()
            .retain(|p| p.parent() != Some(dir));
        self.cut(&format!("after syncing the directory {}", dir.display()));
        Ok(())
    }
    fn renamed(&self, from: &Path, to: &Path) {
        self.synced.renamed(from, to);
        self.unsynced_names
            .lock()
            .extend([from.to_path_buf(), to.to_path_buf()]);
        self.cut(&format!(
            "after renaming {} to {}",
            from.display(),
            to.display()
        ));
    }
    fn removed(&self, path: &Path) {
        self.synced.removed(path);
        self.unsynced_names.lock().insert(path.to_path_buf());
        self.cut(&format!("after removing {}", path.display()));
    }
}

impl PowerCuts {
    fn cut(&self, what: &str) {
        if !self.armed.load(Ordering::SeqCst) || self.failure.lock().is_some() {
            return;
        }
        let point = self.points.fetch_add(1, Ordering::SeqCst);
        let step = self.step.load(Ordering::SeqCst);
        let model = self.model.lock().clone();
        let varied = if point.is_multiple_of(2) {
            CrashMode::Torn
        } else {
            CrashMode::Chaos
        };
        for mode in [CrashMode::DropAll, CrashMode::KeepAll, varied] {
            let unsynced = self.unsynced_names.lock().clone();
            let (image, damaged) =
                crash_synced(&self.synced, mode, point, &|p| unsynced.contains(p));
            let context = format!(
                "power loss ({mode:?}, seed {point}) {what}, in step {step} ({:?})",
                lifecycle::WORKLOAD[step as usize]
            );
            if damaged {
                *self.failure.lock() =
                    Some(format!("{context}: the simulator damaged synced bytes"));
                return;
            }
            if !self.seen.lock().insert((step, durable_hash(&image))) {
                continue;
            }
            let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check_cut(&image, &model, mode, &context)
            }));
            match checked {
                Ok(stats) => {
                    let mut all = self.stats.lock();
                    all.images += 1;
                    all.rebuilt_indexes += stats.rebuilt_indexes;
                    all.garbage_segments += stats.garbage_segments;
                    all.unfinished_erasures += stats.unfinished_erasures;
                    all.salvaged += stats.salvaged;
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    *self.failure.lock() = Some(format!("{context}: {message}"));
                    return;
                }
            }
        }
    }
}

/// A hash of the files a reopen keeps (temporary files are deleted on open).
fn durable_hash(image: &MemFs) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (name, bytes) in lifecycle::snapshot(image, &dir()) {
        if !name.ends_with(".tmp") {
            (name, bytes).hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// Reopens a crash image, checks it, runs a pass on it and checks again.
fn check_cut(image: &MemFs, model: &lifecycle::Model, mode: CrashMode, what: &str) -> CutStats {
    let model = model.with_clock(model.fresh_clock());
    let mut stats = CutStats::default();
    let options = |recovery| {
        lifecycle::options(Arc::new(image.clone()), model.clock.clone()).recovery(recovery)
    };
    let store = match Store::open_with(dir(), options(RecoveryMode::default())) {
        Ok(store) => store,
        // Out-of-order sectors of an append in flight: salvage cuts at the damage.
        Err(Error::Corrupt { .. }) if mode == CrashMode::Chaos => {
            stats.salvaged += 1;
            Store::open_with(dir(), options(RecoveryMode::SalvagePrefix))
                .unwrap_or_else(|e| panic!("{what}: salvage open: {e}"))
        }
        Err(e) => panic!("{what}: reopen failed: {e}"),
    };
    let report = store.open_report();
    stats.rebuilt_indexes = report.rebuilt_indexes.len() as u64;
    stats.garbage_segments = report
        .removed_files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .filter(|p| {
            let first: u64 = p
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            first < store.log_start()
        })
        .count() as u64;
    stats.unfinished_erasures = store.erasures().iter().filter(|r| !r.is_done()).count() as u64;
    model.check(&store, Phase::Reopened, None, what);
    let model = Mutex::new(model);
    lifecycle::maintain(&model, &store, None)
        .unwrap_or_else(|e| panic!("{what}: the pass after reopening failed: {e}"));
    let files = || lifecycle::snapshot(image, &dir());
    model.lock().check(
        &store,
        Phase::Maintained,
        Some(&files),
        &format!("{what}, then a pass"),
    );
    stats
}

/// The lifecycle workload (`support::lifecycle`) on a disk that loses power at
/// every point where its durable state changes: in every image, no
/// acknowledged event that was not erased, expired or deleted is lost, no event
/// an erasure that returned `Ok` covers is readable, `verify()` is clean, and a
/// pass finishes every erasure, leaving no byte of an erased event in any file.
/// Among the images: a compaction cut between its renames (new segment, old
/// index) and a deletion cut between the durable log start and the unlinks.
#[test]
fn lifecycle_survives_a_power_loss_at_every_point() {
    let base = lifecycle::build_base(&dir());
    let reference = lifecycle::reference_log_starts(&dir(), &base);
    let clock = base.model.fresh_clock();
    let model = Arc::new(Mutex::new(base.model.with_clock(clock.clone())));
    let mem = lifecycle::restore(&dir(), &base.files);
    let cuts = PowerCuts {
        synced: synced_over(mem.clone()),
        unsynced_names: Mutex::default(),
        model: model.clone(),
        armed: Default::default(),
        step: AtomicU64::new(0),
        points: AtomicU64::new(0),
        stats: Mutex::default(),
        seen: Mutex::default(),
        failure: Mutex::new(None),
    };
    let fs = HookedFs::new(mem, cuts);
    let store = Store::open_with(dir(), lifecycle::options(Arc::new(fs.clone()), clock)).unwrap();
    for (i, &step) in lifecycle::WORKLOAD.iter().enumerate() {
        fs.hooks.step.store(i as u64, Ordering::SeqCst);
        fs.hooks.armed.store(true, Ordering::SeqCst);
        let outcome = lifecycle::run_step(&model, &store, step, Some(reference[i]));
        fs.hooks.armed.store(false, Ordering::SeqCst);
        if let Some(failure) = fs.hooks.failure.lock().take() {
            panic!("{failure}");
        }
        outcome.unwrap_or_else(|e| panic!("{step:?}: {e}"));
    }
    let points = fs.hooks.points.load(Ordering::SeqCst);
    let stats = fs.hooks.stats.lock();
    println!("lifecycle power cuts: {points} points, {stats:?}");
    assert!(points > 100, "{points}");
    assert!(
        stats.rebuilt_indexes > 0,
        "no cut between a compaction's renames: {stats:?}"
    );
    assert!(
        stats.garbage_segments > 0,
        "no cut between a log start and its unlinks: {stats:?}"
    );
    assert!(stats.unfinished_erasures > 0, "{stats:?}");
}

/// An erasure covers the events up to the last sequence number readers saw when
/// it was asked (`up_to_seq`). Those events must be durable before the request
/// is: else a power loss could hand their sequence numbers to events collected
/// after the request, which it would then hide and erase as if they were old.
#[test]
fn an_erasure_never_covers_events_collected_after_a_power_loss() {
    for mode in [CrashMode::DropAll, CrashMode::Torn, CrashMode::Chaos] {
        let fs = tracked(MemFs::new());
        let store = open(&fs, Durability::Buffered);
        let key = store
            .create_source("Web App")
            .unwrap()
            .write_key()
            .to_owned();
        store.collect(event(&key, 1, 10)).unwrap();
        store.sync().unwrap();
        // Not synced: uid 3 is user-3's.
        for uid in 2..=6 {
            store.collect(event(&key, uid, 2000)).unwrap();
        }
        let request = store.erase_profile("user-3", Scope::All).unwrap();
        assert_eq!(request.up_to_seq, 6);
        let (crashed, damaged) = crash(&fs, mode, 7);
        assert!(!damaged);
        drop(store);
        let fs = tracked(crashed);
        let store = open(&fs, Durability::Buffered);
        // The request survived (it is durable when erase_profile returns).
        let erasure = store.erasure(request.id).unwrap();
        assert_eq!(erasure.up_to_seq, 6);
        // user-3's event collected now is new data: readable, and kept by the pass.
        let source = store.sources()[0].id();
        let late = store.collect(event(&key, 8, 10)).unwrap();
        let seq = late.seq.unwrap();
        let visible = |store: &Store| {
            store
                .read_from(0)
                .map(|e| e.unwrap())
                .any(|e| e.seq() == seq && e.profile_id() == Some("user-3"))
        };
        assert!(
            visible(&store),
            "{mode:?}: user-3's event {seq}, collected after the erasure, is hidden by it \
             (the request covers up to 6)"
        );
        store.maintain().unwrap();
        assert!(visible(&store), "{mode:?}: the pass erased a new event");
        assert_eq!(store.query(source).profile("user-3").count().unwrap(), 1);
    }
}
