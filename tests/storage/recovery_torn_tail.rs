//! Recovery after a torn write, on the real file system: for EVERY byte offset inside
//! the last record (and inside a last multi-record batch) of the active segment, a
//! copy of the store has its active segment truncated there, or zeroed from there
//! on, both in a cleanly closed store (segment trimmed to its data) and in one
//! copied while open (segment still at its reserved size). Reopening keeps every
//! earlier record intact, drops the torn record (a torn batch as a whole), reports
//! the cut (offset and dropped bytes) whenever bytes were dropped, continues with
//! the next sequence number, and `verify()` finds nothing wrong.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::records::{Rec, records};
use crate::support::store::event;
use firstlog::testing::HEADER_BYTES;
use firstlog::{Durability, Options, Store};

/// Bytes of the segment file header (FORMAT.md, 2.1): the first record starts here.
const SEGMENT_BYTES: u64 = 64 << 10;

fn options() -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .durability(Durability::Buffered)
}

fn active_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segs.sort();
    segs.pop().expect("a segment")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A store image to damage: its directory and the JSON of every event in it.
struct Image {
    dir: tempfile::TempDir,
    events: Vec<String>,
    /// The source's write key.
    key: String,
    /// The active segment's bytes and its records.
    active: Vec<u8>,
    recs: Vec<Rec>,
}

/// Writes a store with one sealed segment and an active one whose last append is
/// `last_batch` events; returns an image copied while open and one after close.
fn build(last_batch: usize) -> (Image, Image) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), options()).unwrap();
    let source = store.create_source("www Marketing Page").unwrap();
    let key = source.write_key().to_owned();
    let mut i = 0;
    for _ in 0..40 {
        store.collect(event(&key, i)).unwrap();
        i += 1;
    }
    store.roll().unwrap();
    for _ in 0..10 {
        store.collect(event(&key, i)).unwrap();
        i += 1;
    }
    // A batch in the middle, so earlier batches must survive intact.
    store
        .collect_batch((i..i + 3).map(|k| event(&key, k)).collect())
        .unwrap();
    i += 3;
    if last_batch == 1 {
        store.collect(event(&key, i)).unwrap();
    } else {
        let outcomes = store
            .collect_batch((i..i + last_batch as u64).map(|k| event(&key, k)).collect())
            .unwrap();
        assert!(outcomes.iter().all(|o| o.is_ok()));
    }
    let events: Vec<String> = store.read_from(1).map(|e| e.unwrap().to_json()).collect();
    assert_eq!(store.stats().segments, 2);

    let image = |dir: tempfile::TempDir| {
        let active = fs::read(active_segment(dir.path())).unwrap();
        let recs = records(&active);
        Image {
            dir,
            events: events.clone(),
            key: key.clone(),
            active,
            recs,
        }
    };
    let open_copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), open_copy.path());
    let unclosed = image(open_copy);
    store.close().unwrap();
    drop(store);
    let closed_copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), closed_copy.path());
    let closed = image(closed_copy);
    assert_eq!(
        unclosed.active.len() as u64,
        SEGMENT_BYTES,
        "unclosed keeps its reservation"
    );
    // A clean close trims to the data plus 64 zero bytes (so the file's last 64
    // bytes can never be read as a seal trailer).
    let data_end = closed.recs.last().unwrap().end;
    assert_eq!(
        closed.active.len(),
        data_end + 64,
        "close trims to the data"
    );
    assert!(closed.active[data_end..].iter().all(|&b| b == 0));
    (unclosed, closed)
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    /// The file ends at the cut.
    Truncate,
    /// The file keeps its length; bytes from the cut on are zero.
    ZeroFrom,
}

/// Damages a copy of `image` at `cut`, reopens it and checks everything. The last
/// `unit` records of the active segment form the last atomic unit.
fn check_cut(image: &Image, unit: usize, cut: usize, damage: Damage) {
    let ctx = format!(
        "cut at {cut}, {damage:?}, file length {}",
        image.active.len()
    );
    let recs = &image.recs;
    let torn = &recs[recs.len() - unit..];
    let (unit_start, unit_end) = (torn[0].start, torn[unit - 1].end);
    assert!(torn[unit - 1].ends_batch && (unit == 1 || !torn[0].ends_batch));

    let work = tempfile::tempdir().unwrap();
    copy_dir(image.dir.path(), work.path());
    let seg = active_segment(work.path());
    let mut data = image.active.clone();
    match damage {
        Damage::Truncate => data.truncate(cut),
        Damage::ZeroFrom => data[cut..].fill(0),
    }
    fs::write(&seg, &data).unwrap();

    // What recovery must find: the unit survives only if its bytes are unchanged.
    let survives = data.get(unit_start..unit_end) == image.active.get(unit_start..unit_end);
    let kept = if survives {
        image.events.len()
    } else {
        image.events.len() - unit
    };
    let kept_end = if survives { unit_end } else { unit_start };
    let dropped = data[kept_end..]
        .iter()
        .rposition(|&b| b != 0)
        .map(|i| i as u64 + 1);

    let store = Store::open_with(work.path(), options())
        .unwrap_or_else(|e| panic!("{ctx}: open failed: {e}"));
    let report = store.open_report().clone();
    match (dropped, &report.tail_repair) {
        (None, None) => {}
        (Some(bytes), Some(repair)) => {
            assert_eq!(repair.file, seg, "{ctx}");
            assert_eq!(repair.offset, kept_end as u64, "{ctx}: cut offset");
            assert_eq!(repair.dropped_bytes, bytes, "{ctx}: dropped bytes");
            assert!(!repair.reason.is_empty(), "{ctx}");
        }
        (want, got) => panic!("{ctx}: expected dropped {want:?}, report {got:?}"),
    }
    assert_eq!(report.records, kept as u64, "{ctx}");
    assert_eq!(store.last_seq(), kept as u64, "{ctx}");

    // Every earlier record is there and intact; the torn ones are gone.
    let events: Vec<String> = store
        .read_from(1)
        .map(|e| e.unwrap_or_else(|e| panic!("{ctx}: {e}")).to_json())
        .collect();
    assert_eq!(events, image.events[..kept], "{ctx}");
    let source = store.sources()[0].id();
    assert_eq!(store.query(source).count().unwrap(), kept as u64, "{ctx}");

    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{ctx}: {:?}", report.problems);

    // Appends continue with the next sequence number, and survive another reopen.
    let receipt = store.collect(event(&image.key, 1000)).unwrap();
    assert_eq!(receipt.seq, Some(kept as u64 + 1), "{ctx}");
    store.close().unwrap();
    drop(store);
    let store = Store::open_with(work.path(), options()).unwrap();
    assert!(
        store.open_report().is_clean(),
        "{ctx}: {:?}",
        store.open_report()
    );
    assert_eq!(store.last_seq(), kept as u64 + 1, "{ctx}");
    let last = store.read_from(kept as u64 + 1).next().unwrap().unwrap();
    assert_eq!(
        last.properties().get("i").and_then(|v| v.as_i64()),
        Some(1000)
    );
    assert!(store.verify().unwrap().is_clean(), "{ctx}");
}

/// Runs `check_cut` for each cut, both damages, on four threads (the work is
/// mostly waiting for fsync, so this stays within two cores).
fn run_cuts(image: &Image, unit: usize, cuts: impl Iterator<Item = usize>) -> usize {
    let cases: Vec<(usize, Damage)> = cuts
        .flat_map(|cut| [(cut, Damage::Truncate), (cut, Damage::ZeroFrom)])
        .collect();
    std::thread::scope(|s| {
        for part in cases.chunks(cases.len().div_ceil(4)) {
            s.spawn(move || {
                for &(cut, damage) in part {
                    check_cut(image, unit, cut, damage);
                }
            });
        }
    });
    cases.len()
}

/// Every byte offset inside the last unit of the active segment.
fn every_offset(image: &Image, unit: usize) -> usize {
    let recs = &image.recs;
    let start = recs[recs.len() - unit].start;
    let end = recs[recs.len() - 1].end;
    run_cuts(image, unit, start..end)
}

#[test]
fn torn_last_record_every_offset_unclosed_store() {
    let (unclosed, _) = build(1);
    let rec = unclosed.recs.last().unwrap();
    assert!(rec.end - rec.start > HEADER_BYTES);
    let cases = every_offset(&unclosed, 1);
    assert_eq!(cases, 2 * (rec.end - rec.start));
}

#[test]
fn torn_last_record_every_offset_closed_store() {
    let (_, closed) = build(1);
    every_offset(&closed, 1);
}

#[test]
fn torn_batch_is_dropped_as_a_whole() {
    let (unclosed, closed) = build(3);
    let last = &unclosed.recs[unclosed.recs.len() - 3..];
    assert!(!last[0].ends_batch && !last[1].ends_batch && last[2].ends_batch);
    assert_eq!(last[0].seq + 2, last[2].seq);
    // Every offset of the batch's last record (the one whose END_OF_BATCH flag
    // commits the batch), and every 7th offset of the rest (7 is coprime to the
    // 8-byte alignment, so every position within a word is hit), plus each
    // record boundary and the bytes around it.
    let mut cuts: Vec<usize> = (last[0].start..last[2].start).step_by(7).collect();
    for r in last {
        cuts.extend([r.start, r.start + 1, r.end - 1]);
    }
    cuts.extend(last[2].start..last[2].end);
    cuts.sort_unstable();
    cuts.dedup();
    run_cuts(&unclosed, 3, cuts.iter().copied());
    run_cuts(&closed, 3, cuts.into_iter());
}

#[test]
fn zeroed_tail_after_last_record_is_no_damage() {
    let (unclosed, _) = build(1);
    let end = unclosed.recs.last().unwrap().end;
    // Zeroing the reserved area changes nothing: no repair, nothing lost.
    check_cut(&unclosed, 1, end, Damage::ZeroFrom);
    // A stray non-zero byte far into the reserved area is a torn tail: cut, reported.
    let work = tempfile::tempdir().unwrap();
    copy_dir(unclosed.dir.path(), work.path());
    let seg = active_segment(work.path());
    let mut data = unclosed.active.clone();
    data[end + 1000] = 0x5a;
    fs::write(&seg, &data).unwrap();
    let store = Store::open_with(work.path(), options()).unwrap();
    let repair = store.open_report().tail_repair.clone().expect("reported");
    assert_eq!(repair.offset, end as u64);
    assert_eq!(repair.dropped_bytes, 1001);
    assert_eq!(store.last_seq(), unclosed.events.len() as u64);
    assert!(store.verify().unwrap().is_clean());
}
