//! The Segment-compatible endpoints over real loopback HTTP: a gzip batch with
//! the write key as HTTP Basic username, every call type stored under a
//! guideline name with nothing lost, batch context merged, userId/anonymousId
//! as the profile, clock-skew-corrected timestamps, messageId dedup on retry,
//! and the single-call endpoints with `writeKey` in the body.

use crate::support::http::{Collector, basic, gzip, post, read_all};
use crate::support::store::mem_store_with_sources;
use firstlog::http::HttpConfig;
use firstlog::parse_rfc3339;

const TOKEN: &str = "segment-read-token";

fn ms(v: &serde_json::Value) -> i64 {
    parse_rfc3339(v.as_str().unwrap()).unwrap()
}

#[test]
fn segment_batch_with_basic_auth_and_gzip() {
    let (store, sources) = mem_store_with_sources(&["Web App", "iOS App"]);
    let key = &sources[0].1;
    let mut server = Collector::start(store, HttpConfig::default().read_token(TOKEN));

    // The client's clock is 1 hour ahead of the server's: sentAt and timestamps
    // are in its clock.
    let batch = r#"{
      "batch": [
        {"type": "track", "event": "Order Completed", "userId": "u-1", "anonymousId": "a-1",
         "messageId": "msg-1", "timestamp": "2030-01-01T10:59:50Z",
         "properties": {"revenue": 42.5, "products": [{"id": "p1"}]},
         "context": {"locale": "en-US"}, "integrations": {"All": true}},
        {"type": "page", "name": "Pricing", "category": "Docs", "anonymousId": "a-2",
         "messageId": "msg-2", "timestamp": "2030-01-01T10:59:55Z", "properties": {"path": "/pricing"}},
        {"type": "screen", "name": "Home", "userId": 77, "messageId": "msg-3"},
        {"type": "identify", "userId": "u-1", "traits": {"email": "x@example.com", "plan": "team"}, "messageId": "msg-4"},
        {"type": "group", "userId": "u-1", "groupId": "g-9", "traits": {"name": "Acme"}, "messageId": "msg-5"},
        {"type": "alias", "userId": "u-1", "previousId": "a-1", "messageId": "msg-6"},
        {"type": "track", "userId": "u-2", "messageId": "msg-7"},
        {"type": "teleport", "userId": "u-2", "messageId": "msg-8"}
      ],
      "context": {"library": {"name": "analytics-python", "version": "2.3.3"}, "locale": "de-DE", "ip": "203.0.113.9"},
      "sentAt": "2030-01-01T11:00:00Z"
    }"#;
    let auth = basic(key);
    let headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
        ("Authorization", auth.as_str()),
    ];
    let r = post(&server.url("/v1/batch"), &headers, &gzip(batch.as_bytes()));
    assert_eq!(r.status, 200, "{r:?}");
    let reply = r.json();
    assert_eq!(reply["accepted"], 6, "{reply}");
    assert_eq!(reply["rejected"], 2);
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results[6]["field"], "batch[6].event");
    assert_eq!(results[7]["field"], "batch[7].type");

    let events = read_all(&server.base, TOKEN, sources[0].0, 100);
    assert_eq!(events.len(), 6);
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Order Completed",
            "Page Viewed",
            "Screen Viewed",
            "Profile Identified",
            "Group Identified",
            "Profile Aliased"
        ]
    );
    let (track, page, screen, identify, group, alias) = (
        &events[0], &events[1], &events[2], &events[3], &events[4], &events[5],
    );
    // Identity and dedup key.
    assert_eq!(track["profile_id"], "u-1");
    assert_eq!(track["context"]["anonymous_id"], "a-1");
    assert_eq!(page["profile_id"], "a-2");
    assert_eq!(screen["profile_id"], "77");
    assert_eq!(track["message_id"], "msg-1");
    // Fields kept.
    assert_eq!(track["properties"]["revenue"], 42.5);
    assert_eq!(track["properties"]["products"][0]["id"], "p1");
    assert_eq!(track["context"]["integrations"]["All"], true);
    assert_eq!(
        (
            page["properties"]["name"].as_str(),
            page["properties"]["category"].as_str()
        ),
        (Some("Pricing"), Some("Docs"))
    );
    assert_eq!(page["properties"]["path"], "/pricing");
    assert_eq!(screen["properties"]["name"], "Home");
    assert_eq!(identify["properties"]["traits"]["plan"], "team");
    assert_eq!(group["properties"]["group_id"], "g-9");
    assert_eq!(group["properties"]["traits"]["name"], "Acme");
    assert_eq!(alias["properties"]["previous_id"], "a-1");
    // Batch context merged under each message's own.
    assert_eq!(track["context"]["locale"], "en-US");
    assert_eq!(page["context"]["locale"], "de-DE");
    for e in &events {
        assert_eq!(e["context"]["library"]["name"], "analytics-python");
        assert_eq!(e["context"]["ip"], "203.0.113.9");
    }
    // Clock skew: timestamp = received - (sentAt - originalTimestamp). The
    // server reads its clock when the request arrives; the store stamps
    // received_at a moment later, so allow that moment (not a timing bound: a
    // wrong correction is off by an hour).
    for (e, skew_ms) in [(track, 10_000), (page, 5_000)] {
        let lag = ms(&e["received_at"]) - skew_ms - ms(&e["timestamp"]);
        assert!((0..60_000).contains(&lag), "{e}");
    }
    assert_eq!(
        track["context"]["original_timestamp"],
        "2030-01-01T10:59:50Z"
    );
    assert_eq!(track["context"]["sent_at"], "2030-01-01T11:00:00Z");
    // Without a timestamp: received.
    assert_eq!(screen["timestamp"], screen["received_at"]);

    // The SDK retries the whole batch: nothing is stored twice.
    let r = post(&server.url("/v1/batch"), &headers, &gzip(batch.as_bytes()));
    let reply = r.json();
    for (k, result) in reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .take(6)
        .enumerate()
    {
        assert_eq!(result["duplicate"], true, "{result}");
        assert_eq!(result["seq"], events[k]["seq"]);
    }
    assert_eq!(read_all(&server.base, TOKEN, sources[0].0, 100).len(), 6);

    // Single calls with writeKey in the body (the iOS source), plain JSON.
    let ios = &sources[1].1;
    for (path, body, name) in [
        (
            "/v1/track",
            format!(r#"{{"writeKey":"{ios}","event":"Product Viewed","userId":"u-5"}}"#),
            "Product Viewed",
        ),
        (
            "/v1/page",
            format!(r#"{{"writeKey":"{ios}","name":"Home","anonymousId":"a-5"}}"#),
            "Page Viewed",
        ),
        (
            "/v1/screen",
            format!(r#"{{"writeKey":"{ios}","name":"Cart","userId":"u-5"}}"#),
            "Screen Viewed",
        ),
        (
            "/v1/identify",
            format!(r#"{{"writeKey":"{ios}","userId":"u-5","traits":{{"a":1}}}}"#),
            "Profile Identified",
        ),
        (
            "/v1/group",
            format!(r#"{{"writeKey":"{ios}","userId":"u-5","groupId":"g"}}"#),
            "Group Identified",
        ),
        (
            "/v1/alias",
            format!(r#"{{"writeKey":"{ios}","userId":"u-5","previousId":"a-5"}}"#),
            "Profile Aliased",
        ),
    ] {
        let r = post(
            &server.url(path),
            &[("Content-Type", "text/plain")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.json()["source_id"], sources[1].0);
        let last = read_all(&server.base, TOKEN, sources[1].0, 100)
            .pop()
            .unwrap();
        assert_eq!(last["event"], name, "{path}");
    }
    // Without a batch-level key, each message's own writeKey counts.
    let body = format!(
        r#"{{"batch":[{{"type":"track","event":"Cart Viewed","writeKey":"{ios}"}},{{"type":"track","event":"Cart Viewed"}}]}}"#
    );
    let r = post(
        &server.url("/v1/batch"),
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    let reply = r.json();
    assert_eq!(reply["results"][0]["status"], 200, "{reply}");
    assert_eq!(reply["results"][1]["status"], 401, "{reply}");
    assert_eq!(reply["results"][1]["error"], "missing_write_key");

    server.stop().expect("graceful stop");
}
