//! A failed write, fsync or allocation surfaces as an error from the append (never
//! a panic); every later append gets `Error::Poisoned`; reads keep working; and
//! reopening (fault disarmed) has every acknowledged event. Proven with `FaultyFs`
//! over `MemFs` by failing, one at a time, EVERY file operation of a plain append
//! and of an append that rolls to a new segment (seal, index file, segment
//! creation with its `allocate`), in `Buffered` and `Sync` mode; under `Sync`, the
//! acknowledged events also survive a power loss right after the failure. A "disk
//! full" on the real file system comes from `/dev/full`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use firstlog::testing::{CrashMode, FaultPlan, FaultyFs, MemFs};
use firstlog::{Durability, Error, NewEvent, Options, Store};

const DIR: &str = "/faulty";
const SEGMENT_BYTES: u64 = 64 << 10;
/// Room for records in a segment: capacity minus segment header and seal trailer.
const ROOM_BYTES: u64 = SEGMENT_BYTES - 64 - 64;

fn options(fs: Arc<dyn firstlog::testing::Vfs>, durability: Durability) -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .durability(durability)
        .fs(fs)
}

/// Events of one fixed size (the number is zero-padded), so rolls are predictable.
fn event(key: &str, i: u64) -> NewEvent {
    NewEvent::new("Page Viewed", key)
        .profile(format!("user-{:03}", i % 100))
        .timestamp_ms(1_700_000_000_000 + i as i64)
        .property("i", format!("{i:08}"))
        .property("pad", "p".repeat(300))
}

/// Where the fault goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Trigger {
    /// A single event that fits in the active segment.
    Single,
    /// A batch of five that fits.
    Batch,
    /// A single event that does not fit: the append seals the active segment,
    /// writes its index and creates (allocates) the next one.
    Rolling,
}

/// What one injected fault did.
#[derive(Debug)]
struct FaultOutcome {
    /// The failed operation's kind (`write_at`, `sync`, `allocate`, ...), if the
    /// planned operation was reached.
    kind: Option<String>,
}

/// Sets up a store, arms a fault at the `k`-th operation of the trigger append,
/// and checks every promise. Returns `None` when the append finished before
/// reaching operation `k`.
fn run_fault(
    durability: Durability,
    trigger: Trigger,
    k: u64,
    forever: bool,
) -> Option<FaultOutcome> {
    let ctx = format!("{durability:?} {trigger:?} fault at op +{k} forever={forever}");
    let mem = MemFs::new();
    let faulty = FaultyFs::new(mem.clone());
    let store = Store::open_with(DIR, options(Arc::new(faulty.clone()), durability)).unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();

    // Acknowledged events, by their `i`; fill the segment to the brim for a roll.
    let mut acked: Vec<u64> = Vec::new();
    store.collect(event(&key, 0)).unwrap();
    acked.push(0);
    let record_bytes = store.stats().bytes - 64;
    let fill = if trigger == Trigger::Rolling {
        ROOM_BYTES / record_bytes
    } else {
        20
    };
    for i in 1..fill {
        store.collect(event(&key, i)).unwrap();
        acked.push(i);
    }
    assert_eq!(store.stats().segments, 1, "{ctx}");
    let next = fill;

    let base = faulty.ops();
    faulty.set_plan(FaultPlan {
        fail_at: Some(base + k),
        forever,
    });
    let attempted: Vec<u64> = match trigger {
        Trigger::Batch => (next..next + 5).collect(),
        _ => vec![next],
    };
    let result = match trigger {
        Trigger::Batch => store
            .collect_batch(attempted.iter().map(|&i| event(&key, i)).collect())
            .map(|outcomes| {
                assert!(outcomes.iter().all(|o| o.is_ok()), "{ctx}");
            }),
        _ => store.collect(event(&key, next)).map(|_| ()),
    };
    if faulty.ops() < base + k {
        // The append did not reach the planned operation: the sweep is over.
        result.unwrap_or_else(|e| panic!("{ctx}: failed without a fault: {e}"));
        faulty.set_plan(FaultPlan::default());
        if trigger == Trigger::Rolling {
            assert_eq!(store.stats().segments, 2, "{ctx}: it rolled");
        }
        return None;
    }

    let kind = match &result {
        Ok(()) => {
            // The failed operation was not needed for this append's promise
            // (nothing in the current code); it is acknowledged, so it must last.
            acked.extend(&attempted);
            None
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("injected fault"), "{ctx}: {message}");
            let kind = message
                .rsplit_once('(')
                .map(|(_, k)| k.trim_end_matches(')').to_owned());
            // Later appends are refused until a reopen, without touching the disk.
            let ops = faulty.ops();
            for i in [900, 901] {
                match store.collect(event(&key, i)) {
                    Err(Error::Poisoned { cause }) => {
                        assert!(cause.contains("injected fault"), "{ctx}: {cause}")
                    }
                    other => panic!("{ctx}: after a failure, append gave {other:?}"),
                }
            }
            assert!(
                store.collect_batch(vec![event(&key, 902)]).is_err(),
                "{ctx}: batch after a failure"
            );
            assert!(store.sync().is_err(), "{ctx}: sync after a failure");
            assert!(store.roll().is_err(), "{ctx}: roll after a failure");
            if !forever {
                assert_eq!(faulty.ops(), ops, "{ctx}: refused appends touched files");
            }
            kind
        }
    };

    // Reads keep working (on a dead disk too, once reads no longer fail).
    faulty.set_plan(FaultPlan::default());
    let source = store.sources()[0].id();
    let read: Vec<u64> = store
        .query(source)
        .iter()
        .map(|e| {
            let e = e.unwrap_or_else(|e| panic!("{ctx}: read after failure: {e}"));
            e.properties()
                .get("i")
                .and_then(|v| v.as_str())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    check_prefix(&ctx, "read after failure", &read, &acked, &attempted);

    // A power loss right now: under Sync, every acknowledged event is durable.
    let crashed = mem.crash(CrashMode::DropAll, k);
    drop(store);

    for (what, fs) in [
        ("reopen", mem.clone()),
        ("reopen after power loss", crashed),
    ] {
        if what != "reopen" && durability != Durability::Sync {
            continue;
        }
        let store = Store::open_with(DIR, options(Arc::new(fs), durability))
            .unwrap_or_else(|e| panic!("{ctx}: {what} failed: {e}"));
        let events: Vec<_> = store
            .read_from(1)
            .map(|e| e.unwrap_or_else(|e| panic!("{ctx}: {what}: {e}")))
            .collect();
        let got: Vec<u64> = events
            .iter()
            .map(|e| {
                e.properties()
                    .get("i")
                    .and_then(|v| v.as_str())
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        check_prefix(&ctx, what, &got, &acked, &attempted);
        let report = store.verify().unwrap();
        assert!(report.is_clean(), "{ctx}: {what}: {:?}", report.problems);
        let seq = store.collect(event(&key, 1000)).unwrap().seq;
        assert_eq!(
            seq,
            Some(got.len() as u64 + 1),
            "{ctx}: {what}: appends continue"
        );
    }
    Some(FaultOutcome { kind })
}

/// `got` is every acknowledged event in order, then possibly the attempted ones
/// that were written but not acknowledged (all of a batch or none).
fn check_prefix(ctx: &str, what: &str, got: &[u64], acked: &[u64], attempted: &[u64]) {
    assert!(
        got.len() >= acked.len(),
        "{ctx}: {what}: lost acknowledged events: {} of {}",
        got.len(),
        acked.len()
    );
    assert_eq!(&got[..acked.len()], acked, "{ctx}: {what}");
    let extra = &got[acked.len()..];
    assert!(
        extra.is_empty() || extra == attempted,
        "{ctx}: {what}: unexpected events {extra:?}"
    );
}

/// Fails every operation of the trigger append, one run each; returns the kinds.
fn sweep(durability: Durability, trigger: Trigger) -> BTreeSet<String> {
    let mut kinds = BTreeSet::new();
    let mut k = 1;
    let mut absorbed = 0;
    while let Some(outcome) = run_fault(durability, trigger, k, false) {
        absorbed += usize::from(outcome.kind.is_none());
        kinds.extend(outcome.kind);
        k += 1;
        assert!(k < 100, "the sweep does not end");
    }
    eprintln!(
        "{durability:?} {trigger:?}: {} operations failed one at a time ({absorbed} without \
         failing the append): {kinds:?}",
        k - 1
    );
    kinds
}

fn has(kinds: &BTreeSet<String>, kind: &str) -> bool {
    kinds.contains(kind)
}

#[test]
fn failed_write_of_a_single_append() {
    let kinds = sweep(Durability::Buffered, Trigger::Single);
    assert_eq!(kinds, BTreeSet::from(["write_at".to_owned()]));
}

#[test]
fn failed_write_or_fsync_in_sync_mode() {
    let kinds = sweep(Durability::Sync, Trigger::Single);
    assert!(has(&kinds, "write_at") && has(&kinds, "sync"), "{kinds:?}");
    let kinds = sweep(Durability::Sync, Trigger::Batch);
    assert!(has(&kinds, "write_at") && has(&kinds, "sync"), "{kinds:?}");
}

#[test]
fn failed_operation_of_a_rolling_append_buffered() {
    let kinds = sweep(Durability::Buffered, Trigger::Rolling);
    for kind in [
        "allocate", "write_at", "sync", "set_len", "rename", "sync_dir", "open",
    ] {
        assert!(has(&kinds, kind), "{kind} not among {kinds:?}");
    }
}

#[test]
fn failed_operation_of_a_rolling_append_sync() {
    let kinds = sweep(Durability::Sync, Trigger::Rolling);
    assert!(has(&kinds, "allocate"), "{kinds:?}");
}

#[test]
fn dead_disk_every_operation_fails_from_then_on() {
    for trigger in [Trigger::Single, Trigger::Rolling] {
        for k in [1, 2, 3] {
            run_fault(Durability::Sync, trigger, k, true);
        }
    }
}

/// A disk full on the real file system: the sealed segment's index temp file is a
/// symlink to `/dev/full`, where every write fails with ENOSPC. A full disk
/// while writing an index is not a reason to refuse events: the sealed
/// segment's index serves from memory, collection goes on, and the next open
/// writes the file.
#[test]
fn disk_full_on_the_real_file_system() {
    if !Path::new("/dev/full").exists() {
        eprintln!("no /dev/full here: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        Options::default()
            .segment_bytes(SEGMENT_BYTES)
            .durability(Durability::Buffered)
    };
    let store = Store::open_with(dir.path(), opts()).unwrap();
    let key = store
        .create_source("Help Desk")
        .unwrap()
        .write_key()
        .to_owned();
    let tmp = dir.path().join(format!("{:020}.idx.tmp", 1));
    let index = dir.path().join(format!("{:020}.idx", 1));
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    let mut acked = 0u64;
    while store.stats().sealed_segments < 2 {
        let r = store.collect(event(&key, acked)).expect("collect");
        acked += 1;
        assert_eq!(r.seq, Some(acked));
        assert!(acked < 10_000, "never rolled");
    }
    assert!(!index.exists(), "the first index file could not be written");
    assert!(!tmp.exists(), "the failed temp file (the link) was removed");
    assert!(Path::new("/dev/full").exists(), "only the link was removed");
    assert!(store.readiness().ready);
    let source = store.sources()[0].id();
    assert_eq!(store.query(source).count().unwrap(), acked);
    let read = store.query(source).iter().filter(|e| e.is_ok()).count() as u64;
    assert_eq!(read, acked);
    drop(store);

    // Reopen: the missing index is rebuilt (reported), nothing acknowledged is
    // lost, and the store works on.
    let store = Store::open_with(dir.path(), opts()).unwrap();
    assert!(
        store
            .open_report()
            .rebuilt_indexes
            .iter()
            .any(|(path, _)| path == &index),
        "{:?}",
        store.open_report()
    );
    assert!(index.exists());
    assert_eq!(store.last_seq(), acked);
    assert!(store.verify().unwrap().is_clean());
    assert_eq!(
        store.collect(event(&key, 6000)).unwrap().seq,
        Some(acked + 1)
    );
}

/// Under `Interval`, a failed background fsync poisons the store: appends that
/// follow are refused, `sync()` reports the failure, and every acknowledged event
/// is there after a reopen.
#[test]
fn failed_background_fsync_in_interval_mode() {
    let mem = MemFs::new();
    let faulty = FaultyFs::new(mem.clone());
    let interval = Durability::Interval(std::time::Duration::from_millis(2));
    let store = Store::open_with(DIR, options(Arc::new(faulty.clone()), interval)).unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();
    let mut acked = Vec::new();
    for i in 0..5 {
        store.collect(event(&key, i)).unwrap();
        acked.push(i);
    }
    store.sync().unwrap();
    // Fail every operation from the next one on that is not the append's write:
    // the append's pwrite is operation +1, the background fdatasync after it +2.
    faulty.set_plan(FaultPlan {
        fail_at: Some(faulty.ops() + 2),
        forever: true,
    });
    store.collect(event(&key, 5)).unwrap();
    acked.push(5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut i = 6;
    loop {
        match store.collect(event(&key, i)) {
            Ok(_) => acked.push(i),
            Err(Error::Poisoned { cause }) => {
                assert!(cause.contains("injected fault"), "{cause}");
                break;
            }
            Err(e) => {
                // This append's own write hit the dead disk first.
                assert!(e.to_string().contains("injected fault"), "{e}");
            }
        }
        i += 1;
        assert!(std::time::Instant::now() < deadline, "never poisoned");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(store.sync().is_err());
    faulty.set_plan(FaultPlan::default());
    drop(store);
    let store = Store::open_with(DIR, options(Arc::new(mem), Durability::Buffered)).unwrap();
    let got: Vec<u64> = store
        .read_from(1)
        .map(|e| {
            let e = e.unwrap();
            e.properties()
                .get("i")
                .and_then(|v| v.as_str())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(got.len() >= acked.len(), "lost acknowledged events");
    assert_eq!(got[..acked.len()], acked[..]);
    assert!(store.verify().unwrap().is_clean());
}
