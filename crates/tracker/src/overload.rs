//! OP4: a bound on the requests served at once. Past it a request is
//! answered 503 with `Retry-After` at once instead of waiting in a queue
//! that only grows (and makes every request late). The probes are never
//! refused: a busy process is alive, and readiness has its own checks.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Seconds a refused client is asked to wait.
const RETRY_AFTER: &str = "1";

#[derive(Clone)]
pub struct Limit(Arc<Semaphore>);

impl Limit {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }
}

/// The middleware: holds a permit for the whole request.
pub async fn limit(State(limit): State<Limit>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    let Ok(_permit) = limit.0.clone().try_acquire_owned() else {
        metrics::counter!("tracker_http_overloaded_total").increment(1);
        tracing::debug!("request refused: too many in flight");
        return busy(req.uri().path().starts_with("/api/"));
    };
    next.run(req).await
}

fn busy(api: bool) -> Response {
    let e = app::AppError::Unavailable {
        code: "server_busy",
        message: "the server is busy; try again in a moment".into(),
        retry_after_seconds: 1,
    };
    let mut resp = if api {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(web::error::error_body(&e))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "The server is busy. Try again in a moment.\n",
        )
            .into_response()
    };
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
