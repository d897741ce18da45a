//! What every request leaves behind for the operator (OP2, OP3): one log
//! line with its request id, route template, status, latency and user id,
//! and the `tracker_http_requests_total` counter and
//! `tracker_http_request_duration_seconds` histogram by route template
//! and status. The route is the template axum matched (`/api/v1/users/{id}`),
//! never the path, so ids do not multiply the series and no token in a path
//! reaches a label.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The label of a request no route matched (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// The middleware; it runs inside the request's span (see `request_span`).
pub async fn observe(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED, |m| m.as_str()).to_owned();
    let method = req.method().clone();
    let span = tracing::Span::current();
    span.record("route", route.as_str());
    let started = Instant::now();
    let resp = next.run(req).await;
    let latency = started.elapsed();
    let status = resp.status().as_u16();
    tracing::info!(status, latency_ms = latency.as_secs_f64() * 1000.0, "request finished");
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("tracker_http_requests_total", &labels).increment(1);
    metrics::histogram!("tracker_http_request_duration_seconds", &labels).record(latency);
    resp
}

/// Names the signed-in user on the request's span, so the request's log
/// line (and every line inside it) carries the user id (OP3).
pub fn record_user(id: &domain::UserId) {
    tracing::Span::current().record("user_id", id.as_str());
}
