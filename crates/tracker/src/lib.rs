//! Wiring of the Tracker service: configuration in, a running server out.
//! The binary's `main` and the integration tests both start Tracker here.

pub mod backup;
pub mod config;
pub mod logging;
pub mod metrics;
mod overload;
pub mod readiness;
mod scheduler;
pub mod shutdown;

use anyhow::Context;
use app::{App, AppConfig, Clock, SystemClock};
use config::ServeConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::Db;
use tokio::sync::watch;

/// Opens the database and brings its schema up to date.
pub async fn open_db(url: &str) -> anyhow::Result<Db> {
    open_db_with(url, store::PoolLimits::default()).await
}

/// [`open_db`] with the pool's size and acquire timeout.
pub async fn open_db_with(url: &str, limits: store::PoolLimits) -> anyhow::Result<Db> {
    let db = Db::connect_with(url, limits)
        .await
        .with_context(|| "TRACKER_DATABASE_URL: cannot open the database".to_string())?;
    db.migrate().await.context("migrating the database")?;
    Ok(db)
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: App,
    pub public_url: String,
    /// OP2: where `/metrics` is served, when `TRACKER_METRICS_LISTEN` is set.
    pub metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    /// Stops the mail worker alone (tests of readiness); the server's stop
    /// stops it too.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    mail_stop: watch::Sender<bool>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
    mail: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests and background work.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// Waits until the server ends (after a signal), then lets the mail
    /// worker finish and record the deliveries in flight.
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.served.await.context("server task")?;
        let _ = self.stop.send(true);
        self.mail.await.context("mail worker task")?;
        // A request cut off at the end of the grace may still hold a
        // connection; the pool is not waited for past a moment.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.app.db.close()).await;
        served
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Test builds only: stops the mail worker and nothing else.
    #[cfg(feature = "test-hooks")]
    pub fn stop_mail_worker(&self) {
        let _ = self.mail_stop.send(true);
    }
}

/// Starts Tracker: migrations, optional demo data, the HTTP server.
pub async fn start(cfg: &ServeConfig) -> anyhow::Result<Running> {
    let listen = cfg.listen_addr()?;
    let trusted_proxies = cfg.http.trusted_proxies()?;
    let header_timeout = cfg.http.header_timeout()?;
    let timeouts = cfg.http.timeouts()?;
    let grace = cfg.ops.shutdown_grace()?;
    let limit = overload::Limit::new(cfg.ops.max_concurrent_requests()?);
    let metrics_listen = cfg.ops.metrics_addr()?;
    let url = cfg.storage.database_url()?;
    let db = open_db_with(&url, cfg.ops.pool_limits()?).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("TRACKER_LISTEN: cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let public_url = cfg.public_url(addr)?;
    #[cfg(feature = "test-hooks")]
    let manual = Arc::new(app::ManualClock::default());
    #[cfg(feature = "test-hooks")]
    let clock: Arc<dyn Clock> = if cfg.test_clock { manual.clone() } else { Arc::new(SystemClock) };
    #[cfg(not(feature = "test-hooks"))]
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = App::new(
        db,
        clock,
        AppConfig {
            public_url: public_url.clone(),
            trusted_proxies,
            ..AppConfig::default()
        },
    );
    if cfg.demo {
        let loaded = app::demo::load(&app)
            .await
            .map_err(|e| anyhow::anyhow!("loading the demo company: {e}"))?;
        tracing::info!(loaded, "demo company ready");
    }
    let transport = mail::Transport::from_config(cfg.smtp_url.as_deref(), &cfg.storage.data_dir, &cfg.mail_from)?;
    tracing::info!(transport = %transport.describe(), "mail delivery");
    let clock_for_mail = app.clock.clone();
    let mail_config = mail::WorkerConfig {
        clock: Arc::new(move || clock_for_mail.now()),
        stop_grace: grace,
        ..mail::WorkerConfig::new(&public_url)
    };
    let worker = mail::Worker::new(app.db.clone(), transport, mail_config, app.mail_waker.clone());
    let heartbeat = worker.heartbeat();
    #[cfg_attr(not(feature = "test-hooks"), allow(unused_mut))]
    let mut router = web::router_with(app.clone(), timeouts);
    #[cfg(feature = "test-hooks")]
    if cfg.test_clock {
        router = router.merge(test_clock_routes(manual));
        tracing::warn!("the test clock is enabled: never run like this in production");
    }
    // OP4: the limit covers every route so far; the probes come after.
    let router = router
        .layer(axum::middleware::from_fn_with_state(limit, overload::limit))
        .merge(readiness::routes(app.clone(), heartbeat));
    let (stop, stopped) = watch::channel(false);
    let metrics_addr = match metrics_listen {
        Some(at) => Some(metrics::serve(at, app.clone(), stopped.clone()).await?),
        None => None,
    };
    tokio::spawn(sweep_every_minute(app.clone(), stopped.clone()));
    if cfg.ops.search_order_every_secs > 0 {
        let every = Duration::from_secs(cfg.ops.search_order_every_secs);
        tokio::spawn(order_search_tails(app.clone(), every, stopped.clone()));
    }
    tokio::spawn(scheduler::run(app.clone(), scheduler::period(cfg), stopped.clone()));
    let (mail_stop, mail_stopped) = watch::channel(false);
    let mail = tokio::spawn(worker.run(async move {
        tokio::select! {
            () = stopped_now(mail_stopped) => {}
            () = stopped_now(stopped.clone()) => {}
        }
    }));
    let served = tokio::spawn(serve(listener, router, header_timeout, grace, stop.subscribe()));
    Ok(Running {
        addr,
        app,
        public_url,
        metrics_addr,
        stop,
        mail_stop,
        served,
        mail,
    })
}

/// Every minute until the server stops: S11, deletes expired and idle
/// sessions; S4, clears locks that have run out.
async fn sweep_every_minute(app: App, stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(stop.clone()) => return,
            _ = every.tick() => match app.sweep_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sessions = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "cannot delete expired sessions yet"),
            },
        }
        match app.clear_expired_locks().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(accounts = n, "expired locks cleared"),
            Err(e) => tracing::warn!(error = %e, "cannot clear expired locks yet"),
        }
    }
}

/// SQLite: moves the search documents that had to be numbered out of
/// name order back into it (`Db::order_search_tails`; migration 0015), in
/// short write transactions, so that a search sorted by name keeps reading
/// a page of documents, not the tail's every match.
async fn order_search_tails(app: App, every: Duration, stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(stop.clone()) => return,
            _ = every.tick() => match app.db.order_search_tails(64).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(documents = n, "search documents put in name order"),
                Err(e) => tracing::warn!(error = %e, "cannot put search documents in name order yet"),
            },
        }
    }
}

/// Serves HTTP/1.1 until `stop` turns true, then lets the connections
/// finish their requests in flight, for at most `grace` (OP4). `axum::serve` cannot bound how long a
/// client takes to send its headers, so connections are driven here with
/// hyper's header read timeout (OP4: a client that never finishes its
/// headers is disconnected). Handlers see the peer as
/// `ConnectInfo<SocketAddr>`, as with `axum::serve`.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    grace: Duration,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    // Each connection holds a receiver; all dropped means all finished.
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(stop.clone()) => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req
        });
        let conn = http
            .serve_connection(TokioIo::new(stream), hyper_util::service::TowerToHyperService::new(service))
            .with_upgrades();
        let stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = stopped(stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    shutdown::drain(open_tx, grace).await;
    Ok(())
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Resolves once `stop` turns true; never if its sender is dropped first.
async fn stopped_now(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Test builds only: `POST /api/v1/_test/clock {advance_ms}` moves the
/// application clock forward.
#[cfg(feature = "test-hooks")]
fn test_clock_routes(clock: Arc<app::ManualClock>) -> axum::Router {
    use axum::routing::post;
    axum::Router::new().route(
        "/api/v1/_test/clock",
        post(move |axum::Json(body): axum::Json<serde_advance::Advance>| {
            let clock = clock.clone();
            async move {
                clock.advance(body.advance_ms);
                axum::Json(serde_advance::Now { now_ms: clock.now() })
            }
        }),
    )
}

#[cfg(feature = "test-hooks")]
mod serde_advance {
    #[derive(serde::Deserialize)]
    pub struct Advance {
        pub advance_ms: i64,
    }
    #[derive(serde::Serialize)]
    pub struct Now {
        pub now_ms: i64,
    }
}
