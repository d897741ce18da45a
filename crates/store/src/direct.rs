//! SQLite's direct readers: connections of the `rusqlite` crate to the same
//! file, read on the calling thread, for the user list ([`crate::Db::list_users`]).
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every
//! result row from there to the async task on its own; a page of 50 users
//! was therefore read as one JSON value built by SQLite, which cost more
//! than everything else the statement did (issue 12: 0.27 ms of a page's
//! 0.32 ms at 100,000 users). A direct reader steps the statement where
//! the request runs and takes the columns as they are. A page is a
//! fraction of a millisecond of work, as long as the reads it replaces
//! kept a worker thread busy, and a read cannot be cut short half-way:
//! there is nothing to await inside it.

use crate::sql::{Arg, Sql};
use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::time::Duration;

/// How many statements of different shape each reader keeps prepared:
/// the list's filters, sorts and page kinds make a few dozen.
const PREPARED: usize = 64;

/// Opens a read-only reader of the database file `path` (`in_memory`: the
/// shared in-memory database sqlx named so).
pub(crate) fn open(path: &std::path::Path, in_memory: bool, busy: Duration) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if in_memory {
        flags |= OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
        Connection::open_with_flags(format!("{}?mode=memory&cache=shared", path.display()), flags)
    } else {
        Connection::open_with_flags(path, flags)
    }?;
    conn.busy_timeout(busy)?;
    conn.set_prepared_statement_cache_capacity(PREPARED);
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Direct(e)
    }
}

/// `sql` prepared (from the reader's cache) with its arguments bound.
/// Each `$N` is bound by its name, so a text that repeats one or writes
/// them out of order binds as sqlx would.
fn prepared<'c>(conn: &'c Connection, sql: &Sql) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    for (i, arg) in sql.args.iter().enumerate() {
        let name = format!("${}", i + 1);
        let Some(at) = stmt.parameter_index(&name)? else {
            continue;
        };
        match arg {
            Arg::Text(s) => stmt.raw_bind_parameter(at, s.as_str()),
            Arg::OptText(s) => stmt.raw_bind_parameter(at, s.as_deref()),
            Arg::Int(v) => stmt.raw_bind_parameter(at, v),
            Arg::OptInt(v) => stmt.raw_bind_parameter(at, v),
        }?;
    }
    Ok(stmt)
}

/// The first row of `sql`, read by `row`, if there is one.
pub(crate) fn optional<T>(conn: &Connection, sql: &Sql, row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> Result<Option<T>> {
    let mut stmt = prepared(conn, sql)?;
    let mut rows = stmt.raw_query();
    Ok(rows.next()?.map(row).transpose()?)
}

/// The first row of `sql`, read by `row`.
pub(crate) fn one<T>(conn: &Connection, sql: &Sql, row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> Result<T> {
    optional(conn, sql, row)?.ok_or(StoreError::Direct(rusqlite::Error::QueryReturnedNoRows))
}

/// Every row of `sql`, each read by `row`.
pub(crate) fn all<T>(conn: &Connection, sql: &Sql, mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> Result<Vec<T>> {
    let mut stmt = prepared(conn, sql)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

/// Hands every row of `sql` to `row` as it is read, keeping none.
pub(crate) fn each(conn: &Connection, sql: &Sql, mut row: impl FnMut(&rusqlite::Row<'_>) -> Result<()>) -> Result<()> {
    let mut stmt = prepared(conn, sql)?;
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        row(r)?;
    }
    Ok(())
}

/// Runs `read` in one snapshot of the file: a deferred transaction,
/// rolled back (there is nothing to keep) when `read` is done.
pub(crate) fn snapshot<T>(conn: &Connection, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn.unchecked_transaction()?;
    let out = read(&tx);
    drop(tx);
    out
}
