//! `firstlog verify` exits 1 on damage and names the file and byte offset: a
//! flipped byte in a sealed segment, and one in the middle of the active
//! segment (which a writable open refuses). A damaged index file is rebuilt in
//! memory and reported, and verify then passes. Verify writes nothing. A clean
//! store exits 0.

use std::path::Path;

use crate::support::cli::{fails, ok};
use crate::support::store::temp;
use firstlog::{Durability, NewEvent, Options, Store};

/// Bytes of the segment file header and of a record header (FORMAT.md).
const SEGMENT_HEADER_BYTES: u64 = 64;
const RECORD_HEADER_BYTES: u64 = 72;

fn fill(dir: &Path, segment_bytes: u64, n: u64) {
    let store = Store::open_with(
        dir,
        Options::default()
            .segment_bytes(segment_bytes)
            .durability(Durability::Buffered),
    )
    .unwrap();
    let source = store.create_source("Web App").unwrap();
    let events: Vec<NewEvent> = (0..n)
        .map(|i| {
            NewEvent::new("Page Viewed", source.write_key())
                .profile(format!("p{}", i % 13))
                .property("i", i)
                .property("padding", "x".repeat(200))
        })
        .collect();
    for chunk in events.chunks(100) {
        for r in store.collect_batch_from(chunk).unwrap() {
            r.unwrap();
        }
    }
    store.close().unwrap();
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn clean_store_verifies() {
    let (_tmp, dir) = temp();
    fill(&dir, 64 << 10, 1000);
    let out = ok(&dir, &["verify"]);
    assert!(out.contains("ok: no problems found"), "{out}");
    assert!(out.contains("1,000 records"), "{out}");
}

#[test]
fn damaged_sealed_segment_is_reported_with_file_and_offset() {
    let (_tmp, dir) = temp();
    fill(&dir, 64 << 10, 1000);
    let first = dir.join("00000000000000000001.seg");
    assert!(
        dir.join("00000000000000000001.idx").exists(),
        "the first segment is sealed"
    );
    // Inside the body of the first record.
    flip(&first, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 5);
    let out = fails(&dir, &["verify"]);
    assert!(out.contains(&first.display().to_string()), "{out}");
    assert!(
        out.contains(&format!("at byte {SEGMENT_HEADER_BYTES}")),
        "the damaged record starts right after the segment header: {out}"
    );
}

#[test]
fn damage_inside_the_active_segment_fails_with_file_and_offset() {
    let (_tmp, dir) = temp();
    fill(&dir, 16 << 20, 300);
    let active = dir.join("00000000000000000001.seg");
    // The first record's body: valid records follow, so this is not a torn tail.
    flip(&active, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 5);
    let out = fails(&dir, &["verify"]);
    assert!(out.contains(&active.display().to_string()), "{out}");
    assert!(
        out.contains(&format!("at byte {SEGMENT_HEADER_BYTES}")),
        "{out}"
    );
    assert!(out.contains("a writable open refuses the store"), "{out}");
}

#[test]
fn damaged_index_file_is_rebuilt_and_reported() {
    let (_tmp, dir) = temp();
    fill(&dir, 64 << 10, 1000);
    let index = dir.join("00000000000000000001.idx");
    let len = std::fs::metadata(&index).unwrap().len();
    flip(&index, len / 2);
    let out = ok(&dir, &["verify"]);
    assert!(
        out.contains("rebuilt") && out.contains("00000000000000000001.idx"),
        "{out}"
    );
    assert!(out.contains("ok: no problems found"), "{out}");
    // And the data is all there.
    let all = crate::support::ndjson(&ok(&dir, &["query", "--source", "1"]));
    assert_eq!(all.len(), 1000);
}

/// Every file of the store directory, with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn verify_writes_nothing_even_when_opening_would_repair() {
    let (_tmp, dir) = temp();
    fill(&dir, 64 << 10, 1000);
    let index = dir.join("00000000000000000001.idx");
    std::fs::remove_file(&index).unwrap();
    let before = snapshot(&dir);
    let out = ok(&dir, &["verify"]);
    assert!(out.contains("next writable open rewrites it"), "{out}");
    assert_eq!(snapshot(&dir), before, "verify changed the store");
    assert!(!index.exists());
}
