use crate::db::{on, Tx};
use crate::sql::{bind_args, prefix_upper, push_in_list, Sql};
use crate::{Result, StoreError};
use domain::access::UserScope;
use domain::model::{EmailStatus, NewUserEmail, User};
use domain::text::fold;
use domain::{FirmId, Millis, OfficeId, Role, Side, UserId};

pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.first_name, u.last_name, u.side, u.firm_id, u.office_id, u.role, u.active, \
    u.activated_at, u.last_sign_in_at, u.created_at, u.updated_at, u.deactivated_at, u.new_user_email_status, \
    u.new_user_email_sent_at, u.new_user_email_count, u.new_user_email_changed_at, u.locked_until, u.lock_reason";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    side: String,
    firm_id: Option<String>,
    office_id: Option<String>,
    role: String,
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

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("user {}: {what} '{v}'", r.id));
        Ok(User {
            side: Side::parse(&r.side).map_err(|_| corrupt("side", &r.side))?,
            role: Role::parse(&r.role).map_err(|_| corrupt("role", &r.role))?,
            new_user_email: NewUserEmail {
                status: EmailStatus::parse(&r.new_user_email_status).ok_or_else(|| corrupt("email status", &r.new_user_email_status))?,
                sent_at: r.new_user_email_sent_at,
                send_count: r.new_user_email_count,
                last_change_at: r.new_user_email_changed_at,
            },
            id: UserId::from(r.id),
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            firm_id: r.firm_id.map(FirmId::from),
            office_id: r.office_id.map(OfficeId::from),
            active: r.active,
            activated_at: r.activated_at,
            last_sign_in_at: r.last_sign_in_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deactivated_at: r.deactivated_at,
            locked_until: r.locked_until,
            lock_reason: r.lock_reason,
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
    pub offset: i64,
}

pub(crate) const NEVER_EMAILED: &str = " AND u.new_user_email_sent_at IS NULL AND u.active = TRUE AND u.activated_at IS NULL \
    AND u.new_user_email_status IN ('held', 'failed')";

const OFFICE_MANAGEABLE: &str = " AND u.role <> 'company_system_administrator' AND (u.side = 'company' OR u.role = 'firm_user')";

pub(crate) fn push_user_filters(sql: &mut Sql, q: &UserQuery) {
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
    match q.status {
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
    if let Some(q) = &q.q {
        for word in fold(q).split_whitespace().take(4) {
            let upper = prefix_upper(word);
            sql.push(" AND (");
            for (i, col) in ["u.last_name_norm", "u.first_name_norm", "u.email_norm"].iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("(")
                    .push(col)
                    .push(" >= ")
                    .text(word)
                    .push(" AND ")
                    .push(col)
                    .push(" < ")
                    .text(upper.clone())
                    .push(")");
            }
            sql.push(")");
        }
    }
}

impl Tx {
    pub async fn insert_user(&mut self, u: &User) -> Result<()> {
        on!(self, c => sqlx::query(
            "INSERT INTO users (id, email, email_norm, first_name, last_name, first_name_norm, last_name_norm, side, firm_id, \
             office_id, role, active, created_at, updated_at, new_user_email_status, new_user_email_sent_at, new_user_email_count, \
             new_user_email_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)")
            .bind(u.id.as_str()).bind(&u.email).bind(u.email.to_ascii_lowercase()).bind(&u.first_name).bind(&u.last_name)
            .bind(fold(&u.first_name)).bind(fold(&u.last_name)).bind(u.side.as_str()).bind(u.firm_id.as_ref().map(|f| f.as_str()))
            .bind(u.office_id.as_ref().map(|o| o.as_str())).bind(u.role.as_str()).bind(u.active).bind(u.created_at).bind(u.updated_at)
            .bind(u.new_user_email.status.as_str()).bind(u.new_user_email.sent_at).bind(u.new_user_email.send_count)
            .bind(u.new_user_email.last_change_at)
            .execute(c).await.map(|r| r.rows_affected()))?;
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
        on!(self, c => bind_args!(sqlx::query(&sql.text), sql.args.clone()).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// D1/D2/R1: sets the Active flag (and when it was cleared).
    pub async fn set_user_active(&mut self, id: &UserId, active: bool, now: Millis) -> Result<()> {
        let deactivated_at = (!active).then_some(now);
        on!(self, c => sqlx::query("UPDATE users SET active = $2, deactivated_at = $3, updated_at = $4 WHERE id = $1")
            .bind(id.as_str()).bind(active).bind(deactivated_at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// N8: the new user email's status moves to `status` at `now`.
    pub async fn set_new_user_email_status(&mut self, id: &UserId, status: EmailStatus, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query(
            "UPDATE users SET new_user_email_status = $2, new_user_email_changed_at = $3, updated_at = $3 WHERE id = $1")
            .bind(id.as_str()).bind(status.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A queued new user email (or reset) was withdrawn: the status goes
    /// back to what was last true, sent once or never sent, so N3/N4 still
    /// see a user who never received it.
    pub async fn unqueue_new_user_email(&mut self, id: &UserId, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query(
            "UPDATE users SET new_user_email_status = CASE WHEN new_user_email_sent_at IS NULL THEN 'held' ELSE 'sent' END, \
             new_user_email_changed_at = $2, updated_at = $2 WHERE id = $1 AND new_user_email_status = 'queued'")
            .bind(id.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// N6: the account is activated the first time a password is set.
    pub async fn mark_activated(&mut self, id: &UserId, now: Millis) -> Result<()> {
        on!(self, c => sqlx::query(
            "UPDATE users SET activated_at = COALESCE(activated_at, $2), updated_at = $2 WHERE id = $1")
            .bind(id.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn user(&mut self, id: &UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        let row: Option<UserRow> = on!(self, c => sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(c).await)?;
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
        let sql = match self.dialect() {
            crate::Dialect::Sqlite => format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"),
            crate::Dialect::Postgres => format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 FOR NO KEY UPDATE"),
        };
        let row: Option<UserRow> = on!(self, c => sqlx::query_as(&sql).bind(id.as_str()).fetch_optional(c).await)?;
        row.map(User::try_from).transpose()
    }

    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_norm = $1");
        let row: Option<UserRow> = on!(self, c => sqlx::query_as(&sql).bind(email.trim().to_ascii_lowercase()).fetch_optional(c).await)?;
        row.map(User::try_from).transpose()
    }

    /// Whether another user already has this sign-in id (case-insensitive).
    pub async fn email_taken(&mut self, email: &str, except: Option<&UserId>) -> Result<bool> {
        let n: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email_norm = $1 AND id <> $2")
            .bind(email.to_ascii_lowercase()).bind(except.map(|u| u.as_str()).unwrap_or("")).fetch_one(c).await)?;
        Ok(n > 0)
    }

    pub async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users u WHERE"));
        push_in_list(&mut sql, " u.id", ids.iter().map(|u| u.as_str()));
        let rows: Vec<UserRow> = on!(self, c => bind_args!(sqlx::query_as(&sql.text), sql.args.clone()).fetch_all(c).await)?;
        users_from(rows)
    }

    /// R2: one page of the user list and the total matching the filters.
    pub async fn list_users(&mut self, q: &UserQuery) -> Result<(Vec<User>, i64)> {
        let mut count = Sql::new("SELECT COUNT(*) FROM users u");
        push_user_filters(&mut count, q);
        let total: i64 = on!(self, c => bind_args!(sqlx::query_scalar(&count.text), count.args.clone()).fetch_one(c).await)?;

        let mut page = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users u"));
        push_user_filters(&mut page, q);
        let dir = if q.descending { "DESC" } else { "ASC" };
        let order = match q.sort {
            SortKey::Name => format!(" ORDER BY u.last_name_norm {dir}, u.first_name_norm {dir}, u.id {dir}"),
            SortKey::Email => format!(" ORDER BY u.email_norm {dir}, u.id {dir}"),
            SortKey::LastSignIn => format!(" ORDER BY u.last_sign_in_at {dir} NULLS LAST, u.id {dir}"),
        };
        page.push(&order).push(" LIMIT ").int(q.limit).push(" OFFSET ").int(q.offset);
        let rows: Vec<UserRow> = on!(self, c => bind_args!(sqlx::query_as(&page.text), page.args.clone()).fetch_all(c).await)?;
        Ok((users_from(rows)?, total))
    }

    /// Active users with `role`, other than `except`.
    pub async fn count_active_role(&mut self, role: Role, except: &UserId) -> Result<i64> {
        Ok(
            on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = $1 AND active = TRUE AND id <> $2")
            .bind(role.as_str()).bind(except.as_str()).fetch_one(c).await)?,
        )
    }

    pub async fn count_users(&mut self) -> Result<i64> {
        Ok(on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await)?)
    }
}

impl Tx {
    /// D7: what other records point at a user (kind and count), ignoring
    /// the user's own links, sessions, password history and mail.
    pub async fn user_references(&mut self, id: &UserId) -> Result<Vec<(&'static str, i64)>> {
        const CHECKS: &[(&str, &str)] = &[
            ("matter participant", "SELECT COUNT(*) FROM participants WHERE user_id = $1"),
            (
                "lead company person",
                "SELECT COUNT(*) FROM matters WHERE lead_company_person_id = $1",
            ),
            (
                "office coordinator",
                "SELECT COUNT(*) FROM offices WHERE coordinator_id = $1 OR backup_coordinator_id = $1",
            ),
            (
                "approver",
                "SELECT COUNT(*) FROM approval_route_levels WHERE primary_approver_id = $1 OR alternate_approver_id = $1",
            ),
            ("route delegate", "SELECT COUNT(*) FROM approval_route_delegates WHERE user_id = $1"),
            (
                "delegation",
                "SELECT COUNT(*) FROM delegations WHERE delegator_id = $1 OR delegate_id = $1",
            ),
            (
                "tracker coordinator",
                "SELECT COUNT(*) FROM settings WHERE tracker_coordinator_id = $1",
            ),
            ("audit actor", "SELECT COUNT(*) FROM audit_log WHERE actor_id = $1"),
        ];
        let mut found = Vec::new();
        for (kind, sql) in CHECKS {
            let n: i64 = on!(self, c => sqlx::query_scalar(sql).bind(id.as_str()).fetch_one(c).await)?;
            if n > 0 {
                found.push((*kind, n));
            }
        }
        Ok(found)
    }

    /// D7: removes a never-activated, unreferenced account and its own
    /// links, sessions, password history and mail. The caller checked.
    pub async fn purge_user(&mut self, id: &UserId) -> Result<()> {
        for sql in [
            "DELETE FROM sign_in_links WHERE user_id = $1",
            "DELETE FROM sessions WHERE user_id = $1",
            "DELETE FROM password_history WHERE user_id = $1",
            "DELETE FROM mail_outbox WHERE to_user_id = $1",
            "DELETE FROM users WHERE id = $1",
        ] {
            on!(self, c => sqlx::query(sql).bind(id.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
        }
        Ok(())
    }
}
