//! [`HttpConfig`]: how the collector behaves, with defaults safe for a server
//! that faces the internet. The routes use the first group of settings; the
//! connection limits and timeouts apply when the collector runs on its own
//! server ([`serve`](super::serve)).

use std::time::Duration;

/// How the collector behaves. Start from `HttpConfig::default()`.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub(crate) read_token: Option<String>,
    pub(crate) request_timeout: Duration,
    pub(crate) read_cors_origin: Option<String>,
    pub(crate) trust_proxy: bool,
    pub(crate) store_client_ip: bool,
    pub(crate) path_prefix: String,
    pub(crate) max_concurrent_reads: usize,
    pub(crate) limits: ServerLimits,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// The connection limits and timeouts of [`serve`](super::serve).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerLimits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            read_token: None,
            request_timeout: Duration::from_secs(30),
            read_cors_origin: None,
            trust_proxy: false,
            store_client_ip: true,
            path_prefix: String::new(),
            max_concurrent_reads: 8,
            limits: ServerLimits {
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                write_timeout: Duration::from_secs(30),
                max_connections: 1024,
            },
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl HttpConfig {
    /// The token that read endpoints require as `Authorization: Bearer TOKEN`.
    /// Without one (the default) the read endpoints are off (404).
    pub fn read_token(mut self, token: impl Into<String>) -> Self {
        self.read_token = Some(token.into());
        self
    }

    /// The longest a request may take, reading its body included (default 30 s);
    /// after it the client gets 503 `timeout`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The one web origin (`https://dashboard.example`) whose pages may call the
    /// read endpoints (CORS). By default no cross-origin read is allowed.
    pub fn read_cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.read_cors_origin = Some(origin.into());
        self
    }

    /// Behind a reverse proxy: take the client's IP from the first
    /// `X-Forwarded-For` hop, and the public scheme and host from
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` (default off: those headers are
    /// ignored, since any client can send them).
    pub fn trust_proxy(mut self, trust: bool) -> Self {
        self.trust_proxy = trust;
        self
    }

    /// Whether the client's IP goes to `context.ip` of Segment-compatible
    /// events that carry none (default true; false for privacy).
    pub fn store_client_ip(mut self, store: bool) -> Self {
        self.store_client_ip = store;
        self
    }

    /// A path in front of every route (`/fp`: `/fp/v1/batch`,
    /// `/fp/js/firstparty.min.js`, ...), since ad blockers match paths such as
    /// `/track`. Empty (the default) for none; a trailing `/` is ignored.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let trimmed = prefix.trim_end_matches('/');
        self.path_prefix = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// How many read requests (events, counts, stats) run at once (default 8);
    /// more wait. Writes never wait for reads: this keeps the blocking pool for
    /// them.
    pub fn max_concurrent_reads(mut self, reads: usize) -> Self {
        self.max_concurrent_reads = reads.max(1);
        self
    }

    /// [`serve`](super::serve): the longest a client may take to send a
    /// request's headers, from its first byte (default 10 s).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// [`serve`](super::serve): how long a connection may wait for its next
    /// request (keep-alive) before it is closed (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// [`serve`](super::serve): how long a response may wait for a client that
    /// does not read it (default 30 s); then the connection is dropped.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_timeout = timeout;
        self
    }

    /// [`serve`](super::serve): the most connections served at once (default
    /// 1024). Past it, a few more are accepted to answer `/healthz` and
    /// `/readyz` and refuse anything else with 503 `too_many_connections`; the
    /// rest are closed at once.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.max(1);
        self
    }

    /// [`serve`](super::serve) over HTTPS with this rustls configuration (see
    /// [`tls_config_from_pem`](super::tls_config_from_pem)).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: std::sync::Arc<tokio_rustls::rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }
}
