//! Request bodies: size limit (413), gzip (decompressed with a cap; another
//! `Content-Encoding` is 415), and write keys sent as HTTP Basic usernames.
//! The `Content-Type` is not looked at: a body is parsed as JSON whatever it
//! declares, since real clients send `text/plain` (browsers, to avoid a
//! preflight), `application/x-www-form-urlencoded` (rudder-sdk-node's gzip
//! bodies) or nothing.

use std::io::Read;
use std::pin::Pin;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use futures_core::Stream;

use super::error::ApiError;

/// An over-size body is read and discarded up to this many bytes before the 413
/// is sent (a client still sending when the connection closes sees a reset, not
/// the answer).
const DRAIN_BYTES_MAX: u64 = 16 << 20;

/// A request body as received, with how it is encoded.
pub(crate) struct RawBody {
    bytes: Bytes,
    gzip: bool,
}

/// Checks the encoding and reads at most `limit` bytes of body.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<RawBody, ApiError> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
        None => false,
        Some(Ok(enc)) if enc.trim().eq_ignore_ascii_case("gzip") => true,
        Some(Ok(enc)) if enc.trim().eq_ignore_ascii_case("identity") => false,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                format!(
                    "Content-Encoding {:?} is not supported; send gzip or an uncompressed body",
                    other.unwrap_or("?")
                ),
            ));
        }
    };
    let too_large = |size: String| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is {size} bytes, over the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::with_capacity(declared.unwrap_or(4096).min(limit as u64) as usize);
    let mut seen = 0u64;
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("cannot read the body: {e}"),
            )
        })?;
        seen += chunk.len() as u64;
        if seen > limit as u64 || declared.is_some_and(|len| len > limit as u64) {
            // Over the limit: read on (up to a bound) so the client gets the 413
            // instead of a reset connection, but keep nothing.
            buf = Vec::new();
            if seen > DRAIN_BYTES_MAX {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&chunk);
    }
    if seen > limit as u64 || declared.is_some_and(|len| len > limit as u64) {
        let size = declared.map_or_else(|| format!("more than {limit}"), |len| len.to_string());
        return Err(too_large(size));
    }
    Ok(RawBody {
        bytes: Bytes::from(buf),
        gzip,
    })
}

impl RawBody {
    /// The body, decompressed when it was gzip (at most `limit` bytes).
    pub(crate) fn decode(self, limit: usize) -> Result<Bytes, ApiError> {
        if !self.gzip {
            return Ok(self.bytes);
        }
        let mut out = Vec::with_capacity((self.bytes.len() * 4).min(limit));
        let mut decoder = flate2::read::GzDecoder::new(&self.bytes[..]).take(limit as u64 + 1);
        decoder.read_to_end(&mut out).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_gzip",
                format!("Content-Encoding is gzip but the body does not decompress: {e}"),
            )
        })?;
        if out.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the decompressed body is over the limit of {limit} bytes"),
            ));
        }
        Ok(Bytes::from(out))
    }
}

/// The write key sent as the HTTP Basic username (Segment's convention), if any.
/// Other authorization schemes are ignored here.
pub(crate) fn basic_write_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = |why: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_authorization",
            format!("malformed Authorization header: {why}; expected Basic base64(WRITE_KEY:)"),
        )
    };
    let text = value.to_str().map_err(|_| malformed("not ASCII"))?.trim();
    let Some((scheme, rest)) = text.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| malformed("not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed("not UTF-8"))?;
    let user = decoded.split(':').next().unwrap_or("");
    Ok(Some(user.to_owned()).filter(|u| !u.is_empty()))
}
