//! Collecting through [`EventBatch`]: the same events as `NewEvent` or JSON store
//! the same bytes; limits and errors per event; rules and suppression apply;
//! buffers are reused.

use firstlog::{EventBatch, Map, NewEvent, Scope, Value};

use crate::support::store::{T0, mem_store, options, sources};

#[test]
fn a_built_event_is_stored_like_the_same_typed_event() {
    // A clock that stands still: both events are received at the same time.
    let clock = std::sync::Arc::new(firstlog::testing::ManualClock::new(T0));
    let store = mem_store(options().clock(clock));
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    let key = app.write_key().to_owned();
    let mut nested = Map::new();
    nested.insert("plan", "team");
    nested.insert("seats", 7);
    let typed = NewEvent::new("Order Completed", &key)
        .profile("user-1")
        .session("s-9")
        .message_id("m-1")
        .timestamp_ms(T0)
        .property("total", 12.5)
        .property("items", 3)
        .property("coupon", Value::Null)
        .property("big", u64::MAX)
        .property("account", Value::Object(nested.clone()))
        .context_field("locale", "en-US")
        .context_field("anonymous_id", "anon-1");
    let a = store.collect(typed).unwrap().seq.unwrap();
    let mut batch = EventBatch::new();
    let none: Option<&str> = None;
    batch
        .event("Order Completed", &key)
        .profile("user-1")
        .session("s-9")
        .message_id("m-2")
        .timestamp_ms(T0)
        .property("total", 12.5)
        .property("items", 3)
        .property("coupon", none)
        .property("big", u64::MAX)
        .property("account", &nested)
        .context("locale", "en-US")
        .context("anonymous_id", "anon-1");
    let outcomes = store.collect_event_batch(&mut batch).unwrap();
    let b = outcomes[0].as_ref().unwrap().seq.unwrap();
    assert!(batch.is_empty());
    let mut events = store.read_from(a).map(|e| e.unwrap());
    let (ea, eb) = (events.next().unwrap(), events.next().unwrap());
    assert_eq!(eb.seq(), b);
    let strip = |json: String| json.replace("\"m-1\"", "\"m\"").replace("\"m-2\"", "\"m\"");
    let (ja, jb) = (ea.to_json(), eb.to_json());
    assert_eq!(
        strip(ja).replace(&format!("\"seq\":{a}"), ""),
        strip(jb).replace(&format!("\"seq\":{b}"), ""),
    );
    // The anonymous id is known to erasure.
    store.erase_profile("anon-1", Scope::All).unwrap();
    assert_eq!(store.query(app.id()).count().unwrap(), 0);
}

#[test]
fn each_event_gets_its_own_outcome_and_the_batch_is_reusable() {
    let store = mem_store(options());
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    let key = app.write_key().to_owned();
    let long = "x".repeat(2000);
    let mut batch = EventBatch::new();
    for round in 0..3 {
        batch.event("Page Viewed", &key).property("round", round);
        batch.event("", &key); // no name
        batch
            .event("Page Viewed", &key)
            .property("a", 1)
            .property("a", 2); // a key twice
        batch.event("Page Viewed", &key).property("f", f64::NAN);
        batch.event("Page Viewed", &key).profile(&long); // id too long
        batch.event("Page Viewed", "wk_unknown");
        batch.event("Page Viewed", &key).timestamp_ms(i64::MAX);
        let outcomes = store.collect_event_batch(&mut batch).unwrap();
        assert_eq!(outcomes.len(), 7);
        assert!(outcomes[0].is_ok());
        let fields: Vec<Option<String>> = outcomes[1..]
            .iter()
            .map(|o| o.as_ref().unwrap_err().field().map(str::to_owned))
            .collect();
        assert_eq!(
            fields,
            [
                Some("event".into()),
                Some("properties.a".into()),
                Some("properties.f".into()),
                Some("profile_id".into()),
                None,
                Some("timestamp".into()),
            ],
            "round {round}"
        );
        assert!(batch.is_empty());
    }
    assert_eq!(store.query(app.id()).count().unwrap(), 3);
}

#[test]
fn rules_and_suppression_apply_to_built_events() {
    use std::sync::Arc;
    let store = mem_store(options());
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    let key = app.write_key().to_owned();
    store.add_rule(
        Scope::All,
        Arc::new(firstlog::FnRule::new(
            "tag",
            |draft: &mut firstlog::Draft| {
                draft.properties.insert("tagged", true);
                firstlog::Verdict::Keep
            },
        )),
    );
    store.suppress_profile("blocked", Scope::All).unwrap();
    let mut batch = EventBatch::new();
    batch
        .event("Page Viewed", &key)
        .profile("ok")
        .property("n", 1);
    batch.event("Page Viewed", &key).profile("blocked");
    let outcomes = store.collect_event_batch(&mut batch).unwrap();
    assert!(outcomes[1].as_ref().unwrap().suppressed);
    let stored: Vec<_> = store.query(app.id()).iter().map(|e| e.unwrap()).collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].properties().get("tagged"),
        Some(&Value::Bool(true))
    );
    assert_eq!(stored[0].properties().get("n"), Some(&Value::Int(1)));
}

#[test]
fn nesting_beyond_the_store_limit_is_refused_when_collected() {
    let store = mem_store(options().limits(firstlog::Limits {
        depth_max: 2,
        ..Default::default()
    }));
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    let key = app.write_key().to_owned();
    let mut inner = Map::new();
    inner.insert("x", Value::Array(vec![Value::Int(1)]));
    let mut flat = Map::new();
    flat.insert("x", 1);
    let mut batch = EventBatch::new();
    batch.event("A", &key).property("ok", &flat);
    batch.event("B", &key).property("deep", &inner);
    let outcomes = store.collect_event_batch(&mut batch).unwrap();
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    assert!(outcomes[1].is_err());
}
