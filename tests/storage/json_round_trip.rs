//! JSON in, JSON out: the seed's payloads and richer ones are read back exactly as
//! accepted (after rules): integers stay integers, floats stay floats, key order and
//! unicode survive, `Event::to_json()` is the accepted payload plus `seq`,
//! `source_id` and `received_at`; timestamps in both forms; both batch forms with
//! per-item outcomes and contiguous sequence numbers.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::store::{event_at, mem_store, options};
use firstlog::FnRule;
use firstlog::{Error, Event, Map, Scope, Source, Value, Verdict};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn object(json: &str) -> Map {
    match Value::from_json(json).unwrap() {
        Value::Object(m) => m,
        other => panic!("not an object: {other:?}"),
    }
}

/// What `to_json` must render for a payload accepted as `accepted` (after rules,
/// so with the rule's edits already applied by the caller): the payload without
/// `write_key`, with `seq`, `source_id`, `received_at`, the timestamp as RFC 3339,
/// absent ids as null and absent maps as `{}`.
fn expected_json(accepted: &Map, e: &Event, timestamp: &str) -> Vec<(String, Value)> {
    let get = |k: &str| accepted.get(k).cloned();
    let mut out = vec![
        ("seq".to_owned(), Value::Int(e.seq() as i64)),
        ("event".to_owned(), get("event").unwrap()),
        ("source_id".to_owned(), Value::Int(i64::from(e.source().0))),
        (
            "received_at".to_owned(),
            Value::String(firstlog::format_rfc3339(e.received_at())),
        ),
        ("timestamp".to_owned(), Value::String(timestamp.to_owned())),
    ];
    for id in ["profile_id", "session_id", "message_id"] {
        out.push((id.to_owned(), get(id).unwrap_or(Value::Null)));
    }
    for map in ["properties", "context"] {
        out.push((
            map.to_owned(),
            get(map).unwrap_or(Value::Object(Map::new())),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn rendered(e: &Event) -> Vec<(String, Value)> {
    let json = e.to_json();
    let mut out: Vec<(String, Value)> = object(&json)
        .iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn the_seed_payloads_round_trip() {
    let store = mem_store(options());
    let help_desk = store.create_source("Help Desk").unwrap();
    let key = help_desk.write_key();

    let signup = format!(r#"{{"event": "Newsletter Signup", "write_key": "{key}"}}"#);
    let before = now_ms();
    let r1 = store.collect_json(signup.as_bytes()).unwrap();
    let after = now_ms();
    assert_eq!(r1.seq, Some(1));
    assert_eq!(r1.source, help_desk.id());
    assert!(!r1.duplicate);
    // "Newsletter Signup" ends in a noun, not a past-tense verb: a Warn-policy note.
    assert!(r1.naming.is_some());

    let assigned = format!(
        r#"{{"event": "Agent Assigned", "write_key": "{key}",
            "properties": {{"email": "", "display_name": "Sally",
                            "initiated_from": "Chat Widget", "subject": "Help with my billing"}}}}"#
    );
    let r2 = store.collect_json(assigned.as_bytes()).unwrap();
    assert_eq!(r2.seq, Some(2));
    assert_eq!(r2.naming, None, "\"Agent Assigned\" follows the guideline");

    let events: Vec<Event> = store
        .query(help_desk.id())
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events.len(), 2);
    let (s, a) = (&events[0], &events[1]);
    assert_eq!(s.name(), "Newsletter Signup");
    assert_eq!(s.source(), help_desk.id());
    assert!(s.properties().is_empty() && s.context().is_empty());
    assert_eq!(s.profile_id(), None);
    assert!((before..=after).contains(&s.received_at()));
    assert_eq!(
        s.timestamp(),
        s.received_at(),
        "no timestamp: the receive time"
    );

    assert_eq!(a.name(), "Agent Assigned");
    let props: Vec<(&str, Option<&str>)> = a
        .properties()
        .iter()
        .map(|(k, v)| (k, v.as_str()))
        .collect();
    assert_eq!(
        props,
        [
            ("email", Some("")),
            ("display_name", Some("Sally")),
            ("initiated_from", Some("Chat Widget")),
            ("subject", Some("Help with my billing")),
        ]
    );

    for (payload, e) in [(&signup, s), (&assigned, a)] {
        let accepted = object(payload);
        let ts = firstlog::format_rfc3339(e.received_at());
        assert_eq!(
            rendered(e),
            expected_json(&accepted, e, &ts),
            "{}",
            e.to_json()
        );
    }
    // Rendered properties keep the payload's key order, textually.
    let json = a.to_json();
    let order: Vec<usize> = [
        "\"email\"",
        "\"display_name\"",
        "\"initiated_from\"",
        "\"subject\"",
    ]
    .iter()
    .map(|k| json.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
}

const RICH_PROPERTIES: &str = r#"{
    "zeta": 1,
    "alpha": -42,
    "big": 18446744073709551615,
    "i64_min": -9223372036854775808,
    "three": 3.0,
    "half": 0.5,
    "tiny": 1e-7,
    "huge": 1.5e300,
    "neg_zero": -0.0,
    "yes": true,
    "nothing": null,
    "name": "日本語 ✓ 🎉",
    "escaped": "caf\u00e9 \ud83d\ude00 \"quoted\" \\ back\nline\ttab",
    "ключ": "значение",
    "list": [1, 2.0, "three", [4, [5.5]], {"six": 6}],
    "nested": {"b": {"c": {"d": [true, false, null]}}, "a": 1},
    "empty_obj": {},
    "empty_list": []
}"#;

#[test]
fn values_keep_their_types_order_and_text() {
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    let payload = format!(
        r#"{{"event": "Order Completed", "write_key": "{}", "profile_id": "user-ü-7",
            "session_id": "s-1", "message_id": "m-1", "timestamp": 1700000000000,
            "properties": {RICH_PROPERTIES},
            "context": {{"ip": "203.0.113.9", "user_agent": "Mozilla/5.0",
                         "page": {{"url": "https://example.com/ü?q=1", "title": "Ü"}},
                         "library": {{"name": "firstparty.js", "version": "1.2.3"}},
                         "locale": "de-DE", "campaign": {{"source": "news", "medium": "email"}}}}}}"#,
        src.write_key()
    );
    let seq = store.collect_json(payload.as_bytes()).unwrap().seq.unwrap();
    let e = event_at(&store, seq);

    let p = e.properties();
    assert_eq!(p.get("zeta"), Some(&Value::Int(1)));
    assert_eq!(p.get("alpha"), Some(&Value::Int(-42)));
    assert_eq!(p.get("big"), Some(&Value::UInt(u64::MAX)));
    assert_eq!(p.get("i64_min"), Some(&Value::Int(i64::MIN)));
    assert_eq!(p.get("three"), Some(&Value::Float(3.0)));
    assert_eq!(p.get("half"), Some(&Value::Float(0.5)));
    assert_eq!(p.get("tiny"), Some(&Value::Float(1e-7)));
    assert_eq!(p.get("huge"), Some(&Value::Float(1.5e300)));
    assert!(
        matches!(p.get("neg_zero"), Some(Value::Float(z)) if *z == 0.0 && z.is_sign_negative())
    );
    assert_eq!(p.get("yes"), Some(&Value::Bool(true)));
    assert_eq!(p.get("nothing"), Some(&Value::Null));
    assert_eq!(p.get("name").and_then(|v| v.as_str()), Some("日本語 ✓ 🎉"));
    assert_eq!(
        p.get("escaped").and_then(|v| v.as_str()),
        Some("café 😀 \"quoted\" \\ back\nline\ttab")
    );
    assert_eq!(p.get("ключ").and_then(|v| v.as_str()), Some("значение"));
    assert_eq!(p.get("list"), object(RICH_PROPERTIES).get("list"));
    let keys: Vec<&str> = p.keys().collect();
    let want: Vec<String> = object(RICH_PROPERTIES).keys().map(str::to_owned).collect();
    assert_eq!(keys, want, "key order preserved");
    assert_eq!(
        &p.to_owned_map(),
        &object(RICH_PROPERTIES),
        "properties equal as accepted"
    );
    assert_eq!(e.profile_id(), Some("user-ü-7"));
    assert_eq!(e.session_id(), Some("s-1"));
    assert_eq!(e.message_id(), Some("m-1"));
    assert_eq!(e.timestamp(), 1_700_000_000_000);
    let ctx_keys: Vec<&str> = e.context().keys().collect();
    assert_eq!(
        ctx_keys,
        ["ip", "user_agent", "page", "library", "locale", "campaign"]
    );

    // to_json: the accepted payload plus seq, source_id, received_at.
    let json = e.to_json();
    assert_eq!(
        rendered(&e),
        expected_json(&object(&payload), &e, "2023-11-14T22:13:20.000Z"),
        "{json}"
    );
    // Integers render as integers and floats as floats, textually.
    for needle in [
        r#""zeta":1,"#,
        r#""three":3.0,"#,
        r#""big":18446744073709551615,"#,
        r#""list":[1,2.0,"three""#,
    ] {
        assert!(json.contains(needle), "{needle} not in {json}");
    }
    // The whole thing is stable: rendering twice gives the same bytes, and the
    // zero-copy view renders the same as the owned one.
    assert_eq!(e.to_json(), json);
    let mut zero_copy = None;
    store
        .query(src.id())
        .for_each(|r| {
            zero_copy = Some(r.to_json().unwrap());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(zero_copy.as_deref(), Some(json.as_str()));
}

#[test]
fn to_json_equals_what_was_accepted_after_rules() {
    let rule = FnRule::new("enrich", |d: &mut firstlog::Draft| {
        d.properties.insert("plan", "pro");
        d.properties.rename("mail", "email");
        d.properties.remove("secret");
        d.context.insert("rule_saw", d.name.clone());
        d.profile_id = Some("from-rule".to_owned());
        Verdict::Keep
    });
    let store = mem_store(options().rule(Scope::All, Arc::new(rule)));
    let src = store.create_source("Web Application").unwrap();
    let payload = format!(
        r#"{{"event": "Form Submitted", "write_key": "{}", "timestamp": "2024-05-01T12:30:00+02:00",
            "properties": {{"a": 1, "mail": "x@example.com", "secret": "s", "b": 2.5}},
            "context": {{"locale": "en-US"}}}}"#,
        src.write_key()
    );
    let seq = store.collect_json(payload.as_bytes()).unwrap().seq.unwrap();
    let e = event_at(&store, seq);
    let after_rules = object(
        r#"{"event": "Form Submitted", "profile_id": "from-rule",
            "properties": {"a": 1, "email": "x@example.com", "b": 2.5, "plan": "pro"},
            "context": {"locale": "en-US", "rule_saw": "Form Submitted"}}"#,
    );
    assert_eq!(e.timestamp(), 1_714_559_400_000);
    assert_eq!(
        rendered(&e),
        expected_json(&after_rules, &e, "2024-05-01T10:30:00.000Z"),
        "{}",
        e.to_json()
    );
}

#[test]
fn timestamps_in_both_forms() {
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    let key = src.write_key();
    let cases: [(&str, i64, &str); 7] = [
        (
            "\"2024-05-01T12:30:00+02:00\"",
            1_714_559_400_000,
            "2024-05-01T10:30:00.000Z",
        ),
        (
            "\"2024-05-01T10:30:00.123Z\"",
            1_714_559_400_123,
            "2024-05-01T10:30:00.123Z",
        ),
        (
            "\"2024-05-01t10:30:00.1234567z\"",
            1_714_559_400_123,
            "2024-05-01T10:30:00.123Z",
        ),
        (
            "\"2000-02-29T23:59:59.999-05:30\"",
            951_888_599_999,
            "2000-03-01T05:29:59.999Z",
        ),
        (
            "1714559400123",
            1_714_559_400_123,
            "2024-05-01T10:30:00.123Z",
        ),
        ("0", 0, "1970-01-01T00:00:00.000Z"),
        ("-1", -1, "1969-12-31T23:59:59.999Z"),
    ];
    for (ts, ms, rendered_ts) in cases {
        let payload =
            format!(r#"{{"event": "Page Viewed", "write_key": "{key}", "timestamp": {ts}}}"#);
        let seq = store.collect_json(payload.as_bytes()).unwrap().seq.unwrap();
        let e = event_at(&store, seq);
        assert_eq!(e.timestamp(), ms, "{ts}");
        assert!(
            e.to_json()
                .contains(&format!(r#""timestamp":"{rendered_ts}""#)),
            "{ts}: {}",
            e.to_json()
        );
    }
    // Missing (or null) timestamp: the receive time.
    for extra in ["", r#", "timestamp": null"#] {
        let payload = format!(r#"{{"event": "Page Viewed", "write_key": "{key}"{extra}}}"#);
        let before = now_ms();
        let seq = store.collect_json(payload.as_bytes()).unwrap().seq.unwrap();
        let after = now_ms();
        let e = event_at(&store, seq);
        assert_eq!(e.timestamp(), e.received_at());
        assert!((before..=after).contains(&e.received_at()));
    }
    // Queries by time see the given timestamp, not the receive time.
    assert_eq!(
        store
            .query(src.id())
            .since(1_714_559_400_000)
            .until(1_714_559_400_124)
            .count()
            .unwrap(),
        4
    );
}

fn item(key: &str, i: usize) -> String {
    format!(r#"{{"event": "Page Viewed", "write_key": "{key}", "properties": {{"i": {i}}}}}"#)
}

fn item_index(e: &Event) -> i64 {
    e.properties().get("i").and_then(|v| v.as_i64()).unwrap()
}

#[test]
fn a_json_array_batch_with_per_item_outcomes() {
    let store = mem_store(options());
    let a = store.create_source("Web Application").unwrap();
    let b = store.create_source("Help Desk").unwrap();
    store
        .collect_json(item(a.write_key(), 100).as_bytes())
        .unwrap();

    let items = [
        item(a.write_key(), 0),
        r#"{"event": 5, "write_key": "x"}"#.to_owned(),
        item(b.write_key(), 2),
        r#"{"event": "Page Viewed", "write_key": "wk_unknown"}"#.to_owned(),
        "17".to_owned(),
        item(a.write_key(), 5),
        format!(
            r#"{{"event": "Page Viewed", "write_key": "{}", "timestamp": "soon"}}"#,
            a.write_key()
        ),
        format!(r#"{{"write_key": "{}"}}"#, a.write_key()),
        item(a.write_key(), 8),
    ];
    let request = format!("[{}]", items.join(",\n "));
    let rejected_before = store.stats().rejected;
    let outcomes = store.collect_batch_json(request.as_bytes()).unwrap();
    assert_eq!(outcomes.len(), items.len());

    let mut next = 2;
    for (i, outcome) in outcomes.iter().enumerate() {
        match (i, outcome) {
            (0 | 2 | 5 | 8, Ok(r)) => {
                assert_eq!(r.seq, Some(next), "item {i}: contiguous seqs");
                assert_eq!(r.source, if i == 2 { b.id() } else { a.id() });
                next += 1;
            }
            (1, Err(Error::InvalidEvent { field, .. })) => assert_eq!(field, "event"),
            (3, Err(Error::UnknownWriteKey)) => {}
            (4, Err(Error::InvalidEvent { field, reason })) => {
                assert_eq!(field, "json");
                assert!(reason.contains("expected an object"), "{reason}");
            }
            (6, Err(Error::InvalidEvent { field, .. })) => assert_eq!(field, "timestamp"),
            (7, Err(Error::InvalidEvent { field, reason })) => {
                assert_eq!(field, "event");
                assert_eq!(reason, "missing");
            }
            (i, other) => panic!("item {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(store.last_seq(), 5);
    // The stored ones are the valid items, in order.
    let stored: Vec<i64> = store
        .read_from(2)
        .map(|e| item_index(&e.unwrap()))
        .collect();
    assert_eq!(stored, [0, 2, 5, 8]);
    // Each refused item is quarantined on its own, with its reason, in order.
    assert_eq!(store.stats().rejected, rejected_before + 5);
    let q = store.rejected(5);
    let refused: Vec<usize> = vec![1, 3, 4, 6, 7];
    for (entry, i) in q.iter().zip(&refused) {
        assert_eq!(entry.payload, items[*i]);
        let err = outcomes[*i].as_ref().unwrap_err();
        assert_eq!(entry.reason, err.to_string());
    }
}

#[test]
fn an_object_batch_with_a_shared_write_key() {
    let store = mem_store(options());
    let a = store.create_source("Web Application").unwrap();
    let b = store.create_source("Help Desk").unwrap();
    let request = format!(
        r#"{{"write_key": "{}", "batch": [
            {{"event": "Page Viewed", "properties": {{"i": 0}}}},
            {{"event": "Page Viewed", "write_key": "{}", "properties": {{"i": 1}}}},
            {{"event": "", "properties": {{"i": 2}}}},
            {{"event": "Page Viewed", "properties": {{"i": 3}}, "timestamp": "2024-05-01T10:30:00.123Z"}}
        ]}}"#,
        a.write_key(),
        b.write_key()
    );
    let outcomes = store.collect_batch_json(request.as_bytes()).unwrap();
    assert_eq!(outcomes.len(), 4);
    let r: Vec<_> = outcomes
        .iter()
        .map(|o| o.as_ref().map(|r| (r.seq, r.source)))
        .collect();
    assert_eq!(
        r[0].as_ref().unwrap(),
        &(Some(1), a.id()),
        "batch key applies"
    );
    assert_eq!(
        r[1].as_ref().unwrap(),
        &(Some(2), b.id()),
        "an item's own key wins"
    );
    assert!(matches!(&outcomes[2], Err(Error::InvalidEvent { field, .. }) if field == "event"));
    assert_eq!(r[3].as_ref().unwrap(), &(Some(3), a.id()));
    assert_eq!(event_at(&store, 3).timestamp(), 1_714_559_400_123);
    assert_eq!(store.query(a.id()).count().unwrap(), 2);
    assert_eq!(store.query(b.id()).count().unwrap(), 1);
    // Without a batch key, an item without one is refused for it alone.
    let request = r#"{"batch": [{"event": "Page Viewed"}]}"#;
    let outcomes = store.collect_batch_json(request.as_bytes()).unwrap();
    assert!(matches!(&outcomes[0], Err(Error::InvalidEvent { field, .. }) if field == "write_key"));
    assert_eq!(store.last_seq(), 3);
}

#[test]
fn batches_get_contiguous_seqs_while_others_collect() {
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    let key = src.write_key().to_owned();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let singles = {
        let (store, key, stop) = (store.clone(), key.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 50 {
                store.collect_json(item(&key, 9999).as_bytes()).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut batch_events = 0u64;
    for round in 0..30 {
        let items: Vec<String> = (0..40).map(|i| item(&key, round * 40 + i)).collect();
        let request = format!("[{}]", items.join(","));
        let outcomes = store.collect_batch_json(request.as_bytes()).unwrap();
        let seqs: Vec<u64> = outcomes
            .iter()
            .map(|o| o.as_ref().unwrap().seq.unwrap())
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] + 1 == w[1]),
            "round {round}: {seqs:?}"
        );
        for (k, seq) in seqs.iter().enumerate() {
            assert_eq!(item_index(&event_at(&store, *seq)), (round * 40 + k) as i64);
        }
        batch_events += seqs.len() as u64;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let singles = singles.join().unwrap();
    assert_eq!(store.last_seq(), batch_events + singles);
    assert_eq!(
        store.query(src.id()).count().unwrap(),
        batch_events + singles
    );
}

#[test]
fn json_and_typed_collection_store_the_same_event() {
    let store = mem_store(options());
    let src: Source = store.create_source("Web Application").unwrap();
    let payload = format!(
        r#"{{"event": "Agent Assigned", "write_key": "{}", "profile_id": "p", "timestamp": 1700000000000,
            "properties": {{"display_name": "Sally", "n": 3, "f": 3.0}}, "context": {{"locale": "en-US"}}}}"#,
        src.write_key()
    );
    let s1 = store.collect_json(payload.as_bytes()).unwrap().seq.unwrap();
    let typed = firstlog::NewEvent::new("Agent Assigned", src.write_key())
        .profile("p")
        .timestamp_ms(1_700_000_000_000)
        .property("display_name", "Sally")
        .property("n", 3)
        .property("f", 3.0)
        .context_field("locale", "en-US");
    let s2 = store.collect(typed).unwrap().seq.unwrap();
    let (e1, e2) = (event_at(&store, s1), event_at(&store, s2));
    assert_eq!(e1.properties(), e2.properties());
    assert_eq!(e1.context(), e2.context());
    let strip = |e: &Event| {
        let mut v = rendered(e);
        v.retain(|(k, _)| k != "seq" && k != "received_at");
        v
    };
    assert_eq!(strip(&e1), strip(&e2));
}
