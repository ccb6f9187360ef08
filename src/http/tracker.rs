//! The browser tracker (`assets/tracker`), built into the binary:
//! `GET /js/firstparty.js` (the readable source) and `/js/firstparty.min.js`,
//! with a strong `ETag` (`If-None-Match` gets 304), a cache lifetime, and gzip
//! when the client accepts it; and [`snippet`], the HTML a site owner pastes.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest;

const SOURCE: &str = include_str!("../../assets/tracker/firstparty.js");
const MINIFIED: &str = include_str!("../../assets/tracker/firstparty.min.js");
const SNIPPET: &str = include_str!("../../assets/tracker/snippet.html");
/// Browsers and CDNs may reuse a copy this long; then they revalidate (ETag).
const CACHE_CONTROL: &str = "public, max-age=3600";

/// One served script: its bytes, gzipped bytes and ETag, computed once.
pub(crate) struct Script {
    pub(crate) plain: &'static [u8],
    pub(crate) gzip: Vec<u8>,
    pub(crate) etag: HeaderValue,
}

fn script(minified: bool) -> &'static Script {
    static SCRIPTS: OnceLock<[Script; 2]> = OnceLock::new();
    let scripts = SCRIPTS.get_or_init(|| [prepare(SOURCE), prepare(MINIFIED)]);
    &scripts[usize::from(minified)]
}

/// Computes a static file's gzip variant and strong ETag (the console's
/// assets use it too).
pub(crate) fn prepare(text: &'static str) -> Script {
    use std::io::Write;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail; an empty result just means no gzip variant.
    let gzip = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    Script {
        plain: text.as_bytes(),
        gzip,
        etag: HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or(HeaderValue::from_static("\"0\"")),
    }
}

/// `GET /js/firstparty.js` and `/js/firstparty.min.js`.
pub(crate) fn serve_script(minified: bool, headers: &HeaderMap) -> Response {
    respond(
        script(minified),
        headers,
        "text/javascript; charset=utf-8",
        CACHE_CONTROL,
    )
}

/// A prepared file as the answer to a GET with `headers`: 304 when the client
/// has this version (`If-None-Match`), gzip when accepted, with its ETag.
pub(crate) fn respond(
    script: &Script,
    headers: &HeaderMap,
    content_type: &'static str,
    cache_control: &'static str,
) -> Response {
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == script.etag)
        });
    let gzip = !script.gzip.is_empty() && accepts_gzip(headers);
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        let mut r = script.gzip.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        script.plain.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ETAG, script.etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// The snippet to paste into a site's pages (`assets/tracker/snippet.html`)
/// for the source with `write_key`, loading the tracker from the collector at
/// `host` (its origin, `https://collect.example.com`) under `path_prefix`
/// (`""` or `/fp`).
pub fn snippet(write_key: &str, host: &str, path_prefix: &str) -> String {
    let js = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('<', "\\x3c")
    };
    SNIPPET
        .replace("{{WRITE_KEY}}", &js(write_key))
        .replace("{{HOST}}", &js(host.trim_end_matches('/')))
        .replace("{{PREFIX}}", &js(path_prefix.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_is_filled_in() {
        let s = snippet("wk_abc", "https://collect.example.com/", "/fp");
        assert!(s.contains(r#"s.src="https://collect.example.com/fp/js/firstparty.min.js""#));
        assert!(s.contains(r#"fp.load("wk_abc","https://collect.example.com",{prefix:"/fp"})"#));
        assert!(!s.contains("{{"));
    }

    #[test]
    fn gzip_is_negotiated() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
