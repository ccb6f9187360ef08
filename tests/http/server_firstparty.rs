//! The collector over real loopback HTTP with Firstparty payloads: single and
//! bulk collection (per-event outcomes), message-id dedup, and the read API
//! (streamed NDJSON with a cursor line, filters, counts, stats) agreeing with a
//! model of what was sent.

use crate::support::http::{Collector, get, post_json, read_all};
use crate::support::ndjson;
use crate::support::store::mem_store_with_sources;
use firstlog::format_rfc3339;
use firstlog::http::HttpConfig;
use firstlog::testing::SplitMix64;

const SEED: u64 = 0xF1257;
const TOKEN: &str = "read-secret-1";
const T0: i64 = 1_714_521_600_000;
const NAMES: [&str; 3] = ["Page Viewed", "Agent Assigned", "Ticket Created"];

struct Sent {
    seq: u64,
    source: u32,
    name: &'static str,
    profile: String,
    ts: i64,
    i: u64,
}

#[test]
fn collect_and_read_back_over_http() {
    let (store, sources) = mem_store_with_sources(&["www Marketing Page", "Help Desk"]);
    let mut server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let mut rng = SplitMix64::new(SEED);
    let mut sent: Vec<Sent> = Vec::new();
    let payload = |i: u64, rng: &mut SplitMix64| {
        let s = rng.below(2) as usize;
        let name = NAMES[rng.below(3) as usize];
        let profile = format!("user-{}", rng.below(9));
        let ts = T0 + rng.below(48 * 3_600_000) as i64;
        let json = format!(
            r#"{{"event":"{name}","write_key":"{}","profile_id":"{profile}","timestamp":"{}","properties":{{"i":{i},"email":"a{i}@example.com"}},"context":{{"ip":"10.0.0.{}"}}}}"#,
            sources[s].1,
            format_rfc3339(ts),
            i % 250
        );
        (
            json,
            Sent {
                seq: 0,
                source: sources[s].0,
                name,
                profile,
                ts,
                i,
            },
        )
    };

    // One by one.
    for i in 0..40 {
        let (json, mut s) = payload(i, &mut rng);
        let r = post_json(&server.url("/events/track"), &json);
        assert_eq!(r.status, 200, "{r:?}");
        let body = r.json();
        assert_eq!(body["success"], true);
        s.seq = body["seq"].as_u64().unwrap();
        assert_eq!(body["source_id"], s.source);
        sent.push(s);
    }
    // In bulk: arrays, and objects with a batch-level key; bad items in between.
    for round in 0..6u64 {
        let mut items = Vec::new();
        let mut pending = Vec::new();
        for k in 0..50u64 {
            let i = 40 + round * 50 + k;
            if k % 17 == 5 {
                items.push(r#"{"event":"Page Viewed","write_key":"wk_unknown"}"#.to_owned());
                pending.push(None);
            } else if k % 17 == 9 {
                items.push(r#"{"event":"Page Viewed","properties":[]}"#.to_owned());
                pending.push(None);
            } else {
                let (json, s) = payload(i, &mut rng);
                items.push(json);
                pending.push(Some(s));
            }
        }
        let body = if round % 2 == 0 {
            format!("[{}]", items.join(","))
        } else {
            format!(
                r#"{{"write_key":"{}","batch":[{}]}}"#,
                sources[0].1,
                items.join(",")
            )
        };
        let r = post_json(&server.url("/events/track/bulk"), &body);
        assert_eq!(r.status, 200, "{r:?}");
        let reply = r.json();
        let results = reply["results"].as_array().unwrap();
        assert_eq!(results.len(), 50);
        for (k, (result, s)) in results.iter().zip(pending).enumerate() {
            assert_eq!(result["index"], k);
            match s {
                Some(mut s) => {
                    assert_eq!(result["status"], 200, "{result}");
                    s.seq = result["seq"].as_u64().unwrap();
                    sent.push(s);
                }
                None if k % 17 == 5 => {
                    assert_eq!(result["status"], 401, "{result}");
                    assert_eq!(result["error"], "unknown_write_key");
                }
                None => {
                    // The first bad field, in the payload's order: its properties
                    // (in array rounds its write key is missing too).
                    assert_eq!(result["status"], 400, "{result}");
                    assert_eq!(result["field"], "properties", "{result}");
                }
            }
        }
        assert_eq!(
            reply["accepted"].as_u64().unwrap() + reply["rejected"].as_u64().unwrap(),
            50
        );
        assert_eq!(reply["success"], false);
    }

    // Everything reads back, page by page, per source.
    for (id, _) in &sources {
        let events = read_all(&server.base, TOKEN, *id, 7);
        let expected: Vec<&Sent> = sent.iter().filter(|s| s.source == *id).collect();
        assert_eq!(events.len(), expected.len());
        for (e, s) in events.iter().zip(&expected) {
            assert_eq!(e["seq"], s.seq);
            assert_eq!(e["event"], s.name);
            assert_eq!(e["profile_id"], s.profile.as_str());
            assert_eq!(e["timestamp"], format_rfc3339(s.ts).as_str());
            assert_eq!(e["properties"]["i"], s.i);
            assert_eq!(
                e["properties"]["email"],
                format!("a{}@example.com", s.i).as_str()
            );
            assert_eq!(e["source_id"], *id);
        }
    }

    // Filters as parameters.
    let (id, _) = &sources[1];
    let since = T0 + 12 * 3_600_000;
    let until = T0 + 30 * 3_600_000;
    let url = server.url(&format!(
        "/v1/sources/{id}/events?name=Agent+Assigned&name=Ticket%20Created&since={}&until={until}&profile=user-3&order=desc&limit=4",
        format_rfc3339(since).replace(':', "%3A")
    ));
    let r = get(&url, Some(TOKEN));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let mut got = ndjson(&r.body);
    let tail = got.pop().unwrap();
    let mut expected: Vec<u64> = sent
        .iter()
        .filter(|s| s.source == *id && s.name != "Page Viewed" && s.profile == "user-3")
        .filter(|s| s.ts >= since && s.ts < until)
        .map(|s| s.seq)
        .collect();
    expected.reverse();
    let more = expected.len() > 4;
    expected.truncate(4);
    assert_eq!(
        got.iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        tail["next_cursor"].as_u64(),
        if more { expected.last().copied() } else { None }
    );

    // Counts and stats.
    let r = get(
        &server.url(&format!("/v1/sources/{id}/counts?by=name")),
        Some(TOKEN),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let counts = r.json();
    let of_source = sent.iter().filter(|s| s.source == *id).count() as u64;
    assert_eq!(counts["events"], of_source);
    let total: u64 = counts["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["events"].as_u64().unwrap())
        .sum();
    assert_eq!(total, of_source);
    let r = get(
        &server.url(&format!("/v1/sources/{id}/counts?by=day")),
        Some(TOKEN),
    );
    let days = r.json()["groups"].as_array().unwrap().len();
    assert!((2..=3).contains(&days), "{}", r.body);
    let stats = get(&server.url("/v1/stats"), Some(TOKEN)).json();
    assert_eq!(stats["events"], sent.len() as u64);

    // A retry with the same message_id is stored once.
    let json = format!(
        r#"{{"event":"Form Submitted","write_key":"{}","message_id":"retry-1"}}"#,
        sources[0].1
    );
    let first = post_json(&server.url("/events/track"), &json).json();
    let second = post_json(&server.url("/events/track"), &json).json();
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert_eq!(first["seq"], second["seq"]);
    // A name breaking the guideline is stored with a warning.
    let json = format!(
        r#"{{"event":"form submitted","write_key":"{}"}}"#,
        sources[0].1
    );
    let warned = post_json(&server.url("/events/track"), &json).json();
    assert_eq!(warned["naming_warning"]["suggestion"], "Form Submitted");

    server.stop().expect("graceful stop");
}
