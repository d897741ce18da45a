//! P2 on SQLite: a search with a word of 3 characters or more, answered
//! from the trigram index `user_search` and its documents
//! `user_search_docs` (migrations 0003, 0014, 0015) by a direct reader.
//!
//! Two ways, the same answer:
//! - **In name order** ([`NameOrder`]), the list's default: a document's
//!   number follows the name order within its partition (active users,
//!   inactive users), so the index counts a partition's matches without
//!   reading a document and hands over its first (or last) matches in
//!   order: a page reads a page of documents, plus the partition's few
//!   documents numbered out of order (its tail).
//! - **Every match** ([`sqlite_search_sql`]): every other sort, filter and
//!   scope; each match's document is read once, counted, and kept if it
//!   belongs on the page ([`Best`]).
//!
//! Either way only the page's users are then read in full.

use super::page::{finish_page, ListRow};
use super::query::*;
use super::*;
use crate::cursor::{Cursor, KeyValue};
use crate::Result;
use domain::access::UserScope;

/// The numbers of the documents (migration 0015): inactive users' from
/// 2^61, active users' below; in each partition those below its base +
/// 2^60 follow the name order, and its tail (base + 2^60 and up) holds
/// the users for whom two neighbours had no number left between them.
const INACTIVE_BASE: i64 = 1 << 61;
const TAIL: i64 = 1 << 60;
/// Where a search in name order finds the active and the inactive users.
const PARTITIONS: [(bool, i64); 2] = [(true, 0), (false, INACTIVE_BASE)];

/// SQLite: the statement of a search with a word of 3 characters or more:
/// the sort key (as [`sort_key`] names it) and id of every match, driven by
/// the trigram index through each match's document ([`SEARCH_DOCS`], which
/// carries the columns the filters and sorts name; locked and
/// never-emailed searches join each match's user, [`SEARCH_JOIN`]).
/// [`sqlite_search`] counts them and keeps the page ([`Best`]).
pub(super) fn sqlite_search_sql(q: &UserQuery) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {}", key_and_id(q)));
    sql.push(if documents_cover(q) { SEARCH_DOCS } else { SEARCH_JOIN });
    push_filters(&mut sql, crate::Dialect::Sqlite, q, Matches::Joined);
    sql
}

/// SQLite: the page's users, by id, in full.
fn sqlite_users_by_id(q: &UserQuery, ids: &[String]) -> Sql {
    let mut sql = Sql::new("SELECT ");
    sql.push(&list_columns(q.descending))
        .push(" FROM users u INDEXED BY sqlite_autoindex_users_1 WHERE u.id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(id.as_str());
    }
    sql.push(")");
    sql
}

/// A match kept for the page: its sort key, ordered as the list is.
struct Ranked {
    key: Vec<KeyValue>,
    id: String,
    descending: bool,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let asc = self.key.cmp(&other.key);
        if self.descending {
            asc.reverse()
        } else {
            asc
        }
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Ranked {}

/// How the first `key.len()` columns of `r` compare with `key`, ascending,
/// without copying them (SQLite's BINARY order: bytes, then integers).
fn compare_row(r: &rusqlite::Row<'_>, key: &[KeyValue]) -> Result<std::cmp::Ordering> {
    use rusqlite::types::ValueRef;
    for (i, k) in key.iter().enumerate() {
        let o = match (r.get_ref(i)?, k) {
            (ValueRef::Text(t), KeyValue::Text(s)) => t.cmp(s.as_bytes()),
            (ValueRef::Integer(n), KeyValue::Int(m)) => n.cmp(m),
            (v, _) => return Err(StoreError::Corrupt(format!("a search's sort key of type {:?}", v.data_type()))),
        };
        if o.is_ne() {
            return Ok(o);
        }
    }
    Ok(std::cmp::Ordering::Equal)
}

/// The first `n` columns of `r` as a sort key.
fn row_key(r: &rusqlite::Row<'_>, n: usize) -> Result<Vec<KeyValue>> {
    use rusqlite::types::ValueRef;
    (0..n)
        .map(|i| match r.get_ref(i)? {
            ValueRef::Text(t) => Ok(KeyValue::Text(String::from_utf8_lossy(t).into_owned())),
            ValueRef::Integer(v) => Ok(KeyValue::Int(v)),
            v => Err(StoreError::Corrupt(format!("a search's sort key of type {:?}", v.data_type()))),
        })
        .collect()
}

/// The page of a search, kept as matches stream by (each row: the sort
/// key's columns, then the id): those after the cursor, the `page=`
/// offset's first, in a heap of at most a page and one, compared in place
/// and copied only when they enter it.
struct Best<'q> {
    q: &'q UserQuery,
    after: Option<&'q Cursor>,
    width: usize,
    skip: usize,
    keep: usize,
    heap: std::collections::BinaryHeap<Ranked>,
}

impl<'q> Best<'q> {
    fn new(q: &'q UserQuery) -> Self {
        let skip = if q.after.is_none() { q.offset.max(0) as usize } else { 0 };
        let keep = skip + q.limit.max(0) as usize + 1;
        Best {
            q,
            after: q.after.as_ref().filter(|c| c.sort == q.sort && c.descending == q.descending),
            width: sort_key(q.sort, q.descending).len(),
            skip,
            keep,
            heap: std::collections::BinaryHeap::with_capacity(keep + 1),
        }
    }

    /// Ascending comparison, turned into the list's order.
    fn in_order(&self, o: std::cmp::Ordering) -> std::cmp::Ordering {
        if self.q.descending {
            o.reverse()
        } else {
            o
        }
    }

    fn offer(&mut self, r: &rusqlite::Row<'_>) -> Result<()> {
        if let Some(c) = self.after {
            if self.in_order(compare_row(r, &c.key)?).is_le() {
                return Ok(());
            }
        }
        if self.heap.len() == self.keep {
            let worst = self.heap.peek().map(|w| &w.key[..]).unwrap_or_default();
            if self.in_order(compare_row(r, worst)?).is_ge() {
                return Ok(());
            }
            self.heap.pop();
        }
        self.heap.push(Ranked {
            key: row_key(r, self.width)?,
            id: r.get(self.width)?,
            descending: self.q.descending,
        });
        Ok(())
    }

    /// The ids of the page and the one after it, in order.
    fn ids(self) -> Vec<String> {
        self.heap.into_sorted_vec().into_iter().skip(self.skip).map(|m| m.id).collect()
    }
}

/// A search read in name order: the list's default sort (either way) with
/// the active, inactive or all selector, every organisation, an
/// administrator who sees everyone, and every word 3 characters or more
/// (a shorter word is a prefix range of the columns, which the index does
/// not hold).
struct NameOrder<'q> {
    q: &'q UserQuery,
    /// The words, as phrases of the trigram index's MATCH.
    phrases: String,
    /// The partitions the status selects.
    partitions: &'static [(bool, i64)],
    /// The cursor's name and id, when the page starts after one.
    after: Option<[&'q str; 3]>,
}

impl<'q> NameOrder<'q> {
    fn of(q: &'q UserQuery) -> Option<Self> {
        let partitions: &'static [(bool, i64)] = match q.status {
            Status::Active => &PARTITIONS[..1],
            Status::Inactive => &PARTITIONS[1..],
            Status::All => &PARTITIONS,
            _ => return None,
        };
        if q.sort != SortKey::Name || q.scope != UserScope::All || q.org != Org::All {
            return None;
        }
        let phrases = trigram_phrases(q.q.as_deref()?).filter(|(_, short)| *short == 0)?.0;
        let after = match q.after.as_ref().filter(|c| c.sort == q.sort && c.descending == q.descending) {
            None => None,
            Some(c) => match &c.key[..] {
                [KeyValue::Text(last), KeyValue::Text(first), KeyValue::Text(id)] => Some([last.as_str(), first.as_str(), id.as_str()]),
                // Not a name order's key: every match is compared with it.
                _ => return None,
            },
        };
        Some(NameOrder {
            q,
            phrases,
            partitions,
            after,
        })
    }

    /// `head` (which reads `user_search`), then ` WHERE` the words match.
    fn matching(&self, head: &str) -> Sql {
        let mut sql = Sql::new(head);
        sql.push(" WHERE user_search MATCH ").text(self.phrases.clone());
        sql
    }

    /// The count of the matches: the index's alone, over the partitions'
    /// numbers (`status=all`: every number), stopping one after
    /// [`SEARCH_COUNT_LIMIT`] (the index hands over its matches one by
    /// one, so a page's cost does not grow with them).
    fn count_sql(&self) -> Sql {
        let mut sql = self.matching("SELECT COUNT(*) FROM (SELECT rowid FROM user_search");
        if let [(_, base)] = self.partitions {
            sql.push(" AND rowid >= ")
                .int(*base)
                .push(" AND rowid < ")
                .int(base + INACTIVE_BASE);
        }
        sql.push(" LIMIT ").int(SEARCH_COUNT_LIMIT + 1).push(")");
        sql
    }

    /// Whether the partition's tail holds any document: one probe of the
    /// documents' numbers (the index's MATCH over a number range it holds
    /// nothing in still reads the words' whole lists: 0.2-0.4 ms at
    /// 100,000 users).
    fn tail_used_sql(base: i64) -> Sql {
        let mut sql = Sql::new("SELECT EXISTS (SELECT 1 FROM user_search_docs WHERE doc >= ");
        sql.int(base + TAIL).push(" AND doc < ").int(base + 2 * TAIL).push(")");
        sql
    }

    /// The number that bounds a partition's ordered matches at the cursor:
    /// ascending, the last ordered document at or before it (the page
    /// starts after that number); descending, the first at or after it.
    fn cursor_sql(&self, active: bool, base: i64, after: &[&str; 3]) -> Sql {
        let (cmp, dir) = if self.q.descending { (">=", "") } else { ("<=", " DESC") };
        let mut sql = Sql::new("SELECT doc FROM user_search_docs INDEXED BY user_search_docs_by_name WHERE active = ");
        sql.int(i64::from(active))
            .push(&format!(" AND (last_name_norm, first_name_norm, id) {cmp} ("));
        sql.text(after[0]).push(", ").text(after[1]).push(", ").text(after[2]);
        sql.push(") AND doc < ").int(base + TAIL);
        sql.push(&format!(
            " ORDER BY active{dir}, last_name_norm{dir}, first_name_norm{dir}, id{dir} LIMIT 1"
        ));
        sql
    }

    /// The sort key and id of the partition's ordered matches numbered in
    /// `[lo, hi)`, only the first `keep` in the list's order.
    fn ordered_sql(&self, lo: i64, hi: i64, keep: usize) -> Sql {
        let mut sql = self.matching(&format!("SELECT {} FROM (SELECT rowid AS r FROM user_search", key_and_id(self.q)));
        sql.push(" AND rowid >= ").int(lo).push(" AND rowid < ").int(hi);
        sql.push(if self.q.descending {
            " ORDER BY rowid DESC"
        } else {
            " ORDER BY rowid"
        });
        sql.push(" LIMIT ").int(keep as i64);
        sql.push(") s CROSS JOIN user_search_docs u ON u.doc = s.r");
        sql
    }

    /// The sort key and id of every match in the partition's tail.
    fn tail_sql(&self, base: i64) -> Sql {
        let mut sql = self.matching(&format!("SELECT {}{SEARCH_DOCS}", key_and_id(self.q)));
        sql.push(" AND s.rowid >= ")
            .int(base + TAIL)
            .push(" AND s.rowid < ")
            .int(base + 2 * TAIL);
        sql
    }

    /// The total and the page: per partition, the ordered matches from the
    /// cursor's place (a page's worth) and the tail's.
    fn read(&self, conn: &rusqlite::Connection) -> Result<(i64, Best<'q>)> {
        let mut best = Best::new(self.q);
        let total = crate::direct::one(conn, &self.count_sql(), |r| r.get::<_, i64>(0))?;
        if total == 0 {
            return Ok((0, best));
        }
        for &(active, base) in self.partitions {
            let (mut lo, mut hi) = (base, base + TAIL);
            if let Some(after) = &self.after {
                let at = crate::direct::optional(conn, &self.cursor_sql(active, base, after), |r| r.get::<_, i64>(0))?;
                match (at, self.q.descending) {
                    (Some(doc), false) => lo = doc + 1,
                    (Some(doc), true) => hi = doc,
                    (None, _) => {}
                }
            }
            let keep = best.keep;
            crate::direct::each(conn, &self.ordered_sql(lo, hi, keep), |r| best.offer(r))?;
            if crate::direct::one(conn, &Self::tail_used_sql(base), |r| r.get::<_, bool>(0))? {
                crate::direct::each(conn, &self.tail_sql(base), |r| best.offer(r))?;
            }
        }
        Ok((total, best))
    }

    /// Every statement of [`NameOrder::read`], for their plans.
    fn statements(&self) -> Vec<Sql> {
        let mut all = vec![self.count_sql()];
        for &(active, base) in self.partitions {
            if let Some(after) = &self.after {
                all.push(self.cursor_sql(active, base, after));
            }
            all.push(self.ordered_sql(base, base + TAIL, 51));
            all.push(Self::tail_used_sql(base));
            all.push(self.tail_sql(base));
        }
        all
    }
}

/// `SELECT`'s columns: the sort key (as [`sort_key`] names it), then the id.
fn key_and_id(q: &UserQuery) -> String {
    let key: Vec<&str> = sort_key(q.sort, q.descending).iter().map(|(expr, _)| *expr).collect();
    format!("{}, u.id", key.join(", "))
}

/// P2 on SQLite: a search with a word of 3 characters or more, its count
/// (in name order only to one past [`SEARCH_COUNT_LIMIT`]; the caller
/// reports it, [`reported_total`]), page and next cursor: in name order
/// where it can ([`NameOrder`]), else over every match
/// ([`sqlite_search_sql`]); then only the page's users are read in full. At 100,000 users, `q=wil` (4,004 matches) costs the
/// store 0.4 ms in name order and 2.6 ms over every match.
pub(super) fn sqlite_search(conn: &rusqlite::Connection, q: &UserQuery) -> Result<(i64, Vec<ListRow>, Option<Cursor>)> {
    let (total, best) = match NameOrder::of(q) {
        Some(order) => order.read(conn)?,
        None => {
            let mut best = Best::new(q);
            let mut total = 0i64;
            crate::direct::each(conn, &sqlite_search_sql(q), |r| {
                total += 1;
                best.offer(r)
            })?;
            (total, best)
        }
    };
    let ids = best.ids();
    if ids.is_empty() {
        return Ok((total, Vec::new(), None));
    }
    let rows = crate::direct::all(conn, &sqlite_users_by_id(q, &ids), ListRow::from_sqlite)?;
    let (rows, next) = finish_page(q, rows, true, 0);
    Ok((total, rows, next))
}

/// The statements of a SQLite search, for their plans.
pub(super) fn sqlite_search_statements(q: &UserQuery) -> Vec<Sql> {
    let mut all = match NameOrder::of(q) {
        Some(order) => order.statements(),
        None => vec![sqlite_search_sql(q)],
    };
    all.push(sqlite_users_by_id(q, &[String::new()]));
    all
}

/// Documents on each side of a tail document that [`Tx::order_search_tails`]
/// renumbers with it at first; doubled until their numbers leave room.
const FIRST_WINDOW: usize = 8;
/// The smallest gap a renumbered window leaves between two documents,
/// unless the window is a whole partition: room for the next few users
/// there before a tail is needed again.
const ROOM: i64 = 1 << 10;

impl crate::Db {
    /// SQLite: moves every document out of its partition's tail into the
    /// name order, in transactions of at most `batch` documents (each a
    /// few milliseconds of the writer), so that searches read a page of
    /// documents and no tail. Returns how many moved. What the server's
    /// background task runs.
    pub async fn order_search_tails(&self, batch: usize) -> Result<usize> {
        let mut moved = 0;
        loop {
            let mut tx = self.write().await?;
            let n = tx.order_search_tails(batch).await?;
            tx.commit().await?;
            moved += n;
            if n < batch {
                return Ok(moved);
            }
        }
    }
}

impl crate::db::Tx {
    /// SQLite: numbers every document evenly in name order within its
    /// partition, as migration 0015 did, and writes the trigram index anew
    /// with those numbers: no tail is left. One transaction that costs
    /// about what writing the index anew does (80 s at 1,000,000 users,
    /// where seeding them through the triggers had left 332,016 in the
    /// tails): for set-up and maintenance, not the background task, which
    /// never holds the writer that long ([`Tx::order_search_tails`]).
    pub async fn renumber_search_docs(&mut self) -> Result<()> {
        let crate::db::TxInner::Sqlite(c) = &mut self.inner else {
            return Ok(());
        };
        let statements = [
            "INSERT INTO user_search (user_search) VALUES ('delete-all')".to_owned(),
            // Out of the way first (negative numbers are no partition's).
            "UPDATE user_search_docs SET doc = -1 - doc".to_owned(),
            format!(
                "UPDATE user_search_docs SET doc = m.doc FROM (SELECT doc AS parked, \
                 (CASE WHEN active THEN 0 ELSE {INACTIVE_BASE} END) \
                 + row_number() OVER (PARTITION BY active ORDER BY last_name_norm, first_name_norm, id) \
                 * ({TAIL} / (count(*) OVER (PARTITION BY active) + 1)) AS doc FROM user_search_docs) m \
                 WHERE user_search_docs.doc = m.parked"
            ),
            "INSERT INTO user_search (rowid, text) \
             SELECT doc, last_name_norm || ' ' || first_name_norm || ' ' || email_norm FROM user_search_docs"
                .to_owned(),
        ];
        for sql in &statements {
            sqlx::query(sql).execute(&mut **c).await?;
        }
        Ok(())
    }

    /// SQLite: moves up to `max` documents out of the partitions' tails
    /// (migration 0015) into the name order. Each is renumbered with its
    /// nearest ordered neighbours on both sides, evenly between the next
    /// ones out, the window doubling until those leave [`ROOM`] between
    /// each: four statements a window, whatever its size. The user's row
    /// is not touched. Returns how many moved; 0 on PostgreSQL.
    pub async fn order_search_tails(&mut self, max: usize) -> Result<usize> {
        let crate::db::TxInner::Sqlite(c) = &mut self.inner else {
            return Ok(0);
        };
        let c: &mut sqlx::SqliteConnection = c;
        let mut moved = 0;
        for &(active, base) in &PARTITIONS {
            let tails: Vec<(i64, String, String, String)> = sqlx::query_as(
                "SELECT doc, last_name_norm, first_name_norm, id FROM user_search_docs WHERE doc >= $1 AND doc < $2 ORDER BY doc LIMIT $3",
            )
            .bind(base + TAIL)
            .bind(base + 2 * TAIL)
            .bind((max - moved) as i64)
            .fetch_all(&mut *c)
            .await?;
            for (doc, last, first, id) in tails {
                let key = [last.as_str(), first.as_str(), id.as_str()];
                let (olds, news) = window(c, active, base, doc, key).await?;
                renumber(c, &olds, &news).await?;
                moved += 1;
            }
        }
        Ok(moved)
    }
}

/// The ordered documents nearest the tail document `doc` (name `key`) on
/// each side, with it, in name order: their numbers now, and the numbers
/// that spread them evenly between the next ordered ones out (or the
/// partition's ends).
async fn window(c: &mut sqlx::SqliteConnection, active: bool, base: i64, doc: i64, key: [&str; 3]) -> Result<(Vec<i64>, Vec<i64>)> {
    let mut w = FIRST_WINDOW;
    loop {
        let side = |below: bool| {
            let (cmp, dir) = if below { ("<", " DESC") } else { (">", "") };
            format!(
                "SELECT doc FROM user_search_docs INDEXED BY user_search_docs_by_name WHERE active = $1 \
                 AND (last_name_norm, first_name_norm, id) {cmp} ($2, $3, $4) AND doc < $5 \
                 ORDER BY active{dir}, last_name_norm{dir}, first_name_norm{dir}, id{dir} LIMIT $6"
            )
        };
        let mut near = [Vec::new(), Vec::new()];
        for (i, below) in [true, false].into_iter().enumerate() {
            near[i] = sqlx::query_scalar::<_, i64>(&side(below))
                .bind(active)
                .bind(key[0])
                .bind(key[1])
                .bind(key[2])
                .bind(base + TAIL)
                .bind(w as i64 + 1)
                .fetch_all(&mut *c)
                .await?;
        }
        let [below, above] = near;
        // The bounds, not renumbered: the next ordered documents out.
        let lo = below.get(w).copied().unwrap_or(base - 1);
        let hi = above.get(w).copied().unwrap_or(base + TAIL);
        let whole = below.len() <= w && above.len() <= w;
        let mut olds: Vec<i64> = below.iter().take(w).rev().copied().collect();
        olds.push(doc);
        olds.extend(above.iter().take(w));
        let step = (hi - lo) / (olds.len() as i64 + 1);
        if step >= ROOM || (whole && step >= 2) {
            let news = (1..=olds.len() as i64).map(|i| lo + i * step).collect();
            return Ok((olds, news));
        }
        if whole {
            return Err(crate::StoreError::Corrupt(format!(
                "no room to number {} search documents in order",
                olds.len()
            )));
        }
        w *= 2;
    }
}

/// Gives the documents numbered `olds` the numbers `news` (both in name
/// order, `news` free or among `olds`), in the trigram index too.
async fn renumber(c: &mut sqlx::SqliteConnection, olds: &[i64], news: &[i64]) -> Result<()> {
    let list = |docs: &[i64]| docs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let (olds_list, news_list) = (list(olds), list(news));
    // Numbers are this process's integers, written out: no text of a user.
    sqlx::query(&format!("DELETE FROM user_search WHERE rowid IN ({olds_list})"))
        .persistent(false)
        .execute(&mut *c)
        .await?;
    // Out of the way first (negative numbers are no partition's), so that
    // no new number meets an old one still in place.
    sqlx::query(&format!("UPDATE user_search_docs SET doc = -1 - doc WHERE doc IN ({olds_list})"))
        .persistent(false)
        .execute(&mut *c)
        .await?;
    for (old, new) in olds.iter().zip(news) {
        sqlx::query("UPDATE user_search_docs SET doc = $1 WHERE doc = $2")
            .bind(new)
            .bind(-1 - old)
            .execute(&mut *c)
            .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO user_search (rowid, text) SELECT doc, last_name_norm || ' ' || first_name_norm || ' ' || email_norm \
         FROM user_search_docs WHERE doc IN ({news_list})"
    ))
    .persistent(false)
    .execute(&mut *c)
    .await?;
    Ok(())
}
