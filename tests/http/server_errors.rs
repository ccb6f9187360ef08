//! Every error the collector promises, over real loopback HTTP, with its JSON
//! body: 400 naming the field, 401 for unknown, rotated and missing write keys,
//! 403 for a disabled source, 413 over-size (plain and gzip), 415 encoding,
//! 404 unknown endpoints and sources; and read-token enforcement
//! (off without a token; 401 missing, 403 wrong).

use crate::support::http::{Collector, Reply, basic, get, gzip, post, post_json};
use crate::support::store::mem_store_with_sources;
use firstlog::SourceId;
use firstlog::http::HttpConfig;

const TOKEN: &str = "t0k3n";

pub(crate) fn expect(r: &Reply, status: u16, error: &str, field: Option<&str>) {
    assert_eq!(r.status, status, "{r:?}");
    let body = r.json();
    assert_eq!(body["error"], error, "{r:?}");
    assert_eq!(body["status"], status);
    assert!(!body["message"].as_str().unwrap().is_empty());
    assert_eq!(body["field"].as_str(), field, "{r:?}");
}

#[test]
fn every_error_code() {
    let (store, sources) = mem_store_with_sources(&["Web App", "Help Desk", "Old"]);
    let key = sources[0].1.clone();
    let disabled_key = sources[1].1.clone();
    let rotated_key = sources[2].1.clone();
    store.disable_source(SourceId(2)).unwrap();
    store.rotate_write_key(SourceId(3)).unwrap();
    let mut server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let track = server.url("/events/track");
    let ev = |name: &str, key: &str| format!(r#"{{"event":"{name}","write_key":"{key}"}}"#);

    // 400, naming the field.
    expect(&post_json(&track, "{"), 400, "invalid_event", Some("json"));
    expect(
        &post_json(&track, &format!(r#"{{"write_key":"{key}"}}"#)),
        400,
        "invalid_event",
        Some("event"),
    );
    expect(
        &post_json(
            &track,
            &format!(r#"{{"event":"A B","write_key":"{key}","timestamp":"noon"}}"#),
        ),
        400,
        "invalid_event",
        Some("timestamp"),
    );
    expect(
        &post_json(
            &track,
            &format!(r#"{{"event":"A B","write_key":"{key}","properties":7}}"#),
        ),
        400,
        "invalid_event",
        Some("properties"),
    );
    expect(
        &post_json(&server.url("/events/track/bulk"), r#"{"items":[]}"#),
        400,
        "invalid_event",
        Some("batch"),
    );
    expect(
        &post_json(
            &server.url("/v1/track"),
            &format!(r#"{{"writeKey":"{key}","userId":"u"}}"#),
        ),
        400,
        "invalid_event",
        Some("event"),
    );
    expect(
        &post_json(
            &server.url("/v1/batch"),
            &format!(r#"{{"writeKey":"{key}","batch":{{}}}}"#),
        ),
        400,
        "invalid_event",
        Some("batch"),
    );

    // 401: unknown, rotated, missing, malformed.
    expect(
        &post_json(&track, &ev("Page Viewed", "wk_nope")),
        401,
        "unknown_write_key",
        None,
    );
    expect(
        &post_json(&track, &ev("Page Viewed", &rotated_key)),
        401,
        "unknown_write_key",
        None,
    );
    let auth = basic(&rotated_key);
    let segment_headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    expect(
        &post(
            &server.url("/v1/track"),
            &segment_headers,
            br#"{"event":"A B"}"#,
        ),
        401,
        "unknown_write_key",
        None,
    );
    expect(
        &post_json(&server.url("/v1/track"), r#"{"event":"A B"}"#),
        401,
        "missing_write_key",
        None,
    );
    let bad_auth = [
        ("Content-Type", "application/json"),
        ("Authorization", "Basic !!!"),
    ];
    expect(
        &post(&server.url("/v1/track"), &bad_auth, br#"{"event":"A B"}"#),
        401,
        "bad_authorization",
        None,
    );

    // A batch in which nothing was stored gets the status of its failures (400
    // when they differ), with every outcome in the body; one stored event makes it 200.
    let bulk = server.url("/events/track/bulk");
    let unknown = format!("[{},{}]", ev("A B", "wk_x"), ev("C D", "wk_y"));
    let r = post_json(&bulk, &unknown);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.json()["results"][1]["error"], "unknown_write_key");
    let mixed = format!(
        r#"[{},{{"event":"C D","write_key":"{key}","timestamp":"noon"}}]"#,
        ev("A B", "wk_x")
    );
    let r = post_json(&bulk, &mixed);
    assert_eq!(
        (r.status, r.json()["rejected"].as_u64()),
        (400, Some(2)),
        "{r:?}"
    );
    expect(
        &post_json(
            &server.url("/v1/batch"),
            r#"{"batch":[{"type":"track","event":"A B"}]}"#,
        ),
        401,
        "missing_write_key",
        None,
    );

    expect(
        &post_json(&track, r#"{"event":"A B"}"#),
        401,
        "missing_write_key",
        None,
    );

    // 403: a disabled source.
    expect(
        &post_json(&track, &ev("Ticket Created", &disabled_key)),
        403,
        "source_disabled",
        None,
    );

    // 413: the body, the decompressed body, one event.
    let huge = format!(r#"[{}]"#, vec![ev("Page Viewed", &key); 20_000].join(","));
    assert!(huge.len() > 500 << 10);
    expect(
        &post_json(&server.url("/events/track/bulk"), &huge),
        413,
        "too_large",
        None,
    );
    let gz = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
    ];
    let bomb = gzip(huge.as_bytes());
    assert!(bomb.len() < 100 << 10);
    expect(
        &post(&server.url("/events/track/bulk"), &gz, &bomb),
        413,
        "too_large",
        None,
    );
    let big_event = format!(
        r#"{{"event":"A B","write_key":"{key}","properties":{{"x":"{}"}}}}"#,
        "y".repeat(40_000)
    );
    expect(
        &post_json(&track, &big_event),
        413,
        "too_large",
        Some("event"),
    );
    // ...while a gzip body within limits works.
    let r = post(&track, &gz, &gzip(ev("Page Viewed", &key).as_bytes()));
    assert_eq!(r.status, 200, "{r:?}");
    expect(
        &post(&track, &gz, b"not gzip at all"),
        400,
        "bad_gzip",
        None,
    );

    // 415: an encoding other than gzip (any Content-Type is read as JSON).
    expect(
        &post(
            &track,
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "br"),
            ],
            ev("A B", &key).as_bytes(),
        ),
        415,
        "unsupported_encoding",
        None,
    );

    // 404: endpoints and sources.
    expect(
        &post_json(&server.url("/v2/track"), "{}"),
        404,
        "not_found",
        None,
    );
    expect(
        &get(&server.url("/v1/sources/99/events"), Some(TOKEN)),
        404,
        "unknown_source",
        None,
    );
    expect(
        &get(&server.url("/v1/sources/abc/events"), Some(TOKEN)),
        400,
        "invalid_parameter",
        Some("id"),
    );
    expect(
        &get(&server.url("/v1/sources/1/events?limit=0"), Some(TOKEN)),
        400,
        "invalid_parameter",
        Some("limit"),
    );
    expect(
        &get(&server.url("/v1/sources/1/events?since=later"), Some(TOKEN)),
        400,
        "invalid_parameter",
        Some("since"),
    );
    expect(
        &get(&server.url("/v1/sources/1/events?colour=red"), Some(TOKEN)),
        400,
        "invalid_parameter",
        Some("colour"),
    );
    expect(
        &get(&server.url("/v1/sources/1/counts?by=week"), Some(TOKEN)),
        400,
        "invalid_parameter",
        Some("by"),
    );

    // Read token enforcement.
    expect(
        &get(&server.url("/v1/stats"), None),
        401,
        "missing_read_token",
        None,
    );
    expect(
        &get(&server.url("/v1/stats"), Some("t0k3m")),
        403,
        "wrong_read_token",
        None,
    );
    let write_key_as_token = get(&server.url("/v1/sources/1/events"), Some(&key));
    expect(&write_key_as_token, 403, "wrong_read_token", None);
    assert_eq!(get(&server.url("/v1/stats"), Some(TOKEN)).status, 200);
    assert_eq!(get(&server.url("/healthz"), None).json()["status"], "ok");

    // Only the one valid event (the gzip one) was stored.
    let stats = get(&server.url("/v1/stats"), Some(TOKEN)).json();
    assert_eq!(stats["events"], 1, "{stats}");
    server.stop().expect("graceful stop");
}

#[test]
fn read_endpoints_are_off_without_a_token() {
    let (store, _) = mem_store_with_sources(&["Web App"]);
    let mut server = Collector::start(store, HttpConfig::default());
    for path in ["/v1/stats", "/v1/sources/1/events", "/v1/sources/1/counts"] {
        expect(
            &get(&server.url(path), Some("anything")),
            404,
            "reads_disabled",
            None,
        );
    }
    assert_eq!(get(&server.url("/healthz"), None).status, 200);
    server.stop().expect("graceful stop");
}
