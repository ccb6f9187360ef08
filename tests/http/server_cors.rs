//! CORS for web pages: preflights on every write endpoint answered (204, the
//! origin echoed, methods, the SDKs' headers, max age, credentials), the
//! headers on every write response including errors, a source's allowed
//! origins enforced (403 `origin_not_allowed`, nothing stored) while other
//! origins' pages and non-browser clients are unaffected, and no cross-origin
//! reads unless `read_cors_origin` names the origin.

use crate::support::http::{Collector, Reply, basic, request};
use crate::support::store::mem_store_with_sources;
use firstlog::SourceId;
use firstlog::http::HttpConfig;

const TOKEN: &str = "t0k3n";
const SITE: &str = "https://www.example.com";

fn preflight(url: &str, origin: &str, headers: &str) -> Reply {
    request(
        "OPTIONS",
        url,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", headers),
        ],
        b"",
    )
}

fn assert_cors(r: &Reply, origin: &str) {
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(origin),
        "{r:?}"
    );
    assert_eq!(
        r.header("access-control-allow-credentials"),
        Some("true"),
        "{r:?}"
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("Retry-After"),
        "{r:?}"
    );
    assert!(
        r.header("vary").is_some_and(|v| v.contains("Origin")),
        "{r:?}"
    );
}

#[test]
fn preflights_and_responses_carry_cors_headers() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let key = &sources[0].1;
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    for path in [
        "/events/track",
        "/events/track/bulk",
        "/v1/t",
        "/v1/page",
        "/v1/b",
        "/v1/batch",
    ] {
        let r = preflight(&server.url(path), SITE, "authorization,x-retry-count");
        assert_eq!(r.status, 204, "{path}: {r:?}");
        assert_cors(&r, SITE);
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("POST, GET, OPTIONS")
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("Authorization, Content-Type, Content-Encoding, X-Retry-Count")
        );
        assert_eq!(r.header("access-control-max-age"), Some("7200"));
    }
    let auth = basic(key);
    let ok = request(
        "POST",
        &server.url("/v1/t"),
        &[
            ("Origin", SITE),
            ("Authorization", &auth),
            ("Content-Type", "text/plain"),
        ],
        br#"{"event":"A B","anonymousId":"a"}"#,
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_cors(&ok, SITE);
    // Errors carry them too, so that the page can read them.
    let unknown = request(
        "POST",
        &server.url("/v1/t"),
        &[("Origin", SITE), ("Authorization", &basic("wk_no"))],
        b"{}",
    );
    assert_eq!(unknown.status, 401);
    assert_cors(&unknown, SITE);
    let not_found = request("POST", &server.url("/nowhere"), &[("Origin", SITE)], b"{}");
    assert_eq!(not_found.status, 404);
    assert_cors(&not_found, SITE);
    // Without an Origin (not a browser): `*`.
    let plain = request(
        "POST",
        &server.url("/v1/t"),
        &[("Authorization", &auth)],
        br#"{"event":"A B","userId":"u"}"#,
    );
    assert_eq!(plain.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn a_source_can_restrict_its_origins() {
    let (store, sources) = mem_store_with_sources(&["Web", "Open"]);
    let (key, open_key) = (&sources[0].1, &sources[1].1);
    store
        .set_allowed_origins(SourceId(1), vec![SITE.to_owned()])
        .unwrap();
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let auth = basic(key);
    let send = |origin: Option<&str>, path: &str, body: String, auth: Option<&str>| {
        let mut headers = vec![("Content-Type", "text/plain")];
        headers.extend(origin.map(|o| ("Origin", o)));
        headers.extend(auth.map(|a| ("Authorization", a)));
        request("POST", &server.url(path), &headers, body.as_bytes())
    };
    let track = format!(r#"{{"event":"A B","write_key":"{key}"}}"#);
    let segment = r#"{"event":"A B","userId":"u"}"#.to_owned();
    let batch = format!(
        r#"{{"writeKey":"{key}","batch":[{{"type":"track","event":"A B","userId":"u"}}]}}"#
    );
    let evil = "https://evil.example";
    for (path, body, auth) in [
        ("/events/track", track.clone(), None),
        ("/events/track/bulk", format!("[{track}]"), None),
        ("/v1/track", segment.clone(), Some(auth.as_str())),
        ("/v1/batch", batch.clone(), None),
    ] {
        let refused = send(Some(evil), path, body.clone(), auth);
        assert_eq!(refused.status, 403, "{path}: {refused:?}");
        assert_eq!(refused.json()["error"], "origin_not_allowed");
        assert_cors(&refused, evil);
        assert_eq!(
            send(Some(SITE), path, body.clone(), auth).status,
            200,
            "{path}"
        );
        // No Origin: not a browser, not restricted.
        assert_eq!(send(None, path, body, auth).status, 200, "{path}");
    }
    let settings = request(
        "GET",
        &server.url(&format!("/v1/projects/{key}/settings")),
        &[("Origin", evil)],
        b"",
    );
    assert_eq!(settings.status, 403);
    // Another source allows any origin.
    let open = format!(r#"{{"event":"A B","write_key":"{open_key}"}}"#);
    assert_eq!(send(Some(evil), "/events/track", open, None).status, 200);
    let stats = request(
        "GET",
        &server.url("/v1/stats"),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        b"",
    )
    .json();
    assert_eq!(stats["events"], 9, "{stats}");
}

#[test]
fn reads_are_same_origin_unless_one_origin_is_named() {
    let dashboard = "https://dash.example";
    let bearer = format!("Bearer {TOKEN}");
    for (config, allowed) in [
        (HttpConfig::default().read_token(TOKEN), false),
        (
            HttpConfig::default()
                .read_token(TOKEN)
                .read_cors_origin(dashboard),
            true,
        ),
    ] {
        let (store, _) = mem_store_with_sources(&["Web"]);
        let server = Collector::start(store, config);
        let url = server.url("/v1/sources/1/counts");
        let pre = preflight(&url, dashboard, "authorization");
        let read = request(
            "GET",
            &url,
            &[("Origin", dashboard), ("Authorization", &bearer)],
            b"",
        );
        assert_eq!(read.status, 200);
        if allowed {
            assert_eq!(pre.status, 204);
            assert_cors(&pre, dashboard);
            assert_cors(&read, dashboard);
        } else {
            assert_eq!(
                (pre.status, pre.json()["error"].as_str()),
                (403, Some("origin_not_allowed"))
            );
            assert_eq!(read.header("access-control-allow-origin"), None);
        }
        let other = request(
            "GET",
            &url,
            &[
                ("Origin", "https://evil.example"),
                ("Authorization", &bearer),
            ],
            b"",
        );
        assert_eq!(other.header("access-control-allow-origin"), None);
    }
}
