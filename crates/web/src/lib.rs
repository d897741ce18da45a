//! Tracker's HTTP face: the JSON API (`/api/v1`), its OpenAPI document and
//! the web pages, all over the same [`app::App`] use cases. No SQL and no
//! rule lives here: handlers parse, call one use case, and shape the answer.

pub mod api;
pub mod client_addr;
pub mod edge;
pub mod error;
pub mod extract;
pub mod observe;
pub mod redirect;
pub mod scim;
pub mod strict_json;
pub mod types;
pub mod ui;

use app::App;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

pub use edge::Timeouts;

/// Request bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The whole service, with the default timeouts.
pub fn router(app: App) -> Router {
    router_with(app, Timeouts::default())
}

/// The whole service.
pub fn router_with(app: App, timeouts: Timeouts) -> Router {
    let (api, openapi) = api::router();
    let openapi = Arc::new(api::served_document(&openapi));
    let edge = edge::Edge::new(&app, timeouts.request);
    Router::new()
        .merge(api)
        .merge(ui::router(app.clone()))
        .nest("/scim/v2", scim::router())
        .route("/api/v1/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(timeouts.body))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(axum::middleware::from_fn_with_state(edge, edge::edge))
        // OP2/OP3: the request's log line and metrics, inside its span.
        .layer(axum::middleware::from_fn(observe::observe))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // `observe` writes the one line per request.
                .on_request(())
                .on_response(()),
        )
        // Outermost: every request has an `X-Request-Id` (the client's, or
        // a new UUID) before its span is made, and the answer carries it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(app)
}

/// The span of a request names its method and path only: a query string
/// can carry a one-time link's token (`/set-password?token=…`), and no
/// secret may reach the logs at any level (OP3).
/// The request id is recorded only when it is a plain token, so a client
/// cannot write arbitrary text into the log through it.
fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        route = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

/// Unknown API paths answer in the API's JSON; anything else is a page.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        (StatusCode::NOT_FOUND, Json(error::error_body(&app::AppError::not_found("page")))).into_response()
    } else {
        ui::page::error_page(StatusCode::NOT_FOUND, "Page not found", "There is nothing at this address.")
    }
}
