//! What real clients send is accepted (tests/browser/CLIENTS.md): a JSON body
//! whatever its Content-Type (text/plain, rudder-sdk-node's gzipped
//! form-urlencoded, none), analytics-next's short paths and settings, every
//! top-level batch field kept, the User-Agent and client IP filled in (the first
//! X-Forwarded-For hop only behind a trusted proxy; none when IP storage is off),
//! the tracker served with an ETag, and every path under `--path-prefix`.

use crate::support::http::{Collector, basic, get, gzip, post, request};
use crate::support::store::mem_store_with_sources;
use firstlog::http::HttpConfig;

const TOKEN: &str = "t0k3n";

/// Every stored event of source 1.
fn events(server: &Collector) -> Vec<serde_json::Value> {
    crate::support::http::read_all(&server.base, TOKEN, 1, 1000)
}

#[test]
fn any_content_type_is_read_as_json() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let key = &sources[0].1;
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let payload = |n: u32| {
        format!(r#"{{"event":"Page Viewed","write_key":"{key}","properties":{{"n":{n}}}}}"#)
    };
    let types = [
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("text/html"),
        None,
    ];
    for (n, content_type) in types.iter().enumerate() {
        let headers: Vec<(&str, &str)> =
            content_type.iter().map(|t| ("Content-Type", *t)).collect();
        let r = post(
            &server.url("/events/track"),
            &headers,
            payload(n as u32).as_bytes(),
        );
        assert_eq!(r.status, 200, "{content_type:?}: {r:?}");
    }
    // rudder-sdk-node's default request: gzip, form-urlencoded, Basic key, a
    // batch-level timestamp.
    let auth = basic(key);
    let body = r#"{"batch":[{"type":"track","event":"Order Completed","userId":"u1","messageId":"r-1",
        "originalTimestamp":"2025-03-03T10:00:00.000Z","sentAt":"2025-03-03T10:00:01.000Z","channel":"server"}],
        "timestamp":"2025-03-03T10:00:01.000Z","sentAt":"2025-03-03T10:00:01.000Z"}"#;
    let r = post(
        &server.url("/v1/batch"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Encoding", "gzip"),
            ("Authorization", &auth),
            ("User-Agent", "analytics-node/3.0.13"),
        ],
        &gzip(body.as_bytes()),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let stored = events(&server);
    assert_eq!(stored.len(), 5);
    let rudder = &stored[4];
    assert_eq!(rudder["message_id"], "r-1");
    assert_eq!(
        rudder["context"]["batch"]["timestamp"],
        "2025-03-03T10:00:01.000Z"
    );
    assert_eq!(rudder["context"]["sent_at"], "2025-03-03T10:00:01.000Z");
    assert_eq!(rudder["context"]["channel"], "server");
    assert_eq!(rudder["context"]["userAgent"], "analytics-node/3.0.13");
    assert_eq!(rudder["context"]["ip"], "127.0.0.1");
}

#[test]
fn short_paths_and_settings_for_analytics_next() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let key = &sources[0].1;
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let r = request(
        "GET",
        &server.url(&format!("/v1/projects/{key}/settings")),
        &[("Origin", "https://shop.example")],
        b"",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let settings = r.json();
    let io = &settings["integrations"]["Segment.io"];
    assert_eq!(io["apiKey"], key.as_str());
    assert_eq!(io["apiHost"], format!("{}/v1", server.addr));
    assert_eq!(io["protocol"], "http");
    assert_eq!(settings["integrations"].as_object().unwrap().len(), 1);
    assert_eq!(settings["metrics"]["sampleRate"], 0);
    let unknown = get(&server.url("/v1/projects/wk_nope/settings"), None);
    assert_eq!(
        (unknown.status, unknown.json()["error"].as_str()),
        (404, Some("unknown_write_key"))
    );

    let auth = basic(key);
    let headers = [
        ("Content-Type", "text/plain"),
        ("Authorization", auth.as_str()),
        ("User-Agent", "Chrome"),
    ];
    for (path, body) in [
        (
            "/v1/t",
            r#"{"type":"track","event":"Button Clicked","anonymousId":"a1","userId":null}"#,
        ),
        (
            "/v1/p",
            r#"{"type":"page","name":"Pricing","anonymousId":"a1"}"#,
        ),
        (
            "/v1/i",
            r#"{"type":"identify","userId":"u1","traits":{"plan":"team"}}"#,
        ),
        ("/v1/g", r#"{"type":"group","userId":"u1","groupId":"g1"}"#),
        (
            "/v1/a",
            r#"{"type":"alias","userId":"u1","previousId":"a1"}"#,
        ),
        ("/v1/s", r#"{"type":"screen","name":"Home","userId":"u1"}"#),
        (
            "/v1/b",
            r#"{"batch":[{"type":"track","event":"Batched","userId":"u1"}],"sentAt":"2025-03-03T10:00:00Z"}"#,
        ),
    ] {
        let r = post(&server.url(path), &headers, body.as_bytes());
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
    let names: Vec<String> = events(&server)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "Button Clicked",
            "Page Viewed",
            "Profile Identified",
            "Group Identified",
            "Profile Aliased",
            "Screen Viewed",
            "Batched"
        ]
    );
}

#[test]
fn client_ip_and_user_agent() {
    let behind_proxy = HttpConfig::default().read_token(TOKEN).trust_proxy(true);
    let private = HttpConfig::default()
        .read_token(TOKEN)
        .store_client_ip(false);
    for (config, expected_ip) in [
        (HttpConfig::default().read_token(TOKEN), Some("127.0.0.1")),
        (behind_proxy, Some("203.0.113.9")),
        (private, None),
    ] {
        let (store, sources) = mem_store_with_sources(&["Web"]);
        let server = Collector::start(store, config);
        let auth = basic(&sources[0].1);
        let headers = [
            ("Authorization", auth.as_str()),
            ("User-Agent", "Mozilla/5.0 (test)"),
            ("X-Forwarded-For", "203.0.113.9, 10.0.0.2"),
        ];
        let r = post(
            &server.url("/v1/track"),
            &headers,
            br#"{"event":"A B","userId":"u"}"#,
        );
        assert_eq!(r.status, 200, "{r:?}");
        let own =
            br#"{"event":"C D","userId":"u","context":{"ip":"198.51.100.1","userAgent":"mine"}}"#;
        assert_eq!(post(&server.url("/v1/track"), &headers, own).status, 200);
        // The Firstparty endpoints too: one payload, and a bulk request.
        let key = &sources[0].1;
        let one = format!(r#"{{"event":"E F","write_key":"{key}","context":{{"locale":"de"}}}}"#);
        let r = post(&server.url("/events/track"), &headers, one.as_bytes());
        assert_eq!(r.status, 200, "{r:?}");
        let bulk = format!(
            r#"{{"write_key":"{key}","batch":[{{"event":"G H"}},{{"event":"I J","context":{{"ip":"198.51.100.2"}}}}]}}"#
        );
        let r = post(&server.url("/events/track/bulk"), &headers, bulk.as_bytes());
        assert_eq!(r.status, 200, "{r:?}");
        let stored = events(&server);
        assert_eq!(stored[0]["context"]["userAgent"], "Mozilla/5.0 (test)");
        assert_eq!(stored[0]["context"]["ip"].as_str(), expected_ip);
        // The client's own values win.
        assert_eq!(stored[1]["context"]["ip"], "198.51.100.1");
        assert_eq!(stored[1]["context"]["userAgent"], "mine");
        for (i, ip) in [
            (2, expected_ip),
            (3, expected_ip),
            (4, Some("198.51.100.2")),
        ] {
            assert_eq!(
                stored[i]["context"]["userAgent"], "Mozilla/5.0 (test)",
                "{i}"
            );
            assert_eq!(stored[i]["context"]["ip"].as_str(), ip, "{i}");
        }
        assert_eq!(
            stored[2]["context"]["locale"], "de",
            "other context fields stay"
        );
    }
}

#[test]
fn the_tracker_is_served_with_an_etag() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, HttpConfig::default());
    let minified = include_str!("../../assets/tracker/firstparty.min.js");
    let r = get(&server.url("/js/firstparty.min.js"), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, minified);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    let etag = r.header("etag").expect("an ETag").to_owned();
    let again = request(
        "GET",
        &server.url("/js/firstparty.min.js"),
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    let source = get(&server.url("/js/firstparty.js"), None);
    assert_eq!(
        source.body,
        include_str!("../../assets/tracker/firstparty.js")
    );
    assert_ne!(source.header("etag"), Some(etag.as_str()));
    let snippet = firstlog::http::snippet(&sources[0].1, &server.base, "");
    assert!(
        snippet.contains(&format!("{}/js/firstparty.min.js", server.base)),
        "{snippet}"
    );
}

#[test]
fn a_path_prefix_moves_every_route() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let key = &sources[0].1;
    let server = Collector::start(
        store,
        HttpConfig::default().read_token(TOKEN).path_prefix("/fp/"),
    );
    let body = format!(
        r#"{{"writeKey":"{key}","batch":[{{"type":"track","event":"A B","userId":"u"}}]}}"#
    );
    assert_eq!(
        post(&server.url("/fp/v1/batch"), &[], body.as_bytes()).status,
        200
    );
    assert_eq!(
        get(&server.url("/fp/js/firstparty.min.js"), None).status,
        200
    );
    assert_eq!(get(&server.url("/fp/healthz"), None).status, 200);
    let settings = get(
        &server.url(&format!("/fp/v1/projects/{key}/settings")),
        None,
    )
    .json();
    assert_eq!(
        settings["integrations"]["Segment.io"]["apiHost"],
        format!("{}/fp/v1", server.addr)
    );
    let missing = post(&server.url("/v1/batch"), &[], body.as_bytes());
    assert_eq!(
        (missing.status, missing.json()["error"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(
        get(&server.url("/fp/v1/stats"), Some(TOKEN)).json()["events"],
        1
    );
}

/// A suppressed profile's events are answered 200 with `"suppressed": true`
/// (nothing stored, no sequence number), as Segment drops them; others store.
#[test]
fn a_suppressed_profile_is_answered_as_suppressed() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let key = &sources[0].1;
    store
        .suppress_profile("spammer-9", firstlog::Scope::All)
        .expect("suppress");
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let json = [("Content-Type", "application/json")];
    let send = |profile: &str| {
        let body =
            format!(r#"{{"event":"Page Viewed","write_key":"{key}","profile_id":"{profile}"}}"#);
        post(&server.url("/events/track"), &json, body.as_bytes())
    };
    let r = send("spammer-9");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["suppressed"], true, "{r:?}");
    assert!(r.json()["seq"].is_null(), "{r:?}");
    let segment = post(
        &server.url("/v1/track"),
        &[("Authorization", &basic(key)), json[0]],
        br#"{"userId":"spammer-9","event":"Page Viewed"}"#,
    );
    assert_eq!(segment.status, 200, "{segment:?}");
    let ok = send("someone");
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.json().get("suppressed").is_none(), "{ok:?}");
    let stored = events(&server);
    assert_eq!(stored.len(), 1, "only the other profile's event");
    assert_eq!(stored[0]["profile_id"], "someone");
}
