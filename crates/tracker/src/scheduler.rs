//! O3: the scheduler of deactivations inside `tracker serve`. Each tick runs
//! the plans due by the application clock and the reminders; the first tick
//! is at start-up, so plans that fell due while no server ran are carried
//! out at once. Several processes may tick together: each plan is claimed
//! by one of them (see `App::run_scheduled_deactivations`).

use app::App;
use std::time::Duration;
use tokio::sync::watch;

/// Well within O3's minute. Test builds with the movable clock tick every
/// second, so that a test moving the clock sees the run promptly.
pub fn period(cfg: &crate::config::ServeConfig) -> Duration {
    #[cfg(feature = "test-hooks")]
    if cfg.test_clock {
        return Duration::from_secs(1);
    }
    let _ = cfg;
    Duration::from_secs(20)
}

pub async fn run(app: App, period: Duration, stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = crate::stopped(stop.clone()) => return,
            _ = every.tick() => match app.run_scheduled_deactivations().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(plans = n, "scheduled deactivations run"),
                Err(e) => tracing::warn!(error = %e, "cannot run scheduled deactivations yet"),
            },
        }
    }
}
