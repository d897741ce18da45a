//! OP3: the log subscriber. `TRACKER_LOG_FORMAT=text` (the default) writes
//! readable lines on standard error; `json` writes one JSON object per line
//! on standard output, with the fields of the current span (request id,
//! route, user id) on every line inside a request. The level comes from
//! `RUST_LOG` (default `info,sqlx=warn`).

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stdout)
            .init(),
    }
}
