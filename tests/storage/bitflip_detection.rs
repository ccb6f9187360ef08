//! A flipped bit anywhere in a record is detected. In a SEALED segment (every byte
//! of three records: header, body, padding): reading the record through a query or
//! `read_from` fails with `Error::Corrupt` naming the segment file and the record's
//! offset (never a wrong event), `verify()` reports it, and opening does not
//! silently drop data (it opens with every record counted, or fails with
//! `Corrupt` when the index must be rebuilt from the damaged segment). In the
//! middle of the ACTIVE segment, followed by valid records: opening fails with
//! `Corrupt` (file + offset) under the default `RecoveryMode::TolerateTornTail`,
//! and `RecoveryMode::SalvagePrefix` opens, cuts there and reports the cut.

use std::path::{Path, PathBuf};

use crate::support::records::{Rec, records};
use crate::support::store::mem_options;
use crate::support::store::{assert_verify_reports, event};
use firstlog::testing::HEADER_BYTES;
use firstlog::testing::{CrashMode, MemFs, Vfs};
use firstlog::{Durability, Error, Options, RecoveryMode, Store};

const DIR: &str = "/bitflip";
/// Records per segment: two sealed segments, then the active one.
const PER_SEGMENT: u64 = 30;

fn seg_path(first_seq: u64) -> PathBuf {
    Path::new(DIR).join(format!("{first_seq:020}.seg"))
}

fn idx_path(first_seq: u64) -> PathBuf {
    Path::new(DIR).join(format!("{first_seq:020}.idx"))
}

/// A store on a MemFs: segments 1..=30 and 31..=60 sealed, 61..=75 active (not
/// closed, as after a process kill). Returns the file system and every event's JSON.
fn build() -> (MemFs, Vec<String>) {
    let fs = MemFs::new();
    let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
    let key = store
        .create_source("Help Desk")
        .unwrap()
        .write_key()
        .to_owned();
    for i in 0..PER_SEGMENT * 2 + 15 {
        if i > 0 && i.is_multiple_of(PER_SEGMENT) {
            store.roll().unwrap();
        }
        store.collect(event(&key, i)).unwrap();
    }
    assert_eq!(store.stats().sealed_segments, 2);
    let events = store.read_from(1).map(|e| e.unwrap().to_json()).collect();
    let image = fs.crash(CrashMode::KeepAll, 0);
    store.close().unwrap();
    (image, events)
}

/// A copy of `base` with bit `byte % 8` of byte `byte` of `file` flipped.
fn flipped(base: &MemFs, file: &Path, byte: usize) -> MemFs {
    let fs = base.crash(CrashMode::KeepAll, 0);
    let mut data = fs.read(file).unwrap();
    data[byte] ^= 1 << (byte % 8);
    fs.write(file, data);
    fs
}

fn is_corrupt_at(e: &Error, file: &Path, offset: usize) -> bool {
    matches!(e, Error::Corrupt { file: f, offset: o, .. } if f == file && *o == offset as u64)
}

/// Three records of the middle sealed segment: its first, one in the middle, its last.
fn sealed_targets(base: &MemFs) -> (PathBuf, Vec<Rec>) {
    let path = seg_path(PER_SEGMENT + 1);
    let recs = records(&base.read(&path).unwrap());
    assert_eq!(recs.len() as u64, PER_SEGMENT);
    let middle = recs[recs.len() / 2..]
        .iter()
        .find(|r| r.end > r.body_end)
        .copied()
        .expect("a padded record");
    let picked = vec![recs[0], middle, recs[recs.len() - 1]];
    assert!(
        picked.iter().all(|r| r.end > r.body_end),
        "every picked record has padding: {picked:?}"
    );
    (path, picked)
}

/// Reads everything through a query and through `read_from`; returns the first error
/// of each after checking that what came before it is exactly the original prefix.
fn read_all(store: &Store, events: &[String]) -> (Option<Error>, Option<Error>) {
    let source = store.sources()[0].id();
    let mut query_err = None;
    for (k, e) in store.query(source).iter().enumerate() {
        match e {
            Ok(e) => assert_eq!(e.to_json(), events[k], "query returned a wrong event"),
            Err(e) => {
                query_err = Some(e);
                break;
            }
        }
    }
    let mut log_err = None;
    for (k, e) in store.read_from(1).enumerate() {
        match e {
            Ok(e) => assert_eq!(e.to_json(), events[k], "read_from returned a wrong event"),
            Err(e) => {
                log_err = Some(e);
                break;
            }
        }
    }
    (query_err, log_err)
}

#[test]
fn bitflip_in_sealed_segment_header_or_body_fails_the_read() {
    let (base, events) = build();
    let (path, targets) = sealed_targets(&base);
    let mut cases = 0;
    let mut misplaced = 0;
    for rec in &targets {
        for byte in rec.start..rec.body_end {
            let ctx = format!(
                "flip in seq {} at byte {byte} (record at {})",
                rec.seq, rec.start
            );
            let fs = flipped(&base, &path, byte);
            // Opening does not drop anything: every record is still counted.
            let store = Store::open_with(DIR, mem_options(&fs))
                .unwrap_or_else(|e| panic!("{ctx}: open failed: {e}"));
            assert_eq!(store.open_report().records, events.len() as u64, "{ctx}");
            assert_eq!(store.stats().events, events.len() as u64, "{ctx}");
            assert!(store.open_report().tail_repair.is_none(), "{ctx}");

            let (query_err, log_err) = read_all(&store, &events);
            let err = query_err.unwrap_or_else(|| panic!("{ctx}: the query read everything"));
            assert!(
                is_corrupt_at(&err, &path, rec.start),
                "{ctx}: query gave {err:?}"
            );
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains(&rec.start.to_string()), "{message}");
            // `read_from` fails too, though not always at the damaged record (see
            // `read_from_names_the_damaged_record`, ignored: a bug).
            let err = log_err.unwrap_or_else(|| panic!("{ctx}: read_from read everything"));
            assert!(err.is_corruption(), "{ctx}: read_from gave {err:?}");
            if !is_corrupt_at(&err, &path, rec.start) {
                misplaced += 1;
            }
            assert_verify_reports(&store, &path, rec.start as u64, &ctx);
            cases += 1;
        }
    }
    assert!(cases > 3 * HEADER_BYTES);
    eprintln!("{cases} flips; read_from named another offset for {misplaced}");
}

/// A store of 12 events, all in a sealed segment (a roll left the active one
/// empty), where the record chosen by `pick` has bit `bit` of its sequence number
/// flipped on disk.
fn flip_seq_bit_then_roll(
    pick: impl Fn(&[Rec]) -> Rec,
    bit: u32,
) -> (MemFs, PathBuf, Rec, Vec<String>) {
    let fs = MemFs::new();
    let events: Vec<String>;
    {
        let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
        let key = store
            .create_source("Help Desk")
            .unwrap()
            .write_key()
            .to_owned();
        for i in 0..12 {
            store.collect(event(&key, i)).unwrap();
        }
        store.roll().unwrap();
        events = store.read_from(1).map(|e| e.unwrap().to_json()).collect();
        store.close().unwrap();
    }
    let path = seg_path(1);
    let mut data = fs.read(&path).unwrap();
    let rec = pick(&records(&data));
    data[rec.start + 8 + (bit / 8) as usize] ^= 1 << (bit % 8);
    fs.write(&path, data);
    (fs, path, rec, events)
}

#[test]
fn read_from_names_the_damaged_record() {
    // Record seq 7 (0b111) with bit 1 flipped claims seq 5.
    let (fs, path, rec, _) = flip_seq_bit_then_roll(|r| r[6], 1);
    assert_eq!(rec.seq, 7);
    let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
    let err = store
        .read_from(1)
        .find_map(Result::err)
        .expect("read_from fails at the damaged record");
    assert!(is_corrupt_at(&err, &path, rec.start), "{err:?}");
}

#[test]
fn read_from_does_not_silently_skip_a_damaged_last_record() {
    // The last record (seq 12 = 0b1100) with bit 2 flipped claims seq 8; the
    // active segment after it is empty.
    let (fs, path, rec, events) = flip_seq_bit_then_roll(|r| r[r.len() - 1], 2);
    assert_eq!(rec.seq, 12);
    let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
    assert_eq!(store.last_seq(), 12);
    let got: Vec<_> = store.read_from(1).collect();
    let errors: Vec<&Error> = got.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        !errors.is_empty(),
        "read_from returned {} of {} events and no error",
        got.len(),
        events.len()
    );
    assert!(
        is_corrupt_at(errors[0], &path, rec.start),
        "{:?}",
        errors[0]
    );
}

#[test]
fn bitflip_in_sealed_segment_padding_is_reported_by_verify() {
    let (base, events) = build();
    let (path, targets) = sealed_targets(&base);
    for rec in &targets {
        for byte in rec.body_end..rec.end {
            let ctx = format!("flip in padding of seq {} at byte {byte}", rec.seq);
            let fs = flipped(&base, &path, byte);
            let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
            assert_eq!(store.open_report().records, events.len() as u64, "{ctx}");
            // The event bytes are intact; a read returns the right event or
            // `Corrupt` at the record, never a wrong event (read_all checks that).
            let (query_err, log_err) = read_all(&store, &events);
            for err in [query_err, log_err].into_iter().flatten() {
                assert!(is_corrupt_at(&err, &path, rec.start), "{ctx}: {err:?}");
            }
            assert_verify_reports(&store, &path, rec.start as u64, &ctx);
        }
    }
}

#[test]
fn bitflip_in_sealed_segment_padding_fails_the_read() {
    let (base, _) = build();
    let (path, targets) = sealed_targets(&base);
    let rec = targets[1];
    let fs = flipped(&base, &path, rec.end - 1);
    let store = Store::open_with(DIR, mem_options(&fs)).unwrap();
    let source = store.sources()[0].id();
    let err = store
        .query(source)
        .iter()
        .find_map(Result::err)
        .expect("the read of the damaged record fails");
    assert!(is_corrupt_at(&err, &path, rec.start), "{err:?}");
}

#[test]
fn bitflip_in_sealed_segment_with_its_index_gone_fails_the_open() {
    let (base, _) = build();
    let (path, targets) = sealed_targets(&base);
    for rec in &targets {
        for byte in [
            rec.start,
            rec.start + 8,
            rec.start + HEADER_BYTES + 1,
            rec.end - 1,
        ] {
            let fs = flipped(&base, &path, byte);
            // Without its index the segment must be scanned to rebuild it: the
            // damage is corruption, not a reason to drop the rest of the segment.
            fs.remove(&idx_path(PER_SEGMENT + 1)).unwrap();
            match Store::open_with(DIR, mem_options(&fs)) {
                Err(e) => assert!(is_corrupt_at(&e, &path, rec.start), "byte {byte}: {e:?}"),
                Ok(store) => panic!(
                    "byte {byte}: opened, report {:?}, {} events",
                    store.open_report(),
                    store.stats().events
                ),
            }
        }
    }
}

#[test]
fn bitflip_in_sealed_segment_on_the_real_file_system() {
    // The same, through real memory maps: a header, a body and a padding byte.
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        Options::default()
            .segment_bytes(64 << 10)
            .durability(Durability::Buffered)
    };
    let events: Vec<String>;
    {
        let store = Store::open_with(dir.path(), opts()).unwrap();
        let key = store
            .create_source("Web App")
            .unwrap()
            .write_key()
            .to_owned();
        for i in 0..PER_SEGMENT {
            store.collect(event(&key, i)).unwrap();
        }
        store.roll().unwrap();
        store.collect(event(&key, PER_SEGMENT)).unwrap();
        events = store.read_from(1).map(|e| e.unwrap().to_json()).collect();
        store.close().unwrap();
    }
    let path = dir.path().join(format!("{:020}.seg", 1));
    let original = std::fs::read(&path).unwrap();
    let rec = records(&original)[7];
    for (byte, read_fails) in [
        (rec.start + 12, true),
        (rec.start + HEADER_BYTES + 3, true),
        (rec.end - 1, false),
    ] {
        let mut data = original.clone();
        data[byte] ^= 0x10;
        std::fs::write(&path, &data).unwrap();
        let store = Store::open_with(dir.path(), opts()).unwrap();
        assert_eq!(store.open_report().records, events.len() as u64);
        let source = store.sources()[0].id();
        let got: Vec<_> = store.query(source).iter().collect();
        if read_fails {
            assert_eq!(got.len(), 8, "byte {byte}");
            for (k, e) in got[..7].iter().enumerate() {
                assert_eq!(e.as_ref().unwrap().to_json(), events[k]);
            }
            let err = got[7].as_ref().unwrap_err();
            assert!(is_corrupt_at(err, &path, rec.start), "byte {byte}: {err:?}");
        } else {
            for e in &got {
                if let Err(err) = e {
                    assert!(is_corrupt_at(err, &path, rec.start), "byte {byte}: {err:?}");
                }
            }
        }
        let report = store.verify().unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.file == path && p.offset == rec.start as u64),
            "byte {byte}: {:?}",
            report.problems
        );
        drop(store);
    }
    std::fs::write(&path, &original).unwrap();
    let store = Store::open_with(dir.path(), opts()).unwrap();
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn bitflip_in_the_middle_of_the_active_segment() {
    let (base, events) = build();
    let first = PER_SEGMENT * 2 + 1;
    let path = seg_path(first);
    let recs = records(&base.read(&path).unwrap());
    assert_eq!(recs.len(), 15);
    let rec = recs[6];
    let kept = (rec.seq - 1) as usize;
    for byte in rec.start..rec.end {
        let ctx = format!("flip at byte {byte} of active record seq {}", rec.seq);
        let fs = flipped(&base, &path, byte);
        let damaged = fs.read(&path).unwrap();
        let nonzero_end = damaged.iter().rposition(|&b| b != 0).unwrap() + 1;

        // Default: damage followed by valid records is corruption, not a torn tail.
        match Store::open_with(DIR, mem_options(&fs)) {
            Err(e) => {
                assert!(is_corrupt_at(&e, &path, rec.start), "{ctx}: {e:?}");
                let message = e.to_string();
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            Ok(store) => panic!("{ctx}: opened; report {:?}", store.open_report()),
        }
        // The refused open changed nothing on disk.
        let mut expected = base.read(&path).unwrap();
        expected[byte] ^= 1 << (byte % 8);
        assert_eq!(fs.read(&path).unwrap(), expected, "{ctx}");

        // SalvagePrefix cuts at the damage and says so.
        let store = Store::open_with(DIR, mem_options(&fs).recovery(RecoveryMode::SalvagePrefix))
            .unwrap_or_else(|e| panic!("{ctx}: salvage open failed: {e}"));
        let repair = store
            .open_report()
            .tail_repair
            .clone()
            .unwrap_or_else(|| panic!("{ctx}: no repair reported"));
        assert_eq!(repair.file, path, "{ctx}");
        assert_eq!(repair.offset, rec.start as u64, "{ctx}");
        assert_eq!(
            repair.dropped_bytes,
            (nonzero_end - rec.start) as u64,
            "{ctx}"
        );
        assert_eq!(store.last_seq(), kept as u64, "{ctx}");
        let got: Vec<String> = store.read_from(1).map(|e| e.unwrap().to_json()).collect();
        assert_eq!(got, events[..kept], "{ctx}");
        assert!(store.verify().unwrap().is_clean(), "{ctx}");
        let key = store.sources()[0].write_key().to_owned();
        assert_eq!(
            store.collect(event(&key, 999)).unwrap().seq,
            Some(kept as u64 + 1),
            "{ctx}"
        );
    }
}
