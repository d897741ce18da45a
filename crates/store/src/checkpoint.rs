//! SQLite WAL checkpoints, off the commit path.
//!
//! By default SQLite folds the write-ahead log back into the database file
//! inside the COMMIT that pushes the log past 1,000 pages: that request
//! waits for the copy and its fsync. N3's confirm for 30,000 users wrote
//! 77 MB of log and spent a fifth of its time in that checkpoint (issue
//! 12). Here the writer never checkpoints (`wal_autocheckpoint = 0`); a
//! task owned by the [`Db`](crate::Db) runs a PASSIVE checkpoint on a
//! connection of its own every [`PERIOD`]. PASSIVE never waits for a lock
//! and never blocks the writer or a reader, so writes and reads go on
//! while it copies; a commit is durable in the log as before
//! (`synchronous = NORMAL`). Once a long log is all copied, it is emptied.
//!
//! The task stops, after a last checkpoint, when [`Db::close`](crate::Db::close)
//! asks it to, or when the last handle on the database is dropped.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the log is folded back: the log holds at most about this
/// much time's writes.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

/// The running checkpoint task; cheap to clone with its [`Db`](crate::Db).
#[derive(Clone)]
pub(crate) struct Checkpoints(Arc<Running>);

struct Running {
    /// Dropped with the last handle, which also ends the task.
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpoints {
    /// Opens the checkpoint connection (read-write: a checkpoint writes the
    /// database file) and starts the task.
    pub(crate) async fn start(opts: &SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let mut conn = opts.clone().busy_timeout(EMPTYING_WAIT).connect().await?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(PERIOD);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => checkpoint(&mut conn).await,
                    // Asked to stop, or every handle is gone.
                    _ = stopped.changed() => break,
                }
            }
            checkpoint(&mut conn).await;
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the checkpoint connection");
            }
        });
        Ok(Self(Arc::new(Running {
            stop,
            task: Mutex::new(Some(task)),
        })))
    }

    /// Stops the task after a last checkpoint, and waits for it.
    pub(crate) async fn stop(&self) {
        self.0.stop.send_replace(true);
        let task = self.0.task.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "the checkpoint task ended abnormally");
            }
        }
    }
}

/// One PASSIVE checkpoint: copies what no reader still needs, waits for
/// nothing. When it copied the whole log and the log is long, a TRUNCATE
/// empties it: a log is only reset when a writer starts over at its head,
/// and until then every page a reader looks up is searched for in every
/// 4,096-frame segment of it (after a 100,000-user seed and no writes, the
/// list pages ran at half speed). All being copied already, TRUNCATE only
/// waits for the readers of the moment and the writer, for at most
/// [`EMPTYING_WAIT`]. A failure is logged and tried again next period.
async fn checkpoint(conn: &mut SqliteConnection) {
    crate::db::statement!(sqlite WAL_CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)");
    crate::db::statement!(sqlite WAL_TRUNCATE = "PRAGMA wal_checkpoint(TRUNCATE)");
    let done: Result<(i64, i64, i64), sqlx::Error> = sqlx::query_as(WAL_CHECKPOINT.sql).fetch_one(&mut *conn).await;
    match done {
        Ok((_, log, copied)) if log >= LONG_LOG && copied == log => {
            let emptied: Result<(i64, i64, i64), sqlx::Error> = sqlx::query_as(WAL_TRUNCATE.sql).fetch_one(&mut *conn).await;
            match emptied {
                Ok((busy, _, _)) => tracing::trace!(log, emptied = busy == 0, "WAL checkpoint"),
                Err(e) => tracing::warn!(error = %e, "emptying the WAL failed; trying again"),
            }
        }
        Ok((_, log, copied)) if log > 0 => tracing::trace!(log, copied, "WAL checkpoint"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; trying again"),
    }
}

/// How long emptying the log may wait for the readers of the moment. It
/// holds the write lock while it waits, so this is also the longest a
/// write can be held up by it; a reader still busy then (a long export)
/// leaves the log for the next period.
const EMPTYING_WAIT: Duration = Duration::from_millis(10);

/// Frames from which a fully copied log is emptied (SQLite's own
/// checkpoint threshold): the log stays within about 4 MB.
const LONG_LOG: i64 = 1_000;

#[cfg(test)]
mod tests {
    use crate::db::Pools;
    use crate::Db;
    use std::time::{Duration, Instant};

    /// The writer never checkpoints; the task folds a large write into the
    /// database file within a few periods and then empties the log;
    /// `close` ends the task.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_task_not_the_commit_folds_the_log_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        let db = Db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
        let Pools::Sqlite { writer, checkpoints, .. } = &db.pools else {
            unreachable!()
        };
        let auto: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(writer).await.unwrap();
        assert_eq!(auto, 0, "a commit on the writer never checkpoints");

        // 2,000 pages of 4 KiB: twice SQLite's default checkpoint threshold.
        sqlx::query("CREATE TABLE filler (x BLOB)").execute(writer).await.unwrap();
        sqlx::query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler SELECT zeroblob(4000) FROM n")
            .execute(writer)
            .await
            .unwrap();
        let folded = Instant::now();
        while std::fs::metadata(&file).unwrap().len() < 2_000 * 4096 {
            assert!(folded.elapsed() < Duration::from_secs(10), "the log was never folded into the file");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let wal = dir.path().join("t.db-wal");
        while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0 {
            assert!(folded.elapsed() < Duration::from_secs(10), "the copied log was never emptied");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let task = checkpoints.as_ref().expect("a file database has the task").clone();
        db.close().await;
        assert!(task.0.task.lock().unwrap().is_none(), "close waited for the task to end");
        assert!(*task.0.stop.borrow(), "the task was told to stop");
    }
}
