//! Turns [`app::AppError`] into the JSON error of SPEC §8:
//! `{"error": {"code", "message", …}}`. Internal errors were logged where
//! they arose; here they only get their status.

use app::{AppError, ErrorKind};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

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
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn error_body(e: &AppError) -> Value {
    let mut obj = Map::new();
    obj.insert("code".into(), Value::String(e.code.to_string()));
    obj.insert("message".into(), Value::String(e.message.clone()));
    for (k, v) in &e.details {
        obj.insert(k.clone(), v.clone());
    }
    serde_json::json!({ "error": obj })
}

/// `Retry-After` for an error that says when to try again (rate limits,
/// a busy server), on API answers and pages alike.
pub fn retry_after(response: &mut Response, e: &AppError) {
    if let Some(secs) = e.details.get("retry_after_seconds").and_then(Value::as_i64) {
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (status_of(self.0.kind), Json(error_body(&self.0))).into_response();
        retry_after(&mut response, &self.0);
        response
    }
}
