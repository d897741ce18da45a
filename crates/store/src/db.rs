use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    /// A direct SQLite reader's error (crate::direct).
    #[error("database error: {0}")]
    Direct(rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// A column read into a stored code (`crate::code::Code`) that
/// names no variant is corrupt data, like any other stored value that does
/// not parse; every other database error stays what it is.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::ColumnDecode { index, source } = &e {
            if let Some(unknown) = source.downcast_ref::<domain::UnknownCode>() {
                return StoreError::Corrupt(format!("column {index}: {unknown}"));
            }
        }
        StoreError::Sqlx(e)
    }
}

/// A stored name (of a firm, office, matter or route, or the company's)
/// parsed by its domain rule on the way in. One the rule refuses (written
/// around the app, or before a rule tightened) is corrupt data, named by
/// its row and column: `firm f1: name: name must not be empty`.
pub(crate) fn stored_name(row: impl std::fmt::Display, column: &'static str, text: String) -> Result<domain::EntityName, StoreError> {
    domain::EntityName::parse_owned(column, text).map_err(|e| StoreError::Corrupt(format!("{row}: {e}")))
}

impl StoreError {
    /// A unique constraint refused the write: a concurrent request created
    /// the same email, number or name first.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Sqlx(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()))
    }

    /// No pool connection became free within the acquire timeout: every
    /// connection is busy (e.g. writers queued on the audit chain head).
    /// The request may be tried again shortly; nothing was written.
    pub fn is_pool_timeout(&self) -> bool {
        matches!(self, StoreError::Sqlx(sqlx::Error::PoolTimedOut))
    }

    /// PostgreSQL gave up a transaction to keep serialisable order, or a
    /// SQLite writer found the file busy past its timeout: the caller may
    /// retry the whole transaction.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Sqlx(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "40001" || c == "40P01" || c == "5" || c == "517"),
            _ => false,
        }
    }
}

/// How many connections a PostgreSQL pool opens, and how long a request
/// waits for one (both dialects) before it is refused as busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite {
        writer: SqlitePool,
        /// Readers of snapshots of several statements ([`Db::read`]).
        readers: SqlitePool,
        /// Readers of one statement ([`Db::read_one`]), lent as they are:
        /// sqlx's pool pings every connection it takes back, a hand-over
        /// to the driver's thread and a task of its own after every
        /// statement, and a reader of a local file needs no such check
        /// (a statement's failure is its own answer). A reader handed
        /// back while its statement still runs stays consistent: the
        /// driver's thread finishes or abandons that statement before it
        /// takes the next borrower's.
        lent: deadpool::unmanaged::Pool<sqlx::SqliteConnection>,
        /// Readers of the user list, stepped on the calling thread
        /// (crate::direct).
        direct: deadpool::unmanaged::Pool<rusqlite::Connection>,
        /// None for a database in memory, which has no log.
        checkpoints: Option<crate::checkpoint::Checkpoints>,
    },
    Postgres {
        pool: PgPool,
        /// Readers of the user list (R2, P1): connections whose session
        /// holds the list's planner settings ([`list_settings`]), so that
        /// a page is one statement outside any transaction, its own
        /// snapshot, instead of BEGIN, the settings, the statement and
        /// COMMIT (four round trips; the other three were 40% of what a
        /// page cost this process at 100,000 users, issue 12).
        lists: PgPool,
    },
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub(crate) pools: Pools,
}

pub(crate) enum TxInner {
    Sqlite(Handle<Sqlite>),
    Postgres(Handle<Postgres>),
}

/// A transaction, or a bare connection for a read of one statement
/// ([`Db::read_one`]: SQLite's lent readers, PostgreSQL's pool); each
/// derefs to the dialect's connection, so every query method runs on all.
pub(crate) enum Handle<DB: Database> {
    Tx(Transaction<'static, DB>),
    Conn(PoolConnection<DB>),
    Lent(deadpool::unmanaged::Object<DB::Connection>),
}

impl<DB: Database> std::ops::Deref for Handle<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Handle::Tx(t) => t,
            Handle::Conn(c) => c,
            Handle::Lent(c) => c,
        }
    }
}

impl<DB: Database> std::ops::DerefMut for Handle<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Handle::Tx(t) => t,
            Handle::Conn(c) => c,
            Handle::Lent(c) => c,
        }
    }
}

impl<DB: Database> Handle<DB> {
    async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Handle::Tx(t) => t.commit().await,
            Handle::Conn(_) | Handle::Lent(_) => Ok(()),
        }
    }

    async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Handle::Tx(t) => t.rollback().await,
            Handle::Conn(_) | Handle::Lent(_) => Ok(()),
        }
    }
}

/// A transaction. Dropping it without [`Tx::commit`] rolls it back, so an
/// error anywhere in a change leaves nothing half-written.
pub struct Tx {
    pub(crate) inner: TxInner,
    /// A1: audit entries of this transaction, chained and written at commit.
    pub(crate) audit: crate::audit::Pending,
    /// PostgreSQL: this transaction's plans already read indexes in order
    /// ([`Tx::prefer_index_order`]).
    pub(crate) index_order: bool,
}

pub(crate) use crate::statements::{
    exec, fetch_all, fetch_one, fetch_optional, on, scalar_all, scalar_one, scalar_optional, statement, Stmt, STATEMENTS,
};

/// The SQLite file holds password hashes and personal data: it is created
/// readable by the service's own user only (SQLite gives its `-wal` and
/// `-shm` files the same mode). An existing file is left as it is.
fn create_private_file(path: &std::path::Path) -> Result<(), StoreError> {
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") || path.exists() {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Sqlx(sqlx::Error::Io(e))),
    }
}

/// SQLite readers of snapshots ([`Db::read`]), of one statement
/// ([`Db::read_one`]: settings, names, probes) and direct readers
/// (crate::direct: every authenticated request's session, and the user
/// list): twenty connections, each with its own page cache.
const SNAPSHOT_READERS: u32 = 4;
const LENT_READERS: usize = 8;
/// The direct readers: one per request a burst can run at once; each read
/// holds one for a fraction of a millisecond.
const DIRECT_READERS: usize = 8;

/// A lent reader not free within the acquire timeout is the pool's
/// timeout, as sqlx's pools say it, so that callers treat both alike.
fn lent_error(e: deadpool::unmanaged::PoolError) -> StoreError {
    StoreError::Sqlx(match e {
        deadpool::unmanaged::PoolError::Timeout => sqlx::Error::PoolTimedOut,
        deadpool::unmanaged::PoolError::Closed => sqlx::Error::PoolClosed,
        deadpool::unmanaged::PoolError::NoRuntimeSpecified => sqlx::Error::Configuration("the lent readers have no runtime".into()),
    })
}

/// Runs a transaction's begin in a task of its own, where a dropped caller
/// cannot cut it short, and hands the transaction over. sqlx's `begin` is
/// not cancel-safe (sqlx issue #4393, unfixed in 0.9.0; see
/// `store/tests/support/dropped.rs`): a future dropped while BEGIN is in
/// flight leaves the connection inside a transaction that nothing ends.
/// On PostgreSQL the next borrower's statements run in it — a
/// one-statement read ([`Db::read_one`]) leaves a query there, and the
/// next snapshot begins inside it, not as the snapshot it asked for; on SQLite the one writer
/// connection refuses every later BEGIN. Requests are such futures
/// whenever a client goes away or the request timeout stops one. Begun in
/// its own task, the transaction exists once BEGIN is sent; if its caller
/// is gone it is dropped there, which rolls it back.
async fn begin_whole<DB: Database>(
    begin: impl std::future::Future<Output = Result<Transaction<'static, DB>, sqlx::Error>> + Send + 'static,
) -> Result<Transaction<'static, DB>, StoreError> {
    let begun = tokio::spawn(begin)
        .await
        .map_err(|e| StoreError::Sqlx(sqlx::Error::Io(std::io::Error::other(e))))?;
    Ok(begun?)
}

/// How a PostgreSQL transaction begins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Begin {
    Write,
    /// A read-only snapshot.
    Read,
}

/// A PostgreSQL transaction; a read snapshot is REPEATABLE READ, READ ONLY,
/// said in its BEGIN (a separate `SET TRANSACTION` was one more round trip
/// on every snapshot).
async fn begin_postgres(pool: &PgPool, how: Begin) -> Result<Transaction<'static, Postgres>, StoreError> {
    // (The list's settings, `Tx::prefer_index_order`, are not sent in the
    // same simple query: if that second statement failed, a cancel say,
    // sqlx would hand the connection back inside an aborted transaction
    // it does not know it began.)
    statement!(postgres BEGIN_READ_ONLY_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    let pool = pool.clone();
    begin_whole(async move {
        match how {
            Begin::Write => pool.begin().await,
            Begin::Read => pool.begin_with(BEGIN_READ_ONLY_SNAPSHOT.sql).await,
        }
    })
    .await
}

impl Db {
    /// Opens the database named by `url`; the scheme decides the dialect.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PoolLimits::default()).await
    }

    /// [`Db::connect`] with the pool's size (PostgreSQL) and acquire timeout.
    pub async fn connect_with(url: &str, limits: PoolLimits) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?;
            create_private_file(opts.get_filename())?;
            let opts = opts
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // sqlx names an in-memory database `file:sqlx-in-memory-N`.
            let in_memory = opts
                .get_filename()
                .to_str()
                .is_none_or(|f| f.is_empty() || f == ":memory:" || f.starts_with("file:sqlx-in-memory-"));
            // The checkpoint task folds the log back, not the commit that
            // grows it (crate::checkpoint).
            let checkpoints = if in_memory {
                None
            } else {
                Some(crate::checkpoint::Checkpoints::start(&opts).await?)
            };
            let opts = opts.pragma("wal_autocheckpoint", if in_memory { "1000" } else { "0" });
            // A connection to a local file does not go stale: no ping (one
            // more hand-over to the driver's thread) before each use.
            let writer = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(1)
                .acquire_timeout(limits.acquire_timeout)
                .connect_with(opts.clone())
                .await?;
            // All readers are opened up front, not on a burst's first
            // requests: at 1,000,000 users the lists' p99 had stalls of
            // 0.3-0.5 s while new reader connections were being opened
            // (user_list; 32-37 ms with them open from the start).
            let opts = opts.read_only(true);
            let readers = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .min_connections(SNAPSHOT_READERS)
                .max_connections(SNAPSHOT_READERS)
                .acquire_timeout(limits.acquire_timeout)
                .connect_with(opts.clone())
                .await?;
            let lent = deadpool::unmanaged::Pool::from_config(&deadpool::unmanaged::PoolConfig {
                max_size: LENT_READERS,
                timeout: Some(limits.acquire_timeout),
                runtime: Some(deadpool::Runtime::Tokio1),
            });
            for _ in 0..LENT_READERS {
                let reader = sqlx::ConnectOptions::connect(&opts).await?;
                lent.add(reader).await.map_err(|(_, e)| lent_error(e))?;
            }
            let direct = deadpool::unmanaged::Pool::from_config(&deadpool::unmanaged::PoolConfig {
                max_size: DIRECT_READERS,
                timeout: Some(limits.acquire_timeout),
                runtime: Some(deadpool::Runtime::Tokio1),
            });
            for _ in 0..DIRECT_READERS {
                let reader = crate::direct::open(opts.get_filename(), in_memory, Duration::from_secs(10))?;
                direct.add(reader).await.map_err(|(_, e)| lent_error(e))?;
            }
            Ok(Self {
                pools: Pools::Sqlite {
                    writer,
                    readers,
                    lent,
                    direct,
                    checkpoints,
                },
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            // sqlx pings every connection it takes back (which also ends a
            // dropped transaction), so one taken from the pool was checked
            // at its last use: no second ping, one round trip, before
            // every statement. A connection the server dropped while it
            // sat idle fails its next statement, which that request
            // answers as an error, and is then closed.
            // The list's pool: a quarter as many again, at least one.
            let (main, lists) = (limits.max_connections, (limits.max_connections / 4).max(1));
            let options = || {
                PgPoolOptions::new()
                    .test_before_acquire(false)
                    .acquire_timeout(limits.acquire_timeout)
            };
            let pool = options().max_connections(main).connect_with(opts.clone()).await?;
            let lists = options()
                .max_connections(lists)
                .connect_with(opts.options(crate::users::LIST_SETTINGS))
                .await?;
            Ok(Self {
                pools: Pools::Postgres { pool, lists },
            })
        } else {
            Err(StoreError::UnsupportedUrl(url.split("://").next().unwrap_or(url).to_owned()))
        }
    }

    /// Creates an empty PostgreSQL database `name` on the server of
    /// `server_url` (`postgres://user@host:port`, no database path) and
    /// returns its URL. For tests and tools that need a fresh database.
    pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<String, StoreError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Corrupt(format!("'{name}' is not a plain database name")));
        }
        let base = server_url.trim_end_matches('/');
        let admin = PgConnectOptions::from_str(&format!("{base}/postgres"))?;
        let mut conn = sqlx::ConnectOptions::connect(&admin).await?;
        // A name checked above: safe to splice; CREATE DATABASE takes no parameters.
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str()).await?;
        sqlx::Connection::close(conn).await?;
        Ok(format!("{base}/{name}"))
    }

    pub fn dialect(&self) -> Dialect {
        match self.pools {
            Pools::Sqlite { .. } => Dialect::Sqlite,
            Pools::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// Brings the schema up to date (forward-only migrations, one folder per
    /// dialect with the same version numbers).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => sqlx::migrate!("./migrations/sqlite").run(writer).await?,
            Pools::Postgres { pool, .. } => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        self.chain_legacy_audit().await
    }

    /// A1: chains the audit entries written before migration 0004, once.
    async fn chain_legacy_audit(&self) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        if tx.audit_backfill_pending().await? {
            tx.audit.chain_unchained_after(0);
        }
        tx.commit().await
    }

    /// A write transaction.
    /// OP2: the time spent waiting for it is the `tracker_db_write_wait_seconds`
    /// histogram: SQLite's single writer connection, or a PostgreSQL pool
    /// connection.
    pub async fn write(&self) -> Result<Tx, StoreError> {
        let waiting = std::time::Instant::now();
        let inner = match &self.pools {
            // IMMEDIATE takes the write lock at the start, so another
            // process writing the same file (the command line beside a
            // running server) waits for the busy timeout instead of failing
            // when a read turns into a write.
            Pools::Sqlite { writer, .. } => {
                let writer = writer.clone();
                TxInner::Sqlite(Handle::Tx(
                    begin_whole(async move { writer.begin_with("BEGIN IMMEDIATE").await }).await?,
                ))
            }
            Pools::Postgres { pool, .. } => TxInner::Postgres(Handle::Tx(begin_postgres(pool, Begin::Write).await?)),
        };
        let dialect = match self.dialect() {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        };
        metrics::histogram!("tracker_db_write_wait_seconds", "database" => dialect).record(waiting.elapsed());
        Ok(Tx::new(inner))
    }

    /// A read-only snapshot: lists and their totals agree with each other.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        let inner = match &self.pools {
            Pools::Sqlite { readers, .. } => {
                let readers = readers.clone();
                TxInner::Sqlite(Handle::Tx(begin_whole(async move { readers.begin().await }).await?))
            }
            Pools::Postgres { pool, .. } => TxInner::Postgres(Handle::Tx(begin_postgres(pool, Begin::Read).await?)),
        };
        Ok(Tx::new(inner))
    }

    /// A reader for ONE statement, outside any transaction: a single
    /// statement is its own consistent snapshot, and the BEGIN and ROLLBACK
    /// around it would be two more round trips (on SQLite, hand-overs to
    /// the driver's thread) on every authenticated request. For reads that
    /// must agree with each other, use [`Db::read`]. Never write through it:
    /// [`Tx::commit`] has nothing to commit.
    pub async fn read_one(&self) -> Result<Tx, StoreError> {
        let inner = match &self.pools {
            Pools::Sqlite { lent, .. } => TxInner::Sqlite(Handle::Lent(lent.get().await.map_err(lent_error)?)),
            Pools::Postgres { pool, .. } => TxInner::Postgres(Handle::Conn(pool.acquire().await?)),
        };
        Ok(Tx::new(inner))
    }

    /// A direct reader (crate::direct): SQLite's, None on PostgreSQL.
    pub(crate) async fn direct_reader(&self) -> Result<Option<deadpool::unmanaged::Object<rusqlite::Connection>>, StoreError> {
        match &self.pools {
            Pools::Sqlite { direct, .. } => Ok(Some(direct.get().await.map_err(lent_error)?)),
            Pools::Postgres { .. } => Ok(None),
        }
    }

    /// How many one-statement reads ([`Db::read_one`]) can run at once:
    /// SQLite's lent readers, PostgreSQL's pool.
    pub fn one_statement_readers(&self) -> usize {
        match &self.pools {
            Pools::Sqlite { lent, .. } => lent.status().max_size,
            Pools::Postgres { pool, .. } => pool.options().get_max_connections() as usize,
        }
    }

    /// R2: a page of the user list, read in one snapshot. SQLite reads it
    /// through a direct reader (crate::direct); PostgreSQL through its
    /// pool, without a transaction when the page is one statement.
    pub async fn list_users(&self, q: &crate::UserQuery) -> Result<crate::UserPage, StoreError> {
        if let Some(reader) = self.direct_reader().await? {
            return crate::users::list_users_sqlite(&reader, q);
        }
        let mut tx = if q.q.is_none() {
            self.read_list().await?
        } else if crate::users::search_in_one_statement(q) {
            self.read_one().await?
        } else {
            self.read().await?
        };
        tx.list_users_postgres(q).await
    }

    /// PostgreSQL: a reader of one statement of the user list, with the
    /// list's planner settings already in its session.
    async fn read_list(&self) -> Result<Tx, StoreError> {
        match &self.pools {
            Pools::Postgres { lists, .. } => {
                let mut tx = Tx::new(TxInner::Postgres(Handle::Conn(lists.acquire().await?)));
                tx.index_order = true;
                Ok(tx)
            }
            Pools::Sqlite { .. } => self.read().await,
        }
    }

    /// Refreshes the planner's statistics (`ANALYZE`), as after a bulk load.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        statement!(ANALYZE = "ANALYZE");
        match &self.pools {
            Pools::Sqlite { writer, .. } => sqlx::query(ANALYZE.sql).execute(writer).await.map(|_| ()),
            Pools::Postgres { pool, .. } => sqlx::query(ANALYZE.sql).execute(pool).await.map(|_| ()),
        }?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite {
                writer,
                readers,
                lent,
                direct,
                checkpoints,
            } => {
                writer.close().await;
                readers.close().await;
                // Waits for each lent reader to come back, then closes it.
                while lent.status().size > 0 {
                    match lent.remove().await {
                        Ok(reader) => {
                            let _ = sqlx::Connection::close(reader).await;
                        }
                        Err(_) => break,
                    }
                }
                lent.close();
                // Each direct reader closes when its last holder lets go.
                direct.close();
                if let Some(c) = checkpoints {
                    c.stop().await;
                }
            }
            Pools::Postgres { pool, lists } => {
                lists.close().await;
                pool.close().await
            }
        }
    }
}

impl Tx {
    fn new(inner: TxInner) -> Self {
        Tx {
            inner,
            audit: Default::default(),
            index_order: false,
        }
    }

    /// Appends this transaction's audit entries to the chain (A1), then
    /// commits: the chain head is the last row a change locks.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.append_audit().await?;
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Undoes the transaction and waits for the database to have done so
    /// (its row locks released). Dropping a `Tx` also rolls back, but
    /// after the drop: sqlx sends the rollback as it returns the
    /// connection to the pool, in the background.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Marks a point to come back to with [`Tx::rollback_to`]: the work
    /// after it can be undone while what came before (row locks included)
    /// stays. `name` is a fixed identifier, never input.
    pub async fn savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        let sql = format!("SAVEPOINT {name}");
        on!(self, |c| sqlx::query(&sql).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn rollback_to(&mut self, name: &'static str) -> Result<(), StoreError> {
        let sql = format!("ROLLBACK TO SAVEPOINT {name}");
        on!(self, |c| sqlx::query(&sql).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }
}
