//! The `users` table: rows into entities, the writes a change owns, and
//! D7's purge. `query`: R2's selectors as SQL; `page`: the user list at
//! scale (SPEC §5e); `export`: A2's pages of every matching user.

mod export;
mod page;
mod query;
mod search;

pub use export::UserExport;
pub(crate) use page::{list_users_sqlite, search_in_one_statement, LIST_SETTINGS};
pub(crate) use query::{push_user_filters, NEVER_EMAILED_STATUSES};
pub use query::{Org, RowExtras, SortKey, Status, UserPage, UserQuery, SEARCH_COUNT_LIMIT};

use crate::db::{exec, fetch_optional, on, scalar_one, statement, Stmt, Tx};
use crate::sql::{bind_args, push_in_list, Sql};
use crate::{Result, StoreError};
use const_format::formatcp;
use domain::lockout::LockReason;
use domain::model::{EmailStatus, NewUserEmail, User};
use domain::text::fold;
use domain::{Email, FirmId, Millis, OfficeId, PersonName, Role, Side, UserId};

pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.first_name, u.last_name, u.side, u.firm_id, u.office_id, u.role, u.active, \
    u.activated_at, u.last_sign_in_at, u.created_at, u.updated_at, u.deactivated_at, u.new_user_email_status, \
    u.new_user_email_sent_at, u.new_user_email_count, u.new_user_email_changed_at, u.locked_until, u.lock_reason";
statement!(USER = formatcp!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"));

/// A `users` row.
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

impl UserRow {
    /// How many columns [`USER_COLUMNS`] names.
    pub(crate) const SQLITE_COLUMNS: usize = 20;

    /// The first [`Self::SQLITE_COLUMNS`] columns of a direct SQLite
    /// reader's row, in the order of [`USER_COLUMNS`].
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(UserRow {
            id: r.get(0)?,
            email: r.get(1)?,
            first_name: r.get(2)?,
            last_name: r.get(3)?,
            side: r.get(4)?,
            firm_id: r.get(5)?,
            office_id: r.get(6)?,
            role: r.get(7)?,
            active: r.get(8)?,
            activated_at: r.get(9)?,
            last_sign_in_at: r.get(10)?,
            created_at: r.get(11)?,
            updated_at: r.get(12)?,
            deactivated_at: r.get(13)?,
            new_user_email_status: r.get(14)?,
            new_user_email_sent_at: r.get(15)?,
            new_user_email_count: r.get(16)?,
            new_user_email_changed_at: r.get(17)?,
            locked_until: r.get(18)?,
            lock_reason: r.get(19)?,
        })
    }
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

/// The fields an administrator's edit changes (`PATCH /users/{id}`), as
/// validated values; the others stay as they are in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub email: Option<Email>,
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
                    .text(u.email.normalized());
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
            sql.push(", email_norm = ").text(email.normalized());
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
        let row: Option<UserRow> = fetch_optional!(self, USER_BY_EMAIL, Email::normalize(email))?;
        row.map(User::try_from).transpose()
    }

    /// Whether another user already has this sign-in id (case-insensitive).
    pub async fn email_taken(&mut self, email: &Email, except: Option<&UserId>) -> Result<bool> {
        statement!(EMAIL_TAKEN = "SELECT COUNT(*) FROM users WHERE email_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(self, EMAIL_TAKEN, email.normalized(), except.map(|u| u.as_str()).unwrap_or(""))?;
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
    /// links, sessions, password history and mail (a fanout's included).
    /// The caller checked.
    pub async fn purge_user(&mut self, id: &UserId) -> Result<()> {
        statement!(PURGE_SIGN_IN_LINKS = "DELETE FROM sign_in_links WHERE user_id = $1");
        statement!(PURGE_SESSIONS = "DELETE FROM sessions WHERE user_id = $1");
        statement!(PURGE_PASSWORD_HISTORY = "DELETE FROM password_history WHERE user_id = $1");
        statement!(PURGE_MAIL = "DELETE FROM mail_outbox WHERE to_user_id = $1");
        statement!(PURGE_USER = "DELETE FROM users WHERE id = $1");
        // A new user email still waiting in a fanout goes with its mail.
        self.leave_mail_fanout(id.as_str()).await?;
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

#[cfg(test)]
mod tests {
    /// A direct reader takes the user from the row's first columns: as
    /// many as `USER_COLUMNS` names.
    #[test]
    fn the_direct_readers_user_is_every_user_column() {
        assert_eq!(super::USER_COLUMNS.split(", ").count(), super::UserRow::SQLITE_COLUMNS);
    }

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
