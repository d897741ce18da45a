//! The error policy of Tracker.
//!
//! Every failure a caller can cause is an [`AppError`] with a stable
//! snake_case `code`, a sentence for a person, and, where it helps, the
//! fields at fault or the blockers to clear. Those are shown to users as
//! they are. A failure the caller cannot cause (the database is gone, a
//! stored value is corrupt) becomes `Internal`: the user sees only that
//! something went wrong on our side, and the cause is logged once, where
//! the web layer answers the request.

use domain::access::Denied;
use domain::Invalid;
use serde_json::{json, Map, Value};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed request (400).
    BadRequest,
    /// Not signed in, or the credentials are not accepted (401).
    Unauthorized,
    /// Inside the caller's scope, but the role may not do it (403).
    Forbidden,
    /// Unknown, or outside the caller's scope (404, S7).
    NotFound,
    /// The current state forbids it (409).
    Conflict,
    /// Well-formed but invalid values (422).
    Unprocessable,
    /// Too many attempts (429).
    TooManyRequests,
    /// Our fault (500); details only in the log.
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Extra members of the JSON error object (`fields`, `blockers`, …).
    pub details: Map<String, Value>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorKind::NotFound, "not_found", format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "internal_error", message)
    }

    /// One or more invalid fields, reported together so that a form can
    /// show every problem at once. A single problem keeps its own code.
    pub fn invalid(problems: Vec<Invalid>) -> Self {
        let fields: Vec<Value> = problems
            .iter()
            .map(|p| json!({"field": p.field, "code": p.code, "message": p.message}))
            .collect();
        let (code, message, field): (Cow<'static, str>, String, Option<String>) = match problems.as_slice() {
            [one] => (one.code.into(), one.message.clone(), Some(one.field.to_string())),
            many => (
                "invalid_input".into(),
                many.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "),
                None,
            ),
        };
        let mut e = Self::new(ErrorKind::Unprocessable, code, message).with("fields", Value::Array(fields));
        if let Some(field) = field {
            e = e.with("field", Value::String(field));
        }
        e
    }

    /// Reports field names under a parent, e.g. `administrator.email`.
    pub fn prefix_fields(mut self, prefix: &str) -> Self {
        if let Some(Value::String(f)) = self.details.get_mut("field") {
            *f = format!("{prefix}{f}");
        }
        if let Some(Value::Array(fields)) = self.details.get_mut("fields") {
            for item in fields {
                if let Some(Value::String(f)) = item.get_mut("field") {
                    *f = format!("{prefix}{f}");
                }
            }
        }
        self
    }

    /// A referenced user who must be active is not (D2: `user_inactive`).
    pub fn user_inactive(field: &str) -> Self {
        Self::invalid(vec![Invalid::new(
            field.to_owned(),
            "user_inactive",
            format!("{field}: the user is deactivated"),
        )])
    }
}

impl From<Invalid> for AppError {
    fn from(i: Invalid) -> Self {
        AppError::invalid(vec![i])
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Hidden => AppError::not_found("user"),
            Denied::Forbidden(why) => AppError::forbidden(why),
        }
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        if e.is_unique_violation() {
            return AppError::conflict("conflict", "a concurrent change created the same record; reload and try again");
        }
        tracing::error!(error = %e, "store failure");
        AppError::internal("something went wrong on our side; the change was not made")
    }
}

/// Collects validation problems so that all of them are reported at once.
#[derive(Default)]
pub struct Problems(Vec<Invalid>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value, or records why it is not acceptable.
    pub fn check<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, i: Invalid) {
        self.0.push(i);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::invalid(self.0))
        }
    }
}
