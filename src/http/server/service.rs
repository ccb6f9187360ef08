//! The hyper service of one connection: the router, with the connection's
//! facts ([`ConnInfo`]) added to each request and the end of each response
//! reported to the connection's [`Activity`]. An overflow connection (over
//! `max_connections`) answers only the health checks.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use http_body::{Frame, SizeHint};

use super::io::Activity;
use crate::http::client::ConnInfo;
use crate::http::error::ApiError;

/// A response body that tells the connection when it has been sent (or
/// dropped), so that the idle clock starts.
pub(crate) struct TrackedBody {
    inner: Body,
    activity: Option<Arc<Activity>>,
}

impl TrackedBody {
    fn finish(&mut self) {
        if let Some(activity) = self.activity.take() {
            activity.response_finished();
        }
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.finish();
    }
}

impl http_body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What a connection may ask.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Anything.
    Full,
    /// Over the connection limit: the health checks only.
    HealthOnly,
}

/// Handles one request of a connection.
pub(crate) async fn handle(
    app: Router,
    mut request: Request<hyper::body::Incoming>,
    (conn, activity, admission): (ConnInfo, Arc<Activity>, Admission),
    path_prefix: Arc<str>,
) -> Result<Response<TrackedBody>, Infallible> {
    activity.request_started();
    request.extensions_mut().insert(conn);
    let response =
        if admission == Admission::HealthOnly && !is_health(request.uri().path(), &path_prefix) {
            too_many_connections()
        } else {
            let mut app = app;
            let request = request.map(Body::new);
            match tower_service::Service::call(&mut app, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        };
    Ok(response.map(|inner| TrackedBody {
        inner,
        activity: Some(activity),
    }))
}

fn is_health(path: &str, prefix: &str) -> bool {
    matches!(path.strip_prefix(prefix), Some("/healthz" | "/readyz"))
}

fn too_many_connections() -> Response<Body> {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        "the server has as many connections as it serves at once; retry later",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
