//! A2: every user a list selects, page after page, each row read once.

use super::page::*;
use super::query::*;
use crate::cursor::Cursor;
use crate::db::{on, Tx};
use crate::sql::bind_args;
use crate::Result;
use domain::model::User;

/// A2: the whole user list of `query`, read as an export reads it: page
/// after page in the list's order, each row read once. A list of every
/// status is two index ranges (active, inactive) merged: each range here
/// keeps its own place and a few rows read ahead, so nothing is read
/// twice and no row waits longer than one page; memory stays at a page
/// per range whatever the number of users.
pub struct UserExport {
    query: UserQuery,
    reading: Reading,
    ranges: Vec<ExportRange>,
}

pub(super) struct ExportRange {
    status: Status,
    after: Option<Cursor>,
    ahead: std::collections::VecDeque<ListRow>,
    done: bool,
}

impl UserExport {
    /// The export of `query` (its `limit`, `offset` and `after` are not
    /// used): counts its rows once, to read them the way a page would.
    pub async fn start(tx: &mut Tx, query: UserQuery) -> Result<Self> {
        let total = tx.user_total(&query).await?;
        let reading = reading(&query, total);
        let statuses = match query.status {
            Status::All => vec![Status::Active, Status::Inactive],
            status => vec![status],
        };
        let ranges = statuses
            .into_iter()
            .map(|status| ExportRange {
                status,
                after: None,
                ahead: Default::default(),
                done: total == 0,
            })
            .collect();
        Ok(Self { query, reading, ranges })
    }

    /// The next rows, at most `limit`, with their firm and office names;
    /// `None` once every row has been given.
    pub async fn next_page(&mut self, tx: &mut Tx, limit: i64) -> Result<Option<(Vec<User>, Vec<RowExtras>)>> {
        let limit = limit.max(1);
        tx.prefer_index_order(self.reading).await?;
        let (sort, descending) = (self.query.sort, self.query.descending);
        loop {
            for range in self.ranges.iter_mut().filter(|r| r.ahead.is_empty() && !r.done) {
                let q = UserQuery {
                    after: range.after.clone(),
                    offset: 0,
                    ..self.query.clone()
                };
                let sql = page_sql(tx.dialect(), &q, self.reading, range.status, limit, 0);
                let found: Vec<ListRow> = on!(tx, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?;
                range.done = (found.len() as i64) < limit;
                if let Some(last) = found.last() {
                    range.after = Some(last.cursor(sort, descending));
                }
                range.ahead.extend(found);
            }
            let mut rows = Vec::new();
            // A row goes out only while every range still reading has a
            // row ahead to compare it with.
            while (rows.len() as i64) < limit && self.ranges.iter().all(|r| r.done || !r.ahead.is_empty()) {
                let next = self.ranges.iter_mut().filter(|r| !r.ahead.is_empty()).reduce(|a, b| {
                    let o = export_order(&a.ahead[0], &b.ahead[0], sort);
                    let b_first = if descending { o.is_lt() } else { o.is_gt() };
                    if b_first {
                        b
                    } else {
                        a
                    }
                });
                match next.and_then(|r| r.ahead.pop_front()) {
                    Some(row) => rows.push(row),
                    None => break,
                }
            }
            if rows.is_empty() {
                if self.ranges.iter().all(|r| r.done && r.ahead.is_empty()) {
                    return Ok(None);
                }
                continue;
            }
            return listed(rows).map(Some);
        }
    }
}

/// The list's order of two rows (ascending), compared byte-wise like the
/// `_norm` columns in both dialects, without building their cursors.
pub(super) fn export_order(a: &ListRow, b: &ListRow, sort: SortKey) -> std::cmp::Ordering {
    match sort {
        SortKey::Name => (a.k_last.as_bytes(), a.k_first.as_bytes(), a.user.id.as_bytes()).cmp(&(
            b.k_last.as_bytes(),
            b.k_first.as_bytes(),
            b.user.id.as_bytes(),
        )),
        SortKey::Email => a.k_email.as_bytes().cmp(b.k_email.as_bytes()),
        SortKey::LastSignIn => (a.k_sign_in, a.user.id.as_bytes()).cmp(&(b.k_sign_in, b.user.id.as_bytes())),
    }
}
