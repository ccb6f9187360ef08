//! Data-lifecycle benchmark: what erasing one profile and retention cost on a
//! large store, and what an erasure running in the background costs ingest.
//!
//! Builds a store of `FIRSTLOG_LIFECYCLE_EVENTS` events (default 10,000,000;
//! 100,000 profiles, a fifth of the events from 1,000 heavy users; four
//! sources; names, paths, referrers, a user agent, an anonymous id on a third)
//! in 64 MiB segments under `FIRSTLOG_LIFECYCLE_DIR` (default
//! `target/lifecycle-bench/store-<events>`), or reuses the one there. Each
//! measurement runs on a fresh copy of it (sealed segments and their indexes
//! hard-linked: compaction and retention replace or unlink those files, never
//! write into them; the rest copied), whose files are first evicted from the
//! page cache (`posix_fadvise(DONTNEED)`), so compaction reads from the disk:
//!
//! - (a) erasing one ordinary profile (~80 events spread over every segment):
//!   `erase_profile` + `maintain()`;
//! - (b) retention dropping the oldest half: `set_retention(max_bytes = half of
//!   the store)` + `maintain()`;
//! - (c) ingest, batches of 100 through `collect_batch_from` with the default
//!   durability, alone for a few seconds, then while (a) runs in another thread.
//!
//! Not a criterion benchmark: each measurement is one long operation.
//! `cargo bench --bench lifecycle`; `FIRSTLOG_LIFECYCLE_EVENTS=1000000` for a
//! quick run; `FIRSTLOG_LIFECYCLE_INGEST_SECS` (default 5) for the ingest
//! phase alone. Delete the store directory when done (it is kept for reuse).
//! As a smoke test (`cargo test --benches`) it uses 20,000 events in a
//! temporary directory.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use firstlog::{MaintenanceReport, NewEvent, Options, Retention, Scope, Store};

const SEGMENT_BYTES: u64 = 64 << 20;
const PROFILES: u64 = 100_000;
const HEAVY_USERS: u64 = 1_000;
/// The profile (a) erases, and the one (c) erases under ingest.
const ERASED: &str = "user-054321";
const ERASED_UNDER_INGEST: &str = "user-071234";

// ---- the events ------------------------------------------------------------------

/// SplitMix64: the same store for the same size, on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NAMES: [&str; 12] = [
    "Page Viewed",
    "Page Viewed",
    "Page Viewed",
    "Page Viewed",
    "Button Clicked",
    "Search Performed",
    "Signed Up",
    "Logged In",
    "Item Added To Cart",
    "Order Completed",
    "Ticket Opened",
    "Plan Upgraded",
];
const REFERRERS: [&str; 5] = [
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://duckduckgo.com/",
    "https://www.linkedin.com/",
    "",
];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];
const LOCALES: [&str; 4] = ["en-US", "de-DE", "fr-FR", "ja-JP"];

/// The store's sources and their share of the events (percent).
const SOURCES: [(&str, u64); 4] = [
    ("Marketing Site", 40),
    ("Web App", 35),
    ("iOS App", 15),
    ("Help Desk", 10),
];

fn source_of(rng: &mut Rng) -> usize {
    let mut r = rng.below(100);
    for (i, (_, share)) in SOURCES.iter().enumerate() {
        if r < *share {
            return i;
        }
        r -= share;
    }
    0
}

/// Event `i`: a function of the generator's state.
fn event(rng: &mut Rng, keys: &[String], i: u64) -> NewEvent {
    let profile = if rng.below(5) == 0 {
        rng.below(HEAVY_USERS)
    } else {
        rng.below(PROFILES)
    };
    let name = NAMES[rng.below(NAMES.len() as u64) as usize];
    let section = rng.below(40);
    let page = rng.below(500);
    let mut e = NewEvent::new(name, &keys[source_of(rng)])
        .profile(format!("user-{profile:06}"))
        .session(format!("s-{profile:06}-{}", i / 5_000))
        .timestamp_ms(1_700_000_000_000 + i as i64 * 10)
        .property("path", format!("/docs/section-{section}/page-{page}"))
        .property("title", format!("Section {section}, page {page}"))
        .property("referrer", REFERRERS[rng.below(5) as usize])
        .context_field("locale", LOCALES[(profile % 4) as usize])
        .context_field("user_agent", AGENTS[(profile % 3) as usize]);
    if name == "Order Completed" {
        e = e
            .property("value", (rng.below(20_000) as f64) / 100.0)
            .property("currency", "EUR");
    }
    if profile % 3 == 0 {
        e = e.context_field(
            "anonymous_id",
            format!("anon-{:016x}", profile * 0x9E37_79B9),
        );
    }
    e
}

// ---- the store and its copies -------------------------------------------------------

fn options() -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .background_maintenance(false)
}

/// Builds the store in `dir` (or finds it there): `events` events in batches
/// of 1000, buffered, then closed.
fn base_store(dir: &Path, events: u64) -> Duration {
    let marker = dir.join("BENCH_COMPLETE");
    if fs::read_to_string(&marker).ok().as_deref() == Some(&events.to_string()) {
        println!("reusing the store in {}", dir.display());
        return Duration::ZERO;
    }
    let _ = fs::remove_dir_all(dir);
    println!(
        "building a store of {events} events in {} ...",
        dir.display()
    );
    let started = Instant::now();
    let store =
        Store::open_with(dir, options().durability(firstlog::Durability::Buffered)).expect("open");
    let keys: Vec<String> = SOURCES
        .iter()
        .map(|(name, _)| {
            store
                .create_source(name)
                .expect("source")
                .write_key()
                .to_owned()
        })
        .collect();
    let mut rng = Rng(0x11FE_C7C1_E000);
    let mut batch = Vec::with_capacity(1000);
    let mut i = 0;
    while i < events {
        batch.clear();
        let n = (events - i).min(1000);
        batch.extend((i..i + n).map(|k| event(&mut rng, &keys, k)));
        for r in store.collect_batch_from(&batch).expect("append") {
            r.expect("accepted");
        }
        i += n;
    }
    store.close().expect("close");
    drop(store);
    fs::write(&marker, events.to_string()).expect("marker");
    started.elapsed()
}

/// A copy of the store in `from`: sealed segments and index files hard-linked,
/// the rest (catalog, the last segment) copied; its files evicted from the page
/// cache.
fn working_copy(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    fs::create_dir_all(to).expect("create");
    let mut names: Vec<String> = fs::read_dir(from)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let last_segment = names.iter().rfind(|n| n.ends_with(".seg")).cloned();
    for name in &names {
        if name == "LOCK" || name == "BENCH_COMPLETE" {
            continue;
        }
        let sealed = (name.ends_with(".seg") && Some(name) != last_segment.as_ref())
            || name.ends_with(".idx");
        if sealed {
            fs::hard_link(from.join(name), to.join(name)).expect("link");
        } else {
            fs::copy(from.join(name), to.join(name)).expect("copy");
        }
    }
    evict(to);
}

/// Drops the files of `dir` from the page cache (they are clean: closed and
/// synced).
fn evict(dir: &Path) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let file = fs::File::open(entry.expect("entry").path()).expect("open");
        let _ = file.sync_all();
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
    }
}

fn store_bytes(store: &Store) -> u64 {
    let b = store.stats().bytes_by_age;
    b.under_1_day + b.under_7_days + b.under_30_days + b.under_365_days + b.older
}

// ---- the measurements -----------------------------------------------------------

struct Pass {
    wall: Duration,
    ask: Duration,
    report: MaintenanceReport,
}

/// (a): erase one profile, then a pass.
fn erase(dir: &Path, profile: &str) -> Pass {
    let store = Store::open_with(dir, options()).expect("open");
    let started = Instant::now();
    let request = store.erase_profile(profile, Scope::All).expect("erase");
    let ask = started.elapsed();
    let report = store.maintain().expect("maintain");
    let wall = started.elapsed();
    assert_eq!(report.finished_erasures, vec![request.id]);
    store.close().expect("close");
    Pass { wall, ask, report }
}

/// (b): retention to half the store's size, then a pass.
fn retention(dir: &Path) -> (Pass, u64) {
    let store = Store::open_with(dir, options()).expect("open");
    let total = store_bytes(&store);
    let started = Instant::now();
    store
        .set_retention(Retention::default().max_bytes(total / 2))
        .expect("retention");
    let ask = started.elapsed();
    let report = store.maintain().expect("maintain");
    let wall = started.elapsed();
    assert!(report.deleted_segments > 0 || total < 2 * SEGMENT_BYTES);
    store.close().expect("close");
    (Pass { wall, ask, report }, total)
}

/// Ingest throughput and batch latencies.
struct Ingest {
    events: u64,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Ingest {
    fn rate(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// Ingests batches of 100 from `pool` until `until` says stop.
fn ingest(store: &Store, pool: &[NewEvent], until: impl Fn(Duration) -> bool) -> Ingest {
    let started = Instant::now();
    let mut out = Ingest {
        events: 0,
        wall: Duration::ZERO,
        latencies: Vec::new(),
    };
    for batch in pool.chunks(100).cycle() {
        let t = Instant::now();
        for r in store.collect_batch_from(batch).expect("append") {
            r.expect("accepted");
        }
        out.latencies.push(t.elapsed());
        out.events += batch.len() as u64;
        if until(started.elapsed()) {
            break;
        }
    }
    out.wall = started.elapsed();
    out
}

/// (c): ingest alone, then while an erasure pass runs in another thread.
fn ingest_under_erasure(dir: &Path, seconds: u64) -> (Ingest, Ingest, Pass) {
    // The default durability (an fdatasync every second), as a collector runs.
    let store = Store::open_with(dir, options()).expect("open");
    let keys: Vec<String> = store
        .sources()
        .iter()
        .map(|s| s.write_key().to_owned())
        .collect();
    let mut rng = Rng(0xC0FF_EE00_1234);
    let pool: Vec<NewEvent> = (0..100_000).map(|i| event(&mut rng, &keys, i)).collect();
    let alone = ingest(&store, &pool, |t| t >= Duration::from_secs(seconds));
    store.sync().expect("sync");
    evict(dir);
    let done = Arc::new(AtomicBool::new(false));
    let eraser = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let request = store
                .erase_profile(ERASED_UNDER_INGEST, Scope::All)
                .expect("erase");
            let ask = started.elapsed();
            let report = store.maintain().expect("maintain");
            let wall = started.elapsed();
            assert_eq!(report.finished_erasures, vec![request.id]);
            done.store(true, Ordering::SeqCst);
            Pass { wall, ask, report }
        })
    };
    let during = ingest(&store, &pool, |_| done.load(Ordering::SeqCst));
    let pass = eraser.join().expect("eraser");
    store.close().expect("close");
    (alone, during, pass)
}

// ---- the report ---------------------------------------------------------------------

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Prints a Markdown table.
fn table(head: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..head.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        println!("| {} |", cells.join(" | "));
    };
    line(head.iter().map(|h| h.to_string()).collect());
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        line(row.clone());
    }
}

fn pass_row(what: String, pass: &Pass) -> Vec<String> {
    let r = &pass.report;
    let rate = (r.read_bytes + r.written_bytes) as f64 / 1e6 / pass.wall.as_secs_f64();
    vec![
        what,
        secs(pass.wall),
        ms(pass.ask),
        format!("{} / {}", r.compacted_segments, r.deleted_segments),
        r.removed_events.to_string(),
        mb(r.read_bytes),
        mb(r.written_bytes),
        mb(r.deleted_bytes),
        format!("{rate:.0} MB/s"),
    ]
}

fn ingest_row(what: &str, i: &Ingest) -> Vec<String> {
    vec![
        what.to_owned(),
        format!("{:.0}", i.rate()),
        i.events.to_string(),
        secs(i.wall),
        ms(i.percentile(0.5)),
        ms(i.percentile(0.99)),
        ms(i.percentile(1.0)),
    ]
}

fn main() {
    let bench = common::bench_mode();
    let events = common::sized(
        common::env_u64("FIRSTLOG_LIFECYCLE_EVENTS", 10_000_000),
        20_000,
    );
    let seconds = common::sized(common::env_u64("FIRSTLOG_LIFECYCLE_INGEST_SECS", 5), 1);
    let temp = tempfile::tempdir().expect("tempdir");
    let root: PathBuf = match std::env::var_os("FIRSTLOG_LIFECYCLE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None if bench => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("lifecycle-bench")
        }
        None => temp.path().to_path_buf(),
    };
    let base = root.join(format!("store-{events}"));
    let work = root.join("work");
    let built = base_store(&base, events);

    let (segments, total, erased_events) = {
        let store = Store::open_read_only(&base).expect("open");
        let erased: u64 = store
            .sources()
            .iter()
            .map(|s| store.query(s.id()).profile(ERASED).count().expect("count"))
            .sum();
        (store.stats().segments, store_bytes(&store), erased)
    };

    working_copy(&base, &work);
    let erasure = erase(&work, ERASED);
    working_copy(&base, &work);
    let (retained, before) = retention(&work);
    working_copy(&base, &work);
    let (alone, during, under_ingest) = ingest_under_erasure(&work, seconds);
    let _ = fs::remove_dir_all(&work);

    println!();
    print!(
        "store: {events} events, {segments} segments of 64 MiB, {}",
        mb(total)
    );
    if built > Duration::ZERO {
        print!(" (built in {})", secs(built));
    }
    println!("; page cache dropped before each measurement");
    println!();
    table(
        &[
            "pass",
            "wall",
            "asked in",
            "segments rewritten / deleted",
            "events removed",
            "read",
            "rewritten",
            "deleted",
            "(read + rewritten) / wall",
        ],
        &[
            pass_row(
                format!("(a) erase {ERASED} ({erased_events} events) + maintain"),
                &erasure,
            ),
            pass_row(
                format!("(b) retention max_bytes = {} + maintain", mb(before / 2)),
                &retained,
            ),
            pass_row(
                format!("(c) erase {ERASED_UNDER_INGEST} + maintain, under ingest"),
                &under_ingest,
            ),
        ],
    );
    println!();
    table(
        &[
            "ingest, batches of 100",
            "events/s",
            "events",
            "wall",
            "batch p50",
            "batch p99",
            "batch max",
        ],
        &[
            ingest_row("(c) alone", &alone),
            ingest_row("(c) during the erasure", &during),
        ],
    );
    println!();
    println!(
        "ingest during the erasure / alone: {:.2} (throughput ratio)",
        during.rate() / alone.rate()
    );
}
