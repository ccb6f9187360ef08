//! The socket of one connection, with its clocks: [`TimedIo`] closes a
//! connection that sends no request for the idle timeout, takes longer than
//! the header-read timeout to send a request's headers (counted from its first
//! byte: slowloris), or does not read a response for the write timeout. While a
//! request is being handled the read clocks stop (the per-request timeout
//! bounds that part).
//!
//! It also replaces the answers hyper writes on its own to requests it cannot
//! parse (400 bad request line, 431 headers too large, ...: an empty body) with
//! the same status and the documented JSON error body.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::http::error::raw_error_response;

/// Where a connection is between requests.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for a request (since then).
    Idle(Instant),
    /// A request's head is arriving (since its first byte).
    Head(Instant),
    /// A request is being handled or its response written.
    Busy,
}

/// The phase of a connection, shared by its socket and its service.
#[derive(Debug)]
pub(crate) struct Activity(Mutex<Phase>);

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity(Mutex::new(Phase::Idle(Instant::now()))))
    }

    /// The service got a request.
    pub(crate) fn request_started(&self) {
        *self.0.lock() = Phase::Busy;
    }

    /// The response's body ended: the connection waits for the next request.
    pub(crate) fn response_finished(&self) {
        *self.0.lock() = Phase::Idle(Instant::now());
    }

    fn bytes_read(&self) {
        let mut phase = self.0.lock();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
        }
    }

    fn phase(&self) -> Phase {
        *self.0.lock()
    }
}

/// The clocks of [`TimedIo`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clocks {
    pub(crate) header_read: Duration,
    pub(crate) idle: Duration,
    pub(crate) write: Duration,
}

/// A JSON error response written in place of hyper's own.
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// Hyper's response has been swallowed up to its blank line.
    head_done: bool,
}

/// A socket with read and write clocks (see the module docs).
pub(crate) struct TimedIo<S> {
    inner: S,
    activity: Arc<Activity>,
    clocks: Clocks,
    read_timer: Pin<Box<Sleep>>,
    /// Since when a write has been waiting for the client.
    write_stalled: Option<Pin<Box<Sleep>>>,
    replacement: Option<Replacement>,
}

impl<S> TimedIo<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>, clocks: Clocks) -> Self {
        TimedIo {
            inner,
            activity,
            clocks,
            read_timer: Box::pin(tokio::time::sleep(clocks.idle)),
            write_stalled: None,
            replacement: None,
        }
    }

    /// When the read side gives up, if it is waiting for the client now.
    fn read_deadline(&self) -> Option<(Instant, &'static str)> {
        match self.activity.phase() {
            Phase::Idle(since) => Some((since + self.clocks.idle, "idle")),
            Phase::Head(since) => Some((since + self.clocks.header_read, "request headers")),
            Phase::Busy => None,
        }
    }

    /// Pending: the write waits for the client; an error once it waited longer
    /// than the write timeout.
    fn write_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let limit = self.clocks.write;
        let timer = self
            .write_stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing for {} s", limit.as_secs()),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.activity.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let Some((deadline, what)) = self.read_deadline() else {
                    return Poll::Pending;
                };
                self.read_timer.as_mut().reset(deadline);
                ready!(self.read_timer.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{what} timeout"),
                )))
            }
        }
    }
}

/// The status of a response head hyper is writing, if `buf` starts one.
fn response_status(buf: &[u8]) -> Option<StatusCode> {
    let rest = buf.strip_prefix(b"HTTP/1.")?;
    let digits = rest.get(2..5)?;
    StatusCode::from_bytes(digits).ok()
}

impl<S: AsyncWrite + Unpin> TimedIo<S> {
    /// Writes the replacement of hyper's own error response; reports hyper's
    /// bytes as written (they are dropped).
    fn poll_replace(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let Some(r) = self.replacement.as_mut() else {
                return Poll::Ready(Ok(buf.len()));
            };
            if r.written == r.bytes.len() {
                r.head_done |= buf.windows(4).any(|w| w == b"\r\n\r\n");
                if r.head_done {
                    // Later writes (none expected: hyper closes) go through.
                    self.replacement = None;
                }
                return Poll::Ready(Ok(buf.len()));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &r.bytes[r.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    r.written += n;
                    self.write_stalled = None;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.write_pending(cx),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacement.is_none()
            && matches!(this.activity.phase(), Phase::Head(_))
            && let Some(status) = response_status(buf).filter(|s| s.as_u16() >= 400)
        {
            // No request reached the service: this is hyper's own answer.
            this.replacement = Some(Replacement {
                bytes: raw_error_response(status),
                written: 0,
                head_done: false,
            });
        }
        if this.replacement.is_some() {
            return this.poll_replace(cx, buf);
        }
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.write_pending(cx),
            done => {
                this.write_stalled = None;
                done
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_heads_are_recognised() {
        assert_eq!(
            response_status(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(
            response_status(b"HTTP/1.0 400 Bad Request\r\n").map(|s| s.as_u16()),
            Some(400)
        );
        assert_eq!(response_status(b"{\"next_cursor\":1}"), None);
    }
}
