//! Every seed in `fuzz/corpus/<target>/` and every crash file in
//! `fuzz/artifacts/<target>/` runs through the same bodies as the cargo-fuzz targets
//! (`fuzz/src/lib.rs`), in a plain `cargo test`: a crash found once stays fixed.

#[path = "../../fuzz/src/lib.rs"]
mod fuzz_bodies;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use firstlog::testing::{MemFs, Vfs};
use firstlog::{Durability, NewEvent, Options, Store};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, recursively, sorted (none when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn replay(target: &str) {
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    let artifacts = files(&fuzz_dir().join("artifacts").join(target));
    assert!(
        corpus.len() >= 3,
        "fuzz/corpus/{target} has {} seeds",
        corpus.len()
    );
    let mut failures = Vec::new();
    for path in corpus.iter().chain(&artifacts) {
        let data = std::fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| fuzz_bodies::run(target, &data))).is_err() {
            failures.push(path.display().to_string());
        }
    }
    println!(
        "{target}: {} corpus files, {} artifacts replayed",
        corpus.len(),
        artifacts.len()
    );
    assert!(failures.is_empty(), "{target} fails on: {failures:#?}");
}

#[test]
fn replay_record_decode() {
    replay("record_decode");
}

#[test]
fn replay_open_store() {
    replay("open_store");
}

#[test]
fn replay_collect_json() {
    replay("collect_json");
}

#[test]
fn replay_ops_model() {
    replay("ops_model");
}

#[test]
fn every_target_has_a_replay_test() {
    assert_eq!(
        fuzz_bodies::TARGETS,
        &["record_decode", "open_store", "collect_json", "ops_model"]
    );
}

// ---- the seed corpus -----------------------------------------------------------------

/// Writes the seed corpus (`fuzz/corpus/<target>/seed-*`). The seeds are checked
/// in; run this after a format change:
/// `cargo test --test fuzz_corpus_replay -- --ignored write_seed_corpus`.
#[test]
#[ignore = "a tool, not a test: rewrites the checked-in seed corpus"]
fn write_seed_corpus() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    };

    // record_decode: real records, and real bodies.
    let (records, bodies) = real_records();
    for (i, (record, body)) in records.iter().zip(&bodies).enumerate() {
        write("record_decode", &format!("record-{i}"), record);
        write("record_decode", &format!("body-{i}"), body);
    }
    write("record_decode", "empty", b"");

    // open_store: the valid store untouched, a few edits, and rebuilt from chunks.
    write("open_store", "untouched", &[0]);
    write(
        "open_store",
        "edits",
        &[0, 0, 0x41, 80, 0, 1, 0xF0, 100, 0, 2, 0xFF, 0, 0],
    );
    write("open_store", "flip-active", &[0, 2, 0x00, 0x90, 0]);
    let store_files = template_files();
    let mut built = vec![1u8];
    for (name, bytes) in &store_files {
        let (kind, seq) = if let Some(seq) = name.strip_suffix(".seg") {
            (0u8, seq.parse::<u64>().unwrap())
        } else if let Some(seq) = name.strip_suffix(".idx") {
            (1, seq.parse::<u64>().unwrap())
        } else {
            (2, 1)
        };
        built.push(kind);
        built.push((seq - 1) as u8);
        built.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        built.extend_from_slice(bytes);
    }
    write("open_store", "built", &built);

    // collect_json: the product's payloads and edge cases (`WK` is the write key).
    let payloads: &[(&str, &str)] = &[
        (
            "signup",
            r#"{"event": "Newsletter Signup", "write_key": "WK"}"#,
        ),
        (
            "agent",
            r#"{"event": "Agent Assigned", "write_key": "WK", "properties": {"email": "", "display_name": "Sally", "initiated_from": "Chat Widget", "subject": "Help with my billing"}}"#,
        ),
        (
            "full",
            r#"{"event":"Page Viewed","write_key":"WK","profile_id":"p-1","session_id":42,"message_id":"m-1","timestamp":"2024-02-29T23:59:59.999+01:00","properties":{"n":-0,"u":18446744073709551615,"f":1.5e300,"a":[[],{}],"s":"\u0000\ud83d\ude00"},"context":{"ip":"203.0.113.9","library":{"name":"firstparty.js"}}}"#,
        ),
        (
            "batch",
            r#"{"write_key":"WK","batch":[{"event":"A"},{"event":"B","message_id":"x"},{"event":"B","message_id":"x"},{"event":""}]}"#,
        ),
        (
            "array",
            r#"[{"event":"Form Submitted","write_key":"WK"},{"event":"Cart-Abandoned","write_key":"nope"}]"#,
        ),
        (
            "bad",
            r#"{"event":"A","write_key":"WK","properties":{"x":NaN}}"#,
        ),
    ];
    for (name, payload) in payloads {
        write("collect_json", name, payload.as_bytes());
    }

    // ops_model: two bytes per op (see fuzz/src/lib.rs).
    let ops: &[(&str, &[u8])] = &[
        ("sync-mode", &[0, 0, 1, 2, 7, 6, 1, 0, 3, 7, 0]),
        (
            "buffered-crashes",
            &[1, 0, 0, 0, 40, 2, 20, 3, 0, 0, 9, 6, 2, 6, 3, 7, 0],
        ),
        (
            "rolls-reopen",
            &[1, 2, 29, 4, 0, 0, 200, 5, 0, 2, 17, 6, 0, 6, 1, 7, 0],
        ),
        ("interval", &[2, 0, 5, 2, 3, 6, 3, 0, 8, 4, 0, 6, 2]),
    ];
    for (name, bytes) in ops {
        write("ops_model", name, bytes);
    }
}

/// A small store's files (name, bytes), as the fuzz template builds it.
fn template_files() -> Vec<(String, Vec<u8>)> {
    let fs = MemFs::new();
    let options = Options::default()
        .segment_bytes(64 << 10)
        .durability(Durability::Buffered)
        .fs(std::sync::Arc::new(fs.clone()));
    let store = Store::open_with("/seed", options).unwrap();
    let a = store.create_source("Web App").unwrap();
    for i in 0..6u64 {
        store
            .collect(NewEvent::new("Page Viewed", a.write_key()).property("i", i))
            .unwrap();
        if i == 2 {
            store.roll().unwrap();
        }
    }
    store.close().unwrap();
    drop(store);
    let mut names = fs.list(Path::new("/seed")).unwrap();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = fs.read(&Path::new("/seed").join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Whole records and their bodies, from a real segment.
fn real_records() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use firstlog::testing::{HEADER_BYTES, RecordHeader};
    let fs = MemFs::new();
    let options = Options::default()
        .segment_bytes(64 << 10)
        .durability(Durability::Buffered)
        .fs(std::sync::Arc::new(fs.clone()));
    let store = Store::open_with("/seed", options).unwrap();
    let a = store.create_source("Web App").unwrap();
    let mut nested = firstlog::Map::new();
    nested.insert("deep", firstlog::Value::from(vec![1.5, -0.0]));
    let events = [
        NewEvent::new("Page Viewed", a.write_key()),
        NewEvent::new("Agent Assigned", a.write_key())
            .profile("user-1")
            .session("s")
            .message_id("m")
            .property("display_name", "Sally")
            .property("n", u64::MAX)
            .property("nested", nested)
            .context_field("ip", "203.0.113.9"),
    ];
    for e in events {
        store.collect(e).unwrap();
    }
    store.close().unwrap();
    let seg = fs
        .read(Path::new("/seed/00000000000000000001.seg"))
        .unwrap();
    let (mut records, mut bodies) = (Vec::new(), Vec::new());
    let mut pos = 64;
    while let Ok(h) = RecordHeader::read_from(&seg[pos..]) {
        let end = pos + h.padded_len();
        records.push(seg[pos..end].to_vec());
        bodies.push(seg[pos + HEADER_BYTES..pos + HEADER_BYTES + h.body_len as usize].to_vec());
        pos = end;
    }
    (records, bodies)
}

/// Objects keep each key at most once (`Map`'s invariant), also when read from
/// disk: a CRC-valid record body that repeats a key (found by the `record_decode`
/// fuzzer) is refused as corrupt, not decoded into an object whose `to_json`
/// repeats the key (which `Value::from_json` itself refuses).
#[test]
fn decoded_objects_have_unique_keys() {
    let crash =
        fuzz_dir().join("artifacts/record_decode/crash-ea68af85ac99bbacfb89a3e1d5920e7046e04083");
    let body = std::fs::read(crash).unwrap();
    let (_fs, opened) = fuzz_bodies::open_with_body(&body);
    // Refusing the body as corrupt would be fine too.
    if let Ok(store) = opened {
        for e in store.read_from(1) {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    assert!(err.is_corruption(), "{err:?}");
                    continue;
                }
            };
            for map in [e.properties(), e.context()] {
                let mut keys: Vec<&str> = map.keys().collect();
                let n = keys.len();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), n, "duplicate keys in {}", map.to_json());
            }
        }
    }
}
