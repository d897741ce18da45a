//! Test-build hooks. With the `test-hooks` feature (enabled only by the
//! test suites' dev-dependency, never in a release build) a test can pause a
//! use case at a named point, act while it waits, then let it go on: races
//! such as "a deactivation commits while a sign-in checks the password"
//! become deterministic (S9). Without the feature every pause is an empty
//! inline function and nothing can be armed.

#[cfg(feature = "test-hooks")]
use std::collections::HashMap;
#[cfg(feature = "test-hooks")]
use std::sync::Mutex;
#[cfg(feature = "test-hooks")]
use tokio::sync::oneshot;

/// Where a use case may be paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Sign-in has checked the password hash and is about to open its
    /// write transaction.
    SignInVerified,
    /// Setting a password from a link has hashed the new password and is
    /// about to open its write transaction.
    SetPasswordHashed,
    /// A SCIM write has read and locked the user and computed what the
    /// directory wants, and is about to write it (DIR1, S9).
    DirectoryWrite,
    /// An offboarding (now or by the scheduler) has locked its plan, its
    /// users and the offices and routes it will change, and is about to
    /// hand them over (O2, lock order).
    OffboardLocked,
    /// An edit has written a user's new email (on PostgreSQL a key update:
    /// the row is locked even against foreign-key checks) and is about to
    /// void their links and cancel their mail (S10).
    EmailWritten,
}

/// The use case's side of an armed point: say "reached", wait for "go on".
#[cfg(feature = "test-hooks")]
type Waiting = (oneshot::Sender<()>, oneshot::Receiver<()>);

#[derive(Default)]
pub struct Hooks {
    #[cfg(feature = "test-hooks")]
    armed: Mutex<HashMap<Point, Waiting>>,
}

impl Hooks {
    /// Waits here if a test armed `point`: tells the test it was reached,
    /// then waits until the test releases it (or drops its handle). Each
    /// arming pauses one passage.
    #[inline]
    pub async fn pause(&self, point: Point) {
        #[cfg(feature = "test-hooks")]
        {
            let armed = self.armed.lock().unwrap_or_else(|p| p.into_inner()).remove(&point);
            if let Some((reached, release)) = armed {
                let _ = reached.send(());
                let _ = release.await;
            }
        }
        #[cfg(not(feature = "test-hooks"))]
        let _ = point;
    }

    /// Arms `point` for the next passage.
    #[cfg(feature = "test-hooks")]
    pub fn arm(&self, point: Point) -> Paused {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        self.armed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(point, (reached_tx, release_rx));
        Paused {
            reached: Some(reached_rx),
            release: release_tx,
        }
    }
}

/// A test's handle on an armed pause point.
#[cfg(feature = "test-hooks")]
pub struct Paused {
    reached: Option<oneshot::Receiver<()>>,
    release: oneshot::Sender<()>,
}

#[cfg(feature = "test-hooks")]
impl Paused {
    /// Resolves once a use case is waiting at the point.
    pub async fn reached(&mut self) {
        if let Some(r) = self.reached.take() {
            r.await.expect("the paused use case went away before reaching its pause point");
        }
    }

    /// Lets the waiting use case go on.
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

#[cfg(all(test, feature = "test-hooks"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_armed_point_pauses_one_passage_until_released() {
        let hooks = std::sync::Arc::new(Hooks::default());
        let mut paused = hooks.arm(Point::SignInVerified);
        let h = hooks.clone();
        let task = tokio::spawn(async move {
            h.pause(Point::SignInVerified).await;
            "done"
        });
        paused.reached().await;
        assert!(!task.is_finished());
        paused.release();
        assert_eq!(task.await.unwrap(), "done");
        // Disarmed after one passage.
        hooks.pause(Point::SignInVerified).await;
    }
}
