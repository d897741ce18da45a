//! N3: queueing the new user email for every user who never got it, as a
//! few set-based statements whatever the number of users.

use crate::db::{on, Tx};
use crate::sql::{bind_args, Sql};
use crate::users::{push_user_filters, Org, SortKey, Status, UserQuery};
use crate::{Dialect, Result};
use domain::access::UserScope;
use domain::Millis;

/// Who is queueing, for the audit rows written alongside.
pub struct Queuer<'a> {
    pub actor_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub source_ip: Option<&'a str>,
}

impl Tx {
    /// Queues the new user email for every user in `scope` who was never
    /// sent it, marks them `queued` and writes one audit row each, all in
    /// this transaction. Returns how many were queued.
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
        let n = filter.args.len();
        // Placeholders after the filter's own.
        let (p_now, p_actor, p_label, p_ip) = (
            format!("${}", n + 1),
            format!("${}", n + 2),
            format!("${}", n + 3),
            format!("${}", n + 4),
        );
        let mut args = filter.args.clone();
        args.push(crate::sql::Arg::Int(now));
        let audit_cols = "at, actor_id, actor_label, action, target_kind, target_id, before_json, after_json, source_ip";
        let audit_vals = format!(
            "{p_now}, {p_actor}, {p_label}, 'user.new_user_email_queued', 'user', u.id, \
             '{{\"new_user_email_status\": \"' || u.new_user_email_status || '\"}}', '{{\"new_user_email_status\": \"queued\"}}', {p_ip}"
        );
        let outbox_cols = "kind, to_user_id, to_address, payload, status, next_attempt_at, created_at";
        let outbox_vals = format!("'new_user_email', u.id, u.email, '{{}}', 'queued', {p_now}, {p_now}");
        let who_args = (
            who.actor_id.map(str::to_owned),
            who.actor_label.to_owned(),
            who.source_ip.map(str::to_owned),
        );
        self.audit_bulk_insert_begins().await?;
        let count = match self.dialect() {
            // One writer: the three statements see the same users.
            Dialect::Sqlite => {
                let filter_text = &filter.text;
                let stmts = [
                    format!("INSERT INTO mail_outbox ({outbox_cols}) SELECT {outbox_vals} FROM users u{filter_text}"),
                    format!("INSERT INTO audit_log ({audit_cols}) SELECT {audit_vals} FROM users u{filter_text}"),
                    format!("UPDATE users AS u SET new_user_email_status = 'queued', new_user_email_changed_at = {p_now}, updated_at = {p_now}{filter_text}"),
                ];
                let mut counts = Vec::new();
                for (i, sql) in stmts.iter().enumerate() {
                    let with_who = i == 1;
                    let n = on!(self, |c| {
                        let q = bind_args!(sqlx::query(sql), args.clone());
                        let q = if with_who {
                            q.bind(who_args.0.clone()).bind(who_args.1.clone()).bind(who_args.2.clone())
                        } else {
                            q
                        };
                        q.execute(c).await.map(|r| r.rows_affected())
                    })?;
                    counts.push(n);
                }
                counts[0] as i64
            }
            // One statement, one snapshot, rows locked as they are picked.
            Dialect::Postgres => {
                let filter_text = &filter.text;
                let sql = format!(
                    "WITH picked AS (SELECT u.id, u.email, u.new_user_email_status FROM users u{filter_text} FOR UPDATE), \
                     marked AS (UPDATE users SET new_user_email_status = 'queued', new_user_email_changed_at = {p_now}, updated_at = {p_now} \
                        FROM picked WHERE users.id = picked.id RETURNING users.id), \
                     audited AS (INSERT INTO audit_log ({audit_cols}) SELECT {audit_vals} FROM picked u) \
                     INSERT INTO mail_outbox ({outbox_cols}) SELECT {outbox_vals} FROM picked u"
                );
                let n = on!(self, |c| bind_args!(sqlx::query(&sql), args.clone())
                    .bind(who_args.0.clone())
                    .bind(who_args.1.clone())
                    .bind(who_args.2.clone())
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?;
                n as i64
            }
        };
        Ok(count)
    }
}
