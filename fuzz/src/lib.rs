//! The bodies of the fuzz targets, shared by `fuzz_targets/*.rs` (libFuzzer) and by
//! `tests/fuzz_corpus_replay.rs` (a plain `cargo test` that replays the corpus and
//! any crash artifact). Each body takes arbitrary bytes and panics only when it
//! finds a bug: a panic inside firstlog, or a broken invariant.
//!
//! Only the public API of firstlog (plus `std`) is used, so this file compiles in
//! both places.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use firstlog::testing::{
    ALIGN, BODY_BYTES_MAX, FLAG_END_OF_BATCH, HEADER_BYTES, RecordHeader, name_hash, padded_len,
    read_record,
};
use firstlog::testing::{CrashMode, MemFs, Vfs};
use firstlog::{Durability, Error, Event, Limits, NewEvent, Options, RecoveryMode, Store, Value};

/// The store directory inside every in-memory file system.
const DIR: &str = "/fuzz";
/// Segment size of every fuzzed store (the smallest allowed).
const SEGMENT_BYTES: u64 = 64 << 10;
/// The write-key placeholder fuzz inputs use; replaced by the real key.
pub const KEY_PLACEHOLDER: &str = "WK";

fn dir() -> PathBuf {
    PathBuf::from(DIR)
}

fn options(fs: &MemFs, durability: Durability, recovery: RecoveryMode) -> Options {
    Options::default()
        .segment_bytes(SEGMENT_BYTES)
        .durability(durability)
        .recovery(recovery)
        .fs(Arc::new(fs.clone()))
}

/// The files of a directory, sorted by name.
type Files = Vec<(String, Vec<u8>)>;

fn files_of(fs: &MemFs) -> Files {
    let mut names = fs.list(&dir()).unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let bytes = fs.read(&dir().join(&name))?;
            Some((name, bytes))
        })
        .collect()
}

fn restore(files: &Files) -> MemFs {
    let fs = MemFs::new();
    let _ = fs.create_dir_all(&dir());
    for (name, bytes) in files {
        fs.write(&dir().join(name), bytes.clone());
    }
    fs
}

/// A template store: its files and the write key of its one source.
struct Template {
    files: Files,
    key: String,
}

/// An empty store with one source (catalog + empty active segment).
fn empty_template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let fs = MemFs::new();
        let store = Store::open_with(
            DIR,
            options(&fs, Durability::Buffered, RecoveryMode::default()),
        )
        .expect("template store");
        let key = store
            .create_source("Fuzz")
            .expect("source")
            .write_key()
            .to_owned();
        store.close().expect("close");
        drop(store);
        Template {
            files: files_of(&fs),
            key,
        }
    })
}

/// A small store with three segments (two sealed, with index files), two sources,
/// singles and batches.
fn full_template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let fs = MemFs::new();
        let store = Store::open_with(
            DIR,
            options(&fs, Durability::Buffered, RecoveryMode::default()),
        )
        .expect("template store");
        let a = store.create_source("Web App").expect("source");
        let b = store.create_source("Help Desk").expect("source");
        for i in 0..12u64 {
            let key = if i.is_multiple_of(3) {
                b.write_key()
            } else {
                a.write_key()
            };
            let event = NewEvent::new(["Page Viewed", "Button Clicked"][(i % 2) as usize], key)
                .profile(format!("user-{}", i % 4))
                .message_id(format!("m-{i}"))
                .timestamp_ms(1_700_000_000_000 + i as i64)
                .property("i", i)
                .property("f", i as f64 + 0.5);
            store.collect(event).expect("collect");
            if i % 5 == 4 {
                store.roll().expect("roll");
            }
        }
        let batch = (0..3).map(|i| NewEvent::new("Form Submitted", a.write_key()).property("b", i));
        store.collect_batch(batch.collect()).expect("batch");
        store.close().expect("close");
        drop(store);
        Template {
            files: files_of(&fs),
            key: a.write_key().to_owned(),
        }
    })
}

/// Reads everything an open store has, every way, checking what can be checked
/// without knowing the data: sequence numbers strictly increase with no gap, every
/// event serialises to valid JSON, errors are corruption (never I/O on MemFs,
/// never a panic), `verify()` answers.
fn exercise(store: &Store) {
    // The log starts at seq 1 (a lost first segment is Corrupt at open: see
    // tests/corruption_sweep.rs, `a_missing_first_segment_is_reported`).
    let mut next = 1;
    for item in store.read_from(1) {
        match item {
            Ok(e) => {
                assert_eq!(e.seq(), next, "the log reader skipped or repeated");
                next += 1;
                check_json(&e);
            }
            Err(e) => {
                assert!(e.is_corruption(), "read_from: {e:?}");
                break;
            }
        }
    }
    for source in store.sources() {
        let mut last = 0;
        for item in store.query(source.id()).iter() {
            match item {
                Ok(e) => {
                    assert!(e.seq() > last && e.source() == source.id());
                    last = e.seq();
                    check_json(&e);
                }
                Err(e) => {
                    assert!(e.is_corruption(), "query: {e:?}");
                    break;
                }
            }
        }
        let _ = store
            .query(source.id())
            .descending()
            .limit(3)
            .iter()
            .count();
        let _ = store.query(source.id()).name("Page Viewed").count();
    }
    let _ = store.stats();
    store
        .verify()
        .expect("verify answers (problems are a report, not an error)");
}

/// `to_json` is JSON that firstlog itself reads back: valid, and no object repeats
/// a key (decoding refuses bodies that do; see tests/fuzz_corpus_replay.rs,
/// `decoded_objects_have_unique_keys`).
fn check_json(e: &Event) {
    let text = e.to_json();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_ok(),
        "to_json is not JSON: {text}"
    );
    // Events nest at most 100 levels below `properties`, plus the event object.
    if let Err(err) = Value::from_json(&text) {
        assert!(
            err.to_string().contains("nested deeper"),
            "to_json does not read back: {err}: {text}"
        );
    }
}

/// After a successful open, the store must take writes, roll, close and reopen.
fn keeps_working(fs: &MemFs, store: Store) {
    let key = match store.sources().into_iter().find(|s| s.is_enabled()) {
        Some(source) => source.write_key().to_owned(),
        None => match store.create_source("After Fuzz") {
            Ok(source) => source.write_key().to_owned(),
            Err(e) => panic!("create_source after open: {e}"),
        },
    };
    let before = store.last_seq();
    let r = store
        .collect(NewEvent::new("Fuzz Survived", key))
        .expect("collect after open");
    assert_eq!(r.seq, Some(before + 1));
    store.roll().expect("roll after open");
    store.close().expect("close after open");
    drop(store);
    let store = Store::open_with(
        DIR,
        options(fs, Durability::Buffered, RecoveryMode::default()),
    )
    .expect("reopen after a successful open and a write");
    assert_eq!(store.last_seq(), before + 1);
}

// ---- record_decode -----------------------------------------------------------------

/// Record framing and body decoding on arbitrary bytes: `read_record` and
/// `RecordHeader::read_from` directly; then the bytes as the body of an otherwise
/// valid record (correct CRC) in a store, so opening, reading and verifying decode
/// them.
pub fn record_decode(data: &[u8]) {
    if let Ok(view) = read_record(data) {
        assert_eq!(view.body.len(), view.header.body_len as usize);
        assert!(view.header.padded_len() >= HEADER_BYTES + view.body.len());
        assert!(view.header.padded_len() % ALIGN == 0);
    }
    if let Ok(header) = RecordHeader::read_from(data) {
        assert!(header.body_len as usize <= BODY_BYTES_MAX);
        let again = header.encode();
        let round = RecordHeader::read_from(&again).expect("a written header reads back");
        assert_eq!(round, header);
    }
    // The bytes as a record body.
    let (fs, opened) = open_with_body(data);
    match opened {
        Ok(store) => {
            // Opening reads only the event name a body starts with; reads decode
            // the rest, and a body that does not decode is Corrupt there, and a
            // problem for verify.
            let events: Vec<_> = store.read_from(1).collect();
            assert_eq!(events.len(), 1);
            let clean = store.verify().expect("verify").is_clean();
            match events.into_iter().next() {
                Some(Ok(event)) => {
                    check_json(&event);
                    assert!(clean, "a body that decodes verifies");
                }
                Some(Err(e)) => {
                    assert!(e.is_corruption(), "a bad body must be Corrupt: {e:?}");
                    assert!(!clean, "verify reports a body that does not decode");
                }
                None => unreachable!("one event was read"),
            }
            keeps_working(&fs, store);
        }
        Err(e) => assert!(e.is_corruption(), "a bad body must be Corrupt: {e:?}"),
    }
}

/// Opens a store whose only record (seq 1, source 1, CRC correct) has `body` as
/// its body.
pub fn open_with_body(body: &[u8]) -> (MemFs, Result<Store, Error>) {
    let template = empty_template();
    let mut files = template.files.clone();
    let Some((_, segment)) = files.iter_mut().find(|(n, _)| n.ends_with(".seg")) else {
        panic!("template has no segment");
    };
    segment.truncate(64);
    let header = RecordHeader {
        body_len: body.len() as u32,
        seq: 1,
        source: 1,
        flags: FLAG_END_OF_BATCH,
        timestamp_ms: 1_700_000_000_000,
        received_ms: 1_700_000_000_000,
        name_hash: name_hash("Page Viewed"),
        profile_hash: 0,
        anonymous_hash: 0,
        message_hash: 0,
    };
    let mut rec = vec![0u8; padded_len(body.len())];
    rec[..HEADER_BYTES].copy_from_slice(&header.encode_with_crc(body));
    rec[HEADER_BYTES..HEADER_BYTES + body.len()].copy_from_slice(body);
    segment.extend_from_slice(&rec);
    let fs = restore(&files);
    let opened = Store::open_with(
        DIR,
        options(&fs, Durability::Buffered, RecoveryMode::default()),
    );
    (fs, opened)
}

// ---- open_store --------------------------------------------------------------------

/// A store directory from arbitrary bytes. First byte even: the bytes are edits to
/// a valid three-segment store (`[file][op][offset lo][offset hi]`: op < 0xF0 writes
/// that byte, 0xF0..0xFE truncates there, 0xFF removes the file). Odd: the files
/// are built from chunks (`[kind][name][len lo][len hi][bytes]`: kind 0 segment,
/// 1 index, 2 catalog, 3 temp file). Then open (and salvage), read every way,
/// verify, write, reopen.
pub fn open_store(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let files = if mode.is_multiple_of(2) {
        edited_store(rest)
    } else {
        built_store(rest)
    };
    for recovery in [RecoveryMode::TolerateTornTail, RecoveryMode::SalvagePrefix] {
        let fs = restore(&files);
        match Store::open_with(DIR, options(&fs, Durability::Buffered, recovery)) {
            Ok(store) => {
                exercise(&store);
                keeps_working(&fs, store);
                return;
            }
            Err(Error::Corrupt { .. } | Error::UnsupportedVersion { .. }) => {}
            // MemFs fails only on missing files, which a damaged store may lack.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("open of a damaged store ({recovery:?}): unexpected {e:?}"),
        }
    }
}

fn edited_store(edits: &[u8]) -> Files {
    let mut files = full_template().files.clone();
    for edit in edits.chunks_exact(4).take(64) {
        if files.is_empty() {
            break;
        }
        let i = edit[0] as usize % files.len();
        let op = edit[1];
        let bytes = &mut files[i].1;
        let at = u16::from_le_bytes([edit[2], edit[3]]) as usize % (bytes.len() + 1);
        match op {
            0xFF => {
                files.remove(i);
            }
            0xF0..=0xFE => bytes.truncate(at),
            value => {
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
        }
    }
    files
}

fn built_store(mut data: &[u8]) -> Files {
    let mut files = Files::new();
    while data.len() >= 4 && files.len() < 8 {
        let (kind, name, len) = (data[0], data[1], u16::from_le_bytes([data[2], data[3]]));
        let len = (len as usize).min(data.len() - 4);
        let bytes = data[4..4 + len].to_vec();
        data = &data[4 + len..];
        let first_seq = u64::from(name) + 1;
        let name = match kind % 4 {
            0 => format!("{first_seq:020}.seg"),
            1 => format!("{first_seq:020}.idx"),
            2 => "catalog".to_owned(),
            _ => format!("{first_seq:020}.idx.tmp"),
        };
        files.retain(|(n, _)| *n != name);
        files.push((name, bytes));
    }
    files
}

// ---- collect_json ------------------------------------------------------------------

/// The bytes as one JSON payload and as a batch request (`WK` stands for the
/// source's write key). Accepted events must read back as valid JSON, and
/// collecting an accepted event again from its own fields gives the same event.
pub fn collect_json(data: &[u8]) {
    let template = empty_template();
    let payload = replace_key(data, &template.key);
    let limits = Limits {
        event_bytes_max: 8 << 10,
        batch_bytes_max: 64 << 10,
        batch_events_max: 200,
        ..Limits::default()
    };
    let fs = restore(&template.files);
    let store = Store::open_with(
        DIR,
        options(&fs, Durability::Buffered, RecoveryMode::default()).limits(limits),
    )
    .expect("open the template");
    let mut accepted = Vec::new();
    match store.collect_json(&payload) {
        Ok(receipt) => accepted.extend(receipt.seq),
        Err(e) => assert_clear(&e),
    }
    match store.collect_batch_json(&payload) {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    Ok(receipt) => accepted.extend(receipt.seq),
                    Err(e) => assert_clear(&e),
                }
            }
        }
        Err(e) => assert_clear(&e),
    }
    for seq in accepted {
        let event = store
            .read_from(seq)
            .next()
            .expect("an accepted event is readable")
            .expect("an accepted event reads back");
        assert_eq!(event.seq(), seq);
        check_json(&event);
        // Collect it again from its own fields: the same event comes back.
        let again = NewEvent::new(event.name(), template.key.as_str())
            .timestamp_ms(event.timestamp())
            .properties(event.properties().to_owned_map())
            .context(event.context().to_owned_map());
        let again = match event.profile_id() {
            Some(p) => again.profile(p),
            None => again,
        };
        let again = match event.session_id() {
            Some(s) => again.session(s),
            None => again,
        };
        let r = store
            .collect(again)
            .expect("a stored event is collectable again");
        let copy = store
            .read_from(r.seq.expect("stored"))
            .next()
            .expect("readable")
            .expect("ok");
        assert_eq!(copy.name(), event.name());
        assert!(same_map(copy.properties(), event.properties()));
        assert!(same_map(copy.context(), event.context()));
        // Through JSON as well.
        let mut json = String::from("{\"event\":");
        json.push_str(&Value::String(event.name().to_owned()).to_json());
        json.push_str(",\"write_key\":");
        json.push_str(&Value::String(template.key.clone()).to_json());
        json.push_str(",\"timestamp\":");
        json.push_str(&event.timestamp().to_string());
        json.push_str(",\"properties\":");
        json.push_str(&event.properties().to_json());
        json.push_str(",\"context\":");
        json.push_str(&event.context().to_json());
        json.push('}');
        match store.collect_json(json.as_bytes()) {
            Ok(r) => {
                let copy = store
                    .read_from(r.seq.expect("stored"))
                    .next()
                    .expect("readable")
                    .expect("ok");
                assert!(same_map(copy.properties(), event.properties()), "{json}");
                assert!(same_map(copy.context(), event.context()), "{json}");
            }
            // The re-encoded JSON can be larger than the original payload.
            Err(Error::TooLarge { .. }) => {}
            Err(e) => panic!("an accepted event's own JSON is refused: {e:?}: {json}"),
        }
    }
}

fn replace_key(data: &[u8], key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(KEY_PLACEHOLDER.as_bytes()) {
            out.extend_from_slice(key.as_bytes());
            i += KEY_PLACEHOLDER.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Refusals of input are input errors with a reason; never I/O, corruption or a
/// poisoned store.
fn assert_clear(e: &Error) {
    match e {
        Error::InvalidEvent { field, reason } => assert!(!field.is_empty() && !reason.is_empty()),
        Error::TooLarge { .. }
        | Error::UnknownWriteKey
        | Error::NamingViolation { .. }
        | Error::SourceDisabled { .. } => {}
        other => panic!("collecting bad input failed with {other:?}"),
    }
}

/// Equal values (doubles bit for bit).
fn same_value<A: AsRef<str>, B: AsRef<str>>(a: &Value<A>, b: &Value<B>) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::UInt(x), Value::UInt(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::String(x), Value::String(y)) => x.as_ref() == y.as_ref(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => same_map(x, y),
        _ => false,
    }
}

fn same_map<A: AsRef<str>, B: AsRef<str>>(a: &firstlog::Map<A>, b: &firstlog::Map<B>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}

// ---- ops_model ---------------------------------------------------------------------

/// An operation sequence (one op per two bytes) against a `Vec` model: collect,
/// batch, sync, roll, crash (every `CrashMode`), reopen, per-source counts. After a
/// crash the log is a prefix of the model holding everything synced; only a
/// `Chaos` crash (out-of-order sectors) may need `RecoveryMode::SalvagePrefix`.
pub fn ops_model(data: &[u8]) {
    let durability = match data.first().map(|b| b % 3) {
        Some(0) => Durability::Sync,
        Some(1) => Durability::Buffered,
        _ => Durability::Interval(std::time::Duration::from_millis(1)),
    };
    let mut fs = MemFs::new();
    let open = |fs: &MemFs, recovery| Store::open_with(DIR, options(fs, durability, recovery));
    let mut store = open(&fs, RecoveryMode::default()).expect("open");
    let keys: Vec<String> = ["A", "B"]
        .iter()
        .map(|n| {
            store
                .create_source(n)
                .expect("source")
                .write_key()
                .to_owned()
        })
        .collect();
    // The model: (source index, uid) per seq, and how many are durable.
    let mut log: Vec<(usize, u64)> = Vec::new();
    let mut durable = 0usize;
    let mut uid = 0u64;
    for op in data.get(1..).unwrap_or_default().chunks_exact(2).take(48) {
        let (code, arg) = (op[0], op[1]);
        match code % 8 {
            0 | 1 => {
                let s = usize::from(arg % 2);
                uid += 1;
                let r = store
                    .collect(model_event(&keys[s], uid, arg))
                    .expect("collect");
                log.push((s, uid));
                assert_eq!(r.seq, Some(log.len() as u64));
            }
            2 => {
                let s = usize::from(arg % 2);
                let n = u64::from(arg % 30) + 1;
                let events = (uid + 1..=uid + n)
                    .map(|u| model_event(&keys[s], u, arg))
                    .collect();
                for r in store.collect_batch(events).expect("batch") {
                    r.expect("batch item");
                }
                log.extend((uid + 1..=uid + n).map(|u| (s, u)));
                uid += n;
            }
            3 => {
                store.sync().expect("sync");
                durable = log.len();
            }
            4 => {
                store.roll().expect("roll");
                durable = log.len();
            }
            5 => {
                store.close().expect("close");
                drop(store);
                store = open(&fs, RecoveryMode::default()).expect("reopen");
                assert_eq!(read_model(&store), log, "a clean reopen changed the log");
                durable = log.len();
            }
            6 => {
                let mode = [
                    CrashMode::KeepAll,
                    CrashMode::DropAll,
                    CrashMode::Torn,
                    CrashMode::Chaos,
                ][usize::from(arg % 4)];
                let crashed = fs.crash(mode, u64::from(arg) * 0x9E37_79B9 + uid);
                drop(store);
                fs = crashed;
                store = match open(&fs, RecoveryMode::default()) {
                    Ok(store) => store,
                    Err(Error::Corrupt { .. }) if mode == CrashMode::Chaos => {
                        open(&fs, RecoveryMode::SalvagePrefix)
                            .unwrap_or_else(|e| panic!("salvage after {mode:?}: {e:?}"))
                    }
                    Err(e) => panic!("open after a {mode:?} crash: {e:?}"),
                };
                let got = read_model(&store);
                assert!(
                    got.len() <= log.len() && got[..] == log[..got.len()],
                    "after {mode:?} the log is not a prefix of what was appended"
                );
                assert!(got.len() >= durable, "{mode:?} lost synced events");
                if mode == CrashMode::KeepAll {
                    assert_eq!(got.len(), log.len());
                }
                assert!(store.verify().expect("verify").is_clean());
                log.truncate(got.len());
                durable = log.len();
            }
            _ => {
                for (s, source) in store.sources().iter().enumerate() {
                    let expected = log.iter().filter(|(x, _)| *x == s).count() as u64;
                    assert_eq!(store.query(source.id()).count().expect("count"), expected);
                }
            }
        }
        if durability == Durability::Sync {
            durable = log.len();
        }
    }
    exercise(&store);
}

fn model_event(key: &str, uid: u64, arg: u8) -> NewEvent {
    NewEvent::new("Page Viewed", key)
        .timestamp_ms(1_700_000_000_000 + uid as i64)
        .property("uid", uid)
        .property("pad", "p".repeat(usize::from(arg) * 13))
}

/// The log as (source index, uid) pairs, checking sequence numbers.
fn read_model(store: &Store) -> Vec<(usize, u64)> {
    let sources = store.sources();
    store
        .read_from(1)
        .enumerate()
        .map(|(i, e)| {
            let e = e.expect("read");
            assert_eq!(e.seq(), i as u64 + 1);
            let s = sources
                .iter()
                .position(|s| s.id() == e.source())
                .expect("known source");
            let uid = e
                .properties()
                .get("uid")
                .and_then(Value::as_i64)
                .expect("uid");
            (s, uid as u64)
        })
        .collect()
}

/// Runs the body named `target` on `data` (for the corpus replay).
pub fn run(target: &str, data: &[u8]) {
    match target {
        "record_decode" => record_decode(data),
        "open_store" => open_store(data),
        "collect_json" => collect_json(data),
        "ops_model" => ops_model(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

/// The fuzz targets.
pub const TARGETS: &[&str] = &["record_decode", "open_store", "collect_json", "ops_model"];
