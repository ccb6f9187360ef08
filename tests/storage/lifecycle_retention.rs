//! Retention (README "Data lifecycle", FORMAT.md §2.7): by size, by age (time
//! injected through a manual clock), per source; the log start; readers holding
//! a snapshot across a deletion; garbage segments left by a crash.

use std::sync::Arc;
use std::time::Duration;

use firstlog::testing::ManualClock;
use firstlog::{Error, Options, Retention, Scope, Store};

use crate::support::store::{Disk, T0, event, options, sources};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn clocked(clock: &Arc<ManualClock>) -> Options {
    options().clock(clock.clone())
}

fn fill(store: &Store, key: &str, from: u64, n: u64) {
    let events: Vec<_> = (from..from + n).map(|i| event(key, i)).collect();
    for chunk in events.chunks(100) {
        for r in store.collect_batch_from(chunk).unwrap() {
            r.unwrap();
        }
    }
}

fn seqs(store: &Store) -> Vec<u64> {
    store.read_from(0).map(|e| e.unwrap().seq()).collect()
}

#[test]
fn retention_by_size_deletes_the_oldest_segments_and_moves_the_log_start() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let [app] = sources(&store, &["App"]).try_into().unwrap();
        fill(&store, app.write_key(), 0, 3000);
        let before = store.stats();
        assert!(before.sealed_segments >= 4);
        let total: u64 = {
            let b = &before.bytes_by_age;
            b.under_1_day + b.under_7_days + b.under_30_days + b.under_365_days + b.older
        };
        let limit = total / 2;
        store
            .set_retention(Retention::default().max_bytes(limit))
            .unwrap();
        let report = store.maintain().unwrap();
        assert!(report.deleted_segments > 0, "{}", disk.name());
        let start = store.log_start();
        assert_eq!(report.log_start, start);
        assert!(start > 1);
        let after = store.stats();
        let kept: u64 = after.bytes_by_age.under_1_day;
        assert!(kept <= limit, "{kept} > {limit}");
        // Reads start at the log start; asking below it is an explicit error.
        assert_eq!(seqs(&store), (start..=3000).collect::<Vec<_>>());
        let first = store.read_from(1).next().unwrap();
        assert!(matches!(
            first,
            Err(Error::BelowLogStart { requested: 1, log_start }) if log_start == start
        ));
        assert_eq!(store.read_from(start).next().unwrap().unwrap().seq(), start);
        assert_eq!(store.query(app.id()).count().unwrap(), 3001 - start);
        assert_eq!(store.verify().unwrap().problems, vec![]);
        // The start is durable; appends go on after reopening.
        store.close().unwrap();
        drop(store);
        let store = disk.open(options());
        assert_eq!(store.log_start(), start);
        assert_eq!(seqs(&store).len() as u64, 3001 - start);
        fill(&store, app.write_key(), 3000, 10);
        assert_eq!(store.last_seq(), 3010);
        assert_eq!(store.verify().unwrap().problems, vec![]);
    }
}

#[test]
fn retention_by_age_rolls_a_quiet_store_and_deletes_what_expired() {
    let clock = Arc::new(ManualClock::new(T0));
    let disk = Disk::Mem(firstlog::testing::MemFs::new());
    let store = disk.open(clocked(&clock));
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    store
        .set_retention(Retention::default().max_age(30 * DAY))
        .unwrap();
    // Day 0: 1000 events; day 10: 500 more; then quiet.
    fill(&store, app.write_key(), 0, 1000);
    clock.advance(10 * DAY);
    fill(&store, app.write_key(), 1000, 500);
    let day_10_first = store.read_from(1001).next().unwrap().unwrap().received_at();
    assert_eq!(day_10_first, T0 + 10 * 86_400_000);
    // Day 29: nothing is old enough yet (the roll happens: the active segment
    // holds day-10 records older than the one-day roll interval).
    clock.advance(19 * DAY);
    let report = store.maintain().unwrap();
    assert!(report.rolled);
    assert_eq!(report.deleted_segments, 0);
    assert_eq!(store.log_start(), 1);
    // Day 31: the day-0 segments expired, the day-10 ones not.
    clock.advance(2 * DAY);
    let report = store.maintain().unwrap();
    assert!(report.deleted_segments > 0);
    let start = store.log_start();
    let remaining = seqs(&store);
    assert!(start <= 1001 && remaining.contains(&1001), "start {start}");
    assert!(remaining.iter().all(|&s| s >= start));
    // Whole segments only: an expired event may survive in a segment that also
    // holds a newer one, never the other way round.
    assert!(remaining.contains(&1500));
    // Day 41: everything expired; the (empty) active segment stays.
    clock.advance(10 * DAY);
    store.maintain().unwrap();
    assert_eq!(seqs(&store), Vec::<u64>::new());
    assert_eq!(store.log_start(), 1501);
    fill(&store, app.write_key(), 1500, 5);
    assert_eq!(seqs(&store), (1501..=1505).collect::<Vec<_>>());
    assert_eq!(store.verify().unwrap().problems, vec![]);
}

#[test]
fn a_source_with_its_own_max_age_loses_its_old_events_only() {
    let clock = Arc::new(ManualClock::new(T0));
    let disk = Disk::Mem(firstlog::testing::MemFs::new());
    let store = disk.open(clocked(&clock));
    let [web, desk] = sources(&store, &["Marketing Site", "Help Desk"])
        .try_into()
        .unwrap();
    store.set_source_max_age(desk.id(), Some(30 * DAY)).unwrap();
    for round in 0..3 {
        fill(&store, web.write_key(), round * 300, 300);
        fill(&store, desk.write_key(), round * 300, 300);
        clock.advance(20 * DAY);
    }
    // Now day 60: desk events of day 0 and 20 are older than 30 days.
    let report = store.maintain().unwrap();
    assert!(report.compacted_segments > 0 && report.removed_events == 600);
    assert_eq!(store.query(web.id()).count().unwrap(), 900);
    assert_eq!(store.query(desk.id()).count().unwrap(), 300);
    let cutoff = clock_ms(&clock) - 30 * 86_400_000;
    assert!(
        store
            .query(desk.id())
            .iter()
            .all(|e| e.unwrap().received_at() >= cutoff)
    );
    assert_eq!(
        store.log_start(),
        1,
        "per-source expiry leaves gaps, not a new start"
    );
    assert_eq!(store.verify().unwrap().problems, vec![]);
    store.close().unwrap();
    drop(store);
    let store = disk.open(clocked(&clock));
    assert_eq!(store.query(desk.id()).count().unwrap(), 300);
    assert_eq!(store.query(web.id()).count().unwrap(), 900);
}

fn clock_ms(clock: &ManualClock) -> i64 {
    use firstlog::testing::Clock;
    clock.now_ms()
}

#[test]
fn a_reader_holding_a_snapshot_reads_on_across_a_deletion() {
    let disk = Disk::Real(tempfile::tempdir().unwrap());
    let store = disk.open(options());
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    fill(&store, app.write_key(), 0, 2000);
    let mut reader = store.read_from(1);
    let mut query = store.query(app.id()).iter();
    let first = reader.next().unwrap().unwrap();
    assert_eq!(first.seq(), 1);
    query.next().unwrap().unwrap();
    store
        .set_retention(Retention::default().max_bytes(1))
        .unwrap();
    let report = store.maintain().unwrap();
    assert!(report.deleted_segments >= 3);
    assert!(
        !disk
            .files()
            .contains(&"00000000000000000001.seg".to_owned())
    );
    // The unlinked files stay mapped: both readers see every event.
    let rest: Vec<u64> = reader.map(|e| e.unwrap().seq()).collect();
    assert_eq!(rest, (2..=2000).collect::<Vec<_>>());
    assert_eq!(query.count(), 1999);
    assert!(store.read_from(1).next().unwrap().is_err());
}

#[test]
fn segments_below_the_log_start_left_by_a_crash_are_removed_on_open() {
    let disk = Disk::Mem(firstlog::testing::MemFs::new());
    let store = disk.open(options());
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    fill(&store, app.write_key(), 0, 2000);
    let saved: Vec<(String, Vec<u8>)> = disk
        .files()
        .into_iter()
        .filter(|f| f.ends_with(".seg") || f.ends_with(".idx"))
        .map(|f| {
            let bytes = disk.read(&f);
            (f, bytes)
        })
        .collect();
    store
        .set_retention(Retention::default().max_bytes(1))
        .unwrap();
    store.maintain().unwrap();
    let start = store.log_start();
    store.close().unwrap();
    drop(store);
    // As if the process died after making the new start durable and before
    // unlinking: the old files are back.
    for (name, bytes) in &saved {
        if !disk.files().contains(name) {
            disk.write(name, bytes);
        }
    }
    let store = disk.open(options());
    let removed = &store.open_report().removed_files;
    assert!(removed.len() >= 2, "{removed:?}");
    assert_eq!(store.log_start(), start);
    assert_eq!(seqs(&store).first(), Some(&start));
    assert_eq!(store.verify().unwrap().problems, vec![]);
    // A segment missing at or above the start is still corruption.
    fill(&store, app.write_key(), 2000, 1000);
    assert!(store.stats().segments >= 3);
    store.close().unwrap();
    drop(store);
    let missing = disk
        .files()
        .into_iter()
        .find(|f| f.ends_with(".seg"))
        .unwrap();
    let fs = disk.fs();
    fs.remove(&disk.path().join(&missing)).unwrap();
    let err = Store::open_with(disk.path(), disk.options(options())).unwrap_err();
    assert!(err.is_corruption(), "{err}");
}

/// A deletion whose unlinks fail part-way (an I/O error at each `remove` of the
/// pass in turn): the segments are gone from reads, the pass reports the error,
/// and then
/// - the next pass on the live store unlinks what is left before it finishes an
///   erasure (a deleted segment may hold erased events: none may outlive `Done`);
/// - the disk as the failure left it (the process dies there) reopens without a
///   stray file: indexes are unlinked before their segments, so what is left is a
///   segment below the log start, which opening removes.
#[test]
fn a_deletion_that_failed_to_unlink_is_finished_by_the_next_pass() {
    use firstlog::testing::{CrashMode, FaultPlan, FaultyFs, MemFs};
    const MARKER: &str = "erase-me-4c1d";
    let mut removes = 0;
    for n in 1.. {
        let mem = MemFs::new();
        let faulty = FaultyFs::new(mem.clone());
        let disk = Disk::Mem(mem.clone());
        let store = Store::open_with(disk.path(), options().fs(Arc::new(faulty.clone()))).unwrap();
        let [app] = sources(&store, &["App"]).try_into().unwrap();
        let events: Vec<_> = (0..2000)
            .map(|i| match i % 5 {
                3 => event(app.write_key(), i).property("note", MARKER),
                _ => event(app.write_key(), i),
            })
            .collect();
        for chunk in events.chunks(100) {
            store.collect_batch_from(chunk).unwrap();
        }
        let request = store.erase_profile("user-3", Scope::All).unwrap();
        store
            .set_retention(Retention::default().max_bytes(200 << 10))
            .unwrap();
        faulty.set_plan(FaultPlan {
            fail_at: Some(faulty.ops() + n),
            forever: false,
        });
        let failed = store.maintain();
        faulty.set_plan(FaultPlan::default());
        let Err(e) = failed else {
            assert!(removes >= 4, "the deletion removed {removes} files");
            break;
        };
        if !e.to_string().contains("(remove)") {
            continue;
        }
        removes += 1;
        let start = store.log_start();
        assert!(start > 1);
        let killed = mem.crash(CrashMode::KeepAll, n);
        // The live store: the next pass unlinks the rest, then finishes.
        store.maintain().unwrap();
        assert!(store.erasure(request.id).unwrap().is_done());
        let below: Vec<String> = disk
            .files()
            .into_iter()
            .filter(|f| f.ends_with(".seg") || f.ends_with(".idx"))
            .filter(|f| f[..20].parse::<u64>().unwrap() < start)
            .collect();
        assert!(below.is_empty(), "remove #{removes}: left {below:?}");
        assert_no_file_holds(&disk, MARKER);
        drop(store);
        // The process died at the failure: opening removes what is below the
        // start, and leaves no index without its segment.
        let disk = Disk::Mem(killed);
        let store = disk.open(options());
        assert_eq!(store.log_start(), start);
        store.maintain().unwrap();
        assert!(store.erasure(request.id).unwrap().is_done());
        let files = disk.files();
        for f in files.iter().filter(|f| f.ends_with(".idx")) {
            let seg = f.replace(".idx", ".seg");
            assert!(
                files.contains(&seg),
                "remove #{removes}: {f} without its segment"
            );
        }
        assert_no_file_holds(&disk, MARKER);
        assert_eq!(store.verify().unwrap().problems, vec![]);
    }
}

fn assert_no_file_holds(disk: &Disk, needle: &str) {
    for name in disk.files() {
        let bytes = disk.read(&name);
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{name} still holds {needle}"
        );
    }
}
