//! The web console and the endpoints it reads: the console is served (with its
//! security headers, ETags and gzip, under a path prefix too) only when a read
//! token is configured; every data endpoint answers 401/403 JSON without the
//! right token; the source overviews count from the index (events, profiles,
//! days, naming warnings) as queries do; a long poll on the events answers as
//! soon as a new event is collected; erasure requests over HTTP are durable at
//! 202, hide the profile at once and are listed; rejected payloads and the
//! retention policy are readable.

use std::time::{Duration, Instant};

use crate::support::http::{Collector, get, post, post_json, raw, request};
use crate::support::ndjson;
use crate::support::store::{mem_store_with_sources, options};
use firstlog::http::HttpConfig;
use firstlog::{CountBy, NewEvent, Retention, SourceId, Store};

const TOKEN: &str = "console-t0k3n";
const DAY: i64 = 86_400_000;
/// 2025-03-03T00:00:00Z.
const MONDAY: i64 = 1_740_960_000_000;

fn bearer() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

#[test]
fn the_console_is_off_without_a_read_token() {
    let (store, _) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, HttpConfig::default());
    for path in ["/", "/console/app.js", "/console/uPlot.iife.min.js"] {
        let r = get(&server.url(path), None);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert_eq!(r.json()["error"], "not_found");
    }
    for path in [
        "/v1/sources",
        "/v1/rejected",
        "/v1/retention",
        "/v1/erasures",
    ] {
        let r = get(&server.url(path), Some(TOKEN));
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert_eq!(r.json()["error"], "reads_disabled");
    }
    let r = post_json(&server.url("/v1/erasures"), r#"{"profile_id":"u"}"#);
    assert_eq!(r.json()["error"], "reads_disabled");
}

#[test]
fn the_console_and_its_assets_are_served_with_a_strict_policy() {
    let (store, _) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let page = get(&server.url("/"), None);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(
        page.body
            .contains(r#"<meta name="firstlog-base" content="">"#)
    );
    assert!(!page.body.contains("{{"), "every placeholder filled");
    for asset in [
        "/console/app.js",
        "/console/app.css",
        "/console/uPlot.iife.min.js",
        "/console/uPlot.min.css",
    ] {
        assert!(page.body.contains(&format!("\"{asset}\"")), "{asset}");
        let r = get(&server.url(asset), None);
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.body.len() > 500, "{asset}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(r.header("content-security-policy").is_some());
        let etag = r.header("etag").expect("etag").to_owned();
        let again = request("GET", &server.url(asset), &[("If-None-Match", &etag)], b"");
        assert_eq!(again.status, 304, "{asset}");
        let head = format!(
            "GET {asset} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        );
        let zipped = raw(server.addr, head.as_bytes(), Duration::from_secs(5)).to_lowercase();
        assert!(zipped.contains("content-encoding: gzip"), "{asset}");
    }
    assert!(
        get(&server.url("/console/app.js"), None)
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    // The console carries no CORS headers; the data endpoints are reads.
    let r = request(
        "GET",
        &server.url("/"),
        &[("Origin", "https://evil.example")],
        b"",
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = request(
        "GET",
        &server.url("/v1/sources"),
        &[("Origin", "https://evil.example")],
        b"",
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn the_console_moves_under_the_path_prefix() {
    let (store, _) = mem_store_with_sources(&["Web"]);
    let config = HttpConfig::default().read_token(TOKEN).path_prefix("/fp");
    let server = Collector::start(store, config);
    for path in ["/fp", "/fp/"] {
        let page = get(&server.url(path), None);
        assert_eq!(page.status, 200, "{path}: {page:?}");
        assert!(
            page.body.contains(r#"content="/fp">"#),
            "{path}: {}",
            page.body
        );
        assert!(page.body.contains(r#"src="/fp/console/app.js""#));
    }
    assert_eq!(get(&server.url("/fp/console/app.js"), None).status, 200);
    assert_eq!(get(&server.url("/"), None).status, 404);
    assert_eq!(get(&server.url("/console/app.js"), None).status, 404);
    let r = get(&server.url("/fp/v1/sources"), Some(TOKEN));
    assert_eq!(r.status, 200, "{r:?}");
    let snippet = r.json()["sources"][0]["snippet"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(snippet.contains("/fp/js/firstparty.min.js"), "{snippet}");
}

#[test]
fn data_endpoints_need_the_read_token() {
    let (store, _) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let paths = [
        "/v1/sources",
        "/v1/sources/1",
        "/v1/sources/1/events?wait_ms=10",
        "/v1/rejected",
        "/v1/retention",
        "/v1/erasures",
        "/v1/erasures/1",
    ];
    for path in paths {
        let r = get(&server.url(path), None);
        assert_eq!(r.status, 401, "{path}: {r:?}");
        assert_eq!(r.json()["error"], "missing_read_token", "{path}");
        let r = get(&server.url(path), Some("wrong"));
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert_eq!(r.json()["error"], "wrong_read_token", "{path}");
    }
    let erase = |auth: &[(&str, &str)]| {
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend_from_slice(auth);
        post(
            &server.url("/v1/erasures"),
            &headers,
            br#"{"profile_id":"u"}"#,
        )
    };
    assert_eq!(erase(&[]).status, 401);
    assert_eq!(erase(&[("Authorization", "Bearer nope")]).status, 403);
}

/// A store with two sources over several days, one badly named event.
fn store_with_days() -> (Store, Vec<(u32, String)>) {
    let (store, sources) = mem_store_with_sources(&["Web", "Desk", "Empty"]);
    let mut batch = Vec::new();
    for i in 0..300i64 {
        let name = ["Page Viewed", "Button Clicked", "form submitted"][(i % 3) as usize];
        let (_, key) = &sources[(i % 2) as usize];
        batch.push(
            NewEvent::new(name, key)
                .profile(format!("user-{}", i % 17))
                .timestamp_ms(MONDAY + (i % 5) * DAY + i * 1000),
        );
    }
    for r in store.collect_batch(batch).unwrap() {
        r.unwrap();
    }
    (store, sources)
}

#[test]
fn source_overviews_count_from_the_index() {
    let (store, _) = store_with_days();
    let server = Collector::start(store.clone(), HttpConfig::default().read_token(TOKEN));
    let r = get(&server.url("/v1/sources?days=7"), Some(TOKEN));
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_eq!(body["days"], 7);
    // The window ends with the day of the latest event (Friday), seven days.
    assert_eq!(body["until"], "2025-03-08T00:00:00.000Z");
    assert_eq!(body["since"], "2025-03-01T00:00:00.000Z");
    let sources = body["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3);
    for s in sources {
        let id = SourceId(s["id"].as_u64().unwrap() as u32);
        let counts = store.query(id).counts(CountBy::Name).unwrap();
        assert_eq!(s["events"], counts.events, "{s}");
        assert_eq!(s["profiles"], counts.profiles, "{s}");
        assert_eq!(s["names"], counts.groups.len());
        let source = store.source(id).unwrap();
        assert_eq!(s["name"], source.name());
        assert_eq!(s["write_key"], source.write_key());
        let snippet = s["snippet"].as_str().unwrap();
        assert!(snippet.contains(source.write_key()), "{snippet}");
        assert!(snippet.contains(&server.base), "{snippet}");
        let daily: Vec<u64> = s["daily"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(daily.len(), 7);
        assert_eq!(daily.iter().sum::<u64>(), counts.events);
        // Saturday and Sunday before the Monday are empty.
        assert_eq!(&daily[..2], &[0, 0]);
        let by_day = store.query(id).counts(CountBy::Day).unwrap();
        let expected: Vec<u64> = by_day.groups.iter().map(|g| g.events).collect();
        let nonzero: Vec<u64> = daily.iter().copied().filter(|n| *n > 0).collect();
        assert_eq!(nonzero, expected);
        let bytes = store
            .stats()
            .sources
            .iter()
            .find(|x| x.source == id)
            .unwrap()
            .bytes;
        assert_eq!(s["bytes"], bytes);
    }
    let web = &sources[0];
    assert_eq!(web["events"], 150);
    let warnings = web["naming_warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["name"], "form submitted");
    assert_eq!(warnings[0]["events"], 50);
    assert_eq!(warnings[0]["suggestion"], "Form Submitted");
    assert_eq!(sources[2]["events"], 0);
    assert_eq!(sources[2]["last_timestamp"], serde_json::Value::Null);

    let one = get(&server.url("/v1/sources/2"), Some(TOKEN)).json();
    assert_eq!(one["id"], 2);
    assert_eq!(one["events"], sources[1]["events"]);
    assert_eq!(one["days"], 14);
    assert_eq!(get(&server.url("/v1/sources/9"), Some(TOKEN)).status, 404);
    assert_eq!(
        get(&server.url("/v1/sources?days=0"), Some(TOKEN)).json()["error"],
        "invalid_parameter"
    );
}

#[test]
fn a_long_poll_answers_as_soon_as_an_event_is_collected() {
    let (store, sources) = store_with_days();
    let key = sources[0].1.clone();
    let server = Collector::start(store.clone(), HttpConfig::default().read_token(TOKEN));
    let last = store.last_seq();

    // Nothing new: the poll waits its time, then answers an empty page.
    let started = Instant::now();
    let url = server.url(&format!("/v1/sources/1/events?after={last}&wait_ms=400"));
    let r = get(&url, Some(TOKEN));
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(380));
    let lines = ndjson(&r.body);
    assert_eq!(lines.len(), 1, "only the cursor: {}", r.body);

    // An event of another source does not end the wait; one of this source does.
    let url = server.url(&format!("/v1/sources/1/events?after={last}&wait_ms=20000"));
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        (get(&url, Some(TOKEN)), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    store
        .collect(NewEvent::new("Ticket Created", &sources[1].1))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let collected_at = Instant::now();
    let receipt = store
        .collect(NewEvent::new("Live Event Seen", &key).profile("live-1"))
        .unwrap();
    let (r, waited) = waiting.join().unwrap();
    let answered_after = collected_at.elapsed();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(waited >= Duration::from_millis(550), "{waited:?}");
    assert!(
        answered_after < Duration::from_secs(2),
        "{answered_after:?}"
    );
    let lines = ndjson(&r.body);
    assert_eq!(lines.len(), 2, "{}", r.body);
    assert_eq!(lines[0]["event"], "Live Event Seen");
    assert_eq!(lines[0]["seq"], receipt.seq.unwrap());

    // Already there: no wait at all.
    let started = Instant::now();
    let r = get(
        &server.url(&format!("/v1/sources/1/events?after={last}&wait_ms=20000")),
        Some(TOKEN),
    );
    assert_eq!(ndjson(&r.body).len(), 2);
    assert!(started.elapsed() < Duration::from_secs(2));

    for bad in ["wait_ms=25001", "wait_ms=10&order=desc", "wait_ms=x"] {
        let r = get(
            &server.url(&format!("/v1/sources/1/events?{bad}")),
            Some(TOKEN),
        );
        assert_eq!(r.status, 400, "{bad}: {r:?}");
        assert_eq!(r.json()["field"], "wait_ms", "{bad}");
    }
}

#[test]
fn erasure_requests_over_http() {
    let (store, sources) = store_with_days();
    let server = Collector::start(store.clone(), HttpConfig::default().read_token(TOKEN));
    let (auth, value) = bearer();
    let headers = [(auth, value.as_str()), ("Content-Type", "application/json")];
    let erase = |body: &str| post(&server.url("/v1/erasures"), &headers, body.as_bytes());
    let before = store.query(SourceId(1)).profile("user-3").count().unwrap();
    assert!(before > 0);

    let r = erase(r#"{"profile_id": "user-3", "sources": [1], "suppress": true}"#);
    assert_eq!(r.status, 202, "{r:?}");
    let asked = r.json();
    let id = asked["id"].as_u64().unwrap();
    assert_eq!(asked["profile_id"], "user-3");
    assert_eq!(asked["sources"], serde_json::json!([1]));
    assert_eq!(asked["suppress"], true);
    assert_eq!(asked["state"], "pending");
    assert_eq!(r.header("location"), Some(&*format!("/v1/erasures/{id}")));
    // Durable and hidden at once: no read returns the events.
    let page = get(
        &server.url("/v1/sources/1/events?profile=user-3"),
        Some(TOKEN),
    );
    assert_eq!(ndjson(&page.body).len(), 1, "only the cursor");
    assert_eq!(
        store.query(SourceId(1)).profile("user-3").count().unwrap(),
        0
    );
    // Only source 1.
    assert!(store.query(SourceId(2)).profile("user-3").count().unwrap() > 0);
    let suppressed = store
        .collect(NewEvent::new("Page Viewed", &sources[0].1).profile("user-3"))
        .unwrap();
    assert!(suppressed.suppressed);

    let list = get(&server.url("/v1/erasures"), Some(TOKEN)).json();
    assert_eq!(list["erasures"].as_array().unwrap().len(), 1);
    assert_eq!(list["erasures"][0]["id"], id);

    store.maintain().unwrap();
    let done = get(&server.url(&format!("/v1/erasures/{id}")), Some(TOKEN));
    assert_eq!(done.status, 200);
    let done = done.json();
    assert_eq!(done["state"], "done");
    assert_eq!(done["profile_id"], serde_json::Value::Null);
    assert_eq!(done["removed_events"], before);

    // Every source by default.
    let r = erase(r#"{"profile_id": "user-4"}"#);
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(r.json()["sources"], serde_json::json!([]));
    assert_eq!(
        store.query(SourceId(2)).profile("user-4").count().unwrap(),
        0
    );

    let r = get(&server.url("/v1/erasures/999"), Some(TOKEN));
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.json()["error"], "unknown_erasure");
    assert_eq!(get(&server.url("/v1/erasures/x"), Some(TOKEN)).status, 400);
    for (body, status, error) in [
        ("{", 400, "invalid_event"),
        (r#"{"profile": "u"}"#, 400, "invalid_event"),
        (
            r#"{"profile_id": "u", "sources": []}"#,
            400,
            "invalid_event",
        ),
        (r#"{"profile_id": ""}"#, 400, "invalid_argument"),
        (
            r#"{"profile_id": "u", "sources": [42]}"#,
            404,
            "unknown_source",
        ),
    ] {
        let r = erase(body);
        assert_eq!(r.status, status, "{body}: {r:?}");
        assert_eq!(r.json()["error"], error, "{body}: {r:?}");
    }
}

#[test]
fn rejected_payloads_and_retention_are_readable() {
    let store = crate::support::store::mem_store(options());
    let web = store.create_source("Web").unwrap();
    store
        .set_retention(Retention::default().max_age(Duration::from_secs(30 * 86_400)))
        .unwrap();
    store
        .set_source_max_age(web.id(), Some(Duration::from_secs(7 * 86_400)))
        .unwrap();
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let bad = format!(
        r#"{{"event": "Page Viewed", "write_key": "{}", "userId": "u"}}"#,
        web.write_key()
    );
    assert_eq!(post_json(&server.url("/events/track"), &bad).status, 400);
    assert_eq!(
        post_json(&server.url("/events/track"), r#"{"event": 7}"#).status,
        400
    );
    let r = get(&server.url("/v1/rejected?limit=10"), Some(TOKEN)).json();
    let rejected = r["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{r}");
    assert_eq!(r["rejected_since_open"], 2);
    // Newest first.
    assert_eq!(rejected[0]["payload"], r#"{"event": 7}"#);
    assert_eq!(rejected[1]["payload"], bad.as_str());
    assert!(rejected[1]["reason"].as_str().unwrap().contains("userId"));
    assert!(rejected[1]["received_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        get(&server.url("/v1/rejected?limit=0"), Some(TOKEN)).status,
        400
    );

    let r = get(&server.url("/v1/retention"), Some(TOKEN)).json();
    assert_eq!(r["max_age_secs"], 30 * 86_400);
    assert_eq!(r["max_bytes"], serde_json::Value::Null);
    assert_eq!(r["log_start"], 1);
    assert_eq!(r["sources"][0]["max_age_secs"], 7 * 86_400);
}
