//! SPEC §5e: a page of the user list read from an index in order, its
//! cursor, and its kept total.

use super::query::*;
use super::*;
use crate::cursor::{Cursor, KeyValue};
use crate::db::{exec, on, scalar_one, statement, Tx};
use crate::sql::{bind_args, Sql};
use crate::{Result, StoreError};
use domain::access::UserScope;
use domain::model::User;
use domain::text::fold;

#[derive(sqlx::FromRow)]
pub(super) struct ListRow {
    #[sqlx(flatten)]
    pub(super) user: UserRow,
    pub(super) k_last: String,
    pub(super) k_first: String,
    pub(super) k_email: String,
    pub(super) k_sign_in: i64,
    pub(super) firm_name: Option<String>,
    pub(super) office_name: Option<String>,
    pub(super) linked: bool,
    pub(super) sync: bool,
    pub(super) leaves_at: Option<i64>,
}

/// Rows of a list as users and what each row carries beside its user.
pub(super) fn listed(rows: Vec<ListRow>) -> Result<(Vec<User>, Vec<RowExtras>)> {
    let mut users = Vec::with_capacity(rows.len());
    let mut extras = Vec::with_capacity(rows.len());
    for r in rows {
        let user = User::try_from(r.user)?;
        extras.push(RowExtras {
            firm: r.firm_name,
            office: r.office_name,
            directory_managed: user.directory_managed(r.linked, r.sync),
            leaves_at: r.leaves_at,
        });
        users.push(user);
    }
    Ok((users, extras))
}

impl ListRow {
    /// A row of [`list_columns`] from a direct SQLite reader.
    pub(super) fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let n = UserRow::SQLITE_COLUMNS;
        Ok(ListRow {
            user: UserRow::from_sqlite(r)?,
            k_last: r.get(n)?,
            k_first: r.get(n + 1)?,
            k_email: r.get(n + 2)?,
            k_sign_in: r.get(n + 3)?,
            firm_name: r.get(n + 4)?,
            office_name: r.get(n + 5)?,
            linked: r.get(n + 6)?,
            sync: r.get(n + 7)?,
            leaves_at: r.get(n + 8)?,
        })
    }

    pub(super) fn cursor(&self, sort: SortKey, descending: bool) -> Cursor {
        let id = KeyValue::Text(self.user.id.clone());
        let key = match sort {
            SortKey::Name => vec![KeyValue::Text(self.k_last.clone()), KeyValue::Text(self.k_first.clone()), id],
            SortKey::Email => vec![KeyValue::Text(self.k_email.clone())],
            SortKey::LastSignIn => vec![KeyValue::Int(self.k_sign_in), id],
        };
        Cursor { sort, descending, key }
    }
}

/// ` AND` rows strictly after `cursor` in the order of `key`, as one row
/// value comparison `(k1, k2, …) > (a, b, …)` (`<` descending): both
/// dialects start the index range at the cursor's whole key, so a deep
/// page reads what page 1 reads. (The expanded form
/// `k1 >= a AND (k1 > a OR (k1 = a AND …))` ranges on `k1` alone and reads
/// every row that shares it: twice page 1's cost at 100,000 users.)
pub(super) fn push_after(sql: &mut Sql, key: &[(&str, &str)], cursor: &Cursor, descending: bool) {
    let exprs: Vec<&str> = key.iter().map(|(expr, _)| *expr).collect();
    sql.push(" AND (")
        .push(&exprs.join(", "))
        .push(if descending { ") < (" } else { ") > (" });
    for (i, value) in cursor.key.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        match value {
            KeyValue::Text(s) => {
                sql.text(s.clone());
            }
            KeyValue::Int(v) => {
                sql.int(*v);
            }
        }
    }
    sql.push(")");
}

/// PostgreSQL: the planner settings of [`Tx::prefer_index_order`], as the
/// session settings of the user list's connections (`Db::list_users`).
pub(crate) const LIST_SETTINGS: [(&str, &str); 2] = [("enable_sort", "off"), ("plan_cache_mode", "force_generic_plan")];

statement!(
    postgres NO_SORT = "SELECT set_config('enable_sort', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)"
);

/// N3's index of the users never emailed, in name order (migration 0003).
const NEVER_EMAILED_INDEX: &str = "users_never_emailed_by_name";

/// How a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    /// An index in the list's order, stopping after the page; a search
    /// only filters. The rule, and for a search with many matches (they
    /// fill a page after a short stretch of the index).
    InOrder,
    /// A search with few matches: its matches from the search index,
    /// looked up by id and sorted (at most [`SEARCH_FIRST_LIMIT`] rows).
    MatchesFirst,
    /// The planner's choice: searches of words under 3 characters (prefix
    /// ranges), and searches among the locked out.
    Planner,
}

/// Up to this many matches a search sorts its matches; beyond, it reads
/// the list's index in order and filters by the matches.
pub(super) const SEARCH_FIRST_LIMIT: i64 = 2_000;

pub(super) fn has_long_word(q: &str) -> bool {
    fold(q).split_whitespace().take(4).any(|w| w.chars().count() >= 3)
}

/// `total` is the exact number of rows of the list (searches: matches).
pub(super) fn reading(q: &UserQuery, total: i64) -> Reading {
    match &q.q {
        None => Reading::InOrder,
        Some(_) if matches!(q.status, Status::Locked(_)) => Reading::Planner,
        Some(text) if !has_long_word(text) => Reading::Planner,
        Some(_) if total <= SEARCH_FIRST_LIMIT => Reading::MatchesFirst,
        Some(_) => Reading::InOrder,
    }
}

/// The index of migration 0003 that holds `q`'s rows in its order: the
/// narrowest equality prefix of the filters (office, firm, side, or only
/// active), then the sort key. Locked out reads migration 0011's index of
/// the accounts with a lock on record, in the sort's order (few rows: the
/// other filters only skip). SQLite is told to use it (`INDEXED BY`):
/// with statistics of a skewed column it may otherwise pick a skip-scan of
/// another index and sort the result.
pub(super) fn ordered_index(q: &UserQuery) -> Option<String> {
    let sort = match (q.sort, q.descending) {
        (SortKey::Name, _) => "name",
        (SortKey::Email, _) => "email",
        (SortKey::LastSignIn, false) => "sign_in_asc",
        (SortKey::LastSignIn, true) => "sign_in_desc",
    };
    if matches!(q.status, Status::Locked(_)) {
        return Some(format!("users_locked_by_{sort}"));
    }
    let prefix = match (&q.scope, &q.org) {
        (UserScope::Office(_), _) => "office",
        (UserScope::Firm(_), _) | (_, Org::Firm(_)) => "firm",
        (_, Org::Company | Org::Firms) => "side",
        _ if q.status == Status::NeverEmailed => return Some(NEVER_EMAILED_INDEX.into()),
        _ => "status",
    };
    Some(format!("users_by_{prefix}_{sort}"))
}

/// One page of the list in index order: one index range, read forwards
/// or backwards, never a sort of the matching rows. `status=all` is two
/// such ranges (active, inactive). SQLite merges them in the statement
/// (a UNION ALL ordered by the sort's columns is a merge of its two
/// ordered arms, read lazily: the page's rows and one more are read);
/// PostgreSQL would sort the union, so there they are two statements that
/// [`Tx::user_page`] merges. One row more than the page tells whether
/// there is a next page.
pub(super) fn page_sql(dialect: crate::Dialect, q: &UserQuery, reading: Reading, status: Status, limit: i64, offset: i64) -> Sql {
    let mut sql = Sql::default();
    push_page(&mut sql, dialect, q, reading, &list_columns(q.descending), status, limit, offset);
    sql
}

/// [`page_sql`] with the given columns, pushed onto `sql`.
#[allow(clippy::too_many_arguments)]
fn push_page(
    sql: &mut Sql,
    dialect: crate::Dialect,
    q: &UserQuery,
    reading: Reading,
    columns: &str,
    status: Status,
    limit: i64,
    offset: i64,
) {
    let key = sort_key(q.sort, q.descending);
    let dir = if q.descending { " DESC" } else { " ASC" };
    if dialect == crate::Dialect::Sqlite && status == Status::All {
        for (i, arm) in [Status::Active, Status::Inactive].into_iter().enumerate() {
            sql.push(if i == 0 { "SELECT * FROM (" } else { " UNION ALL SELECT * FROM (" });
            push_range(sql, dialect, q, reading, columns, arm);
            sql.push(")");
        }
        // A compound's ORDER BY names the columns of its result.
        let order: Vec<String> = key.iter().map(|(_, column)| format!("{column}{dir}")).collect();
        sql.push(" ORDER BY ").push(&order.join(", "));
    } else {
        push_range(sql, dialect, q, reading, columns, status);
        let order: Vec<String> = key.iter().map(|(expr, _)| format!("{expr}{dir}")).collect();
        sql.push(" ORDER BY ").push(&order.join(", "));
    }
    sql.push(" LIMIT ").int(limit);
    if offset > 0 {
        sql.push(" OFFSET ").int(offset);
    }
}

/// The rows of one status of a page, from its index, after the cursor;
/// unordered until the caller's ORDER BY.
fn push_range(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery, reading: Reading, columns: &str, status: Status) {
    let key = sort_key(q.sort, q.descending);
    let hint = match (dialect, reading) {
        (crate::Dialect::Sqlite, Reading::InOrder) => ordered_index(q).map(|i| format!(" INDEXED BY {i}")).unwrap_or_default(),
        // The matches' ids, looked up through the primary key.
        (crate::Dialect::Sqlite, Reading::MatchesFirst) => " INDEXED BY sqlite_autoindex_users_1".into(),
        _ => String::new(),
    };
    sql.push("SELECT ").push(columns).push(" FROM users u").push(&hint);
    push_scope_and_org(sql, q);
    if dialect == crate::Dialect::Postgres && reading == Reading::InOrder && ordered_index(q).as_deref() == Some(NEVER_EMAILED_INDEX) {
        push_never_emailed(sql, dialect, true);
    } else {
        push_status(sql, dialect, status);
    }
    let matches = if reading == Reading::InOrder {
        Matches::FilterOnly
    } else {
        Matches::Drive
    };
    push_search(sql, dialect, q, matches);
    if let Some(c) = q.after.as_ref().filter(|c| c.sort == q.sort && c.descending == q.descending) {
        push_after(sql, key, c, q.descending);
    }
}

/// PostgreSQL: the answer to a list request as the rows of one statement
/// (one snapshot, one round trip). Pushed after `WITH ` (and any CTEs of
/// the caller's): the page `p`, pushed by `page` as rows of
/// [`page_columns`] and materialised once; its total, pushed by `total`;
/// and what a row carries beside its user, looked up once for the whole
/// page: the names of the page's firms and offices, which of its users
/// the directory links, the sync setting. (As a subquery per row, those
/// lookups and a JSON aggregate of the page were half the statement's
/// time at 100,000 users, issue 12.) Every row repeats the total; an
/// empty page is one row of NULLs beside it. When the total is 0 the page
/// is not read at all: an index range that holds no matching row can be
/// long (N3's index keeps the queued users until their email is sent,
/// 30,000 of them after a confirm: 0.13 s to find none).
/// The rows' order is not promised: the caller sorts by key.
pub(super) fn push_answer(sql: &mut Sql, page: impl FnOnce(&mut Sql), total: impl FnOnce(&mut Sql)) {
    sql.push("t(total) AS (SELECT (");
    total(sql);
    sql.push(")), p AS MATERIALIZED (SELECT * FROM (");
    page(sql);
    sql.push(
        ") x WHERE (SELECT total FROM t) > 0), \
         n(firms, offices, linked, leaving, sync) AS (SELECT \
         (SELECT jsonb_object_agg(f.id, f.name) FROM firms f WHERE f.id IN (SELECT firm_id FROM p)), \
         (SELECT jsonb_object_agg(o.id, o.name) FROM offices o WHERE o.id IN (SELECT office_id FROM p)), \
         (SELECT array_agg(d.user_id) FROM directory_users d WHERE d.user_id IN (SELECT id FROM p) AND d.deprovisioned_at IS NULL), \
         (SELECT jsonb_object_agg(s.user_id, s.effective_at) FROM scheduled_deactivations s WHERE s.user_id IN (SELECT id FROM p) AND s.status = 'scheduled'), ",
    )
    .push(SYNC)
    .push(
        ") \
         SELECT t.total, p.*, n.firms ->> p.firm_id AS firm_name, n.offices ->> p.office_id AS office_name, \
         COALESCE(p.id = ANY(n.linked), FALSE) AS linked, n.sync, (n.leaving ->> p.id)::BIGINT AS leaves_at \
         FROM t CROSS JOIN n LEFT JOIN p ON TRUE",
    );
}

/// PostgreSQL: a list without a search as one statement of
/// [`push_answer`] (read in index order), and the ranges of its page.
pub(super) fn list_sql(q: &UserQuery) -> (Sql, Vec<(Status, i64, i64)>) {
    let dialect = crate::Dialect::Postgres;
    let ranges = page_ranges(dialect, q);
    let columns = page_columns(q.descending);
    let mut sql = Sql::new("WITH ");
    push_answer(
        &mut sql,
        |sql| {
            for (i, (status, limit, offset)) in ranges.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { " UNION ALL (" });
                push_page(sql, dialect, q, Reading::InOrder, &columns, *status, *limit, *offset);
                sql.push(")");
            }
        },
        |sql| push_total(sql, dialect, q),
    );
    (sql, ranges)
}

/// PostgreSQL: a search with a word of 3 characters or more. Its matches
/// are found once (the trigram index, then each match's row) into a
/// materialised table of their sort keys, which gives both the count and
/// the page (sorted keeping only the page: the top-N heapsort), and only
/// the page's rows are read in full, in the rows of [`push_answer`]: one
/// statement, one round trip. The count is every match's (the page needs
/// them all); the total reports it up to [`SEARCH_COUNT_LIMIT`]
/// ([`reported_total`]). A search costs in proportion to its matches
/// whatever the way here: the GIN index gives them in table order, and
/// the name index read in order with the search as a filter is no
/// better, as matches cluster in name order (`wil`: 82,013 rows read and
/// dropped before the first 50 at 100,000 users, 58 ms). Counting and
/// paging them in one pass took a third of the two passes it replaces
/// (issue 12, `q=wil` at 100,000 users: 4,004 matches).
pub(super) fn search_sql(q: &UserQuery) -> Sql {
    let dialect = crate::Dialect::Postgres;
    // The sort key over the matches `m` instead of `users u`.
    let owned: Vec<(String, &str)> = sort_key(q.sort, q.descending)
        .iter()
        .map(|(expr, column)| (expr.replace("u.", "m."), *column))
        .collect();
    let key: Vec<(&str, &str)> = owned.iter().map(|(expr, column)| (expr.as_str(), *column)).collect();
    let mut sql = Sql::new(
        "WITH f AS MATERIALIZED (SELECT u.id AS r, u.id, u.last_name_norm, u.first_name_norm, u.email_norm, u.last_sign_in_at FROM users u",
    );
    // (PostgreSQL's search is a filter on the row.)
    push_filters(&mut sql, dialect, q, Matches::Joined);
    sql.push("), ");
    push_answer(
        &mut sql,
        |sql| {
            sql.push("SELECT ")
                .push(&page_columns(q.descending))
                .push(" FROM (SELECT m.r FROM f m WHERE 1 = 1");
            push_search_page_end(sql, q, &key);
            sql.push(") m JOIN users u ON u.id = m.r");
        },
        |sql| {
            sql.push("SELECT COUNT(*) FROM f");
        },
    );
    sql
}

/// PostgreSQL: the end of a search's inner page, over matches whose sort
/// key is `key`: after the cursor, in the list's order, one more than the
/// page (or the `page=` offset's).
fn push_search_page_end(sql: &mut Sql, q: &UserQuery, key: &[(&str, &str)]) {
    if let Some(c) = q.after.as_ref().filter(|c| c.sort == q.sort && c.descending == q.descending) {
        push_after(sql, key, c, q.descending);
    }
    let dir = if q.descending { " DESC" } else { " ASC" };
    let order: Vec<String> = key.iter().map(|(expr, _)| format!("{expr}{dir}")).collect();
    sql.push(" ORDER BY ").push(&order.join(", "));
    sql.push(" LIMIT ").int(q.limit + 1);
    if q.after.is_none() && q.offset > 0 {
        sql.push(" OFFSET ").int(q.offset);
    }
}

/// Whether a user list is a search answered by [`search_sql`] or
/// [`super::search::sqlite_search`].
pub(crate) fn search_in_one_statement(q: &UserQuery) -> bool {
    q.q.as_deref().is_some_and(has_long_word)
}

/// The rows [`finish_page`] skips: the `page=` offset of a page read as
/// several ranges, each from its start ([`page_ranges`]).
pub(super) fn merged_offset(q: &UserQuery, ranges: &[(Status, i64, i64)]) -> usize {
    if ranges.len() > 1 && q.after.is_none() {
        q.offset.max(0) as usize
    } else {
        0
    }
}

/// The statements of a page: (status, limit, offset) each. One, but two
/// for `status=all` on PostgreSQL (see [`page_sql`]).
pub(super) fn page_ranges(dialect: crate::Dialect, q: &UserQuery) -> Vec<(Status, i64, i64)> {
    let offset = if q.after.is_some() { 0 } else { q.offset.max(0) };
    match q.status {
        // Both ranges from their start to the end of the page.
        Status::All if dialect == crate::Dialect::Postgres => vec![
            (Status::Active, offset + q.limit + 1, 0),
            (Status::Inactive, offset + q.limit + 1, 0),
        ],
        status => vec![(status, q.limit + 1, offset)],
    }
}

/// The rows of a page read as one or more ranges (or as an unordered
/// JSON aggregate): put in the list's order, the offset of a merged
/// `page=` skipped, cut to the page, and the cursor of the next page.
/// Keys compare byte-wise, as both dialects order the `_norm` columns;
/// ids are UUIDs, ordered alike by every collation.
pub(super) fn finish_page(q: &UserQuery, mut rows: Vec<ListRow>, unordered: bool, skip: usize) -> (Vec<ListRow>, Option<Cursor>) {
    if unordered {
        rows.sort_by_cached_key(|r| r.cursor(q.sort, q.descending).key);
        if q.descending {
            rows.reverse();
        }
    }
    rows.drain(..skip.min(rows.len()));
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit.max(0) as usize);
    let next = if more {
        rows.last().map(|r| r.cursor(q.sort, q.descending))
    } else {
        None
    };
    (rows, next)
}

/// `COUNT(*)` of the users matching every filter of `q`.
pub(super) fn push_count(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    sql.push("SELECT COUNT(*) FROM users u");
    push_user_filters(sql, dialect, q);
}

/// A search's count as a list reads it: the matches of `q` counted up to
/// one more than [`SEARCH_COUNT_LIMIT`] ([`reported_total`]).
pub(super) fn push_search_count(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    push_count_of(sql, dialect, q, |sql| {
        sql.push(" LIMIT ").int(SEARCH_COUNT_LIMIT + 1);
    });
}

/// `COUNT(*)` of the rows of `q` as a subquery whose `tail` (a `LIMIT`, an
/// `ORDER BY`) decides how they are read.
fn push_count_of(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery, tail: impl FnOnce(&mut Sql)) {
    sql.push("SELECT COUNT(*) FROM (SELECT 1 FROM users u");
    push_user_filters(sql, dialect, q);
    tail(sql);
    sql.push(") c");
}

/// A list's total as its page reads it: [`push_total`], but a search
/// counted only as far as [`push_search_count`] goes.
pub(super) fn push_list_total(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    if q.q.is_some() {
        push_search_count(sql, dialect, q)
    } else {
        push_total(sql, dialect, q)
    }
}

/// P1: the exact total of a list without counting its rows. Totals of the
/// organisation and status selectors (and N3's never-emailed users) are
/// the sum of the few matching cells of `user_counts`, which triggers keep
/// in step with `users` in every transaction. Locked out depends on the
/// time: those are counted through the `users_locked` index range
/// `locked_until > now`, which holds only the accounts locked right now.
/// Searches are counted over every match (what an export and the plans
/// read; a page counts only to the limit, [`push_list_total`]).
pub(super) fn push_total(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    if q.q.is_some() {
        return push_count(sql, dialect, q);
    }
    if matches!(q.status, Status::Locked(_)) {
        return match dialect {
            crate::Dialect::Postgres => push_locked_count(sql, q),
            crate::Dialect::Sqlite => push_count(sql, dialect, q),
        };
    }
    let column = if q.status == Status::NeverEmailed { "pending" } else { "n" };
    sql.push(&format!("SELECT CAST(COALESCE(SUM(u.{column}), 0) AS BIGINT) FROM user_counts u"));
    push_scope_and_org(sql, q);
    match q.status {
        Status::Active => {
            sql.push(" AND u.active = TRUE");
        }
        Status::Inactive => {
            sql.push(" AND u.active = FALSE");
        }
        _ => {}
    }
}

/// PostgreSQL: the locked out counted through `users_locked`, the one index
/// in the order of `locked_until` (which the list's connections must read
/// in order: `enable_sort` off). The list's generic plan cannot know how
/// few rows `locked_until > $1` keeps, and counted them by reading another
/// index of the accounts with a lock on record whole, fetching each row:
/// 1.2 ms for 1,000 locked of 1,000,000 users, against 0.16 ms from
/// `users_locked` alone (index only), so 1,000,000 users cost 1.5-2 times
/// what 100,000 did (P4).
fn push_locked_count(sql: &mut Sql, q: &UserQuery) {
    push_count_of(sql, crate::Dialect::Postgres, q, |sql| {
        sql.push(" ORDER BY u.locked_until");
    });
}

/// R2 on SQLite: one page of the user list, its total and the cursor of
/// the next page (P1), read by a direct reader ([`crate::direct`]) in one
/// snapshot: the total (kept, or a search's count), then the page's rows
/// in index order.
pub(crate) fn list_users_sqlite(conn: &rusqlite::Connection, q: &UserQuery) -> Result<UserPage> {
    let dialect = crate::Dialect::Sqlite;
    let (total, rows, next) = crate::direct::snapshot(conn, |conn| {
        if search_in_one_statement(q) {
            return super::search::sqlite_search(conn, q);
        }
        let mut count = Sql::default();
        push_list_total(&mut count, dialect, q);
        let total = crate::direct::one(conn, &count, |r| r.get::<_, i64>(0))?;
        if total == 0 {
            return Ok((0, Vec::new(), None));
        }
        let reading = reading(q, total);
        // One range: `status=all` merges its two in the statement.
        let ranges = page_ranges(dialect, q);
        let mut rows = Vec::new();
        for (status, limit, offset) in &ranges {
            let sql = page_sql(dialect, q, reading, *status, *limit, *offset);
            rows.extend(crate::direct::all(conn, &sql, ListRow::from_sqlite)?);
        }
        let (rows, next) = finish_page(q, rows, ranges.len() > 1, merged_offset(q, &ranges));
        Ok((total, rows, next))
    })?;
    let (items, extras) = listed(rows)?;
    let (total, total_exact) = reported_total(q, total);
    Ok(UserPage {
        items,
        extras,
        total,
        total_exact,
        next,
    })
}

impl Tx {
    /// R2 on PostgreSQL: one page of the user list, the total matching the
    /// filters and the cursor of the next page (P1).
    pub(crate) async fn list_users_postgres(&mut self, q: &UserQuery) -> Result<UserPage> {
        let (total, rows, next) = if q.q.is_none() {
            self.list_in_one_statement(q).await?
        } else if search_in_one_statement(q) {
            self.search_in_one_statement(q).await?
        } else {
            let mut count = Sql::default();
            push_list_total(&mut count, self.dialect(), q);
            let total = self.count(&count).await?;
            if total == 0 {
                (0, Vec::new(), None)
            } else {
                let (rows, next) = self.user_page(q, reading(q, total)).await?;
                (total, rows, next)
            }
        };
        let (items, extras) = listed(rows)?;
        let (total, total_exact) = reported_total(q, total);
        Ok(UserPage {
            items,
            extras,
            total,
            total_exact,
            next,
        })
    }

    /// A list without a search: the kept total and the page's ranges in
    /// one statement, so one snapshot and one round trip answer the
    /// request. A search's plan depends on its count, so it cannot be read
    /// this way.
    async fn list_in_one_statement(&mut self, q: &UserQuery) -> Result<(i64, Vec<ListRow>, Option<Cursor>)> {
        self.prefer_index_order(Reading::InOrder).await?;
        let (sql, ranges) = list_sql(q);
        let (total, rows) = self.answer(&sql).await?;
        let (rows, next) = finish_page(q, rows, true, merged_offset(q, &ranges));
        Ok((total, rows, next))
    }

    /// A search with a long word: its count and page in one statement
    /// ([`search_sql`]).
    async fn search_in_one_statement(&mut self, q: &UserQuery) -> Result<(i64, Vec<ListRow>, Option<Cursor>)> {
        let (total, rows) = self.answer(&search_sql(q)).await?;
        let (rows, next) = finish_page(q, rows, true, 0);
        Ok((total, rows, next))
    }

    /// PostgreSQL: the total and the rows of a statement of [`push_answer`].
    async fn answer(&mut self, sql: &Sql) -> Result<(i64, Vec<ListRow>)> {
        use sqlx::{FromRow, Row};
        let crate::db::TxInner::Postgres(c) = &mut self.inner else {
            return Err(StoreError::Corrupt("a list answer in one statement is PostgreSQL's".into()));
        };
        let found = bind_args!(sqlx::query(&sql.text), sql.args.clone()).fetch_all(&mut **c).await?;
        let total = match found.first() {
            Some(row) => row.try_get::<i64, _>("total")?,
            None => return Err(StoreError::Corrupt("a list answer without its total".into())),
        };
        let mut rows = Vec::with_capacity(found.len());
        for row in &found {
            // The one row of an empty page has no user.
            if row.try_get::<Option<String>, _>("id")?.is_some() {
                rows.push(ListRow::from_row(row)?);
            }
        }
        Ok((total, rows))
    }

    /// The rows of one page, read in index order.
    async fn user_page(&mut self, q: &UserQuery, reading: Reading) -> Result<(Vec<ListRow>, Option<Cursor>)> {
        self.prefer_index_order(reading).await?;
        let mut rows: Vec<ListRow> = Vec::new();
        let ranges = page_ranges(self.dialect(), q);
        for (status, limit, offset) in &ranges {
            let sql = page_sql(self.dialect(), q, reading, *status, *limit, *offset);
            let found: Vec<ListRow> = on!(self, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?;
            rows.extend(found);
        }
        Ok(finish_page(q, rows, ranges.len() > 1, merged_offset(q, &ranges)))
    }

    /// PostgreSQL's counterpart of SQLite's `INDEXED BY` in [`page_sql`]:
    /// where an index holds the rows in order, the planner must not pick a
    /// bitmap scan and a sort instead because the range looks small (the
    /// ordered scan stops after one page; a sort reads the whole range).
    /// With sorts off the plan no longer depends on the bound values, so
    /// the page's statement keeps its generic plan (`plan_cache_mode`):
    /// PostgreSQL otherwise planned every page afresh, since a generic
    /// `LIMIT $n` looks dearer than the custom plans (0.25-0.3 ms of
    /// planning beside 0.5 ms of execution at 100,000 users).
    /// Both for this read transaction only, in one round trip. (The list's
    /// own pool holds them in its sessions: [`LIST_SETTINGS`].)
    pub(super) async fn prefer_index_order(&mut self, reading: Reading) -> Result<()> {
        if self.dialect() == crate::Dialect::Postgres && reading == Reading::InOrder && !self.index_order {
            exec!(self, NO_SORT)?;
            self.index_order = true;
        }
        Ok(())
    }

    /// The query plans of a page of `q`, one line per step (SQLite's
    /// `EXPLAIN QUERY PLAN`, PostgreSQL's `EXPLAIN`), each range's in turn:
    /// the test that every sort and filter reads an index in order, with no
    /// sort step, reads them.
    pub async fn explain_user_page(&mut self, q: &UserQuery) -> Result<Vec<String>> {
        if search_in_one_statement(q) {
            if self.dialect() == crate::Dialect::Sqlite {
                let mut lines = Vec::new();
                for sql in super::search::sqlite_search_statements(q) {
                    lines.extend(self.explain(&sql).await?);
                }
                return Ok(lines);
            }
            return self.explain(&search_sql(q)).await;
        }
        let reading = reading(q, self.user_total(q).await?);
        self.prefer_index_order(reading).await?;
        if q.q.is_none() && self.dialect() == crate::Dialect::Postgres {
            // The statement `Db::list_users` reads.
            return self.explain(&list_sql(q).0).await;
        }
        let mut lines = Vec::new();
        for (status, limit, offset) in page_ranges(self.dialect(), q) {
            lines.extend(self.explain(&page_sql(self.dialect(), q, reading, status, limit, offset)).await?);
        }
        Ok(lines)
    }

    /// The plan of one statement, a line per step (SQLite's `EXPLAIN
    /// QUERY PLAN`, PostgreSQL's `EXPLAIN`).
    async fn explain(&mut self, sql: &Sql) -> Result<Vec<String>> {
        Ok(match self.dialect() {
            crate::Dialect::Sqlite => {
                let text = format!("EXPLAIN QUERY PLAN {}", sql.text);
                let rows: Vec<(i64, i64, i64, String)> =
                    on!(self, |c| bind_args!(sqlx::query_as(&text), sql.args.clone()).fetch_all(c).await)?;
                rows.into_iter().map(|r| r.3).collect()
            }
            crate::Dialect::Postgres => {
                let text = format!("EXPLAIN {}", sql.text);
                on!(self, |c| bind_args!(sqlx::query_scalar(&text), sql.args.clone()).fetch_all(c).await)?
            }
        })
    }

    /// P1: the exact total of a list ([`push_total`]).
    pub async fn user_total(&mut self, q: &UserQuery) -> Result<i64> {
        let mut sql = Sql::default();
        push_total(&mut sql, self.dialect(), q);
        self.count(&sql).await
    }

    /// The one number a count statement answers.
    async fn count(&mut self, sql: &Sql) -> Result<i64> {
        Ok(on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
            .fetch_one(c)
            .await)?)
    }

    /// SQLite: how many users' search documents differ from their rows
    /// in a copied column (or are missing, or are not found in the trigram
    /// index by the user's own email), plus documents left without a user:
    /// 0 when the copy of migration 0014 is exact; plus documents numbered
    /// outside their partition or out of name order (migration 0015). `None`
    /// on PostgreSQL, whose trigram index is on `users` itself. For the
    /// tests.
    pub async fn search_copy_drift(&mut self) -> Result<Option<i64>> {
        if self.dialect() != crate::Dialect::Sqlite {
            return Ok(None);
        }
        statement!(
            sqlite DRIFT = "SELECT (SELECT COUNT(*) FROM users u LEFT JOIN user_search_docs d ON d.id = u.id \
                WHERE d.id IS NULL OR d.side IS NOT u.side OR d.firm_id IS NOT u.firm_id OR d.office_id IS NOT u.office_id \
                OR d.role IS NOT u.role OR d.active IS NOT u.active OR d.last_name_norm IS NOT u.last_name_norm \
                OR d.first_name_norm IS NOT u.first_name_norm OR d.email_norm IS NOT u.email_norm \
                OR d.last_sign_in_at IS NOT u.last_sign_in_at \
                OR NOT EXISTS (SELECT 1 FROM user_search s WHERE user_search MATCH '\"' || replace(u.email_norm, '\"', '\"\"') || '\"' AND s.rowid = d.doc)) \
                + (SELECT COUNT(*) FROM user_search_docs d WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = d.id)) \
                + (SELECT COUNT(*) FROM user_search_docs WHERE doc < 0 OR doc >= 4611686018427387904 \
                    OR (doc >= 2305843009213693952) = (active = 1)) \
                + (SELECT COUNT(*) FROM (SELECT last_name_norm AS l, first_name_norm AS f, id, \
                        lag(last_name_norm) OVER w AS pl, lag(first_name_norm) OVER w AS pf, lag(id) OVER w AS pid \
                    FROM user_search_docs WHERE doc % 2305843009213693952 < 1152921504606846976 \
                    WINDOW w AS (PARTITION BY active ORDER BY doc)) WHERE pl IS NOT NULL AND (l, f, id) <= (pl, pf, pid))"
        );
        Ok(Some(scalar_one!(self, DRIFT)?))
    }

    /// SQLite: how many search documents are numbered out of name order
    /// (in their partition's tail, migration 0015). For the tests.
    pub async fn search_docs_in_tails(&mut self) -> Result<Option<i64>> {
        if self.dialect() != crate::Dialect::Sqlite {
            return Ok(None);
        }
        statement!(sqlite TAILS = "SELECT COUNT(*) FROM user_search_docs WHERE doc % 2305843009213693952 >= 1152921504606846976");
        Ok(Some(scalar_one!(self, TAILS)?))
    }

    /// The ids of every user matching `q`, in the list's order, sorted by
    /// the database over `users` (no cursor, no page): what the pages of
    /// a list must walk through. For the tests.
    pub async fn matching_user_ids(&mut self, q: &UserQuery) -> Result<Vec<String>> {
        let mut sql = Sql::new("SELECT u.id FROM users u");
        push_user_filters(&mut sql, self.dialect(), q);
        let dir = if q.descending { " DESC" } else { " ASC" };
        let order: Vec<String> = sort_key(q.sort, q.descending)
            .iter()
            .map(|(expr, _)| format!("{expr}{dir}"))
            .collect();
        sql.push(" ORDER BY ").push(&order.join(", "));
        Ok(on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
            .fetch_all(c)
            .await)?)
    }

    /// `COUNT(*)` of the users matching `q`: what the kept totals must
    /// equal (tests), the benchmark's floor, and the count of a search.
    pub async fn count_matching_users(&mut self, q: &UserQuery) -> Result<i64> {
        let mut count = Sql::default();
        push_count(&mut count, self.dialect(), q);
        self.count(&count).await
    }
}

#[cfg(test)]
mod tests {
    /// A list read in a transaction plans as one read by the list's pool.
    #[test]
    fn the_transactions_settings_are_the_list_pools() {
        let set: Vec<String> = super::LIST_SETTINGS
            .iter()
            .map(|(name, value)| format!("set_config('{name}', '{value}', true)"))
            .collect();
        assert_eq!(super::NO_SORT.sql, format!("SELECT {}", set.join(", ")));
    }
}
