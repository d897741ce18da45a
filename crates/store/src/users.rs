use crate::cursor::{Cursor, KeyValue};
use crate::db::{exec, fetch_optional, on, scalar_one, statement, Stmt, Tx};
use crate::sql::{bind_args, prefix_upper, push_in_list, Sql};
use crate::{Result, StoreError};
use const_format::formatcp;
use domain::access::UserScope;
use domain::lockout::LockReason;
use domain::model::{EmailStatus, NewUserEmail, User};
use domain::text::fold;
use domain::{Email, FirmId, Millis, OfficeId, PersonName, Role, Side, UserId};

pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.first_name, u.last_name, u.side, u.firm_id, u.office_id, u.role, u.active, \
    u.activated_at, u.last_sign_in_at, u.created_at, u.updated_at, u.deactivated_at, u.new_user_email_status, \
    u.new_user_email_sent_at, u.new_user_email_count, u.new_user_email_changed_at, u.locked_until, u.lock_reason";
statement!(USER = formatcp!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"));

/// A `users` row. The list reads it also as a JSON array in this field
/// order (see [`page_json`]).
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    side: String,
    firm_id: Option<String>,
    office_id: Option<String>,
    role: String,
    #[serde(deserialize_with = "bool_or_int")]
    active: bool,
    activated_at: Option<i64>,
    last_sign_in_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    deactivated_at: Option<i64>,
    new_user_email_status: String,
    new_user_email_sent_at: Option<i64>,
    new_user_email_count: i64,
    new_user_email_changed_at: Option<i64>,
    locked_until: Option<i64>,
    lock_reason: Option<String>,
}

/// SQLite's JSON has no booleans of its own: a stored `TRUE` is `1`.
fn bool_or_int<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match serde::Deserialize::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("user {}: {what} '{v}'", r.id));
        // `Invalid` names the column (its field) and why the rule refuses it.
        let corrupt_text = |e: domain::Invalid| StoreError::Corrupt(format!("user {}: {e}", r.id));
        let lock_reason = match &r.lock_reason {
            Some(why) => Some(LockReason::parse(why).map_err(|e| corrupt(e.what, &e.value))?),
            None => None,
        };
        Ok(User {
            side: Side::parse(&r.side).map_err(|_| corrupt("side", &r.side))?,
            role: Role::parse(&r.role).map_err(|_| corrupt("role", &r.role))?,
            new_user_email: NewUserEmail {
                status: EmailStatus::parse(&r.new_user_email_status).map_err(|e| corrupt(e.what, &e.value))?,
                sent_at: r.new_user_email_sent_at,
                send_count: r.new_user_email_count,
                last_change_at: r.new_user_email_changed_at,
            },
            // A stored text the rule refuses (written around the app, or
            // before a rule tightened) is corrupt data, named by its column.
            email: Email::parse_owned(r.email).map_err(corrupt_text)?,
            first_name: PersonName::parse_owned("first_name", r.first_name).map_err(corrupt_text)?,
            last_name: PersonName::parse_owned("last_name", r.last_name).map_err(corrupt_text)?,
            id: UserId::from(r.id),
            firm_id: r.firm_id.map(FirmId::from),
            office_id: r.office_id.map(OfficeId::from),
            active: r.active,
            activated_at: r.activated_at,
            last_sign_in_at: r.last_sign_in_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deactivated_at: r.deactivated_at,
            locked_until: r.locked_until,
            lock_reason,
        })
    }
}

/// The fields an administrator's edit changes (`PATCH /users/{id}`); the
/// others stay as they are in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` removes the office.
    pub office_id: Option<Option<OfficeId>>,
}

impl UserChange {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

pub(crate) fn users_from(rows: Vec<UserRow>) -> Result<Vec<User>> {
    rows.into_iter().map(User::try_from).collect()
}

/// R2's organisation selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Org {
    All,
    Company,
    Firms,
    Firm(FirmId),
}

/// R2's status selector. `Locked` needs the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Inactive,
    All,
    Locked(Millis),
    /// N3: active users never sent the new user email and never activated,
    /// and not waiting in the outbox.
    NeverEmailed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Email,
    LastSignIn,
}

#[derive(Debug, Clone)]
pub struct UserQuery {
    /// The administrator's scope (S7); applied before every other filter.
    pub scope: UserScope,
    pub org: Org,
    pub status: Status,
    pub q: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: i64,
    /// Shallow pages (`page=`); ignored when `after` is set.
    pub offset: i64,
    /// P1's keyset page: the rows after this one in the query's order.
    pub after: Option<Cursor>,
}

/// One page of users, the exact number matching the filters, and where the
/// next page starts if there is one.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub items: Vec<User>,
    /// The firm and office names of each item, in the same order: read
    /// with the page, not looked up per row.
    pub org_names: Vec<OrgNames>,
    pub total: i64,
    pub next: Option<Cursor>,
}

/// The names of a listed user's firm and office.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgNames {
    pub firm: Option<String>,
    pub office: Option<String>,
}

pub(crate) const NEVER_EMAILED: &str = " AND u.new_user_email_sent_at IS NULL AND u.active = TRUE AND u.activated_at IS NULL \
    AND u.new_user_email_status IN ('held', 'failed')";

const OFFICE_MANAGEABLE: &str = " AND u.role <> 'company_system_administrator' AND (u.side = 'company' OR u.role = 'firm_user')";

/// Every filter of `q` (scope, organisation, status, search).
pub(crate) fn push_user_filters(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    push_scope_and_org(sql, q);
    push_status(sql, q.status);
    push_search(sql, dialect, q, false);
}

/// The scope and organisation filters. They name only `side`, `firm_id`,
/// `office_id` and `role`, which `users` and the kept `user_counts` share,
/// so the same text filters both (P1).
fn push_scope_and_org(sql: &mut Sql, q: &UserQuery) {
    sql.push(" WHERE 1 = 1");
    match &q.scope {
        UserScope::All => {}
        UserScope::Office(o) => {
            sql.push(" AND u.office_id = ").text(o.as_str());
            if q.status == Status::NeverEmailed {
                // N9: an office administrator sends only to the users they
                // may manage one by one (Actor::can_manage): never a system
                // administrator, and of firm users only `firm_user`s.
                sql.push(OFFICE_MANAGEABLE);
            }
        }
        UserScope::Firm(f) => {
            sql.push(" AND u.firm_id = ").text(f.as_str());
        }
        UserScope::Nothing => {
            sql.push(" AND 1 = 0");
        }
    }
    match &q.org {
        Org::All => {}
        Org::Company => {
            sql.push(" AND u.side = 'company'");
        }
        Org::Firms => {
            sql.push(" AND u.side = 'firm'");
        }
        Org::Firm(f) => {
            sql.push(" AND u.firm_id = ").text(f.as_str());
        }
    }
}

fn push_status(sql: &mut Sql, status: Status) {
    match status {
        Status::Active => {
            sql.push(" AND u.active = TRUE");
        }
        Status::Inactive => {
            sql.push(" AND u.active = FALSE");
        }
        Status::All => {}
        Status::Locked(now) => {
            sql.push(" AND u.locked_until > ").int(now);
        }
        Status::NeverEmailed => {
            sql.push(NEVER_EMAILED);
        }
    }
}

/// P2: each word of `q` (at most 4) must occur in the first name, last
/// name or email. A word of 3 characters or more is looked up anywhere in
/// them through the trigram index (SQLite: the FTS5 table `user_search`;
/// PostgreSQL: `pg_trgm` on the three columns joined); a shorter word
/// matches their starts, as ranges of the name and email indexes.
///
/// `filter_only`: the matches must not drive the query (SQLite would read
/// the list index once per match and sort: a page that reads the index in
/// order checks each row against them instead).
fn push_search(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery, filter_only: bool) {
    let Some(q) = &q.q else { return };
    let words: Vec<String> = fold(q).split_whitespace().take(4).map(str::to_owned).collect();
    let (long, short): (Vec<&String>, Vec<&String>) = words.iter().partition(|w| w.chars().count() >= 3);
    if !long.is_empty() {
        match dialect {
            crate::Dialect::Sqlite => {
                // Each word one FTS5 phrase ("" escapes a quote).
                let phrases: Vec<String> = long.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
                // CROSS JOIN keeps this order: the index's matches, then their
                // documents (not every document probing the index).
                sql.push(if filter_only { " AND +u.id IN" } else { " AND u.id IN" })
                    .push(" (SELECT d.user_id FROM user_search s CROSS JOIN user_search_docs d ON d.doc = s.rowid WHERE user_search MATCH ")
                    .text(phrases.join(" AND "))
                    .push(")");
            }
            crate::Dialect::Postgres => {
                for w in long {
                    let escaped = w.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    sql.push(" AND ").push(SEARCH_TEXT).push(" LIKE ").text(format!("%{escaped}%"));
                }
            }
        }
    }
    for word in short {
        let upper = prefix_upper(word);
        sql.push(" AND (");
        for (i, col) in ["u.last_name_norm", "u.first_name_norm", "u.email_norm"].iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(")
                .push(col)
                .push(" >= ")
                .text(word.as_str())
                .push(" AND ")
                .push(col)
                .push(" < ")
                .text(upper.clone())
                .push(")");
        }
        sql.push(")");
    }
}

/// What PostgreSQL's trigram index `users_search_trgm` holds (migration
/// 0003); a query word has no space, so it never matches across fields.
const SEARCH_TEXT: &str = "(u.last_name_norm || ' ' || u.first_name_norm || ' ' || u.email_norm)";

/// Never signed in sorts after everyone in both orders (R2): the key is
/// the largest value ascending and the smallest descending, each with its
/// own expression index (migration 0003).
const SIGN_IN_ASC: &str = "COALESCE(u.last_sign_in_at, 9223372036854775807)";
const SIGN_IN_DESC: &str = "COALESCE(u.last_sign_in_at, -1)";

/// The sort key of the list, as (expression, result column) pairs, the id
/// last; each order is an index of migration 0003 read forwards or
/// backwards.
fn sort_key(sort: SortKey, descending: bool) -> &'static [(&'static str, &'static str)] {
    match (sort, descending) {
        (SortKey::Name, _) => &[("u.last_name_norm", "k_last"), ("u.first_name_norm", "k_first"), ("u.id", "id")],
        // Unique: no tie to break.
        (SortKey::Email, _) => &[("u.email_norm", "k_email")],
        (SortKey::LastSignIn, false) => &[(SIGN_IN_ASC, "k_sign_in"), ("u.id", "id")],
        (SortKey::LastSignIn, true) => &[(SIGN_IN_DESC, "k_sign_in"), ("u.id", "id")],
    }
}

/// The columns of a list row: the user and its sort key values.
fn list_columns(descending: bool) -> String {
    let sign_in = if descending { SIGN_IN_DESC } else { SIGN_IN_ASC };
    format!(
        "{USER_COLUMNS}, u.last_name_norm AS k_last, u.first_name_norm AS k_first, u.email_norm AS k_email, {sign_in} AS k_sign_in, \
         (SELECT f.name FROM firms f WHERE f.id = u.firm_id) AS firm_name, (SELECT o.name FROM offices o WHERE o.id = u.office_id) AS office_name"
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct ListRow {
    #[sqlx(flatten)]
    user: UserRow,
    k_last: String,
    k_first: String,
    k_email: String,
    k_sign_in: i64,
    firm_name: Option<String>,
    office_name: Option<String>,
}

impl ListRow {
    fn cursor(&self, sort: SortKey, descending: bool) -> Cursor {
        let id = KeyValue::Text(self.user.id.clone());
        let key = match sort {
            SortKey::Name => vec![KeyValue::Text(self.k_last.clone()), KeyValue::Text(self.k_first.clone()), id],
            SortKey::Email => vec![KeyValue::Text(self.k_email.clone())],
            SortKey::LastSignIn => vec![KeyValue::Int(self.k_sign_in), id],
        };
        Cursor { sort, descending, key }
    }
}

/// ` AND` rows strictly after `cursor` in the order of `key`, written so
/// that its first column is an index range in both dialects:
/// `k1 >= a AND (k1 > a OR (k1 = a AND (k2 > b OR …)))`.
fn push_after(sql: &mut Sql, key: &[(&str, &str)], cursor: &Cursor, descending: bool) {
    let (gt, ge) = if descending { (" < ", " <= ") } else { (" > ", " >= ") };
    let bind = |sql: &mut Sql, v: &KeyValue| match v {
        KeyValue::Text(s) => {
            sql.text(s.clone());
        }
        KeyValue::Int(i) => {
            sql.int(*i);
        }
    };
    sql.push(" AND ").push(key[0].0).push(ge);
    bind(sql, &cursor.key[0]);
    sql.push(" AND (");
    for (i, ((expr, _), value)) in key.iter().zip(&cursor.key).enumerate() {
        if i > 0 {
            sql.push(" OR (");
            for ((e, _), v) in key.iter().zip(&cursor.key).take(i) {
                sql.push(e).push(" = ");
                bind(sql, v);
                sql.push(" AND ");
            }
        }
        sql.push(expr).push(gt);
        bind(sql, value);
        if i > 0 {
            sql.push(")");
        }
    }
    sql.push(")");
}

/// How a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// An index in the list's order, stopping after the page; a search
    /// only filters. The rule, and for a search with many matches (they
    /// fill a page after a short stretch of the index).
    InOrder,
    /// A search with few matches: its matches from the search index,
    /// looked up by id and sorted (at most [`SEARCH_FIRST_LIMIT`] rows).
    MatchesFirst,
    /// The planner's choice: locked out (the `users_locked` range, which
    /// holds only the accounts locked now, sorted) and searches of words
    /// under 3 characters (prefix ranges).
    Planner,
}

/// Up to this many matches a search sorts its matches; beyond, it reads
/// the list's index in order and filters by the matches.
const SEARCH_FIRST_LIMIT: i64 = 2_000;

fn has_long_word(q: &str) -> bool {
    fold(q).split_whitespace().take(4).any(|w| w.chars().count() >= 3)
}

/// `total` is the exact number of rows of the list (searches: matches).
fn reading(q: &UserQuery, total: i64) -> Reading {
    match &q.q {
        _ if matches!(q.status, Status::Locked(_)) => Reading::Planner,
        None => Reading::InOrder,
        Some(text) if !has_long_word(text) => Reading::Planner,
        Some(_) if total <= SEARCH_FIRST_LIMIT => Reading::MatchesFirst,
        Some(_) => Reading::InOrder,
    }
}

/// The index of migration 0003 that holds `q`'s rows in its order: the
/// narrowest equality prefix of the filters (office, firm, side, or only
/// active), then the sort key. SQLite is told to use it (`INDEXED BY`):
/// with statistics of a skewed column it may otherwise pick a skip-scan of
/// another index and sort the result.
fn ordered_index(q: &UserQuery) -> Option<String> {
    if matches!(q.status, Status::Locked(_)) {
        return None;
    }
    let prefix = match (&q.scope, &q.org) {
        (UserScope::Office(_), _) => "office",
        (UserScope::Firm(_), _) | (_, Org::Firm(_)) => "firm",
        (_, Org::Company | Org::Firms) => "side",
        _ if q.status == Status::NeverEmailed => return Some("users_never_emailed_by_name".into()),
        _ => "status",
    };
    let sort = match (q.sort, q.descending) {
        (SortKey::Name, _) => "name",
        (SortKey::Email, _) => "email",
        (SortKey::LastSignIn, false) => "sign_in_asc",
        (SortKey::LastSignIn, true) => "sign_in_desc",
    };
    Some(format!("users_by_{prefix}_{sort}"))
}

/// One page of the list in index order: one index range, read forwards
/// or backwards, never a sort of the matching rows. `status=all` is two
/// such ranges (active, inactive) that [`Tx::user_page`] merges: PostgreSQL
/// does not merge a UNION ALL of them in order (it sorts the union). One
/// row more than the page tells whether there is a next page.
fn page_sql(dialect: crate::Dialect, q: &UserQuery, reading: Reading, status: Status, limit: i64, offset: i64) -> Sql {
    let mut sql = Sql::default();
    push_page(&mut sql, dialect, q, reading, status, limit, offset);
    sql
}

fn push_page(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery, reading: Reading, status: Status, limit: i64, offset: i64) {
    let key = sort_key(q.sort, q.descending);
    let dir = if q.descending { " DESC" } else { " ASC" };
    let hint = match (dialect, reading) {
        (crate::Dialect::Sqlite, Reading::InOrder) => ordered_index(q).map(|i| format!(" INDEXED BY {i}")).unwrap_or_default(),
        // The matches' ids, looked up through the primary key.
        (crate::Dialect::Sqlite, Reading::MatchesFirst) => " INDEXED BY sqlite_autoindex_users_1".into(),
        _ => String::new(),
    };
    sql.push("SELECT ")
        .push(&list_columns(q.descending))
        .push(" FROM users u")
        .push(&hint);
    push_scope_and_org(sql, q);
    push_status(sql, status);
    push_search(sql, dialect, q, reading == Reading::InOrder);
    if let Some(c) = q.after.as_ref().filter(|c| c.sort == q.sort && c.descending == q.descending) {
        push_after(sql, key, c, q.descending);
    }
    let order: Vec<String> = key.iter().map(|(expr, _)| format!("{expr}{dir}")).collect();
    sql.push(" ORDER BY ").push(&order.join(", "));
    sql.push(" LIMIT ").int(limit);
    if offset > 0 {
        sql.push(" OFFSET ").int(offset);
    }
}

/// SQLite: one page as a single JSON array of [`ListRow`]s (each the
/// user's columns as an array, then the sort keys and organisation
/// names). SQLite's driver hands each result row from its worker thread
/// to the async task on its own; one value for the whole page spares
/// 50 of those hand-overs, the largest cost of a page (issue 12). The
/// aggregate's order is not promised: the caller sorts by key.
fn push_page_json(sql: &mut Sql, q: &UserQuery, reading: Reading, status: Status, limit: i64, offset: i64) {
    static ROW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let row = ROW.get_or_init(|| {
        let user: Vec<&str> = USER_COLUMNS.split(", ").map(|c| c.trim().trim_start_matches("u.")).collect();
        format!(
            "json_array(json_array({}), k_last, k_first, k_email, k_sign_in, firm_name, office_name)",
            user.join(", ")
        )
    });
    sql.push("(SELECT json_group_array(").push(row).push(") FROM (");
    push_page(sql, crate::Dialect::Sqlite, q, reading, status, limit, offset);
    sql.push("))");
}

fn rows_from_json(json: Option<String>) -> Result<Vec<ListRow>> {
    match json {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("a page of users: {e}"))),
    }
}

/// The one or two index ranges of a page: (status, limit, offset) each.
fn page_ranges(q: &UserQuery) -> Vec<(Status, i64, i64)> {
    let offset = if q.after.is_some() { 0 } else { q.offset.max(0) };
    match q.status {
        // Both ranges from their start to the end of the page.
        Status::All => vec![
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
fn finish_page(q: &UserQuery, mut rows: Vec<ListRow>, unordered: bool) -> (Vec<ListRow>, Option<Cursor>) {
    if unordered {
        rows.sort_by_cached_key(|r| r.cursor(q.sort, q.descending).key);
        if q.descending {
            rows.reverse();
        }
    }
    if q.status == Status::All && q.after.is_none() {
        // Both ranges were read from their start.
        rows.drain(..(q.offset.max(0) as usize).min(rows.len()));
    }
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
fn push_count(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    sql.push("SELECT COUNT(*) FROM users u");
    push_user_filters(sql, dialect, q);
}

/// P1: the exact total of a list without counting its rows. Totals of the
/// organisation and status selectors (and N3's never-emailed users) are
/// the sum of the few matching cells of `user_counts`, which triggers keep
/// in step with `users` in every transaction. Locked out depends on the
/// time: those are counted through the `users_locked` index range
/// `locked_until > now`, which holds only the accounts locked right now.
/// Searches are counted over their matches.
fn push_total(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    if q.q.is_some() || matches!(q.status, Status::Locked(_)) {
        return push_count(sql, dialect, q);
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

/// Whether a user list is answered by one statement (SQLite without a
/// search), which needs no transaction around it ([`crate::Db::list_users`]).
pub(crate) fn list_in_one_statement(dialect: crate::Dialect, q: &UserQuery) -> bool {
    dialect == crate::Dialect::Sqlite && q.q.is_none()
}

impl Tx {
    pub async fn insert_user(&mut self, u: &User) -> Result<()> {
        self.insert_users(std::slice::from_ref(u)).await
    }

    /// Inserts users with multi-row statements (bulk loads: the benchmark,
    /// tests with many users). The triggers keep counts and search as for
    /// one user.
    pub async fn insert_users(&mut self, users: &[User]) -> Result<()> {
        for chunk in users.chunks(500) {
            let mut sql = Sql::new(
                "INSERT INTO users (id, email, email_norm, first_name, last_name, first_name_norm, last_name_norm, side, firm_id, \
                 office_id, role, active, created_at, updated_at, new_user_email_status, new_user_email_sent_at, new_user_email_count, \
                 new_user_email_changed_at, activated_at, last_sign_in_at, locked_until) VALUES ",
            );
            for (i, u) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.text(u.id.as_str())
                    .push(", ")
                    .text(u.email.as_str())
                    .push(", ")
                    .text(u.email.to_ascii_lowercase());
                sql.push(", ").text(u.first_name.as_str()).push(", ").text(u.last_name.as_str());
                sql.push(", ")
                    .text(fold(&u.first_name))
                    .push(", ")
                    .text(fold(&u.last_name))
                    .push(", ")
                    .text(u.side.as_str());
                sql.push(", ").opt_text(u.firm_id.as_ref().map(|f| f.to_string()));
                sql.push(", ").opt_text(u.office_id.as_ref().map(|o| o.to_string()));
                sql.push(", ").text(u.role.as_str());
                sql.push(if u.active { ", TRUE" } else { ", FALSE" });
                sql.push(", ").int(u.created_at).push(", ").int(u.updated_at);
                sql.push(", ").text(u.new_user_email.status.as_str());
                sql.push(", ")
                    .opt_int(u.new_user_email.sent_at)
                    .push(", ")
                    .int(u.new_user_email.send_count);
                sql.push(", ").opt_int(u.new_user_email.last_change_at);
                sql.push(", ")
                    .opt_int(u.activated_at)
                    .push(", ")
                    .opt_int(u.last_sign_in_at)
                    .push(", ")
                    .opt_int(u.locked_until);
                sql.push(")");
            }
            let text = sql.text_for(self.dialect());
            on!(self, |c| bind_args!(sqlx::query(&text), sql.args.clone())
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// Writes only the fields `change` names (S9: a change never writes back
    /// a row it read; the caller locked what it decided on).
    pub async fn update_user_fields(&mut self, id: &UserId, change: &UserChange, now: Millis) -> Result<()> {
        let mut sql = Sql::new("UPDATE users SET updated_at = ");
        sql.int(now);
        if let Some(first) = &change.first_name {
            sql.push(", first_name = ").text(first.as_str());
            sql.push(", first_name_norm = ").text(fold(first));
        }
        if let Some(last) = &change.last_name {
            sql.push(", last_name = ").text(last.as_str());
            sql.push(", last_name_norm = ").text(fold(last));
        }
        if let Some(email) = &change.email {
            sql.push(", email = ").text(email.as_str());
            sql.push(", email_norm = ").text(email.to_ascii_lowercase());
        }
        if let Some(role) = change.role {
            sql.push(", role = ").text(role.as_str());
        }
        if let Some(office) = &change.office_id {
            sql.push(", office_id = ").opt_text(office.as_ref().map(|o| o.to_string()));
        }
        sql.push(" WHERE id = ").text(id.as_str());
        on!(self, |c| bind_args!(sqlx::query(&sql.text), sql.args.clone())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// D1/D2/R1: sets the Active flag (and when it was cleared).
    pub async fn set_user_active(&mut self, id: &UserId, active: bool, now: Millis) -> Result<()> {
        let deactivated_at = (!active).then_some(now);
        statement!(SET_USER_ACTIVE = "UPDATE users SET active = $2, deactivated_at = $3, updated_at = $4 WHERE id = $1");
        exec!(self, SET_USER_ACTIVE, id.as_str(), active, deactivated_at, now)?;
        Ok(())
    }

    /// N8: the new user email's status moves to `status` at `now`.
    pub async fn set_new_user_email_status(&mut self, id: &UserId, status: EmailStatus, now: Millis) -> Result<()> {
        statement!(
            SET_NEW_USER_EMAIL_STATUS =
                "UPDATE users SET new_user_email_status = $2, new_user_email_changed_at = $3, updated_at = $3 WHERE id = $1"
        );
        exec!(self, SET_NEW_USER_EMAIL_STATUS, id.as_str(), status.as_str(), now)?;
        Ok(())
    }

    /// A queued new user email (or reset) was withdrawn: the status goes
    /// back to what was last true, sent once or never sent, so N3/N4 still
    /// see a user who never received it.
    pub async fn unqueue_new_user_email(&mut self, id: &UserId, now: Millis) -> Result<()> {
        statement!(
            UNQUEUE_NEW_USER_EMAIL =
                "UPDATE users SET new_user_email_status = CASE WHEN new_user_email_sent_at IS NULL THEN 'held' ELSE 'sent' END, \
             new_user_email_changed_at = $2, updated_at = $2 WHERE id = $1 AND new_user_email_status = 'queued'"
        );
        exec!(self, UNQUEUE_NEW_USER_EMAIL, id.as_str(), now)?;
        Ok(())
    }

    /// N6: the account is activated the first time a password is set.
    pub async fn mark_activated(&mut self, id: &UserId, now: Millis) -> Result<()> {
        statement!(MARK_ACTIVATED = "UPDATE users SET activated_at = COALESCE(activated_at, $2), updated_at = $2 WHERE id = $1");
        exec!(self, MARK_ACTIVATED, id.as_str(), now)?;
        Ok(())
    }

    pub async fn user(&mut self, id: &UserId) -> Result<Option<User>> {
        let row: Option<UserRow> = fetch_optional!(self, USER, id.as_str())?;
        row.map(User::try_from).transpose()
    }

    /// Reads a user and, on PostgreSQL, locks the row until the transaction
    /// ends, so that a rule decided on it (active? lead of open matters?)
    /// cannot be invalidated by a concurrent change. SQLite transactions
    /// are already serialised by the single writer. `NO KEY UPDATE` still
    /// serialises every such check, but does not wait for the key-share
    /// locks that foreign-key inserts (links, outbox rows) take on the user,
    /// which would otherwise deadlock with the mail worker.
    pub async fn user_for_update(&mut self, id: &UserId) -> Result<Option<User>> {
        statement!(postgres USER_FOR_UPDATE = formatcp!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 FOR NO KEY UPDATE"));
        let stmt = match self.dialect() {
            crate::Dialect::Sqlite => &USER,
            crate::Dialect::Postgres => &USER_FOR_UPDATE,
        };
        let row: Option<UserRow> = fetch_optional!(self, stmt, id.as_str())?;
        row.map(User::try_from).transpose()
    }

    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        statement!(USER_BY_EMAIL = formatcp!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_norm = $1"));
        let row: Option<UserRow> = fetch_optional!(self, USER_BY_EMAIL, email.trim().to_ascii_lowercase())?;
        row.map(User::try_from).transpose()
    }

    /// Whether another user already has this sign-in id (case-insensitive).
    pub async fn email_taken(&mut self, email: &str, except: Option<&UserId>) -> Result<bool> {
        statement!(EMAIL_TAKEN = "SELECT COUNT(*) FROM users WHERE email_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(
            self,
            EMAIL_TAKEN,
            email.to_ascii_lowercase(),
            except.map(|u| u.as_str()).unwrap_or("")
        )?;
        Ok(n > 0)
    }

    pub async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users u WHERE"));
        push_in_list(&mut sql, " u.id", ids.iter().map(|u| u.as_str()));
        let rows: Vec<UserRow> = on!(self, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?;
        users_from(rows)
    }

    /// R2: one page of the user list, the total matching the filters and
    /// the cursor of the next page (P1).
    pub async fn list_users(&mut self, q: &UserQuery) -> Result<UserPage> {
        let (total, rows, next) = if list_in_one_statement(self.dialect(), q) {
            self.list_in_one_statement(q).await?
        } else {
            let total = self.user_total(q).await?;
            if total == 0 {
                (0, Vec::new(), None)
            } else {
                let (rows, next) = self.user_page(q, reading(q, total)).await?;
                (total, rows, next)
            }
        };
        let org_names = rows
            .iter()
            .map(|r| OrgNames {
                firm: r.firm_name.clone(),
                office: r.office_name.clone(),
            })
            .collect();
        let items = rows.into_iter().map(|r| User::try_from(r.user)).collect::<Result<_>>()?;
        Ok(UserPage {
            items,
            org_names,
            total,
            next,
        })
    }

    /// SQLite without a search (see [`list_in_one_statement`]): the kept total and the page's ranges in
    /// one statement, so one snapshot and one hand-over to the driver's
    /// thread answer the request (a search's plan depends on its count).
    async fn list_in_one_statement(&mut self, q: &UserQuery) -> Result<(i64, Vec<ListRow>, Option<Cursor>)> {
        let reading = reading(q, 0);
        let ranges = page_ranges(q);
        let mut sql = Sql::new("SELECT (");
        push_total(&mut sql, crate::Dialect::Sqlite, q);
        sql.push(")");
        for (status, limit, offset) in &ranges {
            sql.push(", ");
            push_page_json(&mut sql, q, reading, *status, *limit, *offset);
        }
        let (total, pages) = on!(self, |c| {
            use sqlx::Row;
            bind_args!(sqlx::query(&sql.text), sql.args.clone())
                .fetch_one(c)
                .await
                .and_then(|r| {
                    let pages = (1..=ranges.len())
                        .map(|i| r.try_get::<Option<String>, _>(i))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    Ok((r.try_get::<i64, _>(0)?, pages))
                })
        })?;
        let mut rows = Vec::new();
        for page in pages {
            rows.extend(rows_from_json(page)?);
        }
        let (rows, next) = finish_page(q, rows, true);
        Ok((total, rows, next))
    }

    /// The rows of one page, read in index order.
    async fn user_page(&mut self, q: &UserQuery, reading: Reading) -> Result<(Vec<ListRow>, Option<Cursor>)> {
        self.prefer_index_order(reading).await?;
        let mut rows: Vec<ListRow> = Vec::new();
        let ranges = page_ranges(q);
        for (status, limit, offset) in &ranges {
            if self.dialect() == crate::Dialect::Sqlite {
                let mut sql = Sql::new("SELECT ");
                push_page_json(&mut sql, q, reading, *status, *limit, *offset);
                let page: Option<String> = on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
                    .fetch_one(c)
                    .await)?;
                rows.extend(rows_from_json(page)?);
            } else {
                let sql = page_sql(self.dialect(), q, reading, *status, *limit, *offset);
                let found: Vec<ListRow> = on!(self, |c| bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?;
                rows.extend(found);
            }
        }
        let unordered = ranges.len() > 1 || self.dialect() == crate::Dialect::Sqlite;
        Ok(finish_page(q, rows, unordered))
    }

    /// PostgreSQL's counterpart of SQLite's `INDEXED BY` in [`page_sql`]:
    /// where an index holds the rows in order, the planner must not pick a
    /// bitmap scan and a sort instead because the range looks small (the
    /// ordered scan stops after one page; a sort reads the whole range).
    /// For this read transaction only.
    async fn prefer_index_order(&mut self, reading: Reading) -> Result<()> {
        if self.dialect() == crate::Dialect::Postgres && reading == Reading::InOrder {
            statement!(postgres NO_SORT = "SET LOCAL enable_sort = off");
            exec!(self, NO_SORT)?;
        }
        Ok(())
    }

    /// The query plans of a page of `q`, one line per step (SQLite's
    /// `EXPLAIN QUERY PLAN`, PostgreSQL's `EXPLAIN`), each range's in turn:
    /// the test that every sort and filter reads an index in order, with no
    /// sort step, reads them.
    pub async fn explain_user_page(&mut self, q: &UserQuery) -> Result<Vec<String>> {
        let reading = reading(q, self.user_total(q).await?);
        self.prefer_index_order(reading).await?;
        let mut lines = Vec::new();
        for (status, limit, offset) in page_ranges(q) {
            let sql = page_sql(self.dialect(), q, reading, status, limit, offset);
            match self.dialect() {
                crate::Dialect::Sqlite => {
                    let text = format!("EXPLAIN QUERY PLAN {}", sql.text);
                    let rows: Vec<(i64, i64, i64, String)> =
                        on!(self, |c| bind_args!(sqlx::query_as(&text), sql.args.clone()).fetch_all(c).await)?;
                    lines.extend(rows.into_iter().map(|r| r.3));
                }
                crate::Dialect::Postgres => {
                    let text = format!("EXPLAIN {}", sql.text);
                    let plan: Vec<String> = on!(self, |c| bind_args!(sqlx::query_scalar(&text), sql.args.clone()).fetch_all(c).await)?;
                    lines.extend(plan);
                }
            }
        }
        Ok(lines)
    }

    /// P1: the exact total of a list ([`push_total`]).
    pub async fn user_total(&mut self, q: &UserQuery) -> Result<i64> {
        let mut sql = Sql::default();
        push_total(&mut sql, self.dialect(), q);
        Ok(on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
            .fetch_one(c)
            .await)?)
    }

    /// `COUNT(*)` of the users matching `q`: what the kept totals must
    /// equal (tests), the benchmark's floor, and the count of a search.
    pub async fn count_matching_users(&mut self, q: &UserQuery) -> Result<i64> {
        let mut count = Sql::default();
        push_count(&mut count, self.dialect(), q);
        Ok(on!(self, |c| bind_args!(sqlx::query_scalar(&count.text), count.args.clone())
            .fetch_one(c)
            .await)?)
    }

    /// Active users with `role`, other than `except`.
    pub async fn count_active_role(&mut self, role: Role, except: &UserId) -> Result<i64> {
        statement!(COUNT_ACTIVE_ROLE = "SELECT COUNT(*) FROM users WHERE role = $1 AND active = TRUE AND id <> $2");
        Ok(scalar_one!(self, COUNT_ACTIVE_ROLE, role.as_str(), except.as_str())?)
    }

    pub async fn count_users(&mut self) -> Result<i64> {
        statement!(COUNT_USERS = "SELECT COUNT(*) FROM users");
        Ok(scalar_one!(self, COUNT_USERS)?)
    }
}

impl Tx {
    /// D7: what other records point at a user (kind and count), ignoring
    /// the user's own links, sessions, password history and mail.
    pub async fn user_references(&mut self, id: &UserId) -> Result<Vec<(&'static str, i64)>> {
        statement!(PARTICIPANT_REFERENCES = "SELECT COUNT(*) FROM participants WHERE user_id = $1");
        statement!(LEAD_REFERENCES = "SELECT COUNT(*) FROM matters WHERE lead_company_person_id = $1");
        statement!(COORDINATOR_REFERENCES = "SELECT COUNT(*) FROM offices WHERE coordinator_id = $1 OR backup_coordinator_id = $1");
        statement!(
            APPROVER_REFERENCES = "SELECT COUNT(*) FROM approval_route_levels WHERE primary_approver_id = $1 OR alternate_approver_id = $1"
        );
        statement!(ROUTE_DELEGATE_REFERENCES = "SELECT COUNT(*) FROM approval_route_delegates WHERE user_id = $1");
        statement!(DELEGATION_REFERENCES = "SELECT COUNT(*) FROM delegations WHERE delegator_id = $1 OR delegate_id = $1");
        statement!(TRACKER_COORDINATOR_REFERENCES = "SELECT COUNT(*) FROM settings WHERE tracker_coordinator_id = $1");
        statement!(AUDIT_ACTOR_REFERENCES = "SELECT COUNT(*) FROM audit_log WHERE actor_id = $1");
        let checks: [(&str, &Stmt); 8] = [
            ("matter participant", &PARTICIPANT_REFERENCES),
            ("lead company person", &LEAD_REFERENCES),
            ("office coordinator", &COORDINATOR_REFERENCES),
            ("approver", &APPROVER_REFERENCES),
            ("route delegate", &ROUTE_DELEGATE_REFERENCES),
            ("delegation", &DELEGATION_REFERENCES),
            ("tracker coordinator", &TRACKER_COORDINATOR_REFERENCES),
            ("audit actor", &AUDIT_ACTOR_REFERENCES),
        ];
        let mut found = Vec::new();
        for (kind, stmt) in checks {
            let n: i64 = scalar_one!(self, stmt, id.as_str())?;
            if n > 0 {
                found.push((kind, n));
            }
        }
        Ok(found)
    }

    /// D7: removes a never-activated, unreferenced account and its own
    /// links, sessions, password history and mail. The caller checked.
    pub async fn purge_user(&mut self, id: &UserId) -> Result<()> {
        statement!(PURGE_SIGN_IN_LINKS = "DELETE FROM sign_in_links WHERE user_id = $1");
        statement!(PURGE_SESSIONS = "DELETE FROM sessions WHERE user_id = $1");
        statement!(PURGE_PASSWORD_HISTORY = "DELETE FROM password_history WHERE user_id = $1");
        statement!(PURGE_MAIL = "DELETE FROM mail_outbox WHERE to_user_id = $1");
        statement!(PURGE_USER = "DELETE FROM users WHERE id = $1");
        for stmt in [
            &PURGE_SIGN_IN_LINKS,
            &PURGE_SESSIONS,
            &PURGE_PASSWORD_HISTORY,
            &PURGE_MAIL,
            &PURGE_USER,
        ] {
            exec!(self, stmt, id.as_str())?;
        }
        Ok(())
    }
}

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

struct ExportRange {
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
    pub async fn next_page(&mut self, tx: &mut Tx, limit: i64) -> Result<Option<(Vec<User>, Vec<OrgNames>)>> {
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
            let names = rows
                .iter()
                .map(|r| OrgNames {
                    firm: r.firm_name.clone(),
                    office: r.office_name.clone(),
                })
                .collect();
            let users = rows.into_iter().map(|r| User::try_from(r.user)).collect::<Result<_>>()?;
            return Ok(Some((users, names)));
        }
    }
}

/// The list's order of two rows (ascending), compared byte-wise like the
/// `_norm` columns in both dialects, without building their cursors.
fn export_order(a: &ListRow, b: &ListRow, sort: SortKey) -> std::cmp::Ordering {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> UserRow {
        UserRow {
            id: "u1".into(),
            email: "ann@company.example".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            side: "company".into(),
            firm_id: None,
            office_id: None,
            role: "company_user".into(),
            active: true,
            activated_at: None,
            last_sign_in_at: None,
            created_at: 1,
            updated_at: 1,
            deactivated_at: None,
            new_user_email_status: "held".into(),
            new_user_email_sent_at: None,
            new_user_email_count: 0,
            new_user_email_changed_at: None,
            locked_until: Some(5),
            lock_reason: Some("inactivity".into()),
        }
    }

    #[test]
    fn stored_codes_become_enums_and_unknown_ones_are_corrupt() {
        let u = User::try_from(row()).unwrap();
        assert_eq!(u.lock_reason, Some(LockReason::Inactivity));
        assert_eq!(u.new_user_email.status, EmailStatus::Held);
        let bad = UserRow {
            lock_reason: Some("bored".into()),
            ..row()
        };
        assert!(matches!(User::try_from(bad), Err(StoreError::Corrupt(m)) if m.contains("lock reason 'bored'")));
        let bad = UserRow {
            new_user_email_status: "lost".into(),
            ..row()
        };
        assert!(matches!(User::try_from(bad), Err(StoreError::Corrupt(m)) if m.contains("'lost'")));
    }

    /// The validated texts are parsed on the way in: a stored value the
    /// rule refuses is `Corrupt`, naming the user and the column.
    #[test]
    fn stored_texts_become_validated_values_and_refused_ones_are_corrupt() {
        let u = User::try_from(row()).unwrap();
        assert_eq!(u.email, Email::parse("ann@company.example").unwrap());
        assert_eq!(u.first_name, PersonName::parse("first_name", "Ann").unwrap());
        assert_eq!(u.last_name.as_str(), "Lee");
        let cases = [
            (
                UserRow {
                    email: "not an address".into(),
                    ..row()
                },
                "user u1: email: 'not an address' is not a valid email address: it has no '@'",
            ),
            (
                UserRow {
                    first_name: "  ".into(),
                    ..row()
                },
                "user u1: first_name: first_name must not be empty",
            ),
            (
                UserRow {
                    last_name: "Lee\u{202E}".into(),
                    ..row()
                },
                "user u1: last_name: last_name must be a single line of visible characters \
                 (U+202E is a control, format or invisible character)",
            ),
        ];
        for (bad, want) in cases {
            match User::try_from(bad) {
                Err(StoreError::Corrupt(m)) => assert_eq!(m, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}
