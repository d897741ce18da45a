//! Two kinds of error. A [`ConfigError`] stops `tracker serve` at start-up:
//! the operator must fix a variable. A [`Failure`] belongs to one message and
//! decides what the worker does with it; it never stops the worker.

/// A mail setting that cannot work. The messages name the environment
/// variable to fix and never repeat a password from it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "TRACKER_SMTP_URL is not usable: {0}. Expected smtp://host[:port] (plain), \
         smtp+starttls://host[:port] or smtps://host[:port], optionally with user:password@ before the host"
    )]
    SmtpUrl(String),
    #[error("TRACKER_MAIL_FROM '{0}' is not an email address (use name@example.com or \"Name <name@example.com>\")")]
    From(String),
    #[error("cannot create the mail outbox folder {path}: {source}")]
    OutboxDir { path: String, source: std::io::Error },
    #[error("the SMTP transport must be created inside a Tokio runtime")]
    NoRuntime,
}

/// Why one message was not delivered this time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Failure {
    /// The server was unreachable, timed out, or answered 4xx: try again
    /// later (N8).
    #[error("{0}")]
    Transient(String),
    /// The server answered 5xx, or the message cannot be built (bad address,
    /// bad payload): trying again would give the same answer.
    #[error("{0}")]
    Permanent(String),
}

impl Failure {
    /// Sorts a lettre SMTP error. Everything that is not a definite refusal
    /// of this message (connection refused, TLS, timeouts, broken replies)
    /// is transient: the server may be fine again in a minute, and the retry
    /// limit bounds the cost of being wrong.
    pub(crate) fn from_smtp(e: &lettre::transport::smtp::Error) -> Self {
        let text = describe_smtp(e);
        if e.is_permanent() || e.is_client() {
            Failure::Permanent(text)
        } else {
            Failure::Transient(text)
        }
    }
}

/// The error with its causes, which lettre keeps in `source()`: "connection
/// error: Connection refused (os error 111)" says more than "connection
/// error".
fn describe_smtp(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
