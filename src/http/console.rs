//! The web console (`assets/console`), built into the binary: `GET /` (the
//! page) and `/console/*` (its script, styles and the vendored uPlot). Served
//! only when a read token is configured; the page asks for the token and sends
//! it as `Authorization: Bearer` with every data call to the read endpoints (no
//! cookie). Every console response carries a strict Content-Security-Policy
//! (same-origin scripts, styles and requests only, no inline script).

use std::sync::OnceLock;

use axum::extract::OriginalUri;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::tracker::{Script, prepare, respond};

const INDEX: &str = include_str!("../../assets/console/index.html");
const APP_JS: &str = include_str!("../../assets/console/app.js");
const APP_CSS: &str = include_str!("../../assets/console/app.css");
const UPLOT_JS: &str = include_str!("../../assets/console/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/console/vendor/uplot/uPlot.min.css");

/// Same-origin everything, no inline script or style, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";
/// Assets are revalidated on every load (ETag), so an upgraded binary's
/// console is never mixed with a cached older script.
const CACHE_CONTROL: &str = "no-cache";

/// The console's files under `/console/`: (name, content, content type).
const ASSETS: [(&str, &str, &str); 4] = [
    ("app.js", APP_JS, "text/javascript; charset=utf-8"),
    ("app.css", APP_CSS, "text/css; charset=utf-8"),
    (
        "uPlot.iife.min.js",
        UPLOT_JS,
        "text/javascript; charset=utf-8",
    ),
    ("uPlot.min.css", UPLOT_CSS, "text/css; charset=utf-8"),
];

/// The paths of the console's files, relative to the router's root.
pub(crate) fn asset_paths() -> impl Iterator<Item = (String, usize)> {
    ASSETS
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| (format!("/console/{name}"), i))
}

fn prepared(i: usize) -> &'static Script {
    static PREPARED: OnceLock<Vec<Script>> = OnceLock::new();
    &PREPARED.get_or_init(|| ASSETS.iter().map(|(_, text, _)| prepare(text)).collect())[i]
}

/// Adds the console's security headers to a response.
fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /console/{file}`.
pub(crate) fn serve_asset(i: usize, headers: &HeaderMap) -> Response {
    let content_type = ASSETS.get(i).map_or("text/plain", |a| a.2);
    secure(respond(prepared(i), headers, content_type, CACHE_CONTROL))
}

/// `GET /`: the page, with the path it is served under (`--path-prefix`, or
/// where another app nested the router) so that its links and data calls go
/// to this router.
pub(crate) async fn index(OriginalUri(original): OriginalUri, uri: Uri) -> Response {
    let base = original
        .path()
        .strip_suffix(uri.path())
        .unwrap_or(original.path());
    page(base)
}

/// The page for a router served under `base` (`""`, `/fp`).
pub(crate) fn page(base: &str) -> Response {
    let page = INDEX.replace("{{BASE}}", &escape_attribute(base.trim_end_matches('/')));
    let mut response = Html(page).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    secure(response)
}

/// Text safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_it_loads() {
        for (name, _, _) in ASSETS {
            assert!(
                INDEX.contains(&format!("{{{{BASE}}}}/console/{name}")),
                "{name}"
            );
        }
        assert!(!INDEX.contains("<script>"), "no inline script (CSP)");
        assert!(!INDEX.contains("style="), "no inline style (CSP)");
    }

    #[test]
    fn bases_are_escaped() {
        assert_eq!(escape_attribute(r#"/a"<b>&"#), "/a&quot;&lt;b&gt;&amp;");
    }
}
