//! Turns [`app::AppError`] into the JSON error of SPEC §8:
//! `{"error": {"code", "message", …}}`. This is where an internal error is
//! logged, once, with the request's span; its cause never reaches the
//! client.

use app::{AppError, ErrorKind};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON of SPEC §8 for an error: `code` and `message` always, and what
/// its variant carries (`field`, `fields`, `blockers`,
/// `retry_after_seconds`). An internal error says only that it is ours.
pub fn error_body(e: &AppError) -> Value {
    let mut obj = Map::new();
    obj.insert("code".into(), Value::String(e.code().into_owned()));
    obj.insert("message".into(), Value::String(e.message()));
    if let Some(field) = e.field() {
        obj.insert("field".into(), Value::String(field.into_owned()));
    }
    match e {
        AppError::Invalid(problems) => {
            let fields = problems
                .iter()
                .map(|p| json!({"field": p.field, "code": p.code, "message": p.message}))
                .collect();
            obj.insert("fields".into(), Value::Array(fields));
        }
        AppError::DeactivationBlocked { blockers, .. } => {
            obj.insert("blockers".into(), serde_json::to_value(blockers).unwrap_or_default());
        }
        _ => {}
    }
    if let Some(secs) = e.retry_after_seconds() {
        obj.insert("retry_after_seconds".into(), secs.into());
    }
    json!({ "error": obj })
}

/// A D3/D4 blocker or warning as JSON (its shape is `domain`'s `Serialize`).
pub fn blocker_json(b: &domain::deactivation::Blocker) -> Value {
    serde_json::to_value(b).unwrap_or_default()
}

/// `Retry-After` for an error that says when to try again (rate limits,
/// a busy server), on API answers and pages alike.
pub fn retry_after(response: &mut Response, e: &AppError) {
    if let Some(secs) = e.retry_after_seconds() {
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
}

/// The error policy's one log line for a failure that is ours: the cause,
/// inside the request's span (which carries its method, path and request
/// id). Errors the caller caused are answers, not log lines.
pub fn log_internal(e: &AppError) {
    if let AppError::Internal(cause) = e {
        tracing::error!(cause = %cause, "request failed on our side");
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_internal(&self.0);
        let mut response = (status_of(self.0.kind()), Json(error_body(&self.0))).into_response();
        retry_after(&mut response, &self.0);
        response
    }
}
