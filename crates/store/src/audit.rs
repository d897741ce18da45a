//! The append-only, hash-chained audit log (R3, A1). Rows are only ever
//! inserted, in the transaction of the change they describe.
//!
//! Appending is done in one place, [`Tx::commit`]: entries written during a
//! transaction ([`Tx::audit`], [`Tx::audit_many`]) are given consecutive
//! `seq`s after the chain head, their `prev_hash` and `hash`
//! (`domain::audit_chain`), and are inserted, already chained, as one array
//! statement; the head moves, just before the commit. (Rows that predate
//! the chain, migration 0004, are chained in place once.) The head row is read under
//! `FOR UPDATE` on PostgreSQL (SQLite has one writer), so appends are
//! serialised in commit order and the chain has no gap: a transaction that
//! rolls back never took a `seq`. The head is the last row a change locks,
//! so it adds no lock-order cycle.

use crate::db::{exec, fetch_all, fetch_one, on, scalar_one, statement, Tx};
use crate::sql::{bind_args, Sql};
use crate::{Dialect, Result, StoreError};
use domain::audit_chain::{entry_hash, from_hex, to_hex, ChainedFields, GENESIS};
use domain::Millis;

/// The audit entries a transaction will append when it commits.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    entries: Vec<AuditEntry>,
    /// Rows already inserted without a chain place (those older than
    /// migration 0004): every unchained row with an id above this one.
    unchained_after: Option<i64>,
}

impl Pending {
    pub(crate) fn chain_unchained_after(&mut self, id: i64) {
        self.unchained_after = Some(self.unchained_after.map_or(id, |a| a.min(id)));
    }
}

/// Audit rows a SQLite insert carries: SQLite binds at most 32,766
/// parameters a statement, and a row takes 12.
const SQLITE_ROWS_PER_INSERT: usize = 32_766 / 12;

/// `INSERT INTO audit_log … VALUES` with `rows` rows of placeholders.
fn sqlite_insert_chained(rows: usize) -> String {
    const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let mut sql = String::with_capacity(200 + rows * (ROW.len() + 2));
    sql.push_str("INSERT INTO audit_log (at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, seq, prev_hash, hash) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(ROW);
    }
    sql
}

/// Gives entries, one after another, their place in the chain.
struct Chainer {
    /// The last seq given (the head's, at first).
    seq: i64,
    prev: [u8; 32],
    /// `prev` in hex: the next entry's `prev_hash`.
    prev_hex: String,
}

impl Chainer {
    fn after(seq: i64, prev: [u8; 32]) -> Self {
        Chainer {
            seq,
            prev,
            prev_hex: to_hex(&prev),
        }
    }

    /// The next place in the chain for the entry whose fields at a seq
    /// are `fields`: its seq, `prev_hash` and `hash` (hex).
    fn link<'f>(&mut self, fields: impl FnOnce(i64) -> ChainedFields<'f>) -> (i64, String, String) {
        self.seq += 1;
        let hash = entry_hash(&self.prev, &fields(self.seq));
        let hash_hex = to_hex(&hash);
        self.prev = hash;
        let prev_hex = std::mem::replace(&mut self.prev_hex, hash_hex.clone());
        (self.seq, prev_hex, hash_hex)
    }

    /// `e`, chained after the entry before it.
    fn next<'a>(&mut self, e: &'a AuditEntry) -> ChainedRow<'a> {
        let (seq, prev_hash, hash) = self.link(|seq| e.fields(seq));
        ChainedRow {
            entry: e,
            seq,
            prev_hash,
            hash,
        }
    }
}

/// Entries from which PostgreSQL appends with `COPY … FROM STDIN` rather
/// than an array `INSERT`: a bulk change (N3's confirm, a large
/// offboarding). The rows are chained, written out and sent a chunk at a
/// time, so the server inserts one chunk while the next is hashed (N3's
/// confirm of 100,000 users: the arrays' 1.6 s became about 0.9 s, issue
/// 12). A change of a few entries keeps the one-round-trip `INSERT`.
pub const COPY_FROM: usize = 1_000;

/// Bytes of COPY text sent at a time.
const COPY_CHUNK: usize = 256 * 1024;

const COPY_CHAINED: &str = "COPY audit_log (at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, seq, prev_hash, hash) FROM STDIN";

/// Appends `v` as a field of COPY's text format: `\N` for NULL, and the
/// four characters that would end a field or a row escaped.
fn copy_field(out: &mut Vec<u8>, v: Option<&str>) {
    let Some(v) = v else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
}

/// One row of COPY text, in `COPY_CHAINED`'s column order.
fn copy_row(out: &mut Vec<u8>, r: &ChainedRow<'_>) {
    use std::io::Write;
    let e = r.entry;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{}\t", e.at);
    for v in [
        e.actor_id.as_deref(),
        Some(e.actor_label.as_str()),
        Some(e.action.as_str()),
        Some(e.target_kind),
        e.target_id.as_deref(),
        e.before.as_deref(),
        e.after.as_deref(),
        e.source_ip.as_deref(),
    ] {
        copy_field(out, v);
        out.push(b'\t');
    }
    let _ = writeln!(out, "{}\t{}\t{}", r.seq, r.prev_hash, r.hash);
}

/// Chains `entries` and streams them into `audit_log` with one COPY.
async fn copy_chained(conn: &mut sqlx::PgConnection, entries: &[AuditEntry], chain: &mut Chainer) -> Result<()> {
    let mut copy = conn.copy_in_raw(COPY_CHAINED).await?;
    let mut buf = Vec::with_capacity(COPY_CHUNK + 4096);
    for e in entries {
        copy_row(&mut buf, &chain.next(e));
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_slice()).await?;
    }
    let done = copy.finish().await?;
    if done != entries.len() as u64 {
        return Err(StoreError::Corrupt(format!(
            "{done} of {} audit entries were written",
            entries.len()
        )));
    }
    Ok(())
}

/// An entry with its place in the chain, ready to insert.
struct ChainedRow<'a> {
    entry: &'a AuditEntry,
    seq: i64,
    prev_hash: String,
    hash: String,
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: Millis,
    pub actor_id: Option<String>,
    /// Who acted, readable even without the user row ("system", "cli").
    pub actor_label: String,
    pub action: String,
    pub target_kind: &'static str,
    pub target_id: Option<String>,
    /// The JSON text stored as `before_json`: written once by the caller
    /// (N3's confirm shares two texts among 100,000 entries).
    pub before: Option<String>,
    /// The JSON text stored as `after_json`.
    pub after: Option<String>,
    pub source_ip: Option<String>,
}

impl AuditEntry {
    fn fields(&self, seq: i64) -> ChainedFields<'_> {
        ChainedFields {
            seq,
            at: self.at,
            actor_id: self.actor_id.as_deref(),
            actor_label: &self.actor_label,
            action: &self.action,
            target_kind: self.target_kind,
            target_id: self.target_id.as_deref(),
            before_json: self.before.as_deref(),
            after_json: self.after.as_deref(),
            source_ip: self.source_ip.as_deref(),
        }
    }
}

/// A stored entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub source_ip: Option<String>,
}

/// What `verify_audit_chain` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub ok: bool,
    /// Rows in the audit log.
    pub entries: i64,
    pub head_seq: i64,
    pub head_hash: String,
    /// The first place where the chain breaks.
    pub first_bad_seq: Option<i64>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct ChainRow {
    id: i64,
    seq: Option<i64>,
    at: i64,
    actor_id: Option<String>,
    actor_label: String,
    action: String,
    target_kind: String,
    target_id: Option<String>,
    before_json: Option<String>,
    after_json: Option<String>,
    source_ip: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl ChainRow {
    fn fields(&self, seq: i64) -> ChainedFields<'_> {
        ChainedFields {
            seq,
            at: self.at,
            actor_id: self.actor_id.as_deref(),
            actor_label: &self.actor_label,
            action: &self.action,
            target_kind: &self.target_kind,
            target_id: self.target_id.as_deref(),
            before_json: self.before_json.as_deref(),
            after_json: self.after_json.as_deref(),
            source_ip: self.source_ip.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging (exports): only entries older than this id.
    pub before_id: Option<i64>,
}

fn filters(sql: &mut Sql, q: &AuditQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(a) = &q.actor_id {
        sql.push(" AND actor_id = ").text(a.clone());
    }
    if let Some(t) = &q.target_id {
        sql.push(" AND target_id = ").text(t.clone());
    }
    if let Some(a) = &q.action {
        sql.push(" AND action = ").text(a.clone());
    }
    if let Some(f) = q.from {
        sql.push(" AND at >= ").int(f);
    }
    if let Some(t) = q.to {
        sql.push(" AND at < ").int(t);
    }
    if let Some(b) = q.before_id {
        sql.push(" AND id < ").int(b);
    }
}

impl Tx {
    /// Records `e`; it joins the chain when this transaction commits.
    pub async fn audit(&mut self, e: &AuditEntry) -> Result<()> {
        self.audit.entries.push(e.clone());
        Ok(())
    }

    /// Records many entries (an offboarding writes one per matter, N3's
    /// confirm one per user); at commit they join the chain like every
    /// entry, many an insert (`insert_chained`).
    pub async fn audit_many(&mut self, entries: impl IntoIterator<Item = AuditEntry>) -> Result<()> {
        self.audit.entries.extend(entries);
        Ok(())
    }

    /// Whether the entries older than migration 0004 still wait for their
    /// place in the chain.
    pub(crate) async fn audit_backfill_pending(&mut self) -> Result<bool> {
        statement!(BACKFILLED = "SELECT backfilled FROM audit_chain WHERE id = 1");
        let done: bool = scalar_one!(self, BACKFILLED)?;
        if !done {
            statement!(MARK_BACKFILLED = "UPDATE audit_chain SET backfilled = TRUE WHERE id = 1");
            exec!(self, MARK_BACKFILLED)?;
        }
        Ok(!done)
    }

    /// Locks the chain head and appends this transaction's entries.
    pub(crate) async fn append_audit(&mut self) -> Result<()> {
        if self.audit.entries.is_empty() && self.audit.unchained_after.is_none() {
            return Ok(());
        }
        statement!(sqlite CHAIN_HEAD = "SELECT seq, hash FROM audit_chain WHERE id = 1");
        statement!(postgres CHAIN_HEAD_FOR_UPDATE = "SELECT seq, hash FROM audit_chain WHERE id = 1 FOR UPDATE");
        let head = match self.dialect() {
            Dialect::Sqlite => &CHAIN_HEAD,
            Dialect::Postgres => &CHAIN_HEAD_FOR_UPDATE,
        };
        let (seq, head): (i64, String) = fetch_one!(self, head)?;
        let prev = from_hex(&head).ok_or_else(|| StoreError::Corrupt("the audit chain head is not a hash".into()))?;
        let mut chain = Chainer::after(seq, prev);
        if let Some(after) = self.audit.unchained_after.take() {
            self.chain_unchained(after, &mut chain).await?;
        }
        let entries = std::mem::take(&mut self.audit.entries);
        match &mut self.inner {
            crate::db::TxInner::Postgres(t) if entries.len() >= COPY_FROM => copy_chained(t, &entries, &mut chain).await?,
            _ => {
                let rows: Vec<ChainedRow<'_>> = entries.iter().map(|e| chain.next(e)).collect();
                self.insert_chained(&rows).await?;
            }
        }
        let (seq, prev_hex) = (chain.seq, chain.prev_hex);
        statement!(APPEND_AUDIT = "UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1");
        exec!(self, APPEND_AUDIT, seq, prev_hex)?;
        Ok(())
    }

    /// Inserts entries that already have their chain place: on PostgreSQL
    /// (fewer than [`COPY_FROM`]) one statement, the rows travelling as
    /// arrays (`UNNEST`); on SQLite a multi-row `VALUES` of up to
    /// [`SQLITE_ROWS_PER_INSERT`] rows, each field a bound parameter.
    /// (A JSON array unpacked with `json_each` cost twice as much: SQLite
    /// turns each element back into text and parses it again for every
    /// field, 0.25 s of N3's confirm at 30,000 users, issue 12.)
    async fn insert_chained(&mut self, rows: &[ChainedRow<'_>]) -> Result<()> {
        statement!(postgres INSERT_CHAINED = "INSERT INTO audit_log (at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, seq, prev_hash, hash) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::BIGINT[], $11::TEXT[], $12::TEXT[])");
        let done = match &mut self.inner {
            crate::db::TxInner::Postgres(t) => {
                let column = |f: fn(&ChainedRow<'_>) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
                sqlx::query(INSERT_CHAINED.sql)
                    .bind(rows.iter().map(|r| r.entry.at).collect::<Vec<_>>())
                    .bind(column(|r| r.entry.actor_id.clone()))
                    .bind(column(|r| Some(r.entry.actor_label.clone())))
                    .bind(column(|r| Some(r.entry.action.clone())))
                    .bind(column(|r| Some(r.entry.target_kind.to_owned())))
                    .bind(column(|r| r.entry.target_id.clone()))
                    .bind(column(|r| r.entry.before.clone()))
                    .bind(column(|r| r.entry.after.clone()))
                    .bind(column(|r| r.entry.source_ip.clone()))
                    .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
                    .bind(column(|r| Some(r.prev_hash.clone())))
                    .bind(column(|r| Some(r.hash.clone())))
                    .execute(&mut **t)
                    .await?
                    .rows_affected()
            }
            crate::db::TxInner::Sqlite(t) => {
                let mut done = 0;
                for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
                    let sql = sqlite_insert_chained(chunk.len());
                    let mut insert = sqlx::query(&sql);
                    for r in chunk {
                        let e = r.entry;
                        insert = insert
                            .bind(e.at)
                            .bind(e.actor_id.as_deref())
                            .bind(e.actor_label.as_str())
                            .bind(e.action.as_str())
                            .bind(e.target_kind)
                            .bind(e.target_id.as_deref())
                            .bind(e.before.as_deref())
                            .bind(e.after.as_deref())
                            .bind(e.source_ip.as_deref())
                            .bind(r.seq)
                            .bind(r.prev_hash.as_str())
                            .bind(r.hash.as_str());
                    }
                    // A full chunk, or a change's few entries, comes back:
                    // kept prepared; any other length is compiled once.
                    let again = chunk.len() == SQLITE_ROWS_PER_INSERT || chunk.len() <= 4;
                    done += insert.persistent(again).execute(&mut **t).await?.rows_affected();
                }
                done
            }
        };
        if done != rows.len() as u64 {
            return Err(StoreError::Corrupt(format!("{done} of {} audit entries were written", rows.len())));
        }
        Ok(())
    }

    /// Up to 5,000 unchained rows above `from`, in id order.
    async fn unchained_after(&mut self, from: i64) -> Result<Vec<ChainRow>> {
        statement!(postgres CHAIN_UNCHAINED = "SELECT id, seq, at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, prev_hash, hash \
             FROM audit_log WHERE id > $1 AND seq IS NULL ORDER BY id LIMIT 5000");
        // SQLite: the page as one JSON value. The driver hands each result
        // row from its thread to the task on its own, ~10 µs a row: 0.3 s
        // of N3's confirm at 30,000 users (issue 12). The aggregate's order
        // is not promised: sorted here.
        statement!(sqlite CHAIN_UNCHAINED_JSON = "SELECT json_group_array(json_array(id, seq, at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, prev_hash, hash)) \
             FROM (SELECT * FROM audit_log WHERE id > $1 AND seq IS NULL ORDER BY id LIMIT 5000)");
        match &mut self.inner {
            crate::db::TxInner::Postgres(t) => Ok(sqlx::query_as(CHAIN_UNCHAINED.sql).bind(from).fetch_all(&mut **t).await?),
            crate::db::TxInner::Sqlite(t) => {
                let page: Option<String> = sqlx::query_scalar(CHAIN_UNCHAINED_JSON.sql).bind(from).fetch_one(&mut **t).await?;
                let mut rows: Vec<ChainRow> = match page {
                    None => Vec::new(),
                    Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("unchained audit entries: {e}")))?,
                };
                rows.sort_unstable_by_key(|r| r.id);
                Ok(rows)
            }
        }
    }

    /// Gives every unchained row above `after` its place, in id order.
    async fn chain_unchained(&mut self, after: i64, chain: &mut Chainer) -> Result<()> {
        let mut from = after;
        loop {
            let rows = self.unchained_after(from).await?;
            let Some(last) = rows.last() else { return Ok(()) };
            from = last.id;
            let mut ids = Vec::with_capacity(rows.len());
            let mut seqs = Vec::with_capacity(rows.len());
            let mut prevs = Vec::with_capacity(rows.len());
            let mut hashes = Vec::with_capacity(rows.len());
            for r in &rows {
                let (seq, prev, hash) = chain.link(|seq| r.fields(seq));
                ids.push(r.id);
                seqs.push(seq);
                prevs.push(prev);
                hashes.push(hash);
            }
            statement!(postgres CHAIN_BATCH = "UPDATE audit_log AS a SET seq = v.seq, prev_hash = v.prev, hash = v.hash \
                FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS v(id, seq, prev, hash) WHERE a.id = v.id");
            // Materialised, so that whichever side the planner loops over,
            // the other is an index (the primary key, or an automatic one on
            // `v`), never a rescan of the JSON per row.
            statement!(sqlite CHAIN_BATCH_JSON = "WITH v AS MATERIALIZED (SELECT value ->> 0 AS id, value ->> 1 AS seq, value ->> 2 AS prev, value ->> 3 AS hash FROM json_each($1)) \
                UPDATE audit_log SET seq = v.seq, prev_hash = v.prev, hash = v.hash FROM v WHERE audit_log.id = v.id");
            match &mut self.inner {
                crate::db::TxInner::Postgres(t) => {
                    sqlx::query(CHAIN_BATCH.sql)
                        .bind(&ids)
                        .bind(&seqs)
                        .bind(&prevs)
                        .bind(&hashes)
                        .execute(&mut **t)
                        .await?;
                }
                crate::db::TxInner::Sqlite(t) => {
                    // One statement for the whole batch, its rows as one
                    // JSON parameter: an UPDATE per entry was a hand-over
                    // to the driver's thread per entry (N3's confirm at
                    // 100,000 users, issue 12).
                    let batch: Vec<(i64, i64, &str, &str)> = (0..ids.len())
                        .map(|i| (ids[i], seqs[i], prevs[i].as_str(), hashes[i].as_str()))
                        .collect();
                    let batch = serde_json::to_string(&batch).map_err(|e| StoreError::Corrupt(format!("an audit batch: {e}")))?;
                    let done = sqlx::query(CHAIN_BATCH_JSON.sql).bind(batch).execute(&mut **t).await?;
                    if done.rows_affected() != ids.len() as u64 {
                        return Err(StoreError::Corrupt("an audit entry changed while it was chained".into()));
                    }
                }
            }
        }
    }

    /// A1: walks the whole chain in `seq` order, a page at a time, and
    /// reports the first entry that is missing, out of place or altered.
    pub async fn verify_audit_chain(&mut self) -> Result<ChainReport> {
        statement!(CHAIN_HEAD_TO_VERIFY = "SELECT seq, hash FROM audit_chain WHERE id = 1");
        let (head_seq, head_hash): (i64, String) = fetch_one!(self, CHAIN_HEAD_TO_VERIFY)?;
        statement!(UNCHAINED_ENTRIES = "SELECT COUNT(*) FROM audit_log WHERE seq IS NULL");
        let unchained: i64 = scalar_one!(self, UNCHAINED_ENTRIES)?;
        let mut expected = 1i64;
        let mut prev = GENESIS;
        let mut entries = 0i64;
        let mut first_bad = None;
        let mut after = i64::MIN;
        'pages: loop {
            statement!(CHAINED_ENTRIES_AFTER = "SELECT id, seq, at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip, prev_hash, hash \
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000");
            let rows: Vec<ChainRow> = fetch_all!(self, CHAINED_ENTRIES_AFTER, after)?;
            let Some(last) = rows.last() else { break };
            after = last.seq.unwrap_or(i64::MAX);
            for r in &rows {
                entries += 1;
                if first_bad.is_some() {
                    continue;
                }
                let seq = r.seq.unwrap_or_default();
                let hash = entry_hash(&prev, &r.fields(seq));
                let stored = r.hash.as_deref().and_then(from_hex);
                if seq != expected || r.prev_hash.as_deref() != Some(to_hex(&prev).as_str()) || stored != Some(hash) {
                    // A missing entry is reported at its own seq; an
                    // inserted, edited or moved one where it sits.
                    first_bad = Some(expected.min(seq));
                    continue;
                }
                prev = hash;
                expected += 1;
            }
            if rows.len() < 5000 {
                break 'pages;
            }
        }
        entries += unchained;
        if first_bad.is_none() && (expected - 1 != head_seq || to_hex(&prev) != head_hash) {
            // Entries cut off the end, or the head moved past the entries.
            first_bad = Some(expected.min(head_seq + 1).max(1));
        }
        if first_bad.is_none() && unchained > 0 {
            // Rows outside the chain were slipped in after it.
            first_bad = Some(head_seq + 1);
        }
        Ok(ChainReport {
            ok: first_bad.is_none(),
            entries,
            head_seq,
            head_hash,
            first_bad_seq: first_bad,
        })
    }

    /// The chain head: the last entry's seq and hash (shown as an anchor).
    pub async fn audit_head(&mut self) -> Result<(i64, String)> {
        statement!(AUDIT_HEAD = "SELECT seq, hash FROM audit_chain WHERE id = 1");
        Ok(fetch_one!(self, AUDIT_HEAD)?)
    }

    /// A page of entries, newest first, without a total: for exports, which
    /// follow `before_id` from page to page.
    pub async fn audit_page(&mut self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut page = Sql::new(
            "SELECT id, at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip FROM audit_log",
        );
        filters(&mut page, q);
        page.push(" ORDER BY id DESC LIMIT ").int(q.limit);
        Ok(on!(self, |c| bind_args!(sqlx::query_as(&page.text), page.args.clone())
            .fetch_all(c)
            .await)?)
    }

    /// Newest first.
    pub async fn list_audit(&mut self, q: &AuditQuery) -> Result<(Vec<AuditRecord>, i64)> {
        let mut count = Sql::new("SELECT COUNT(*) FROM audit_log");
        filters(&mut count, q);
        let total: i64 = on!(self, |c| bind_args!(sqlx::query_scalar(&count.text), count.args.clone())
            .fetch_one(c)
            .await)?;
        let mut page = Sql::new(
            "SELECT id, at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip FROM audit_log",
        );
        filters(&mut page, q);
        page.push(" ORDER BY id DESC LIMIT ").int(q.limit).push(" OFFSET ").int(q.offset);
        let rows: Vec<AuditRecord> = on!(self, |c| bind_args!(sqlx::query_as(&page.text), page.args.clone())
            .fetch_all(c)
            .await)?;
        Ok((rows, total))
    }
}
