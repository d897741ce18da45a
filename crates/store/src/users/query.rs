//! R2's selectors — scope, organisation, status, search — and sorts, as
//! SQL the list, the totals, the export and N3 share.

use super::USER_COLUMNS;
use crate::cursor::Cursor;
use crate::sql::{prefix_upper, Sql};
use domain::access::UserScope;
use domain::model::User;
use domain::text::fold;
use domain::{FirmId, Millis};

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

/// One page of users, the number matching the filters, and where the next
/// page starts if there is one.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub items: Vec<User>,
    /// What each item's row carries beside the user, in the same order:
    /// read with the page, not looked up per row.
    pub extras: Vec<RowExtras>,
    /// Exact, except a search's beyond [`SEARCH_COUNT_LIMIT`] matches.
    pub total: i64,
    /// Whether `total` is the exact number of matches; false when a search
    /// has more than [`SEARCH_COUNT_LIMIT`] (`total` is then the limit).
    pub total_exact: bool,
    pub next: Option<Cursor>,
}

/// P2/P4: a search counts its matches up to this many, then stops: beyond,
/// its total is this and not exact. An exact count of a substring's
/// matches costs in proportion to them whatever the index (`wil`: 4,004
/// users of 100,000, ten times that of 1,000,000), while its page does
/// not; a list without a search keeps its totals exact (P1).
pub const SEARCH_COUNT_LIMIT: i64 = 1_000;

/// The total a page reports from the count it read, and whether it is
/// exact: a search's count may go past [`SEARCH_COUNT_LIMIT`] (every match
/// counted) or stop one after it ([`push_search_count`]); either way a
/// search reports the limit beyond it.
pub(crate) fn reported_total(q: &UserQuery, counted: i64) -> (i64, bool) {
    if q.q.is_some() && counted > SEARCH_COUNT_LIMIT {
        (SEARCH_COUNT_LIMIT, false)
    } else {
        (counted, true)
    }
}

/// What a listed user's row carries beside the user: the names of their
/// firm and office, whether the directory manages them (D6/DIR3), and
/// the date a scheduled deactivation takes effect (O3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowExtras {
    pub firm: Option<String>,
    pub office: Option<String>,
    pub directory_managed: bool,
    pub leaves_at: Option<i64>,
}

/// The new user email statuses of N3's never-emailed users, as
/// [`NEVER_EMAILED`] spells them (a test keeps the two in step).
pub(crate) const NEVER_EMAILED_STATUSES: [domain::model::EmailStatus; 2] =
    [domain::model::EmailStatus::Held, domain::model::EmailStatus::Failed];

/// N3's never-emailed users but for their test of `active`, which
/// [`push_never_emailed`] adds the way each statement needs it.
pub(crate) const NEVER_EMAILED: &str = " AND u.new_user_email_sent_at IS NULL AND u.activated_at IS NULL \
    AND u.new_user_email_status IN ('held', 'failed')";

/// N3's never-emailed users: [`NEVER_EMAILED`], then active.
///
/// PostgreSQL: N3's index `users_never_emailed_by_name` holds the active
/// users never sent the email nor activated, its predicate testing active
/// as `active::int = 1` (migration 0017), so every statement of N3 there
/// tests it that way too, which lets the planner prove the predicate and
/// use the index; the email status stays out of it (see 0010).
///
/// `own_index`: a page PostgreSQL must read from N3's own index (it has no
/// `INDEXED BY`) tests active only as the predicate does, which no index
/// can be read by. With `u.active = TRUE` as well the planner read the
/// active users' name index instead, costed as cheaper, and filtered it:
/// at 100,000 users (3 in 10 never emailed) it read 1,800 rows for a page
/// of 50 where N3's index reads 51 (0.9 ms against 0.25 ms). SQLite names
/// its index (`INDEXED BY`) and tests active as every other list does.
pub(super) fn push_never_emailed(sql: &mut Sql, dialect: crate::Dialect, own_index: bool) {
    sql.push(NEVER_EMAILED).push(match (dialect, own_index) {
        (crate::Dialect::Sqlite, _) => " AND u.active = TRUE",
        (crate::Dialect::Postgres, false) => " AND u.active = TRUE AND u.active::int = 1",
        (crate::Dialect::Postgres, true) => " AND u.active::int = 1",
    });
}

pub(super) const OFFICE_MANAGEABLE: &str = " AND u.role <> 'company_system_administrator' AND (u.side = 'company' OR u.role = 'firm_user')";

/// Every filter of `q` (scope, organisation, status, search).
pub(crate) fn push_user_filters(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery) {
    push_filters(sql, dialect, q, Matches::Drive);
}

/// [`push_user_filters`], with the trigram matches used as `matches` says.
pub(super) fn push_filters(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery, matches: Matches) {
    push_scope_and_org(sql, q);
    push_status(sql, dialect, q.status);
    push_search(sql, dialect, q, matches);
}

/// The scope and organisation filters. They name only `side`, `firm_id`,
/// `office_id` and `role`, which `users` and the kept `user_counts` share,
/// so the same text filters both (P1).
pub(super) fn push_scope_and_org(sql: &mut Sql, q: &UserQuery) {
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

pub(super) fn push_status(sql: &mut Sql, dialect: crate::Dialect, status: Status) {
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
        Status::NeverEmailed => push_never_emailed(sql, dialect, false),
    }
}

/// P2: each word of `q` (at most 4) must occur in the first name, last
/// name or email. A word of 3 characters or more is looked up anywhere in
/// them through the trigram index (SQLite: the FTS5 table `user_search`;
/// PostgreSQL: `pg_trgm` on the three columns joined); a shorter word
/// matches their starts, as ranges of the name and email indexes.
///
/// How SQLite's statement uses the trigram matches of a long word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Matches {
    /// `u.id IN (matches)`, which the planner may drive the query with.
    Drive,
    /// The matches must not drive the query (SQLite would read the list
    /// index once per match and sort: a page that reads the index in order
    /// checks each row against them instead).
    FilterOnly,
    /// The statement already reads `user_search s` and its documents
    /// ([`SEARCH_DOCS`], [`SEARCH_JOIN`]): only the MATCH is added.
    Joined,
}

/// The FROM of a SQLite search ([`super::search::sqlite_search_sql`]): the
/// trigram index's matches, then their documents as `u`. A document
/// carries every column the organisation and active / inactive / all
/// selectors and the sorts name, under the names `users` gives them
/// (migration 0014), so such a search reads no user but the page's.
pub(super) const SEARCH_DOCS: &str = " FROM user_search s CROSS JOIN user_search_docs u ON u.doc = s.rowid";

/// [`SEARCH_DOCS`] for the selectors a document does not carry (locked
/// out, never emailed): each match's document, then its user as `u`, with
/// no list of ids built in between (`u.id IN (…)` built a temporary index
/// of every match's id first).
pub(super) const SEARCH_JOIN: &str = " FROM user_search s CROSS JOIN user_search_docs d ON d.doc = s.rowid \
    CROSS JOIN users u INDEXED BY sqlite_autoindex_users_1 ON u.id = d.id";

/// Whether a SQLite search's documents carry every column `q` filters on.
pub(super) fn documents_cover(q: &UserQuery) -> bool {
    matches!(q.status, Status::Active | Status::Inactive | Status::All)
}

/// The words of a search (at most 4, folded), split into those of 3
/// characters or more and the shorter ones.
fn search_words(q: &str) -> (Vec<String>, Vec<String>) {
    fold(q)
        .split_whitespace()
        .take(4)
        .map(str::to_owned)
        .partition(|w| w.chars().count() >= 3)
}

/// SQLite: the trigram index's MATCH for `long` words: each word one FTS5
/// phrase (`""` escapes a quote), all of them required.
fn fts_phrases(long: &[String]) -> String {
    let phrases: Vec<String> = long.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
    phrases.join(" AND ")
}

/// SQLite: the MATCH of a search's words of 3 characters or more (`None`
/// when it has none), and how many shorter words it also has.
pub(super) fn trigram_phrases(q: &str) -> Option<(String, usize)> {
    let (long, short) = search_words(q);
    (!long.is_empty()).then(|| (fts_phrases(&long), short.len()))
}

pub(super) fn push_search(sql: &mut Sql, dialect: crate::Dialect, q: &UserQuery, matches: Matches) {
    let Some(q) = &q.q else { return };
    let (long, short) = search_words(q);
    if !long.is_empty() {
        match dialect {
            crate::Dialect::Sqlite => {
                let phrases = fts_phrases(&long);
                // CROSS JOIN keeps this order: the index's matches, then their
                // documents (not every document probing the index).
                match matches {
                    Matches::Joined => {
                        sql.push(" AND user_search MATCH ").text(phrases.clone());
                    }
                    Matches::Drive | Matches::FilterOnly => {
                        sql.push(if matches == Matches::FilterOnly {
                            " AND +u.id IN"
                        } else {
                            " AND u.id IN"
                        })
                        .push(" (SELECT d.id FROM user_search s CROSS JOIN user_search_docs d ON d.doc = s.rowid WHERE user_search MATCH ")
                        .text(phrases)
                        .push(")");
                    }
                }
            }
            crate::Dialect::Postgres => {
                for w in long {
                    let escaped = w.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    sql.push(" AND ").push(SEARCH_TEXT).push(" LIKE ").text(format!("%{escaped}%"));
                }
            }
        }
    }
    for word in &short {
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
pub(super) const SEARCH_TEXT: &str = "(u.last_name_norm || ' ' || u.first_name_norm || ' ' || u.email_norm)";

/// Never signed in sorts after everyone in both orders (R2): the key is
/// the largest value ascending and the smallest descending, each with its
/// own expression index (migration 0003).
pub(super) const SIGN_IN_ASC: &str = "COALESCE(u.last_sign_in_at, 9223372036854775807)";
pub(super) const SIGN_IN_DESC: &str = "COALESCE(u.last_sign_in_at, -1)";

/// The sort key of the list, as (expression, result column) pairs, the id
/// last; each order is an index of migration 0003 read forwards or
/// backwards.
pub(super) fn sort_key(sort: SortKey, descending: bool) -> &'static [(&'static str, &'static str)] {
    match (sort, descending) {
        (SortKey::Name, _) => &[("u.last_name_norm", "k_last"), ("u.first_name_norm", "k_first"), ("u.id", "id")],
        // Unique: no tie to break.
        (SortKey::Email, _) => &[("u.email_norm", "k_email")],
        (SortKey::LastSignIn, false) => &[(SIGN_IN_ASC, "k_sign_in"), ("u.id", "id")],
        (SortKey::LastSignIn, true) => &[(SIGN_IN_DESC, "k_sign_in"), ("u.id", "id")],
    }
}

/// Whether the directory links the row's user (a SCIM link not
/// deprovisioned): one primary-key probe of `directory_users`.
const LINKED: &str = "EXISTS (SELECT 1 FROM directory_users d WHERE d.user_id = u.id AND d.deprovisioned_at IS NULL)";

/// Whether Active Directory sync is on: an uncorrelated subquery, which
/// both dialects evaluate once per statement.
pub(super) const SYNC: &str = "(SELECT s.active_directory_sync FROM settings s WHERE s.id = 1)";

/// When the row's user leaves (O3): the date of their scheduled
/// deactivation, one primary-key probe of `scheduled_deactivations`.
const LEAVES_AT: &str = "(SELECT s.effective_at FROM scheduled_deactivations s WHERE s.user_id = u.id AND s.status = 'scheduled')";

/// The columns of a list row: the user, its sort key values, its firm's
/// and office's names, the facts of D6/DIR3 and its leaving date.
pub(super) fn list_columns(descending: bool) -> String {
    format!(
        "{}, (SELECT f.name FROM firms f WHERE f.id = u.firm_id) AS firm_name, (SELECT o.name FROM offices o WHERE o.id = u.office_id) AS office_name, \
         {LINKED} AS linked, {SYNC} AS sync, {LEAVES_AT} AS leaves_at",
        page_columns(descending)
    )
}

/// The user and its sort key values: a list row without what it carries
/// beside the user (PostgreSQL looks that up once a page, `push_answer`).
pub(super) fn page_columns(descending: bool) -> String {
    let sign_in = if descending { SIGN_IN_DESC } else { SIGN_IN_ASC };
    format!("{USER_COLUMNS}, u.last_name_norm AS k_last, u.first_name_norm AS k_first, u.email_norm AS k_email, {sign_in} AS k_sign_in")
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_emailed_names_exactly_its_statuses() {
        let listed: Vec<String> = super::NEVER_EMAILED_STATUSES.iter().map(|s| format!("'{s}'")).collect();
        assert!(super::NEVER_EMAILED.ends_with(&format!("u.new_user_email_status IN ({})", listed.join(", "))));
    }

    #[test]
    fn never_emailed_tests_active_as_each_dialect_and_index_needs() {
        use crate::Dialect::{Postgres, Sqlite};
        for (dialect, own_index, tests) in [
            (Sqlite, false, &["u.active = TRUE"][..]),
            (Sqlite, true, &["u.active = TRUE"][..]),
            (Postgres, false, &["u.active = TRUE", "u.active::int = 1"][..]),
            (Postgres, true, &["u.active::int = 1"][..]),
        ] {
            let mut sql = crate::sql::Sql::default();
            super::push_never_emailed(&mut sql, dialect, own_index);
            let rest = sql.text.strip_prefix(super::NEVER_EMAILED).expect("the shared tests first");
            let got: Vec<&str> = rest.split(" AND ").map(str::trim).filter(|t| !t.is_empty()).collect();
            assert_eq!(got, tests, "{dialect:?} own_index={own_index}");
        }
    }
}
