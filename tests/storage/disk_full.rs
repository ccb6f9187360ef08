//! A disk short of space (the in-memory file system with a capacity): new
//! segments shrink to fit, a disk with no room for even the smallest refuses
//! appends with `DiskFull` (the store is not poisoned, nothing acknowledged is
//! lost), readiness says so, and writes resume without a reopen once space is
//! freed. A store opens on a disk smaller than one segment, reopens on a full
//! one, and `verify` writes nothing there.

use firstlog::testing::MemFs;
use firstlog::{Error, Options, Store};

use crate::support::store::{event, mem_options, sources};

const MIB: u64 = 1 << 20;

fn open(fs: &MemFs, segment_bytes: u64) -> Store {
    Store::open_with("/mem", mem_options(fs).segment_bytes(segment_bytes)).expect("open")
}

/// Collects events one at a time until the disk refuses one; returns how many
/// were acknowledged (their sequence numbers are `first..first + n`).
fn fill(store: &Store, key: &str, first: u64) -> (u64, Error) {
    let mut acked = 0;
    loop {
        match store.collect(event(key, first + acked)) {
            Ok(receipt) => {
                acked += 1;
                assert_eq!(receipt.seq, Some(first + acked - 1));
                assert!(acked < 1_000_000, "the disk never filled");
            }
            Err(e) => return (acked, e),
        }
    }
}

fn assert_disk_full(store: &Store, error: &Error) {
    assert!(
        matches!(error, Error::DiskFull { needed, .. } if *needed == 256 << 10),
        "{error:?}"
    );
    let readiness = store.readiness();
    assert_eq!(readiness.reason, Some("disk_full"), "{readiness:?}");
    assert_eq!(store.stats().readiness, readiness);
    assert!(matches!(
        store.check_writable(),
        Err(Error::DiskFull { .. })
    ));
}

fn all_seqs(store: &Store) -> Vec<u64> {
    store.read_from(0).map(|e| e.expect("read").seq()).collect()
}

#[test]
fn a_full_disk_refuses_with_disk_full_and_writes_resume_once_space_is_freed() {
    let fs = MemFs::new();
    let store = open(&fs, MIB);
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    // Room for the first segment and about 1.6 more: the second is whole,
    // the next ones shrink (512 KiB, 256 KiB) until none fits.
    fs.set_capacity(Some(fs.used_bytes() + MIB + MIB * 8 / 5));
    let (acked, error) = fill(&store, &key, 1);
    assert_disk_full(&store, &error);
    assert!(
        store.stats().segments >= 3,
        "smaller segments were started before the disk filled"
    );
    // Refused again, not poisoned; every acknowledged event is there.
    let again = store.collect(event(&key, 0)).expect_err("still full");
    assert!(matches!(again, Error::DiskFull { .. }), "{again:?}");
    assert_eq!(all_seqs(&store), (1..=acked).collect::<Vec<_>>());

    // Space is freed: the readiness check starts a segment, writes resume.
    fs.set_capacity(None);
    assert!(store.readiness().ready);
    let receipt = store.collect(event(&key, acked + 1)).expect("collect");
    assert_eq!(receipt.seq, Some(acked + 1));
    drop(store);

    let store = open(&fs, MIB);
    assert!(store.verify().expect("verify").is_clean());
    assert_eq!(all_seqs(&store), (1..=acked + 1).collect::<Vec<_>>());
}

#[test]
fn an_append_resumes_by_itself_once_space_is_freed() {
    let fs = MemFs::new();
    let store = open(&fs, MIB);
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    fs.set_capacity(Some(fs.used_bytes() + MIB / 2));
    let (acked, error) = fill(&store, &key, 1);
    assert_disk_full(&store, &error);
    fs.set_capacity(None);
    // No readiness check in between: the append itself starts the segment.
    let receipt = store.collect(event(&key, acked + 1)).expect("collect");
    assert_eq!(receipt.seq, Some(acked + 1));
    assert!(store.readiness().ready);
}

#[test]
fn a_store_opens_and_collects_on_a_disk_smaller_than_one_segment() {
    let fs = MemFs::new();
    fs.set_capacity(Some(3 * MIB));
    let store = open(&fs, Options::SEGMENT_BYTES_DEFAULT);
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    for i in 0..2000 {
        store.collect(event(&key, i)).expect("collect");
    }
    assert!(store.readiness().ready);
    let free = store.stats().disk_free_bytes.expect("known");
    assert!(free < 3 * MIB, "{free}");
}

#[test]
fn reopening_on_a_full_disk_keeps_every_event_and_resumes_when_space_is_freed() {
    let fs = MemFs::new();
    let store = open(&fs, MIB);
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    for i in 1..=500 {
        store.collect(event(&key, i)).expect("collect");
    }
    drop(store);
    // Not a byte to spare: the active segment cannot reserve its space again.
    fs.set_capacity(Some(fs.used_bytes()));
    let store = open(&fs, MIB);
    assert_eq!(all_seqs(&store), (1..=500).collect::<Vec<_>>());
    let error = store.collect(event(&key, 501)).expect_err("full");
    assert_disk_full(&store, &error);
    drop(store);

    // Reopened again while full: the sealed segment stands in, nothing lost.
    let store = open(&fs, MIB);
    assert_eq!(store.readiness().reason, Some("disk_full"));
    assert_eq!(all_seqs(&store), (1..=500).collect::<Vec<_>>());
    fs.set_capacity(None);
    assert_eq!(
        store.collect(event(&key, 501)).expect("collect").seq,
        Some(501)
    );
    drop(store);
    let store = open(&fs, MIB);
    assert!(store.verify().expect("verify").is_clean());
    assert_eq!(all_seqs(&store), (1..=501).collect::<Vec<_>>());
}

#[test]
fn verify_on_a_full_disk_writes_nothing() {
    let fs = MemFs::new();
    let store = open(&fs, 64 << 10);
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    for i in 1..=2000 {
        store.collect(event(&key, i)).expect("collect");
    }
    drop(store);
    fs.set_capacity(Some(fs.used_bytes()));
    let used = fs.used_bytes();
    let reader = Store::open_read_only_with("/mem", mem_options(&fs)).expect("read-only open");
    assert!(reader.verify().expect("verify").is_clean());
    assert_eq!(reader.readiness().reason, Some("read_only"));
    drop(reader);
    assert_eq!(fs.used_bytes(), used, "nothing written");
}

/// Events near the largest allowed size, on a disk that runs short: a new
/// segment always holds the largest record, so once space is freed the
/// store takes events again (it never keeps an empty segment too small).
#[test]
fn large_events_resume_once_space_is_freed() {
    let fs = MemFs::new();
    let limits = firstlog::Limits {
        event_bytes_max: 300 << 10,
        ..firstlog::Limits::default()
    };
    let store =
        Store::open_with("/mem", mem_options(&fs).segment_bytes(MIB).limits(limits)).expect("open");
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    let big = |i: u64| event(&key, i).property("pad", "y".repeat(290 << 10));
    for i in 1..=3 {
        store.collect(big(i)).expect("collect");
    }
    fs.set_capacity(Some(fs.used_bytes() + (300 << 10)));
    let mut refused = None;
    for i in 4..20 {
        if let Err(e) = store.collect(big(i)) {
            refused = Some(e);
            break;
        }
    }
    let error = refused.expect("the disk filled");
    assert!(matches!(error, Error::DiskFull { .. }), "{error:?}");
    assert!(!store.readiness().ready);
    fs.set_capacity(None);
    assert!(store.readiness().ready);
    store
        .collect(big(100))
        .expect("collect once space is freed");
}

/// A batch that fits a segment is never split by a short disk: it is
/// written whole in a segment made for it, or refused with nothing stored.
#[test]
fn a_batch_is_stored_whole_or_not_at_all_on_a_short_disk() {
    for room in [300u64 << 10, 320 << 10, 400 << 10, 600 << 10] {
        let fs = MemFs::new();
        // A disk so small the store starts with a reduced segment (256 KiB).
        fs.set_capacity(Some(room));
        let store = open(&fs, MIB);
        let key = sources(&store, &["Web"])[0].write_key().to_owned();
        store.collect(event(&key, 1)).expect("collect");
        // A batch larger than that segment (about 300 KiB).
        let batch: Vec<_> = (2..2502).map(|i| event(&key, i)).collect();
        match store.collect_batch(batch) {
            Ok(receipts) => {
                assert_eq!(receipts.len(), 2500);
                assert_eq!(store.last_seq(), 2501);
            }
            Err(e) => {
                assert!(matches!(e, Error::DiskFull { .. }), "{room}: {e:?}");
                assert_eq!(store.last_seq(), 1, "{room}: nothing of a refused batch");
            }
        }
        fs.set_capacity(None);
        drop(store);
        let store = open(&fs, MIB);
        assert!(store.verify().expect("verify").is_clean());
    }
}

/// Under `Durability::Sync`, concurrent appenders that meet a full disk get
/// `DiskFull` (never `Poisoned`), and every stored event was acknowledged.
#[test]
fn sync_group_commit_on_a_full_disk_refuses_only_the_batches_without_room() {
    let fs = MemFs::new();
    let store = Store::open_with(
        "/mem",
        mem_options(&fs)
            .segment_bytes(MIB)
            .durability(firstlog::Durability::Sync),
    )
    .expect("open");
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    fs.set_capacity(Some(fs.used_bytes() + MIB + MIB / 2));
    let acked = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            let (store, key, acked) = (&store, &key, &acked);
            scope.spawn(move || {
                for i in 0..100_000 {
                    let batch: Vec<_> = (0..10)
                        .map(|j| event(key, t * 1_000_000 + i * 10 + j))
                        .collect();
                    match store.collect_batch(batch) {
                        Ok(r) => {
                            acked.fetch_add(r.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(Error::DiskFull { .. }) => return,
                        Err(e) => panic!("expected DiskFull, got {e:?}"),
                    }
                }
            });
        }
    });
    let stored = all_seqs(&store).len() as u64;
    assert_eq!(
        stored,
        acked.into_inner(),
        "every stored event was acknowledged"
    );
    assert_eq!(store.readiness().reason, Some("disk_full"));
}

/// Retention is how a full disk gets space back: it deletes every expired
/// segment but the last, even when the last is the sealed stand-in.
#[test]
fn retention_frees_a_full_disk() {
    let fs = MemFs::new();
    let store = open(&fs, 256 << 10);
    let key = sources(&store, &["Web"])[0].write_key().to_owned();
    fs.set_capacity(Some(fs.used_bytes() + MIB));
    let (acked, error) = fill(&store, &key, 1);
    assert_disk_full(&store, &error);
    let segments = store.stats().segments;
    assert!(segments >= 3, "{segments}");
    store
        .set_retention(firstlog::Retention::default().max_bytes(1))
        .expect("retention");
    let report = store.maintain().expect("maintain");
    assert_eq!(store.stats().segments, 1, "{report:?}");
    assert!(store.readiness().ready, "space is back");
    let receipt = store.collect(event(&key, acked + 1)).expect("collect");
    assert_eq!(receipt.seq, Some(acked + 1));
}
