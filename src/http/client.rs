//! Who sent a request: the client's IP (the peer address, or the first
//! `X-Forwarded-For` hop behind a trusted proxy), its User-Agent and `Origin`,
//! and the public scheme and host it used (for URLs the server hands back).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::AppState;

/// What [`serve`](super::serve) knows of a connection; added to each request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnInfo {
    pub(crate) peer: SocketAddr,
    pub(crate) tls: bool,
}

/// The client of one request.
#[derive(Clone, Debug, Default)]
pub(crate) struct Client {
    /// The client's IP, unless the server stores none.
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) origin: Option<String>,
    /// `http` or `https`, as the client sees the server.
    pub(crate) scheme: &'static str,
    /// `host[:port]`, as the client sees the server.
    pub(crate) host: Option<String>,
}

impl FromRequestParts<Arc<AppState>> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client::of(
            parts,
            state.config.trust_proxy,
            state.config.store_client_ip,
        ))
    }
}

impl Client {
    /// The user agent and IP to fill into an event's context when it has none.
    pub(crate) fn context_defaults(&self) -> crate::ContextDefaults<'_> {
        crate::ContextDefaults {
            user_agent: self.user_agent.as_deref(),
            ip: self.ip.as_deref(),
        }
    }

    fn of(parts: &Parts, trust_proxy: bool, store_ip: bool) -> Client {
        let conn = parts.extensions.get::<ConnInfo>().copied();
        let peer = conn.map(|c| c.peer).or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        });
        let headers = &parts.headers;
        let forwarded = |name: &str| trust_proxy.then(|| first_value(headers, name)).flatten();
        let ip = forwarded("x-forwarded-for").or_else(|| peer.map(|p| p.ip().to_string()));
        let scheme = match forwarded("x-forwarded-proto").as_deref() {
            Some(p) if p.eq_ignore_ascii_case("https") => "https",
            Some(_) => "http",
            None if conn.is_some_and(|c| c.tls) || parts.uri.scheme_str() == Some("https") => {
                "https"
            }
            None => "http",
        };
        let host = forwarded("x-forwarded-host")
            .or_else(|| text(headers, header::HOST.as_str()))
            .or_else(|| parts.uri.authority().map(|a| a.to_string()));
        Client {
            ip: ip.filter(|_| store_ip),
            user_agent: text(headers, header::USER_AGENT.as_str()),
            origin: text(headers, header::ORIGIN.as_str()).filter(|o| o != "null"),
            scheme,
            host,
        }
    }
}

/// A header's value as text, when it is printable and not empty.
fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The first comma-separated item of a (proxy) header.
fn first_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = text(headers, name)?;
    let first = value.split(',').next().unwrap_or("").trim();
    (!first.is_empty()).then(|| first.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)], tls: bool) -> Parts {
        let mut request = axum::http::Request::builder().uri("/v1/batch");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnInfo {
            peer: "10.1.2.3:4567".parse().unwrap(),
            tls,
        });
        parts
    }

    #[test]
    fn forwarded_headers_count_only_behind_a_trusted_proxy() {
        let p = parts(
            &[
                ("X-Forwarded-For", "203.0.113.7, 10.0.0.1"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "collect.example.com"),
                ("Host", "127.0.0.1:8080"),
                ("User-Agent", "Mozilla/5.0"),
            ],
            false,
        );
        let trusted = Client::of(&p, true, true);
        assert_eq!(trusted.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(trusted.scheme, "https");
        assert_eq!(trusted.host.as_deref(), Some("collect.example.com"));
        assert_eq!(trusted.user_agent.as_deref(), Some("Mozilla/5.0"));
        let direct = Client::of(&p, false, true);
        assert_eq!(direct.ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(direct.scheme, "http");
        assert_eq!(direct.host.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(Client::of(&p, false, false).ip, None);
        assert_eq!(Client::of(&parts(&[], true), false, true).scheme, "https");
    }
}
