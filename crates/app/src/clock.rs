//! Time, injectable so that tests of expiry and lockout (N6, S4) move the
//! clock instead of sleeping.

use domain::Millis;
#[cfg(feature = "test-hooks")]
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        d.as_millis() as Millis
    }
}

/// Real time plus an offset that tests may advance. Exists only in test
/// builds (`test-hooks`), where `tracker serve --test-clock` installs it.
#[cfg(feature = "test-hooks")]
#[derive(Default)]
pub struct ManualClock {
    offset_ms: AtomicI64,
}

#[cfg(feature = "test-hooks")]
impl ManualClock {
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

#[cfg(feature = "test-hooks")]
impl Clock for ManualClock {
    fn now(&self) -> Millis {
        SystemClock.now() + self.offset_ms.load(Ordering::SeqCst)
    }
}
