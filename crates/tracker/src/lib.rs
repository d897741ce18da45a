//! Wiring of the Tracker service: configuration in, a running server out.
//! The binary's `main` and the integration tests both start Tracker here.

pub mod config;

use anyhow::Context;
use app::{App, AppConfig, Clock, SystemClock};
use config::ServeConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use store::Db;
use tokio::sync::watch;

/// Opens the database and brings its schema up to date.
pub async fn open_db(url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(url)
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
    stop: watch::Sender<bool>,
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
        self.app.db.close().await;
        served
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Starts Tracker: migrations, optional demo data, the HTTP server.
pub async fn start(cfg: &ServeConfig) -> anyhow::Result<Running> {
    let listen = cfg.listen_addr()?;
    let url = cfg.storage.database_url()?;
    let db = open_db(&url).await?;
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
        ..mail::WorkerConfig::new(&public_url)
    };
    let worker = mail::Worker::new(app.db.clone(), transport, mail_config, app.mail_waker.clone());
    #[cfg_attr(not(feature = "test-hooks"), allow(unused_mut))]
    let mut router = web::router(app.clone());
    #[cfg(feature = "test-hooks")]
    if cfg.test_clock {
        router = router.merge(test_clock_routes(manual));
        tracing::warn!("the test clock is enabled: never run like this in production");
    }
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(sweep_sessions(app.clone(), stopped.clone()));
    let mut mail_stopped = stopped.clone();
    let mail = tokio::spawn(worker.run(async move {
        let _ = mail_stopped.wait_for(|s| *s).await;
    }));
    let served = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .context("serving HTTP")
    });
    Ok(Running {
        addr,
        app,
        public_url,
        stop,
        served,
        mail,
    })
}

/// S11: deletes expired and idle sessions every minute until the server
/// stops.
async fn sweep_sessions(app: App, mut stopped: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => if *stopped.borrow() { return },
            _ = every.tick() => match app.sweep_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sessions = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "cannot delete expired sessions yet"),
            },
        }
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
