//! Matters, participants and delegations.

use crate::db::{exec, fetch_all, fetch_optional, on, scalar_one, statement, Tx};
use crate::sql::{bind_args, push_in_list, Sql};
use crate::users::{users_from, UserRow, USER_COLUMNS};
use crate::{Result, StoreError};
use const_format::formatcp;
use domain::model::{Matter, Participant, User};
use domain::{MatterId, MatterRole, Millis, UserId};

const MATTER_COLUMNS: &str =
    "m.id, m.name, m.number, m.lead_company_person_id, m.open_for_editing, m.open_for_invoicing, m.created_at, m.updated_at";
statement!(MATTER = formatcp!("SELECT {MATTER_COLUMNS} FROM matters m WHERE m.id = $1"));

#[derive(sqlx::FromRow)]
struct MatterRow {
    id: String,
    name: String,
    number: String,
    lead_company_person_id: String,
    open_for_editing: bool,
    open_for_invoicing: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MatterRow> for Matter {
    type Error = StoreError;

    fn try_from(r: MatterRow) -> Result<Self> {
        Ok(Matter {
            name: crate::db::stored_name(format_args!("matter {}", r.id), "name", r.name)?,
            id: r.id.into(),
            number: r.number,
            lead_company_person_id: r.lead_company_person_id.into(),
            open_for_editing: r.open_for_editing,
            open_for_invoicing: r.open_for_invoicing,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Which matters a list shows.
#[derive(Debug, Clone)]
pub struct MatterQuery {
    /// `None`: every matter (a system administrator). `Some(user)`: the
    /// matters that user takes part in directly or through an active
    /// delegator.
    pub reachable_by: Option<UserId>,
    pub limit: i64,
    pub offset: i64,
}

/// A participant with the user facts a participant list shows.
#[derive(Debug, Clone)]
pub struct ParticipantView {
    pub participant: Participant,
    pub user: User,
}

const REACHABLE: &str = "SELECT p.matter_id FROM participants p WHERE p.user_id = $1 \
    UNION SELECT p.matter_id FROM delegations d JOIN users du ON du.id = d.delegator_id AND du.active = TRUE \
    JOIN participants p ON p.user_id = d.delegator_id WHERE d.delegate_id = $1";

impl Tx {
    pub async fn insert_matter(&mut self, m: &Matter) -> Result<()> {
        statement!(INSERT_MATTER = "INSERT INTO matters (id, name, number, number_norm, lead_company_person_id, open_for_editing, open_for_invoicing, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
        exec!(
            self,
            INSERT_MATTER,
            m.id.as_str(),
            m.name.as_str(),
            &m.number,
            m.number.to_lowercase(),
            m.lead_company_person_id.as_str(),
            m.open_for_editing,
            m.open_for_invoicing,
            m.created_at,
            m.updated_at
        )?;
        Ok(())
    }

    pub async fn update_matter(&mut self, m: &Matter) -> Result<()> {
        statement!(
            UPDATE_MATTER =
                "UPDATE matters SET name = $2, number = $3, number_norm = $4, lead_company_person_id = $5, open_for_editing = $6, \
            open_for_invoicing = $7, updated_at = $8 WHERE id = $1"
        );
        exec!(
            self,
            UPDATE_MATTER,
            m.id.as_str(),
            m.name.as_str(),
            &m.number,
            m.number.to_lowercase(),
            m.lead_company_person_id.as_str(),
            m.open_for_editing,
            m.open_for_invoicing,
            m.updated_at
        )?;
        Ok(())
    }

    pub async fn matter(&mut self, id: &MatterId) -> Result<Option<Matter>> {
        let row: Option<MatterRow> = fetch_optional!(self, MATTER, id.as_str())?;
        row.map(Matter::try_from).transpose()
    }

    /// Reads a matter and on PostgreSQL locks it for the transaction.
    pub async fn matter_for_update(&mut self, id: &MatterId) -> Result<Option<Matter>> {
        statement!(postgres MATTER_FOR_UPDATE = formatcp!("SELECT {MATTER_COLUMNS} FROM matters m WHERE m.id = $1 FOR NO KEY UPDATE"));
        let stmt = match self.dialect() {
            crate::Dialect::Sqlite => &MATTER,
            crate::Dialect::Postgres => &MATTER_FOR_UPDATE,
        };
        let row: Option<MatterRow> = fetch_optional!(self, stmt, id.as_str())?;
        row.map(Matter::try_from).transpose()
    }

    pub async fn matter_number_taken(&mut self, number: &str, except: Option<&MatterId>) -> Result<bool> {
        statement!(MATTER_NUMBER_TAKEN = "SELECT COUNT(*) FROM matters WHERE number_norm = $1 AND id <> $2");
        let n: i64 = scalar_one!(
            self,
            MATTER_NUMBER_TAKEN,
            number.to_lowercase(),
            except.map(|m| m.as_str()).unwrap_or("")
        )?;
        Ok(n > 0)
    }

    pub async fn list_matters(&mut self, q: &MatterQuery) -> Result<(Vec<Matter>, i64)> {
        let (rows, total): (Vec<MatterRow>, i64) = match &q.reachable_by {
            None => {
                statement!(COUNT_MATTERS = "SELECT COUNT(*) FROM matters");
                let total = scalar_one!(self, COUNT_MATTERS)?;
                statement!(MATTERS_PAGE = formatcp!("SELECT {MATTER_COLUMNS} FROM matters m ORDER BY m.name, m.id LIMIT $1 OFFSET $2"));
                (fetch_all!(self, MATTERS_PAGE, q.limit, q.offset)?, total)
            }
            Some(user) => {
                statement!(LIST_MATTERS_COUNT_ = formatcp!("SELECT COUNT(*) FROM ({REACHABLE}) r"));
                let total = scalar_one!(self, LIST_MATTERS_COUNT_, user.as_str())?;
                statement!(
                    REACHABLE_MATTERS_PAGE = formatcp!(
                        "SELECT {MATTER_COLUMNS} FROM matters m WHERE m.id IN ({REACHABLE}) ORDER BY m.name, m.id LIMIT $2 OFFSET $3"
                    )
                );
                (fetch_all!(self, REACHABLE_MATTERS_PAGE, user.as_str(), q.limit, q.offset)?, total)
            }
        };
        Ok((rows.into_iter().map(Matter::try_from).collect::<Result<_>>()?, total))
    }

    /// Whether `user` reaches `matter` directly or through an active delegator.
    pub async fn reaches_matter(&mut self, user: &UserId, matter: &MatterId) -> Result<bool> {
        statement!(REACHES_MATTER = formatcp!("SELECT COUNT(*) FROM ({REACHABLE}) r WHERE r.matter_id = $2"));
        let n: i64 = scalar_one!(self, REACHES_MATTER, user.as_str(), matter.as_str())?;
        Ok(n > 0)
    }

    pub async fn participant(&mut self, matter: &MatterId, user: &UserId) -> Result<Option<Participant>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            role: String,
            receives_notifications: bool,
            added_at: i64,
        }
        statement!(PARTICIPANT = "SELECT role, receives_notifications, added_at FROM participants WHERE matter_id = $1 AND user_id = $2");
        let row: Option<Row> = fetch_optional!(self, PARTICIPANT, matter.as_str(), user.as_str())?;
        row.map(|r| {
            Ok(Participant {
                matter_id: matter.clone(),
                user_id: user.clone(),
                role: MatterRole::parse(&r.role).map_err(|e| StoreError::Corrupt(e.message))?,
                receives_notifications: r.receives_notifications,
                added_at: r.added_at,
            })
        })
        .transpose()
    }

    /// Adds a participant or changes their role and notification flag.
    pub async fn upsert_participant(&mut self, p: &Participant) -> Result<()> {
        statement!(
            UPSERT_PARTICIPANT =
                "INSERT INTO participants (matter_id, user_id, role, receives_notifications, added_at) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (matter_id, user_id) DO UPDATE SET role = excluded.role, receives_notifications = excluded.receives_notifications"
        );
        exec!(
            self,
            UPSERT_PARTICIPANT,
            p.matter_id.as_str(),
            p.user_id.as_str(),
            p.role.as_str(),
            p.receives_notifications,
            p.added_at
        )?;
        Ok(())
    }

    pub async fn delete_participant(&mut self, matter: &MatterId, user: &UserId) -> Result<bool> {
        statement!(DELETE_PARTICIPANT = "DELETE FROM participants WHERE matter_id = $1 AND user_id = $2");
        let n = exec!(self, DELETE_PARTICIPANT, matter.as_str(), user.as_str())?;
        Ok(n > 0)
    }

    /// A matter's participants, deactivated users included (D2).
    pub async fn participants(&mut self, matter: &MatterId, limit: i64, offset: i64) -> Result<(Vec<ParticipantView>, i64)> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            p_role: String,
            p_receives_notifications: bool,
            p_added_at: i64,
        }
        statement!(COUNT_PARTICIPANTS = "SELECT COUNT(*) FROM participants WHERE matter_id = $1");
        let total: i64 = scalar_one!(self, COUNT_PARTICIPANTS, matter.as_str())?;
        statement!(
            PARTICIPANTS_PAGE = formatcp!(
                "SELECT {USER_COLUMNS}, p.role AS p_role, p.receives_notifications AS p_receives_notifications, p.added_at AS p_added_at \
             FROM participants p JOIN users u ON u.id = p.user_id WHERE p.matter_id = $1 \
             ORDER BY u.last_name_norm, u.first_name_norm, u.id LIMIT $2 OFFSET $3"
            )
        );
        let rows: Vec<Row> = fetch_all!(self, PARTICIPANTS_PAGE, matter.as_str(), limit, offset)?;
        let views = rows
            .into_iter()
            .map(|r| {
                let user: User = r.user.try_into()?;
                Ok(ParticipantView {
                    participant: Participant {
                        matter_id: matter.clone(),
                        user_id: user.id.clone(),
                        role: MatterRole::parse(&r.p_role).map_err(|e| StoreError::Corrupt(e.message))?,
                        receives_notifications: r.p_receives_notifications,
                        added_at: r.p_added_at,
                    },
                    user,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((views, total))
    }

    /// D9: makes `to` the lead company person of the open matters of `from`
    /// (all of them, or only those listed) and a matter administrator of
    /// each. Returns the matters changed.
    pub async fn reassign_lead(&mut self, from: &UserId, to: &UserId, only: Option<&[MatterId]>, now: Millis) -> Result<Vec<MatterId>> {
        // Set-based: a statement per thousand matters, not two per matter.
        let mut sql = Sql::new("UPDATE matters SET lead_company_person_id = ");
        sql.text(to.as_str()).push(", updated_at = ").int(now);
        sql.push(" WHERE lead_company_person_id = ").text(from.as_str());
        sql.push(" AND (open_for_editing OR open_for_invoicing)");
        if let Some(ids) = only {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            push_in_list(&mut sql, " AND id", ids.iter().map(|m| m.as_str()));
        }
        sql.push(" RETURNING id");
        let mut ids: Vec<String> = on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
            .fetch_all(c)
            .await)?;
        ids.sort();
        for chunk in ids.chunks(1000) {
            let mut ins = Sql::new("INSERT INTO participants (matter_id, user_id, role, receives_notifications, added_at) SELECT id, ");
            ins.text(to.as_str())
                .push(", 'matter_administrator', TRUE, ")
                .int(now)
                .push(" FROM matters");
            push_in_list(&mut ins, " WHERE id", chunk.iter().map(String::as_str));
            ins.push(" ON CONFLICT (matter_id, user_id) DO UPDATE SET role = 'matter_administrator'");
            on!(self, |c| bind_args!(sqlx::query(&ins.text), ins.args.clone())
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(ids.into_iter().map(MatterId::from).collect())
    }

    /// D9: which of `ids` are open matters led by `lead` (one statement).
    pub async fn open_matters_led_among(&mut self, lead: &UserId, ids: &[MatterId]) -> Result<Vec<MatterId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT id FROM matters WHERE lead_company_person_id = ");
        sql.text(lead.as_str()).push(" AND (open_for_editing OR open_for_invoicing)");
        push_in_list(&mut sql, " AND id", ids.iter().map(|m| m.as_str()));
        let found: Vec<String> = on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
            .fetch_all(c)
            .await)?;
        Ok(found.into_iter().map(MatterId::from).collect())
    }

    /// M2/M3: the active participants of a matter who receive notifications,
    /// and the active delegates of each of them (through active delegators
    /// only), each person once.
    pub async fn matter_notification_recipients(&mut self, matter: &MatterId) -> Result<Vec<User>> {
        statement!(
            MATTER_NOTIFICATION_RECIPIENTS = formatcp!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.active = TRUE AND u.id IN (\
             SELECT p.user_id FROM participants p WHERE p.matter_id = $1 AND p.receives_notifications = TRUE \
             UNION SELECT d.delegate_id FROM participants p JOIN users pu ON pu.id = p.user_id AND pu.active = TRUE \
             JOIN delegations d ON d.delegator_id = p.user_id WHERE p.matter_id = $1 AND p.receives_notifications = TRUE) \
             ORDER BY u.id"
            )
        );
        let rows: Vec<UserRow> = fetch_all!(self, MATTER_NOTIFICATION_RECIPIENTS, matter.as_str())?;
        users_from(rows)
    }

    /// Replaces the delegates of `delegator`.
    pub async fn set_delegates(&mut self, delegator: &UserId, delegates: &[UserId], now: Millis) -> Result<()> {
        statement!(CLEAR_DELEGATES = "DELETE FROM delegations WHERE delegator_id = $1");
        exec!(self, CLEAR_DELEGATES, delegator.as_str())?;
        for d in delegates {
            statement!(ADD_DELEGATE = "INSERT INTO delegations (delegator_id, delegate_id, created_at) VALUES ($1, $2, $3)");
            exec!(self, ADD_DELEGATE, delegator.as_str(), d.as_str(), now)?;
        }
        Ok(())
    }

    /// The users `delegator` has named as delegates, active or not.
    pub async fn delegates_of(&mut self, delegator: &UserId) -> Result<Vec<User>> {
        statement!(DELEGATES_OF = formatcp!("SELECT {USER_COLUMNS} FROM delegations d JOIN users u ON u.id = d.delegate_id WHERE d.delegator_id = $1 ORDER BY u.last_name_norm, u.first_name_norm, u.id"));
        let rows: Vec<UserRow> = fetch_all!(self, DELEGATES_OF, delegator.as_str())?;
        users_from(rows)
    }

    /// The users who have named `delegate` as their delegate, active or not.
    pub async fn delegators_of(&mut self, delegate: &UserId) -> Result<Vec<User>> {
        statement!(DELEGATORS_OF = formatcp!("SELECT {USER_COLUMNS} FROM delegations d JOIN users u ON u.id = d.delegator_id WHERE d.delegate_id = $1 ORDER BY u.last_name_norm, u.first_name_norm, u.id"));
        let rows: Vec<UserRow> = fetch_all!(self, DELEGATORS_OF, delegate.as_str())?;
        users_from(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> MatterRow {
        MatterRow {
            id: "m1".into(),
            name: name.into(),
            number: "2026-1".into(),
            lead_company_person_id: "u1".into(),
            open_for_editing: true,
            open_for_invoicing: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// A matter's stored name is a `domain::EntityName`; one the rule
    /// refuses is `Corrupt`, naming the matter and the column.
    #[test]
    fn a_stored_matter_name_is_parsed() {
        assert_eq!(Matter::try_from(row(" Smith v. Jones ")).unwrap().name, "Smith v. Jones");
        match Matter::try_from(row(&"x".repeat(201))) {
            Err(StoreError::Corrupt(m)) => assert_eq!(m, "matter m1: name: name has at most 200 characters"),
            other => panic!("{other:?}"),
        }
    }
}
