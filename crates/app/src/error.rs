//! The error policy of Tracker.
//!
//! Every failure a caller can cause is an [`AppError`] variant with a stable
//! snake_case code and a sentence for a person, plus what the variant needs
//! to be acted on: the fields at fault, the blockers to clear, when to try
//! again. Those are shown to users as they are, and become JSON only in the
//! web crate. A failure the caller cannot cause (the database is gone, a
//! stored value is corrupt, a task panicked) is [`AppError::Internal`]: its
//! cause is for the log only — the web layer logs it once, with the request
//! id, and answers with a generic sentence. Nothing here logs.

use domain::access::Denied;
use domain::deactivation::Blocker;
use domain::Invalid;
use std::borrow::Cow;

/// The class of an error, which decides its HTTP status.
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
    /// An `If-Match` precondition does not hold (412).
    PreconditionFailed,
    /// Too many attempts (429).
    TooManyRequests,
    /// The server is too busy right now (503).
    Unavailable,
    /// Our fault (500); details only in the log.
    Internal,
}

/// What went wrong, one variant per way a person (or client) must react.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// 400: the request itself is malformed; `field` names the part.
    #[error("{code}: {message}")]
    BadRequest {
        code: Cow<'static, str>,
        message: String,
        field: Option<Cow<'static, str>>,
    },
    /// 401.
    #[error("{code}: {message}")]
    Unauthorized { code: &'static str, message: String },
    /// 403: in scope, but not allowed.
    #[error("{code}: {message}")]
    Forbidden { code: &'static str, message: String },
    /// 404: unknown or outside the caller's scope (S7).
    #[error("{what} not found")]
    NotFound { what: Cow<'static, str> },
    /// 422: every invalid field at once.
    #[error("invalid input: {}", join(.0))]
    Invalid(Vec<Invalid>),
    /// 409: the current state forbids it; `field` names a clashing value.
    #[error("{code}: {message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<Cow<'static, str>>,
    },
    /// 409 `deactivation_blocked` (D3–D5): every blocker.
    #[error("deactivation_blocked: {message}")]
    DeactivationBlocked { message: String, blockers: Vec<Blocker> },
    /// 409 `managed_by_directory` (D6).
    #[error("managed_by_directory")]
    ManagedByDirectory,
    /// 412: the resource changed since the version the caller names.
    #[error("precondition_failed: {message}")]
    PreconditionFailed { message: String },
    /// 429: try again after `retry_after_seconds`.
    #[error("{code}: {message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_seconds: u64,
    },
    /// 503: the server is busy; try again after `retry_after_seconds`.
    #[error("{code}: {message}")]
    Unavailable {
        code: &'static str,
        message: String,
        retry_after_seconds: u64,
    },
    /// 500: the cause, for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

fn join(problems: &[Invalid]) -> String {
    problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ")
}

pub type AppResult<T> = Result<T, AppError>;

/// What every internal error tells the person.
pub const INTERNAL_MESSAGE: &str = "something went wrong on our side; nothing was changed";

impl AppError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::BadRequest { .. } => ErrorKind::BadRequest,
            Self::Unauthorized { .. } => ErrorKind::Unauthorized,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Invalid(_) => ErrorKind::Unprocessable,
            Self::Conflict { .. } | Self::DeactivationBlocked { .. } | Self::ManagedByDirectory => ErrorKind::Conflict,
            Self::PreconditionFailed { .. } => ErrorKind::PreconditionFailed,
            Self::RateLimited { .. } => ErrorKind::TooManyRequests,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The stable snake_case code of SPEC §8.
    pub fn code(&self) -> Cow<'static, str> {
        match self {
            Self::BadRequest { code, .. } => code.clone(),
            Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::RateLimited { code, .. }
            | Self::Unavailable { code, .. } => Cow::Borrowed(code),
            Self::NotFound { .. } => "not_found".into(),
            Self::Invalid(problems) => match problems.as_slice() {
                [one] => one.code.into(),
                _ => "invalid_input".into(),
            },
            Self::DeactivationBlocked { .. } => "deactivation_blocked".into(),
            Self::ManagedByDirectory => "managed_by_directory".into(),
            Self::PreconditionFailed { .. } => "precondition_failed".into(),
            Self::Internal(_) => "internal_error".into(),
        }
    }

    /// The sentence for a person; never an internal cause.
    pub fn message(&self) -> String {
        match self {
            Self::BadRequest { message, .. }
            | Self::Unauthorized { message, .. }
            | Self::Forbidden { message, .. }
            | Self::Conflict { message, .. }
            | Self::RateLimited { message, .. }
            | Self::Unavailable { message, .. }
            | Self::DeactivationBlocked { message, .. }
            | Self::PreconditionFailed { message } => message.clone(),
            Self::NotFound { what } => format!("{what} not found"),
            Self::Invalid(problems) => join(problems),
            Self::ManagedByDirectory => {
                "Active Directory sync is on: company users are activated and deactivated in the directory, not in Tracker".into()
            }
            Self::Internal(_) => INTERNAL_MESSAGE.into(),
        }
    }

    /// The one field at fault, when there is one.
    pub fn field(&self) -> Option<Cow<'static, str>> {
        match self {
            Self::BadRequest { field, .. } => field.clone(),
            Self::Conflict { field, .. } => field.clone(),
            Self::Invalid(problems) => match problems.as_slice() {
                [one] => Some(one.field.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Seconds after which a refused request may be tried again.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_seconds, .. } | Self::Unavailable { retry_after_seconds, .. } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// A failure the caller did not cause; `cause` goes to the log only.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::Internal(cause.into())
    }

    /// Names the field a 400 or 409 is about.
    pub fn on_field(self, name: &'static str) -> Self {
        match self {
            Self::BadRequest { code, message, .. } => Self::BadRequest {
                code,
                message,
                field: Some(name.into()),
            },
            Self::Conflict { code, message, .. } => Self::Conflict {
                code,
                message,
                field: Some(name.into()),
            },
            other => other,
        }
    }

    /// One or more invalid fields, reported together so that a form can
    /// show every problem at once. A single problem keeps its own code.
    pub fn invalid(problems: Vec<Invalid>) -> Self {
        Self::Invalid(problems)
    }

    /// Reports field names under a parent, e.g. `administrator.email`.
    pub fn prefix_fields(self, prefix: &str) -> Self {
        match self {
            Self::Invalid(problems) => Self::Invalid(
                problems
                    .into_iter()
                    .map(|p| Invalid {
                        field: format!("{prefix}{}", p.field).into(),
                        ..p
                    })
                    .collect(),
            ),
            Self::Conflict {
                code,
                message,
                field: Some(f),
            } => Self::Conflict {
                code,
                message,
                field: Some(format!("{prefix}{f}").into()),
            },
            other => other,
        }
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
        // Every database connection is taken (e.g. writers queued on the
        // audit chain head), or the database gave the transaction up (a
        // PostgreSQL deadlock or serialisation failure, SQLite busy past its
        // timeout) after rolling it back: the server is busy, not broken,
        // and the same request may simply be sent again.
        if e.is_retryable() {
            tracing::warn!(error = %e, "the database gave a transaction up; the client is told to retry");
        }
        if e.is_pool_timeout() || e.is_retryable() {
            return AppError::Unavailable {
                code: "server_busy",
                message: "the server is busy; try again in a moment".into(),
                retry_after_seconds: 1,
            };
        }
        AppError::Internal(format!("store: {e}"))
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
