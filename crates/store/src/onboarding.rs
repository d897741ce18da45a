//! N3: queueing the new user email for every user who never got it, as a
//! few set-based statements whatever the number of users: the users are
//! marked `queued` and named in one mail fanout (crate::fanout), and their
//! audit entries join the chain at commit.

use crate::audit::AuditEntry;
use crate::db::{on, Tx};
use crate::outbox::MailKind;
use crate::sql::{bind_args, Sql};
use crate::users::{push_user_filters, Org, SortKey, Status, UserQuery};
use crate::{Dialect, Result};
use domain::access::UserScope;
use domain::audit::AuditAction;
use domain::Millis;

/// Who is queueing, for the audit rows written alongside.
pub struct Queuer<'a> {
    pub actor_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub source_ip: Option<&'a str>,
}

impl Tx {
    /// Queues the new user email for every user in `scope` who was never
    /// sent it (one mail fanout naming them), marks them `queued` and
    /// writes one audit row each, all in this transaction. Returns how
    /// many were queued.
    pub async fn queue_all_pending_new_user_emails(&mut self, scope: &UserScope, who: &Queuer<'_>, now: Millis) -> Result<i64> {
        let q = UserQuery {
            scope: scope.clone(),
            org: Org::All,
            status: Status::NeverEmailed,
            q: None,
            sort: SortKey::Name,
            descending: false,
            limit: 0,
            offset: 0,
            after: None,
        };
        let mut filter = Sql::new("");
        push_user_filters(&mut filter, self.dialect(), &q);
        // One fanout row names them all; the mail worker writes their
        // outbox rows (crate::fanout).
        let fanout = self.open_mail_fanout(MailKind::NewUserEmail, now).await?;
        // The time's and the fanout's placeholders come after the filter's own.
        let (p_now, p_fanout) = (format!("${}", filter.args.len() + 1), format!("${}", filter.args.len() + 2));
        let mut args = filter.args.clone();
        args.extend([crate::sql::Arg::Int(now), crate::sql::Arg::Int(fanout)]);
        let filter_text = &filter.text;
        let mark = format!(
            "new_user_email_status = 'queued', new_user_email_changed_at = {p_now}, updated_at = {p_now}, new_user_email_fanout = {p_fanout}"
        );
        // The users queued, with the status each had (for its audit entry).
        let picked: Vec<(String, String)> = match self.dialect() {
            // One writer: the two statements see the same users.
            Dialect::Sqlite => {
                // One JSON value: the driver hands rows over one at a time.
                let select = format!("SELECT json_group_array(json_array(u.id, u.new_user_email_status)) FROM users u{filter_text}");
                let picked: String = on!(self, |c| bind_args!(sqlx::query_scalar(&select), filter.args.clone())
                    .fetch_one(c)
                    .await)?;
                let picked: Vec<(String, String)> =
                    serde_json::from_str(&picked).map_err(|e| crate::StoreError::Corrupt(format!("users to queue: {e}")))?;
                let update = format!("UPDATE users AS u SET {mark}{filter_text}");
                let n = on!(self, |c| bind_args!(sqlx::query(&update), args.clone())
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?;
                if n != picked.len() as u64 {
                    return Err(crate::StoreError::Corrupt(format!("{n} of {} users queued", picked.len())));
                }
                picked
            }
            // One statement: an UPDATE per status the users may have
            // (N3: held or failed), so each returns the status it replaced
            // without a SELECT … FOR UPDATE joined back to the table (a
            // third of the statement's time at 30,000 users, issue 12).
            // Each UPDATE locks and re-checks its rows as it marks them.
            Dialect::Postgres => {
                let marked: Vec<String> = crate::users::NEVER_EMAILED_STATUSES
                    .iter()
                    .map(|was| format!("(UPDATE users AS u SET {mark}{filter_text} AND u.new_user_email_status = '{was}' RETURNING u.id, '{was}'::TEXT AS was)"))
                    .enumerate()
                    .map(|(i, update)| format!("marked_{i} AS {update}"))
                    .collect();
                let all: Vec<String> = (0..marked.len()).map(|i| format!("SELECT id, was FROM marked_{i}")).collect();
                // The fanout names them here: no round trip of their ids.
                let sql = format!(
                    "WITH {}, picked AS ({}), \
                     named AS (UPDATE mail_fanout SET user_ids = COALESCE((SELECT json_agg(id) FROM picked)::TEXT, '[]'), \
                               total = (SELECT COUNT(*) FROM picked), pending = (SELECT COUNT(*) FROM picked) WHERE id = {p_fanout}) \
                     SELECT id, was FROM picked",
                    marked.join(", "),
                    all.join(" UNION ALL ")
                );
                on!(self, |c| bind_args!(sqlx::query_as(&sql), args.clone()).fetch_all(c).await)?
            }
        };
        if picked.is_empty() {
            self.drop_mail_fanout(fanout).await?;
        } else if self.dialect() == Dialect::Sqlite {
            let ids: Vec<&str> = picked.iter().map(|(id, _)| id.as_str()).collect();
            self.fill_mail_fanout(fanout, &ids).await?;
        }
        // Chained with the transaction's other entries at commit.
        let count = picked.len() as i64;
        // The same few texts for every entry, written once.
        let before_texts: Vec<(String, String)> = crate::users::NEVER_EMAILED_STATUSES
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    serde_json::json!({ "new_user_email_status": s.to_string() }).to_string(),
                )
            })
            .collect();
        let after_text = serde_json::json!({ "new_user_email_status": "queued" }).to_string();
        let before_text = |status: &str| {
            before_texts
                .iter()
                .find(|(s, _)| s == status)
                .map(|(_, text)| text.clone())
                .ok_or_else(|| crate::StoreError::Corrupt(format!("a user queued from status '{status}'")))
        };
        let entries = picked
            .into_iter()
            .map(|(id, status)| {
                Ok(AuditEntry {
                    at: now,
                    actor_id: who.actor_id.map(str::to_owned),
                    actor_label: who.actor_label.to_owned(),
                    action: AuditAction::UserNewUserEmailQueued.as_str().to_owned(),
                    target_kind: "user",
                    before: Some(before_text(&status)?),
                    target_id: Some(id),
                    after: Some(after_text.clone()),
                    source_ip: who.source_ip.map(str::to_owned),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.audit_many(entries).await?;
        Ok(count)
    }
}
