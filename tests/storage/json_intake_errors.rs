//! Every kind of bad JSON input is refused with its precise error (variant and
//! field), writes nothing, and lands in the quarantine with its reason; the size,
//! depth and timestamp limits are exact (at the limit accepted, one over refused).

use std::sync::Arc;

use firstlog::testing::MemFs;
use firstlog::{Durability, Error, Limits, NewEvent, Options, Source, Store, Value};

const EVENT_BYTES_MAX: usize = 32 * 1024;
const BATCH_BYTES_MAX: usize = 500 * 1024;
const DEPTH_MAX: usize = 32;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch milliseconds.
const MIN_MS: i64 = -62_135_596_800_000;
const MAX_MS: i64 = 253_402_300_799_999;

struct Fixture {
    store: Store,
    source: Source,
}

impl Fixture {
    fn new() -> Fixture {
        let options = Options::default()
            .segment_bytes(256 << 10)
            .durability(Durability::Buffered)
            .fs(Arc::new(MemFs::new()));
        let store = Store::open_with("/mem", options).unwrap();
        let source = store.create_source("Web Application").unwrap();
        Fixture { store, source }
    }

    fn key(&self) -> &str {
        self.source.write_key()
    }

    /// Collects `payload`, which must be refused: nothing written, the payload
    /// quarantined with the error's text, the rejected counter up by one.
    fn refused(&self, payload: &[u8]) -> Error {
        let store = &self.store;
        let seq = store.last_seq();
        let events = store.stats().events;
        let rejected = store.stats().rejected;
        let quarantined = store.rejected(usize::MAX).len();
        let err = match store.collect_json(payload) {
            Ok(r) => panic!(
                "accepted {:?}: {r:?}",
                String::from_utf8_lossy(&payload[..payload.len().min(200)])
            ),
            Err(e) => e,
        };
        assert_eq!(store.last_seq(), seq, "nothing written for {err}");
        assert_eq!(store.stats().events, events);
        assert_eq!(store.stats().rejected, rejected + 1);
        let all = store.rejected(usize::MAX);
        assert_eq!(all.len(), quarantined + 1, "quarantined once");
        let last = all.last().unwrap();
        assert_eq!(last.reason, err.to_string());
        let kept = String::from_utf8_lossy(&payload[..payload.len().min(EVENT_BYTES_MAX)]);
        assert_eq!(last.payload, kept, "the payload as received");
        err
    }

    /// A payload with `fields` (JSON members, already rendered) after a valid
    /// event name and write key.
    fn payload(&self, fields: &str) -> Vec<u8> {
        let sep = if fields.is_empty() { "" } else { ", " };
        format!(
            r#"{{"event": "Page Viewed", "write_key": "{}"{sep}{fields}}}"#,
            self.key()
        )
        .into_bytes()
    }

    fn accepted(&self, payload: &[u8]) -> u64 {
        let r = self
            .store
            .collect_json(payload)
            .unwrap_or_else(|e| panic!("refused: {e}"));
        let seq = r.seq.unwrap();
        assert_eq!(seq, self.store.last_seq());
        seq
    }
}

/// Asserts `err` is `InvalidEvent` for `field` with a reason containing `reason`.
#[track_caller]
fn assert_invalid(err: &Error, field: &str, reason: &str) {
    match err {
        Error::InvalidEvent {
            field: f,
            reason: r,
        } => {
            assert_eq!(f, field, "field of {err}");
            assert!(
                r.contains(reason),
                "reason of {err} should mention {reason:?}"
            );
        }
        other => panic!("expected InvalidEvent({field}), got {other:?}"),
    }
}

#[test]
fn the_default_limits_are_segments_32_kib_500_kib_depth_32() {
    let l = Limits::default();
    assert_eq!(l.event_bytes_max, EVENT_BYTES_MAX);
    assert_eq!(l.batch_bytes_max, BATCH_BYTES_MAX);
    assert_eq!(l.depth_max, DEPTH_MAX);
}

#[test]
fn malformed_json() {
    let f = Fixture::new();
    // Syntax errors outside any field's value name "json"; inside a field (its
    // colon or value) they name the field.
    for (bad, field) in [
        (&b"not json at all"[..], "json"),
        (b"", "json"),
        (b"   ", "json"),
        (b"{", "json"),
        (b"{\"event\": \"Page Viewed\",", "json"),
        (b"{'event': 'Page Viewed'}", "json"),
        (b"{\"event\": \"Page Viewed\"} trailing", "json"),
        (b"{\"event\" \"Page Viewed\"}", "event"),
        (b"{\"event\": \"Page Viewed", "event"),
    ] {
        let err = f.refused(bad);
        assert_invalid(&err, field, "");
    }
    // A syntax error inside a field's value names that field.
    let err = f.refused(&f.payload(r#""properties": {"a": tru}"#));
    assert_invalid(&err, "properties", "");
    // Invalid UTF-8 inside a string.
    let mut bytes = f.payload(r#""properties": {"a": "XX"}"#);
    let at = bytes.windows(2).position(|w| w == b"XX").unwrap();
    bytes[at] = 0xFF;
    bytes[at + 1] = 0xFE;
    let err = f.refused(&bytes);
    assert_invalid(&err, "properties", "");
}

#[test]
fn not_an_object() {
    let f = Fixture::new();
    for (bad, found) in [
        ("[]", "array"),
        (r#"[{"event": "Page Viewed"}]"#, "array"),
        (r#""Page Viewed""#, "string"),
        ("42", "number"),
        ("4.5", "number"),
        ("true", "boolean"),
        ("null", "null"),
    ] {
        let err = f.refused(bad.as_bytes());
        assert_invalid(&err, "json", &format!("expected an object, found {found}"));
    }
}

#[test]
fn wrong_types_for_every_field() {
    let f = Fixture::new();
    let key = f.key().to_owned();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!(r#"{{"event": 42, "write_key": "{key}"}}"#),
            "event",
            "expected a string, found number",
        ),
        (
            format!(r#"{{"event": ["Page Viewed"], "write_key": "{key}"}}"#),
            "event",
            "found array",
        ),
        (
            format!(r#"{{"event": {{}}, "write_key": "{key}"}}"#),
            "event",
            "found object",
        ),
        (
            format!(r#"{{"event": true, "write_key": "{key}"}}"#),
            "event",
            "found boolean",
        ),
        (
            r#"{"event": "Page Viewed", "write_key": 12345}"#.to_owned(),
            "write_key",
            "expected a string, found number",
        ),
        (
            r#"{"event": "Page Viewed", "write_key": ["k"]}"#.to_owned(),
            "write_key",
            "found array",
        ),
        (
            String::from_utf8(f.payload(r#""properties": []"#)).unwrap(),
            "properties",
            "expected an object, found array",
        ),
        (
            String::from_utf8(f.payload(r#""properties": "email=a@b.c""#)).unwrap(),
            "properties",
            "found string",
        ),
        (
            String::from_utf8(f.payload(r#""properties": 7"#)).unwrap(),
            "properties",
            "found number",
        ),
        (
            String::from_utf8(f.payload(r#""context": "Chat Widget""#)).unwrap(),
            "context",
            "expected an object, found string",
        ),
        (
            String::from_utf8(f.payload(r#""context": [1]"#)).unwrap(),
            "context",
            "found array",
        ),
        (
            String::from_utf8(f.payload(r#""profile_id": 7"#)).unwrap(),
            "profile_id",
            "expected a string, found number",
        ),
        (
            String::from_utf8(f.payload(r#""profile_id": {"id": 7}"#)).unwrap(),
            "profile_id",
            "found object",
        ),
        (
            String::from_utf8(f.payload(r#""session_id": 1.5"#)).unwrap(),
            "session_id",
            "expected a string or an integer, found number",
        ),
        (
            String::from_utf8(f.payload(r#""session_id": true"#)).unwrap(),
            "session_id",
            "found boolean",
        ),
        (
            String::from_utf8(f.payload(r#""session_id": []"#)).unwrap(),
            "session_id",
            "found array",
        ),
        (
            String::from_utf8(f.payload(r#""timestamp": true"#)).unwrap(),
            "timestamp",
            "found boolean",
        ),
        (
            String::from_utf8(f.payload(r#""timestamp": {"ms": 1}"#)).unwrap(),
            "timestamp",
            "found object",
        ),
        (
            String::from_utf8(f.payload(r#""timestamp": 1700000000000.5"#)).unwrap(),
            "timestamp",
            "found number",
        ),
        (
            String::from_utf8(f.payload(r#""message_id": 99"#)).unwrap(),
            "message_id",
            "expected a string, found number",
        ),
        (
            String::from_utf8(f.payload(r#""message_id": ["m"]"#)).unwrap(),
            "message_id",
            "found array",
        ),
    ];
    for (payload, field, reason) in cases {
        let err = f.refused(payload.as_bytes());
        assert_invalid(&err, field, reason);
    }
    // Integer session ids are accepted, as strings (a common client habit).
    let seq = f.accepted(&f.payload(r#""session_id": 1700000000"#));
    let e = f.store.read_from(seq).next().unwrap().unwrap();
    assert_eq!(e.session_id(), Some("1700000000"));
}

#[test]
fn missing_or_empty_event_name() {
    let f = Fixture::new();
    let key = f.key().to_owned();
    let err = f.refused(format!(r#"{{"write_key": "{key}"}}"#).as_bytes());
    assert_invalid(&err, "event", "missing");
    let err = f.refused(format!(r#"{{"event": null, "write_key": "{key}"}}"#).as_bytes());
    assert_invalid(&err, "event", "missing");
    let err = f.refused(format!(r#"{{"event": "", "write_key": "{key}"}}"#).as_bytes());
    assert_invalid(&err, "event", "empty");
    let err = f.refused(b"{}");
    assert_invalid(&err, "event", "missing");
    // Over the name limit (512 bytes): one byte over refused, exactly at it accepted.
    let long = "A".repeat(513);
    let err = f.refused(format!(r#"{{"event": "{long}", "write_key": "{key}"}}"#).as_bytes());
    assert_invalid(&err, "event", "limit");
    f.accepted(format!(r#"{{"event": "{}", "write_key": "{key}"}}"#, &long[..512]).as_bytes());
}

#[test]
fn missing_write_key() {
    let f = Fixture::new();
    for bad in [
        r#"{"event": "Page Viewed"}"#,
        r#"{"event": "Page Viewed", "write_key": null}"#,
        r#"{"event": "Page Viewed", "write_key": ""}"#,
    ] {
        let err = f.refused(bad.as_bytes());
        assert_invalid(&err, "write_key", "missing");
    }
}

#[test]
fn unknown_rotated_and_disabled_write_keys() {
    let f = Fixture::new();
    let err =
        f.refused(br#"{"event": "Page Viewed", "write_key": "wk_nobody_has_this_key_abcdefghij"}"#);
    assert!(matches!(err, Error::UnknownWriteKey), "{err:?}");

    let old = f.payload("");
    f.accepted(&old);
    let rotated = f.store.rotate_write_key(f.source.id()).unwrap();
    let err = f.refused(&old);
    assert!(matches!(err, Error::UnknownWriteKey), "{err:?}");

    let fresh = format!(
        r#"{{"event": "Page Viewed", "write_key": "{}"}}"#,
        rotated.write_key()
    );
    f.accepted(fresh.as_bytes());
    f.store.disable_source(f.source.id()).unwrap();
    let err = f.refused(fresh.as_bytes());
    assert!(
        matches!(err, Error::SourceDisabled { id } if id == f.source.id().0),
        "{err:?}"
    );
}

/// The length of the padded payload with an empty pad.
fn unpadded_len(key: &str) -> usize {
    format!(r#"{{"event":"Page Viewed","write_key":"{key}","properties":{{"pad":""}}}}"#).len()
}

/// A payload of exactly `len` bytes: a valid event padded with a string property.
fn padded_payload(key: &str, len: usize) -> Vec<u8> {
    assert!(len >= unpadded_len(key));
    let pad = "p".repeat(len - unpadded_len(key));
    let payload =
        format!(r#"{{"event":"Page Viewed","write_key":"{key}","properties":{{"pad":"{pad}"}}}}"#);
    assert_eq!(payload.len(), len);
    payload.into_bytes()
}

#[test]
fn an_event_of_exactly_32_kib_is_accepted_one_byte_more_is_refused() {
    let f = Fixture::new();
    let exact = padded_payload(f.key(), EVENT_BYTES_MAX);
    let seq = f.accepted(&exact);
    let e = f.store.read_from(seq).next().unwrap().unwrap();
    let pad = e.properties().get("pad").and_then(|v| v.as_str()).unwrap();
    assert_eq!(pad.len(), EVENT_BYTES_MAX - unpadded_len(f.key()));
    assert!(pad.bytes().all(|b| b == b'p'));

    let over = padded_payload(f.key(), EVENT_BYTES_MAX + 1);
    let err = f.refused(&over);
    assert!(
        matches!(err, Error::TooLarge { what: "event", size, limit } if size == EVENT_BYTES_MAX + 1 && limit == EVENT_BYTES_MAX),
        "{err:?}"
    );
    // Far over: refused before parsing, quarantined cut at the limit.
    let huge = padded_payload(f.key(), 1 << 20);
    let err = f.refused(&huge);
    assert!(
        matches!(err, Error::TooLarge { what: "event", .. }),
        "{err:?}"
    );
    // Even an over-size payload that is not JSON is refused for its size.
    let err = f.refused(&vec![b'x'; EVENT_BYTES_MAX + 1]);
    assert!(
        matches!(err, Error::TooLarge { what: "event", .. }),
        "{err:?}"
    );
}

#[test]
fn a_typed_event_too_large_to_encode_is_refused() {
    let f = Fixture::new();
    let before = f.store.last_seq();
    let err = f
        .store
        .collect(NewEvent::new("Page Viewed", f.key()).property("pad", "x".repeat(EVENT_BYTES_MAX)))
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert_eq!(f.store.last_seq(), before);
}

/// A batch request of exactly `len` bytes: `[item, item, ...]` with items under the
/// event limit, the last one padded.
fn batch_of_len(key: &str, len: usize) -> Vec<u8> {
    let item_len = 30_000;
    let mut items: Vec<Vec<u8>> = Vec::new();
    // "[" + items joined by "," + "]"
    let mut total = 2;
    while total + item_len + 1 < len - 200 {
        items.push(padded_payload(key, item_len));
        total += item_len + usize::from(items.len() > 1);
    }
    let sep = usize::from(!items.is_empty());
    let last = len - total - sep;
    assert!(last <= EVENT_BYTES_MAX, "{last}");
    items.push(padded_payload(key, last));
    let mut out = b"[".to_vec();
    out.extend(items.join(&b","[..]));
    out.push(b']');
    assert_eq!(out.len(), len);
    out
}

#[test]
fn a_batch_of_exactly_500_kib_is_accepted_one_byte_more_is_refused() {
    let f = Fixture::new();
    let exact = batch_of_len(f.key(), BATCH_BYTES_MAX);
    let n = serde_json::from_slice::<Vec<serde_json::Value>>(&exact)
        .unwrap()
        .len();
    let outcomes = f.store.collect_batch_json(&exact).unwrap();
    assert_eq!(outcomes.len(), n);
    assert!(outcomes.iter().all(|o| o.is_ok()));
    assert_eq!(f.store.last_seq(), n as u64);

    let seq = f.store.last_seq();
    let rejected = f.store.stats().rejected;
    let over = batch_of_len(f.key(), BATCH_BYTES_MAX + 1);
    let err = f.store.collect_batch_json(&over).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { what: "batch", size, limit } if size == BATCH_BYTES_MAX + 1 && limit == BATCH_BYTES_MAX),
        "{err:?}"
    );
    assert_eq!(f.store.last_seq(), seq, "nothing of the batch written");
    assert_eq!(f.store.stats().rejected, rejected + 1);
    let last = f.store.rejected(1).pop().unwrap();
    assert_eq!(last.reason, err.to_string());
    assert!(over.starts_with(last.payload.as_bytes()));
}

#[test]
fn malformed_batches_are_refused_whole() {
    let f = Fixture::new();
    let item = String::from_utf8(f.payload("")).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (format!("[{item},"), "batch"),
        (format!("[{item}] trailing"), "batch"),
        (r#"{"batch": 5}"#.to_owned(), "batch"),
        (format!(r#"{{"batch": [{item}], "extra": 1}}"#), "batch"),
        (format!(r#"{{"events": [{item}]}}"#), "batch"),
        (r#"{"write_key": "k"}"#.to_owned(), "batch"),
        ("42".to_owned(), "json"),
        (r#""[]""#.to_owned(), "json"),
        (String::new(), "json"),
        (format!("[{}]", vec!["{}"; 10_001].join(",")), "batch"),
    ];
    for (request, field) in cases {
        let seq = f.store.last_seq();
        let rejected = f.store.stats().rejected;
        let err = f.store.collect_batch_json(request.as_bytes()).unwrap_err();
        assert_invalid(&err, field, "");
        assert_eq!(f.store.last_seq(), seq);
        assert_eq!(f.store.stats().rejected, rejected + 1, "{request:.60}");
        assert_eq!(f.store.rejected(1).pop().unwrap().reason, err.to_string());
    }
    // An empty batch is no error and writes nothing.
    assert!(f.store.collect_batch_json(b"[]").unwrap().is_empty());
    assert_eq!(f.store.last_seq(), 0);
}

#[test]
fn invalid_timestamp_strings() {
    let f = Fixture::new();
    for bad in [
        "",
        "yesterday",
        "1700000000000",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00+2:00",
        "2024-01-01T00:00:00+24:00",
        "2024-01-01",
        "01/02/2024 10:00",
    ] {
        let err = f.refused(&f.payload(&format!(r#""timestamp": "{bad}""#)));
        assert_invalid(&err, "timestamp", "");
    }
}

#[test]
fn out_of_range_numbers() {
    let f = Fixture::new();
    for bad in [
        (MAX_MS + 1).to_string(),
        (MIN_MS - 1).to_string(),
        i64::MAX.to_string(),
        i64::MIN.to_string(),
        u64::MAX.to_string(),
        "1e20".to_owned(),
        "100000000000000000000000".to_owned(),
    ] {
        let err = f.refused(&f.payload(&format!(r#""timestamp": {bad}"#)));
        assert_invalid(&err, "timestamp", "");
    }
    // The bounds themselves are accepted and read back exactly.
    for ok in [MIN_MS, MAX_MS, 0, -1] {
        let seq = f.accepted(&f.payload(&format!(r#""timestamp": {ok}"#)));
        let e = f.store.read_from(seq).next().unwrap().unwrap();
        assert_eq!(e.timestamp(), ok);
    }
    // A number JSON can write but a double cannot hold.
    let err = f.refused(&f.payload(r#""properties": {"big": 1e400}"#));
    assert_invalid(&err, "properties", "");
}

/// `{"a": {"a": ... 1 ...}}` with `depth` objects, or arrays when `arrays`.
fn nested(depth: usize, arrays: bool) -> String {
    if arrays {
        // An object holding depth-1 nested arrays: depth containers in all.
        format!(
            "{{\"a\": {}1{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    } else {
        format!("{}1{}", "{\"a\": ".repeat(depth), "}".repeat(depth))
    }
}

#[test]
fn nesting_deeper_than_32_levels_is_refused() {
    let f = Fixture::new();
    for field in ["properties", "context"] {
        for arrays in [false, true] {
            let seq =
                f.accepted(&f.payload(&format!(r#""{field}": {}"#, nested(DEPTH_MAX, arrays))));
            let e = f.store.read_from(seq).next().unwrap().unwrap();
            let map = if field == "properties" {
                e.properties()
            } else {
                e.context()
            };
            let depth = 1 + map.values().map(|v| v.depth()).max().unwrap();
            assert_eq!(depth, DEPTH_MAX);

            let err =
                f.refused(&f.payload(&format!(r#""{field}": {}"#, nested(DEPTH_MAX + 1, arrays))));
            assert_invalid(&err, field, "32");
        }
        // Far deeper than any parser recursion limit: still a clean error.
        let err = f.refused(&f.payload(&format!(r#""{field}": {}"#, nested(10_000, true))));
        assert_invalid(&err, field, "32");
    }
    // The typed builder is held to the same limit.
    let mut v = Value::Int(1);
    for _ in 0..DEPTH_MAX {
        v = Value::Array(vec![v]);
    }
    let before = f.store.last_seq();
    let err = f
        .store
        .collect(NewEvent::new("Page Viewed", f.key()).property("a", v))
        .unwrap_err();
    assert_invalid(&err, "properties", "32");
    assert_eq!(f.store.last_seq(), before);
}

#[test]
fn unknown_top_level_field() {
    let f = Fixture::new();
    for name in ["userId", "properties2", "Event", "write-key", "seq"] {
        let err = f.refused(&f.payload(&format!(r#""{name}": "x""#)));
        assert_invalid(&err, name, "unknown field");
    }
}

#[test]
fn duplicate_keys() {
    let f = Fixture::new();
    let key = f.key().to_owned();
    let err = f.refused(
        format!(r#"{{"event": "Page Viewed", "event": "Form Submitted", "write_key": "{key}"}}"#)
            .as_bytes(),
    );
    assert_invalid(&err, "event", "duplicate key");
    let err = f.refused(
        format!(r#"{{"event": "Page Viewed", "write_key": "{key}", "write_key": "{key}"}}"#)
            .as_bytes(),
    );
    assert_invalid(&err, "write_key", "duplicate key");
    let err = f.refused(&f.payload(r#""properties": {"a": 1, "b": 2, "a": 3}"#));
    assert_invalid(&err, "properties", "duplicate key");
    let err = f.refused(&f.payload(r#""context": {"page": {"url": "/", "url": "/x"}}"#));
    assert_invalid(&err, "context", "duplicate key");
    // Past the small-object fast path (more than 16 keys).
    let many: Vec<String> = (0..20).map(|i| format!(r#""k{i}": {i}"#)).collect();
    let err = f.refused(&f.payload(&format!(
        r#""properties": {{{}, "k3": 0}}"#,
        many.join(", ")
    )));
    assert_invalid(&err, "properties", "duplicate key");
    let seq = f.accepted(&f.payload(&format!(r#""properties": {{{}}}"#, many.join(", "))));
    let e = f.store.read_from(seq).next().unwrap().unwrap();
    assert_eq!(e.properties().len(), 20);
}

#[test]
fn refusals_keep_the_store_usable_and_the_quarantine_ordered() {
    let f = Fixture::new();
    let bad: Vec<Vec<u8>> = vec![
        b"nope".to_vec(),
        f.payload(r#""timestamp": "never""#),
        br#"{"event": "Page Viewed", "write_key": "wk_unknown"}"#.to_vec(),
    ];
    for (i, b) in bad.iter().enumerate() {
        f.refused(b);
        let seq = f.accepted(&f.payload(&format!(r#""properties": {{"i": {i}}}"#)));
        assert_eq!(seq, i as u64 + 1);
    }
    let q = f.store.rejected(10);
    assert_eq!(q.len(), 3);
    for (entry, b) in q.iter().zip(&bad) {
        assert_eq!(entry.payload.as_bytes(), &b[..]);
    }
    assert_eq!(f.store.rejected(1).len(), 1);
    assert_eq!(f.store.rejected(1)[0].payload.as_bytes(), &bad[2][..]);
}
