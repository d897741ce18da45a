//! Shared by the per-database test binaries: transactions whose begin is
//! cut short, as a request's is when its client goes away.

use rand::Rng;
use std::time::Duration;
use store::Db;

/// Polls `fut` without pause until it is done or `cut` has passed, then
/// drops it: a cancellation at a point in time finer than a timer's
/// millisecond. Whether it was dropped unfinished.
pub async fn drop_after<F: std::future::Future>(fut: F, cut: Duration) -> bool {
    let start = std::time::Instant::now();
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        std::task::Poll::Ready(_) => std::task::Poll::Ready(false),
        std::task::Poll::Pending if start.elapsed() >= cut => std::task::Poll::Ready(true),
        std::task::Poll::Pending => {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Cut points that follow the operation's speed. They are drawn from
/// `[0, hi]`; `hi` starts at the middle of a few uncut runs, shrinks when
/// an operation finished before its cut and grows when it was cut short,
/// so that about two rounds in three cut it short on any machine, however
/// its speed changes while the test runs (a fixed range, then one fixed
/// from the first runs, cut only 35-40 of 300 reads on CI's machine).
struct Cuts {
    hi: f64,
}

impl Cuts {
    async fn measured<F, Fut>(mut op: F) -> Self
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut runs = Vec::new();
        for _ in 0..15 {
            let start = std::time::Instant::now();
            op().await;
            runs.push(start.elapsed().as_micros() as f64);
        }
        runs.sort_by(f64::total_cmp);
        Cuts {
            hi: runs[runs.len() / 2].max(2.0),
        }
    }

    fn draw(&self, rng: &mut impl Rng) -> Duration {
        Duration::from_micros(rng.gen_range(0..=self.hi as u64))
    }

    fn record(&mut self, dropped: bool) {
        self.hi = if dropped { self.hi * 1.1 } else { (self.hi * 0.8).max(2.0) };
    }
}

/// Rounds each test runs at least, and the operations it must have cut
/// short. A round whose operation finishes within its first poll is not
/// cut whatever the cut point: on a loaded machine the thread can be
/// descheduled after sending the statement and find the answer waiting
/// when it resumes (a loaded CI run cut only 46 of 300 reads). Such rounds
/// prove nothing, so a test goes on, up to `MAX_ROUNDS`, until `DROPS`
/// operations were cut.
const ROUNDS: usize = 300;
const DROPS: usize = 100;
const MAX_ROUNDS: usize = 3_000;

fn rounds_left(round: usize, drops: usize) -> bool {
    round < ROUNDS || (drops < DROPS && round < MAX_ROUNDS)
}

/// A request whose client goes away, or that hits the request timeout,
/// drops its future wherever it is — also while a transaction's BEGIN is
/// on the wire. sqlx's PostgreSQL driver then hands the connection back to
/// the pool inside a transaction nothing will end (sqlx issue #4393), and
/// the next borrower's work runs in it. With one connection, every
/// borrower after a dropped begin gets that connection: a one-statement
/// read, then a read snapshot (which must be the transaction's first
/// statement), then a write everyone must see.
pub async fn dropped_begins_leave_the_connection_clean(db: &Db) {
    let mut cuts = Cuts::measured(|| async {
        drop(db.read().await.expect("a read snapshot"));
    })
    .await;
    let mut rng = rand::thread_rng();
    let mut drops = 0;
    let mut round = 0;
    while rounds_left(round, drops) {
        round += 1;
        // Random points in the begin's round trips: some before the
        // connection is ours, some with BEGIN in flight, a few after.
        let cut = cuts.draw(&mut rng);
        let dropped = if round % 2 == 0 {
            drop_after(db.read(), cut).await
        } else {
            drop_after(db.write(), cut).await
        };
        cuts.record(dropped);
        drops += usize::from(dropped);
        // A one-statement read runs outside any transaction: in a leftover
        // one, it would leave a query behind for the next snapshot.
        let mut one = db.read_one().await.expect("a reader");
        let before = one.settings().await.expect("settings").company_name;
        drop(one);
        let mut read = db
            .read()
            .await
            .unwrap_or_else(|e| panic!("round {round}: a read snapshot after a dropped begin: {e}"));
        read.settings().await.expect("settings");
        drop(read);
        let mut write = db.write().await.expect("a write transaction");
        let mut s = write.settings_for_update().await.expect("settings");
        s.company_name = domain::EntityName::parse("company_name", &format!("Company {round}")).expect("a name");
        write
            .save_settings(&s, round as i64)
            .await
            .unwrap_or_else(|e| panic!("round {round}: a write after a dropped begin: {e}"));
        write.commit().await.expect("commit");
        let mut read = db.read().await.expect("a read snapshot");
        let after = read.settings().await.expect("settings").company_name;
        assert_eq!(
            after,
            format!("Company {round}"),
            "round {round}: the write was not committed (was {before})"
        );
    }
    // The test proves something only if begins were cut short.
    assert!(drops >= DROPS, "only {drops} of {round} begins were dropped before they finished");
}

/// A one-statement read ([`Db::read_one`]) dropped wherever it is — while
/// its reader is being handed out, with its statement on the way or
/// running — gives its reader back able to answer the next borrower, with
/// that borrower's own answer. Each round writes a new company name, cuts
/// a read of it short, then holds every reader at once and asks each.
pub async fn dropped_reads_leave_the_readers_clean(db: &Db) {
    let mut cuts = Cuts::measured(|| async {
        let mut one = db.read_one().await.expect("a reader");
        one.settings().await.expect("settings");
    })
    .await;
    let mut rng = rand::thread_rng();
    let mut drops = 0;
    let mut round = 0;
    while rounds_left(round, drops) {
        round += 1;
        let name = format!("Company {round}");
        let mut write = db.write().await.expect("a write transaction");
        let mut s = write.settings_for_update().await.expect("settings");
        s.company_name = domain::EntityName::parse("company_name", &name).expect("a name");
        write.save_settings(&s, round as i64).await.expect("save");
        write.commit().await.expect("commit");
        let cut = cuts.draw(&mut rng);
        let read = async {
            let mut one = db.read_one().await.expect("a reader");
            one.settings().await.expect("settings")
        };
        let dropped = drop_after(read, cut).await;
        cuts.record(dropped);
        drops += usize::from(dropped);
        let mut readers = Vec::new();
        for _ in 0..db.one_statement_readers() {
            readers.push(db.read_one().await.expect("a reader"));
        }
        for (i, reader) in readers.iter_mut().enumerate() {
            let answer = reader.settings().await.unwrap_or_else(|e| panic!("round {round}, reader {i}: {e}"));
            assert_eq!(answer.company_name.as_str(), name, "round {round}, reader {i}");
        }
    }
    assert!(drops >= DROPS, "only {drops} of {round} reads were dropped before they finished");
}
