//! OP4: how `tracker serve` stops. SIGTERM or SIGINT stops accepting;
//! requests in flight get `TRACKER_SHUTDOWN_GRACE` to finish (a client that
//! never finishes sending is cut off then), the mail worker gets as long
//! and then releases its claims, and the process exits 0.

use std::time::Duration;
use tokio::sync::watch;

/// Resolves at the first SIGTERM or SIGINT.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Waits until every connection has finished (each holds a receiver of
/// `open`), or `grace` has passed.
pub(crate) async fn drain(open: watch::Sender<()>, grace: Duration) {
    if tokio::time::timeout(grace, open.closed()).await.is_err() {
        tracing::warn!(
            connections = open.receiver_count(),
            grace_s = grace.as_secs(),
            "connections still open at the end of the shutdown grace are cut off"
        );
    } else {
        tracing::info!("all connections finished");
    }
}
