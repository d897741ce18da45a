use std::borrow::Cow;

/// A value that failed validation: which field, a stable code, and a
/// sentence a person can act on. The web layer turns it into a 422 (or 400
/// for malformed requests) without adding anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: Cow<'static, str>,
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<Cow<'static, str>>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same problem reported under another field name, e.g. when an
    /// email is nested inside `administrator.email`.
    pub fn at(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = field.into();
        self
    }
}
