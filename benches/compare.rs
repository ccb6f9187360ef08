//! firstlog against what a user would pick instead (SQLite, fjall), on the same
//! workload, in one run, in turn; plus the raw `write` + `fdatasync` loop as the
//! floor for durable ingest, and the firstlog-only targets of issue 7.
//!
//! `cargo bench --bench compare` (N = 1,000,000; `FIRSTLOG_COMPARE_N` changes
//! it). Each engine runs in its own child process (this binary, re-executed with
//! `--child <engine> <n> <dir>`), so that its peak memory (`VmHWM`) is its own.
//! Every engine gets the same typed events and stores the same bytes per event
//! (the record firstlog writes, see `firstlog::workload::encode_record`), and
//! decodes them on query with the same code (`workload::decode_record`), so the
//! differences are the storage engines'. BENCHMARKS.md explains the columns.
//!
//! Run without `--bench` (as `cargo test --benches` does) it is a smoke test on a
//! few thousand events.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use firstlog::time::now_ms;
use firstlog::workload::{
    Workload, WorkloadConfig, batch_json, decode_record, encode_record, event_json, share,
};
use firstlog::{Durability, EventRef, NewEvent, Options, Source, Store};

// ---------------------------------------------------------------------------
// A counting allocator: live heap bytes and the number of allocations.

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are plain atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live_heap() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// A field of /proc/self/status in KiB (`VmHWM`, `VmRSS`, `RssAnon`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Child processes report `RESULT <key> <value>` lines on stdout.

fn report(key: &str, value: f64) {
    println!("RESULT {key} {value}");
    let _ = std::io::stdout().flush();
}

/// Events per batch in the ingest phase, and in the durable phase.
const INGEST_BATCH: usize = 1000;
const DURABLE_BATCH: usize = 100;
/// The source queried: about 5 % of the events.
const QUERY_SOURCE: usize = common::FIVE_PERCENT_SOURCE;
/// Timed repetitions of the query (the best one counts).
const QUERY_RUNS: usize = 5;
/// Rounds of the main children (the best time of each phase counts).
const MAIN_ROUNDS: usize = 3;
/// Rounds of the durable-ingest children (the best round counts).
const DURABLE_ROUNDS: usize = 5;
/// Rounds of the group-commit measurement (the best round counts).
const SYNC_ROUNDS: usize = 3;

/// One engine under test, as the child drives it.
trait Engine {
    /// The write keys the workload must use (by source position).
    fn keys(&self) -> Vec<String>;
    /// Appends a batch: one atomic write (a transaction, a write batch); durable
    /// when opened durable.
    fn append(&mut self, batch: &[NewEvent]);
    /// Makes everything appended so far durable.
    fn sync(&mut self);
    /// Decodes every event of source `k`, in order, handing each to `f`.
    fn query(&mut self, k: usize, f: &mut dyn FnMut(&EventRef<'_>));
    /// The number of events of source `k`.
    fn count(&mut self, k: usize) -> u64;
    /// Record bytes handed to the engine so far (firstlog computes them apart).
    fn bytes_in(&self) -> Option<u64>;
    /// Closes cleanly.
    fn close(self: Box<Self>);
}

/// Write keys of the peers: the same shape as firstlog's (`wk_` + 32 characters).
fn peer_keys() -> Vec<String> {
    (0..common::SOURCES)
        .map(|k| format!("wk_{:032}", k))
        .collect()
}

fn key_map(keys: &[String]) -> HashMap<String, u32> {
    keys.iter()
        .enumerate()
        .map(|(k, key)| (key.clone(), k as u32))
        .collect()
}

// --- firstlog

struct Firstlog {
    store: Store,
    sources: Vec<Source>,
}

impl Firstlog {
    fn open(dir: &Path, durable: bool) -> Firstlog {
        let options = if durable {
            Options::default().durability(Durability::Sync)
        } else {
            Options::default()
        };
        let (store, sources) = common::open_store(dir, options);
        Firstlog { store, sources }
    }
}

impl Engine for Firstlog {
    fn keys(&self) -> Vec<String> {
        common::keys(&self.sources)
    }
    fn append(&mut self, batch: &[NewEvent]) {
        for outcome in self
            .store
            .collect_batch_from(batch)
            .expect("firstlog append")
        {
            outcome.expect("firstlog accepts the event");
        }
    }
    fn sync(&mut self) {
        self.store.sync().expect("firstlog sync");
    }
    fn query(&mut self, k: usize, f: &mut dyn FnMut(&EventRef<'_>)) {
        self.store
            .query(self.sources[k].id())
            .for_each(|e| {
                f(e);
                ControlFlow::Continue(())
            })
            .expect("firstlog query");
    }
    fn count(&mut self, k: usize) -> u64 {
        self.store
            .query(self.sources[k].id())
            .count()
            .expect("firstlog count")
    }
    fn bytes_in(&self) -> Option<u64> {
        None
    }
    fn close(self: Box<Self>) {
        self.store.close().expect("firstlog close");
    }
}

// --- SQLite

struct Sqlite {
    conn: rusqlite::Connection,
    keys: HashMap<String, u32>,
    seq: u64,
    buf: Vec<u8>,
    bytes: u64,
}

impl Sqlite {
    /// WAL, `synchronous=NORMAL` (durable: `FULL`, the WAL is synced at every
    /// commit), one table with an index on (source_id, id).
    fn open(dir: &Path, durable: bool) -> Sqlite {
        std::fs::create_dir_all(dir).expect("create dir");
        let conn = rusqlite::Connection::open(dir.join("events.db")).expect("sqlite open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .expect("sqlite WAL");
        assert_eq!(mode, "wal");
        let sync = if durable { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", sync)
            .expect("sqlite synchronous");
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                 id INTEGER PRIMARY KEY,
                 source_id INTEGER NOT NULL,
                 body BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS events_source ON events (source_id, id);",
        )
        .expect("sqlite schema");
        Sqlite {
            conn,
            keys: key_map(&peer_keys()),
            seq: 0,
            buf: Vec::with_capacity(4096),
            bytes: 0,
        }
    }
}

impl Engine for Sqlite {
    fn keys(&self) -> Vec<String> {
        peer_keys()
    }
    fn append(&mut self, batch: &[NewEvent]) {
        let Sqlite {
            conn,
            keys,
            seq,
            buf,
            bytes,
        } = self;
        let received = now_ms();
        let tx = conn.transaction().expect("sqlite begin");
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO events (id, source_id, body) VALUES (?1, ?2, ?3)")
                .expect("sqlite prepare");
            for event in batch {
                let source = keys[event.write_key()];
                *seq += 1;
                buf.clear();
                let len = encode_record(event, source, *seq, received, buf).expect("encode");
                *bytes += len as u64;
                insert
                    .execute((*seq as i64, source, &buf[..]))
                    .expect("sqlite insert");
            }
        }
        tx.commit().expect("sqlite commit");
    }
    fn sync(&mut self) {
        // With synchronous=NORMAL a checkpoint syncs the WAL, then the database.
        self.conn
            .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))
            .expect("sqlite checkpoint");
    }
    fn query(&mut self, k: usize, f: &mut dyn FnMut(&EventRef<'_>)) {
        let mut select = self
            .conn
            .prepare_cached("SELECT body FROM events WHERE source_id = ?1 ORDER BY id")
            .expect("sqlite prepare");
        let mut rows = select.query([k as u32]).expect("sqlite query");
        while let Some(row) = rows.next().expect("sqlite row") {
            let body = row.get_ref(0).and_then(|v| Ok(v.as_blob()?)).expect("blob");
            f(&decode_record(body).expect("decode"));
        }
    }
    fn count(&mut self, k: usize) -> u64 {
        let mut count = self
            .conn
            .prepare_cached("SELECT count(*) FROM events WHERE source_id = ?1")
            .expect("sqlite prepare");
        count
            .query_row([k as u32], |r| r.get::<_, i64>(0))
            .expect("sqlite count") as u64
    }
    fn bytes_in(&self) -> Option<u64> {
        Some(self.bytes)
    }
    fn close(self: Box<Self>) {
        self.conn.close().map_err(|(_, e)| e).expect("sqlite close");
    }
}

// --- fjall

struct Fjall {
    db: fjall::Database,
    events: fjall::Keyspace,
    durable: bool,
    keys: HashMap<String, u32>,
    seq: u64,
    buf: Vec<u8>,
    bytes: u64,
}

impl Fjall {
    /// Default settings (LZ4 blocks, 64 MiB memtables, 32 MiB block cache), one
    /// write batch per append; durable appends commit with `SyncData`.
    fn open(dir: &Path, durable: bool) -> Fjall {
        let db = fjall::Database::builder(dir).open().expect("fjall open");
        let events = db
            .keyspace("events", fjall::KeyspaceCreateOptions::default)
            .expect("fjall keyspace");
        Fjall {
            db,
            events,
            durable,
            keys: key_map(&peer_keys()),
            seq: 0,
            buf: Vec::with_capacity(4096),
            bytes: 0,
        }
    }
}

impl Engine for Fjall {
    fn keys(&self) -> Vec<String> {
        peer_keys()
    }
    fn append(&mut self, batch: &[NewEvent]) {
        let received = now_ms();
        let mut write = self.db.batch();
        if self.durable {
            write = write.durability(Some(fjall::PersistMode::SyncData));
        }
        for event in batch {
            let source = self.keys[event.write_key()];
            self.seq += 1;
            self.buf.clear();
            let len =
                encode_record(event, source, self.seq, received, &mut self.buf).expect("encode");
            self.bytes += len as u64;
            let mut key = [0u8; 12];
            key[..4].copy_from_slice(&source.to_be_bytes());
            key[4..].copy_from_slice(&self.seq.to_be_bytes());
            write.insert(&self.events, &key[..], &self.buf[..]);
        }
        write.commit().expect("fjall commit");
    }
    fn sync(&mut self) {
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .expect("fjall persist");
    }
    fn query(&mut self, k: usize, f: &mut dyn FnMut(&EventRef<'_>)) {
        for item in self.events.prefix((k as u32).to_be_bytes()) {
            let (_, value) = item.into_inner().expect("fjall read");
            f(&decode_record(&value).expect("decode"));
        }
    }
    fn count(&mut self, k: usize) -> u64 {
        let mut n = 0;
        for item in self.events.prefix((k as u32).to_be_bytes()) {
            item.key().expect("fjall read");
            n += 1;
        }
        n
    }
    fn bytes_in(&self) -> Option<u64> {
        Some(self.bytes)
    }
    fn close(self: Box<Self>) {
        let Fjall { db, events, .. } = *self;
        drop(events);
        db.persist(fjall::PersistMode::SyncAll)
            .expect("fjall persist");
        drop(db);
    }
}

fn open_engine(engine: &str, dir: &Path, durable: bool) -> Box<dyn Engine> {
    match engine {
        "firstlog" => Box::new(Firstlog::open(dir, durable)),
        "sqlite" => Box::new(Sqlite::open(dir, durable)),
        "fjall" => Box::new(Fjall::open(dir, durable)),
        other => panic!("unknown engine {other}"),
    }
}

fn workload(keys: Vec<String>, events: u64) -> Workload {
    let config = WorkloadConfig {
        events,
        ..WorkloadConfig::default()
    };
    Workload::new(config, keys).expect("workload")
}

/// Fills `batch` with up to `n` events; counts them per source.
fn next_batch(w: &mut Workload, batch: &mut Vec<NewEvent>, n: usize, per_source: &mut [u64]) {
    batch.clear();
    while batch.len() < n {
        match w.next_with_source() {
            Some((k, e)) => {
                per_source[k] += 1;
                batch.push(e);
            }
            None => break,
        }
    }
}

/// Ingest, query, count, size on disk, memory: the same phases for every
/// engine.
fn run_engine(engine: &str, n: u64, dir: &Path) {
    let main_dir = dir.join("main");
    let mut db = open_engine(engine, &main_dir, false);

    // Ingest in batches of 1000 (the generator is not timed), then sync.
    let mut w = workload(db.keys(), n);
    let mut batch = Vec::with_capacity(INGEST_BATCH);
    let mut per_source = vec![0u64; common::SOURCES];
    let mut scratch = Vec::new();
    let mut bytes = 0u64;
    let mut ingest = Duration::ZERO;
    let mut allocs = 0u64;
    loop {
        next_batch(&mut w, &mut batch, INGEST_BATCH, &mut per_source);
        if batch.is_empty() {
            break;
        }
        let a0 = allocations();
        let t0 = Instant::now();
        db.append(&batch);
        ingest += t0.elapsed();
        allocs += allocations() - a0;
        if db.bytes_in().is_none() {
            for e in &batch {
                scratch.clear();
                bytes += encode_record(e, 0, 0, 0, &mut scratch).expect("encode") as u64;
            }
        }
    }
    let t0 = Instant::now();
    db.sync();
    ingest += t0.elapsed();
    let bytes = db.bytes_in().unwrap_or(bytes);
    report("ingest_s", ingest.as_secs_f64());
    report("ingest_events", n as f64);
    report("ingest_bytes", bytes as f64);
    report("ingest_allocs", allocs as f64);
    report("rss_after_ingest_kib", status_kib("VmRSS") as f64);
    let mut anon_kib = status_kib("RssAnon");
    report("expected_query_events", per_source[QUERY_SOURCE] as f64);

    // Query the ~5 % source, every event fully decoded; the best of a few runs.
    let mut best = Duration::MAX;
    let mut query_allocs = u64::MAX;
    for _ in 0..QUERY_RUNS {
        let mut events = 0u64;
        let mut checksum = 0u64;
        let a0 = allocations();
        let t0 = Instant::now();
        db.query(QUERY_SOURCE, &mut |e| {
            events += 1;
            checksum = checksum.wrapping_add(
                e.seq() + (e.name().len() + e.properties().len() + e.context().len()) as u64,
            );
        });
        best = best.min(t0.elapsed());
        query_allocs = query_allocs.min(allocations() - a0);
        report("query_events", events as f64);
        report("query_checksum", checksum as f64);
    }
    report("query_s", best.as_secs_f64());
    report("query_allocs", query_allocs as f64);
    anon_kib = anon_kib.max(status_kib("RssAnon"));

    // Count the same source: repeated for a stable mean.
    let t0 = Instant::now();
    let mut reps = 0u64;
    let mut counted = 0;
    while reps < 3 || (t0.elapsed() < Duration::from_millis(300) && reps < 100_000) {
        counted = db.count(QUERY_SOURCE);
        reps += 1;
    }
    report("count_s", t0.elapsed().as_secs_f64() / reps as f64);
    report("count_value", counted as f64);
    db.close();
    report("disk_bytes", common::disk_bytes(&main_dir) as f64);

    anon_kib = anon_kib.max(status_kib("RssAnon"));
    report("anon_kib", anon_kib as f64);
    report("vmhwm_kib", status_kib("VmHWM") as f64);
}

/// Durable ingest: one sync per batch of 100, on a fresh store. Dirty pages left
/// by earlier work are flushed first so that no engine pays for them.
fn run_durable(engine: &str, n: u64, dir: &Path) {
    let n_durable = durable_events(n);
    rustix::fs::sync();
    let mut db = open_engine(engine, dir, true);
    let mut w = workload(db.keys(), n_durable);
    let mut batch = Vec::with_capacity(DURABLE_BATCH);
    let mut per_source = vec![0u64; common::SOURCES];
    let mut durable = Duration::ZERO;
    loop {
        next_batch(&mut w, &mut batch, DURABLE_BATCH, &mut per_source);
        if batch.is_empty() {
            break;
        }
        let t0 = Instant::now();
        db.append(&batch);
        durable += t0.elapsed();
    }
    db.close();
    report("durable_s", durable.as_secs_f64());
    report("durable_events", n_durable as f64);
}

fn durable_events(n: u64) -> u64 {
    (n / 10).clamp(DURABLE_BATCH as u64 * 10, 100_000)
}

/// The raw floor of durable ingest: the same record bytes, 100 per write, each
/// write followed by `fdatasync`, into one file; encoding is not timed. Two
/// files: one appended to (every sync also commits the new size), one reserved
/// up front with `fallocate` and written with `pwrite` as firstlog does with its
/// segments. The faster one is the floor.
fn run_raw(n: u64, dir: &Path) {
    use std::os::unix::fs::FileExt;
    std::fs::create_dir_all(dir).expect("create dir");
    let n_durable = durable_events(n);
    let keys = key_map(&peer_keys());
    for variant in ["append", "fallocate"] {
        let path = dir.join(format!("raw-{variant}.log"));
        let mut file = std::fs::File::create(&path).expect("create");
        if variant == "fallocate" {
            let reserve = n_durable * 1024;
            rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, reserve)
                .expect("fallocate");
            file.sync_all().expect("fsync");
        }
        let mut w = workload(peer_keys(), n_durable);
        let mut batch = Vec::with_capacity(DURABLE_BATCH);
        let mut per_source = vec![0u64; common::SOURCES];
        let mut buf = Vec::new();
        let mut seq = 0u64;
        let mut offset = 0u64;
        rustix::fs::sync();
        let mut elapsed = Duration::ZERO;
        loop {
            next_batch(&mut w, &mut batch, DURABLE_BATCH, &mut per_source);
            if batch.is_empty() {
                break;
            }
            buf.clear();
            let received = now_ms();
            for e in &batch {
                seq += 1;
                encode_record(e, keys[e.write_key()], seq, received, &mut buf).expect("encode");
            }
            let t0 = Instant::now();
            if variant == "append" {
                file.write_all(&buf).expect("write");
            } else {
                file.write_all_at(&buf, offset).expect("pwrite");
            }
            file.sync_data().expect("fdatasync");
            elapsed += t0.elapsed();
            offset += buf.len() as u64;
        }
        report(&format!("durable_{variant}_s"), elapsed.as_secs_f64());
        std::fs::remove_file(&path).expect("remove");
    }
    report("durable_events", n_durable as f64);
}

/// firstlog-only measurements on the store the firstlog child left in
/// `base/firstlog/main`: open time and heap, heap against sealed segments,
/// group commit, JSON collection, owned iteration.
fn run_firstlog_extra(n: u64, base: &Path) {
    let main = base.join("firstlog").join("main");
    let scratch = base.join("extra");
    let smoke = n < 100_000;

    // Clean open: the median of 7, with the heap it leaves allocated.
    let mut times = Vec::new();
    let mut heap = 0;
    for _ in 0..7 {
        let h0 = live_heap();
        let t0 = Instant::now();
        let store = Store::open(&main).expect("open");
        times.push(t0.elapsed());
        heap = live_heap() - h0;
        report("open_records", store.open_report().records as f64);
        report("open_segments", store.open_report().segments as f64);
        store.close().expect("close");
    }
    times.sort();
    report("open_clean_s", times[times.len() / 2].as_secs_f64());
    report("open_heap_bytes", heap as f64);

    // Owned iteration of the 5 % source (for_each is in the main table).
    {
        let store = Store::open(&main).expect("open");
        let source = store.sources()[QUERY_SOURCE].id();
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t0 = Instant::now();
            let mut events = 0u64;
            for e in store.query(source).iter() {
                std::hint::black_box(e.expect("event"));
                events += 1;
            }
            best = best.min(t0.elapsed());
            report("iter_events", events as f64);
        }
        report("iter_s", best.as_secs_f64());
        // Seal the active segment: the heap measured next is then all sealed.
        store.roll().expect("roll");
        store.close().expect("close");
    }

    // Heap after open against the number of sealed events: all of the main
    // store, and a quarter of it, each with every segment sealed.
    let quarter = scratch.join("quarter");
    {
        let (store, sources) = common::open_store(&quarter, Options::default());
        common::fill(&store, &sources, n / 4);
        store.roll().expect("roll");
        store.close().expect("close");
    }
    for (name, dir) in [("full", &main), ("quarter", &quarter)] {
        let h0 = live_heap();
        let store = Store::open(dir).expect("open");
        let heap = live_heap() - h0;
        let stats = store.stats();
        report(&format!("sealed_heap_{name}_bytes"), heap as f64);
        report(&format!("sealed_events_{name}"), stats.events as f64);
        report(
            &format!("sealed_segments_{name}"),
            stats.sealed_segments as f64,
        );
        store.close().expect("close");
    }
    std::fs::remove_dir_all(&quarter).expect("remove");

    // Group commit: single events from 1, 2, 4, 8 threads under Sync for a
    // fixed time each, in interleaved rounds (the best round of each thread
    // count counts: one slow fsync of a busy disk skews a short run).
    let per_thread = if smoke { 20 } else { 2_000 };
    let window = Duration::from_millis(if smoke { 20 } else { 400 });
    let sync_dir = scratch.join("sync");
    {
        let options = Options::default().durability(Durability::Sync);
        let (store, sources) = common::open_store(&sync_dir, options);
        let pool = common::events(common::keys(&sources), per_thread * 8);
        let mut best = [0f64; 4];
        for round in 0..SYNC_ROUNDS {
            for (i, threads) in [1usize, 2, 4, 8].into_iter().enumerate() {
                rustix::fs::sync();
                let t0 = Instant::now();
                let deadline = t0 + window;
                let appended: u64 = std::thread::scope(|s| {
                    let workers: Vec<_> = (0..threads)
                        .map(|t| {
                            let store = &store;
                            let mine = &pool[t * per_thread..(t + 1) * per_thread];
                            s.spawn(move || {
                                let mut n = 0u64;
                                for event in mine.iter().cycle() {
                                    if Instant::now() >= deadline {
                                        break;
                                    }
                                    store
                                        .collect_batch_from(std::slice::from_ref(event))
                                        .expect("append");
                                    n += 1;
                                }
                                n
                            })
                        })
                        .collect();
                    workers.into_iter().map(|w| w.join().expect("worker")).sum()
                });
                let rate = appended as f64 / t0.elapsed().as_secs_f64();
                report(&format!("sync_threads_{threads}_round_{round}_eps"), rate);
                best[i] = best[i].max(rate);
            }
        }
        for (i, threads) in [1usize, 2, 4, 8].into_iter().enumerate() {
            report(&format!("sync_threads_{threads}_eps"), best[i]);
        }
        store.close().expect("close");
    }
    std::fs::remove_dir_all(&sync_dir).expect("remove");

    // JSON collection: batch requests of 100 payloads (building them is not timed).
    let json_dir = scratch.join("json");
    {
        let (store, sources) = common::open_store(&json_dir, Options::default());
        let n_json = (n / 10).max(1000);
        let mut w = workload(common::keys(&sources), n_json);
        let mut batch = Vec::new();
        let mut request = Vec::new();
        let mut json_bytes = 0u64;
        let mut elapsed = Duration::ZERO;
        let mut per_source = vec![0u64; common::SOURCES];
        loop {
            next_batch(&mut w, &mut batch, 100, &mut per_source);
            if batch.is_empty() {
                break;
            }
            request.clear();
            batch_json(&batch, &mut request);
            json_bytes += request.len() as u64;
            let t0 = Instant::now();
            let outcomes = store.collect_batch_json(&request).expect("append");
            elapsed += t0.elapsed();
            assert!(outcomes.iter().all(|o| o.is_ok()), "a payload was refused");
        }
        report("json_eps", n_json as f64 / elapsed.as_secs_f64());
        report("json_bytes_per_event", json_bytes as f64 / n_json as f64);
        store.close().expect("close");
    }
    std::fs::remove_dir_all(&json_dir).expect("remove");
    let mut one = Vec::new();
    event_json(&workload(peer_keys(), 1).next().expect("event"), &mut one);
    report("json_example_bytes", one.len() as f64);
}

/// Peak memory while ingesting `n` events (batches of 1000, default options).
fn run_firstlog_rss(n: u64, dir: &Path) {
    let (store, sources) = common::open_store(dir, Options::default());
    let mut w = workload(common::keys(&sources), n);
    let mut batch = Vec::with_capacity(INGEST_BATCH);
    let mut per_source = vec![0u64; common::SOURCES];
    let mut heap_peak = 0;
    let t0 = Instant::now();
    loop {
        next_batch(&mut w, &mut batch, INGEST_BATCH, &mut per_source);
        if batch.is_empty() {
            break;
        }
        store.collect_batch_from(&batch).expect("append");
        heap_peak = heap_peak.max(live_heap());
    }
    store.sync().expect("sync");
    report("rss_events", n as f64);
    report("rss_s", t0.elapsed().as_secs_f64());
    report("rss_vmhwm_kib", status_kib("VmHWM") as f64);
    report("rss_anon_end_kib", status_kib("RssAnon") as f64);
    report("rss_heap_peak_bytes", heap_peak as f64);
    report("rss_segments", store.stats().segments as f64);
    store.close().expect("close");
}

fn child(engine: &str, n: u64, dir: &Path) {
    match engine {
        "firstlog" | "sqlite" | "fjall" => run_engine(engine, n, dir),
        "durable-firstlog" | "durable-sqlite" | "durable-fjall" => {
            run_durable(&engine["durable-".len()..], n, dir)
        }
        "raw" => run_raw(n, dir),
        "firstlog-extra" => run_firstlog_extra(n, dir),
        "firstlog-rss" => run_firstlog_rss(n, dir),
        other => panic!("unknown child {other}"),
    }
}

// ---------------------------------------------------------------------------
// The parent: runs the children in turn and prints the table.

type Results = HashMap<String, f64>;

fn spawn(engine: &str, n: u64, dir: &Path) -> Results {
    let exe = std::env::current_exe().expect("current exe");
    let t0 = Instant::now();
    let output = Command::new(exe)
        .arg("--child")
        .arg(engine)
        .arg(n.to_string())
        .arg(dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("spawn child");
    assert!(
        output.status.success(),
        "child {engine} failed: {}",
        output.status
    );
    let mut results = Results::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.split_whitespace();
        if parts.next() == Some("RESULT")
            && let (Some(key), Some(value)) = (parts.next(), parts.next())
        {
            results.insert(key.to_owned(), value.parse().unwrap_or(f64::NAN));
        }
    }
    eprintln!(
        "compare: {engine:<15} done in {:>6.1} s",
        t0.elapsed().as_secs_f64()
    );
    results
}

/// Folds the results of another round into `into`: the best (lowest) time, the
/// highest memory, and the values of the first round otherwise (every round
/// stores and reads the same events; a difference is reported).
fn merge(into: &mut Results, round: Results, index: usize) {
    for (key, value) in round {
        if index == 0 {
            into.insert(key, value);
            continue;
        }
        let kept = into.entry(key.clone()).or_insert(value);
        if key.ends_with("_s") {
            *kept = kept.min(value);
        } else if key.ends_with("_kib") {
            *kept = kept.max(value);
        } else if (key.contains("checksum") || key.ends_with("_value")) && *kept != value {
            eprintln!("compare: MISMATCH between rounds in {key}: {kept} vs {value}");
            *kept = f64::NAN;
        }
    }
}

fn get(r: &Results, key: &str) -> f64 {
    r.get(key).copied().unwrap_or(f64::NAN)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    format!(
        "{model}, {cores} cores, {:.0} GiB RAM, Linux {}",
        mem_kib as f64 / (1 << 20) as f64,
        kernel.trim()
    )
}

/// The file system type of the mount holding `path`.
fn filesystem(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1])).then(|| (f[1].len(), f[2].to_owned()))
        })
        .max()
        .map_or_else(|| "unknown".to_owned(), |(_, fs)| fs)
}

fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_owned();
    }
    if x >= 100.0 {
        let s = format!("{:.0}", x);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ratio(a: f64, b: f64) -> String {
    let r = a / b;
    if r.is_finite() {
        format!("{r:.2}x")
    } else {
        "n/a".to_owned()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let engine = &args[i + 1];
        let n: u64 = args[i + 2].parse().expect("n");
        child(engine, n, Path::new(&args[i + 3]));
        return;
    }
    let smoke = !common::bench_mode();
    let n = if smoke {
        3_000
    } else {
        common::env_u64("FIRSTLOG_COMPARE_N", 1_000_000)
    };
    let n_rss = if smoke {
        6_000
    } else {
        common::env_u64("FIRSTLOG_COMPARE_RSS_N", 10 * n)
    };
    let base = tempfile::Builder::new()
        .prefix("firstlog-compare-")
        .tempdir()
        .expect("temp dir");
    let started = Instant::now();
    eprintln!(
        "compare: N = {n} events, in {} ({})",
        base.path().display(),
        filesystem(base.path())
    );
    let dir = |name: &str| -> PathBuf { base.path().join(name) };
    // The main phases, in interleaved rounds: the best time of each counts.
    let main_rounds = if smoke { 1 } else { MAIN_ROUNDS };
    let (mut fl, mut sq, mut fj) = (Results::new(), Results::new(), Results::new());
    for round in 0..main_rounds {
        let _ = std::fs::remove_dir_all(dir("firstlog"));
        merge(&mut fl, spawn("firstlog", n, &dir("firstlog")), round);
        merge(&mut sq, spawn("sqlite", n, &dir("sqlite")), round);
        let _ = std::fs::remove_dir_all(dir("sqlite"));
        merge(&mut fj, spawn("fjall", n, &dir("fjall")), round);
        let _ = std::fs::remove_dir_all(dir("fjall"));
    }
    // Durable ingest is at the mercy of the disk: interleaved rounds, the best
    // round of each engine counts.
    let rounds = if smoke { 1 } else { DURABLE_ROUNDS };
    let mut durable_runs: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut raw = Results::new();
    for round in 0..rounds {
        for engine in ["firstlog", "sqlite", "fjall"] {
            let child = format!("durable-{engine}");
            let d = dir(&format!("{child}-{round}"));
            let r = spawn(&child, n, &d);
            let _ = std::fs::remove_dir_all(&d);
            durable_runs
                .entry(engine)
                .or_default()
                .push(get(&r, "durable_events") / get(&r, "durable_s"));
        }
        let d = dir(&format!("raw-{round}"));
        merge(&mut raw, spawn("raw", n, &d), round);
        let _ = std::fs::remove_dir_all(&d);
    }
    let extra = spawn("firstlog-extra", n, base.path());
    let _ = std::fs::remove_dir_all(dir("firstlog"));
    let rss = if n_rss > 0 {
        let r = spawn("firstlog-rss", n_rss, &dir("rss"));
        let _ = std::fs::remove_dir_all(dir("rss"));
        r
    } else {
        Results::new()
    };
    let total = started.elapsed();

    // Every engine must have stored and returned the same events.
    let mut consistent = true;
    for key in ["query_events", "query_checksum", "count_value"] {
        let values = [get(&fl, key), get(&sq, key), get(&fj, key)];
        if values.iter().any(|v| *v != values[0]) {
            consistent = false;
            eprintln!("compare: MISMATCH in {key}: firstlog, SQLite, fjall = {values:?}");
        }
    }
    if get(&fl, "count_value") != get(&fl, "expected_query_events") {
        consistent = false;
        eprintln!("compare: MISMATCH: firstlog counted a different number of events");
    }

    let engines = [&fl, &sq, &fj];
    let per_s = |r: &Results, events: &str, secs: &str| get(r, events) / get(r, secs);
    let ingest: Vec<f64> = engines
        .iter()
        .map(|r| per_s(r, "ingest_events", "ingest_s"))
        .collect();
    let mbps: Vec<f64> = engines
        .iter()
        .map(|r| get(r, "ingest_bytes") / get(r, "ingest_s") / 1e6)
        .collect();
    let best = |runs: &[f64]| runs.iter().copied().fold(f64::NAN, f64::max);
    let durable: Vec<f64> = ["firstlog", "sqlite", "fjall"]
        .iter()
        .map(|e| best(&durable_runs[e]))
        .collect();
    let raw_append = per_s(&raw, "durable_events", "durable_append_s");
    let raw_fallocate = per_s(&raw, "durable_events", "durable_fallocate_s");
    let raw_durable = raw_append.max(raw_fallocate);
    let query: Vec<f64> = engines
        .iter()
        .map(|r| per_s(r, "query_events", "query_s"))
        .collect();
    let count_us: Vec<f64> = engines.iter().map(|r| get(r, "count_s") * 1e6).collect();
    let disk: Vec<f64> = engines
        .iter()
        .map(|r| get(r, "disk_bytes") / (1 << 20) as f64)
        .collect();
    let peak: Vec<f64> = engines
        .iter()
        .map(|r| get(r, "vmhwm_kib") / 1024.0)
        .collect();
    let anon: Vec<f64> = engines
        .iter()
        .map(|r| get(r, "anon_kib") / 1024.0)
        .collect();

    let record_bytes = get(&fl, "ingest_bytes") / get(&fl, "ingest_events");
    let query_events = get(&fl, "query_events");
    println!();
    println!(
        "firstlog vs SQLite vs fjall: N = {} events ({:.0} B of JSON, {:.0} B encoded per event), \
         query source = {} events ({:.1} %); durable ingest: {} events, best of {} rounds",
        fmt_num(n as f64),
        get(&extra, "json_bytes_per_event"),
        record_bytes,
        fmt_num(query_events),
        100.0 * share(common::SOURCES, QUERY_SOURCE),
        fmt_num(get(&raw, "durable_events")),
        rounds,
    );
    println!(
        "machine: {}; temp dir on {}",
        machine(),
        filesystem(base.path())
    );
    println!();
    println!(
        "| {:<38} | {:>11} | {:>11} | {:>11} | {:>11} | {:>9} | {:>9} | {:<6} |",
        "metric", "firstlog", "SQLite", "fjall", "raw floor", "fl/SQLite", "fl/fjall", "better"
    );
    println!(
        "|{:-<40}|{:->13}|{:->13}|{:->13}|{:->13}|{:->11}|{:->11}|{:-<8}|",
        ":", ":", ":", ":", ":", ":", ":", ":"
    );
    let row = |name: &str, v: &[f64], raw: Option<f64>, better: &str| {
        println!(
            "| {:<38} | {:>11} | {:>11} | {:>11} | {:>11} | {:>9} | {:>9} | {:<6} |",
            name,
            fmt_num(v[0]),
            fmt_num(v[1]),
            fmt_num(v[2]),
            raw.map_or_else(String::new, fmt_num),
            ratio(v[0], v[1]),
            ratio(v[0], v[2]),
            better
        );
    };
    row(
        "ingest, batches of 1000 (events/s)",
        &ingest,
        None,
        "higher",
    );
    row("ingest, batches of 1000 (MB/s)", &mbps, None, "higher");
    row(
        "durable, sync per 100 (events/s)",
        &durable,
        Some(raw_durable),
        "higher",
    );
    row(
        "query 5% source, decoded (events/s)",
        &query,
        None,
        "higher",
    );
    row("count 5% source (µs)", &count_us, None, "lower");
    row("bytes on disk (MiB)", &disk, None, "lower");
    row("peak memory, VmHWM (MiB)", &peak, None, "lower");
    row("anonymous memory, max RssAnon (MiB)", &anon, None, "lower");
    println!();

    // The firstlog targets of issue 7.
    let single = get(&extra, "sync_threads_1_eps");
    let four = get(&extra, "sync_threads_4_eps");
    let count_speedup = get(&fl, "query_s") / get(&fl, "count_s");
    let open_ms = get(&extra, "open_clean_s") * 1e3;
    let heap_full = get(&extra, "sealed_heap_full_bytes");
    let heap_quarter = get(&extra, "sealed_heap_quarter_bytes");
    let sealed_growth = (heap_full - heap_quarter)
        / (get(&extra, "sealed_events_full") - get(&extra, "sealed_events_quarter"));
    let rss_mib = get(&rss, "rss_vmhwm_kib") / 1024.0;
    let check = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "| {:<66} | {:>14} | {:>12} | {:<6} |",
        "firstlog target (issue 7)", "measured", "goal", "status"
    );
    println!("|{:-<68}|{:->16}|{:->14}|{:-<8}|", ":", ":", ":", ":");
    let target = |name: &str, measured: String, goal: &str, ok: bool| {
        println!(
            "| {:<66} | {:>14} | {:>12} | {:<6} |",
            name,
            measured,
            goal,
            check(ok)
        );
    };
    target(
        "ingest vs SQLite (batch 1000)",
        ratio(ingest[0], ingest[1]),
        ">= 5x",
        ingest[0] >= 5.0 * ingest[1],
    );
    target(
        "ingest vs fjall (batch 1000)",
        ratio(ingest[0], ingest[2]),
        ">= 3x",
        ingest[0] >= 3.0 * ingest[2],
    );
    target(
        "ingest of typed events, one thread (events/s)",
        fmt_num(ingest[0]),
        ">= 1,500,000",
        ingest[0] >= 1.5e6,
    );
    target(
        "durable ingest vs SQLite",
        ratio(durable[0], durable[1]),
        ">= 2x",
        durable[0] >= 2.0 * durable[1],
    );
    target(
        "durable ingest vs raw write+fdatasync",
        format!("{:.0} %", 100.0 * durable[0] / raw_durable),
        ">= 80 %",
        durable[0] >= 0.8 * raw_durable,
    );
    target(
        &format!(
            "Sync, 4 threads vs 1 thread, single events ({} vs {} ev/s)",
            fmt_num(four),
            fmt_num(single)
        ),
        ratio(four, single),
        ">= 10x",
        four >= 10.0 * single,
    );
    target(
        "query 5% source vs SQLite",
        ratio(query[0], query[1]),
        ">= 3x",
        query[0] >= 3.0 * query[1],
    );
    target(
        "query 5% source vs fjall",
        ratio(query[0], query[2]),
        ">= 3x",
        query[0] >= 3.0 * query[2],
    );
    target(
        "count() vs decoding the same source",
        ratio(count_speedup, 1.0),
        ">= 100x",
        count_speedup >= 100.0,
    );
    target(
        &format!("clean open of {} events (ms)", fmt_num(n as f64)),
        format!("{open_ms:.1}"),
        "< 50",
        open_ms < 50.0,
    );
    target(
        &format!(
            "heap after open: {} sealed segs {} KiB, {} segs {} KiB",
            get(&extra, "sealed_segments_full"),
            fmt_num(heap_full / 1024.0),
            get(&extra, "sealed_segments_quarter"),
            fmt_num(heap_quarter / 1024.0)
        ),
        format!("{sealed_growth:.3} B/event"),
        "~0 B/event",
        sealed_growth < 1.0,
    );
    target(
        &format!(
            "peak RSS ingesting {} events (MiB)",
            fmt_num(get(&rss, "rss_events"))
        ),
        format!("{rss_mib:.0}"),
        "< 256",
        rss_mib < 256.0,
    );
    println!();
    println!(
        "raw floor: write+fdatasync per 100 records {} events/s appending, {} events/s into \
         a fallocated file",
        fmt_num(raw_append),
        fmt_num(raw_fallocate)
    );
    let spread = |e: &str| {
        durable_runs[e]
            .iter()
            .map(|v| fmt_num(*v))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "durable rounds (events/s): firstlog {}; SQLite {}; fjall {}",
        spread("firstlog"),
        spread("sqlite"),
        spread("fjall")
    );
    println!(
        "also: typed ingest allocations per event {:.3}, query allocations per event {:.2} \
         (SQLite {:.2}, fjall {:.2}); query via iter() (owned) {} events/s; \
         JSON batches of 100 {} events/s; Sync single events from 2 / 8 threads {} / {} events/s; \
         clean open heap {} KiB; 10M-ingest heap peak {} MiB",
        get(&fl, "ingest_allocs") / get(&fl, "ingest_events"),
        get(&fl, "query_allocs") / get(&fl, "query_events"),
        get(&sq, "query_allocs") / get(&sq, "query_events"),
        get(&fj, "query_allocs") / get(&fj, "query_events"),
        fmt_num(get(&extra, "iter_events") / get(&extra, "iter_s")),
        fmt_num(get(&extra, "json_eps")),
        fmt_num(get(&extra, "sync_threads_2_eps")),
        fmt_num(get(&extra, "sync_threads_8_eps")),
        fmt_num(get(&extra, "open_heap_bytes") / 1024.0),
        fmt_num(get(&rss, "rss_heap_peak_bytes") / (1 << 20) as f64),
    );
    println!(
        "compare: finished in {:.0} s{}",
        total.as_secs_f64(),
        if consistent {
            "; every engine returned the same events"
        } else {
            "; ENGINES DISAGREE (see above)"
        }
    );
    assert!(consistent, "the engines returned different events");
}
