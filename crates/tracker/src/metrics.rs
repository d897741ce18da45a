//! OP2: the Prometheus metrics port. Counters and histograms are written
//! where things happen, through the `metrics` facade (requests in
//! `web::observe`, sign-ins in `app`, deliveries in `mail`, the database
//! writer's wait in `store`); this module installs the recorder that keeps
//! them, sets the gauges read from the database at each scrape (outbox
//! backlog, users by status), and serves the text format on a listener of
//! its own (`TRACKER_METRICS_LISTEN`), never on the public port.

use anyhow::Context;
use app::App;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::watch;

/// Latency buckets, in seconds, for every `…_seconds` histogram.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide recorder: the `metrics` facade has one global
/// recorder, so several servers in one process (the tests) share it.
fn handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let h = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(HANDLE.get_or_init(|| h).clone())
}

/// Binds the metrics listener and serves `GET /metrics` until `stop`.
/// Returns the bound address.
pub async fn serve(addr: SocketAddr, app: App, stop: watch::Receiver<bool>) -> anyhow::Result<SocketAddr> {
    let handle = handle()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("TRACKER_METRICS_LISTEN: cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let (app, handle) = (app.clone(), handle.clone());
            async move { scrape(&app, &handle).await }
        }),
    );
    tokio::spawn(async move {
        let mut stop = stop;
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    tracing::info!(listen = %bound, "metrics served at /metrics");
    Ok(bound)
}

/// Reads the database figures into gauges, then renders everything.
async fn scrape(app: &App, handle: &PrometheusHandle) -> String {
    match tokio::time::timeout(Duration::from_secs(5), app.db.ops_figures()).await {
        Ok(Ok(f)) => {
            metrics::gauge!("tracker_outbox_messages", "status" => "queued").set(f.outbox_queued as f64);
            metrics::gauge!("tracker_outbox_messages", "status" => "sending").set(f.outbox_sending as f64);
            let age_ms = f.oldest_queued_at.map_or(0, |t| (app.now() - t).max(0));
            metrics::gauge!("tracker_outbox_oldest_queued_age_seconds").set(age_ms as f64 / 1000.0);
            metrics::gauge!("tracker_users", "status" => "active").set(f.users_active as f64);
            metrics::gauge!("tracker_users", "status" => "inactive").set(f.users_inactive as f64);
            metrics::gauge!("tracker_metrics_database_up").set(1.0);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: cannot read the database figures");
            metrics::gauge!("tracker_metrics_database_up").set(0.0);
        }
        Err(_) => {
            tracing::warn!("metrics: the database figures took too long");
            metrics::gauge!("tracker_metrics_database_up").set(0.0);
        }
    }
    handle.run_upkeep();
    handle.render()
}
