//! N8: what the delivery worker records about the outcome of an attempt,
//! beside the outbox's own claim and `mark_mail_sent`.
//!
//! The outcome updates below only touch a message that is still held under
//! the caller's claim, named by the `claimed_until` that `claim_mail` set.
//! A change may cancel a message while the worker holds it (a reset
//! supersedes a queued new user email, a deactivation stops all mail, N7),
//! and a claim whose lease ran out may have passed to another worker; a
//! failed attempt must then neither bring the message back to `queued` nor
//! overwrite the other worker's claim. A successful attempt is still
//! recorded with `mark_mail_sent`, because the message was sent.

use crate::db::{exec, statement, Tx};
use crate::Result;
use domain::{Millis, UserId};

impl Tx {
    /// N8: the user's new user email (or reset link) was accepted for
    /// delivery: status `sent`, first-sent time kept, count up by one.
    pub async fn record_new_user_email_sent(&mut self, user: &UserId, now: Millis) -> Result<()> {
        statement!(
            RECORD_NEW_USER_EMAIL_SENT =
                "UPDATE users SET new_user_email_status = 'sent', new_user_email_sent_at = COALESCE(new_user_email_sent_at, $2), \
             new_user_email_count = new_user_email_count + 1, new_user_email_changed_at = $2 WHERE id = $1"
        );
        exec!(self, RECORD_NEW_USER_EMAIL_SENT, user.as_str(), now)?;
        Ok(())
    }

    /// N8: the user's new user email (or reset link) could not be delivered
    /// and will not be retried. The first-sent time and count stay: a user
    /// who once received it has still received it.
    pub async fn record_new_user_email_failed(&mut self, user: &UserId, now: Millis) -> Result<()> {
        statement!(
            RECORD_NEW_USER_EMAIL_FAILED =
                "UPDATE users SET new_user_email_status = 'failed', new_user_email_changed_at = $2 WHERE id = $1"
        );
        exec!(self, RECORD_NEW_USER_EMAIL_FAILED, user.as_str(), now)?;
        Ok(())
    }

    /// Puts a claimed message back in the queue for another attempt at
    /// `next_attempt_at`. `false` when the caller no longer holds it.
    pub async fn defer_claimed_mail(&mut self, id: i64, claimed_until: Millis, next_attempt_at: Millis, error: &str) -> Result<bool> {
        statement!(
            DEFER_CLAIMED_MAIL = "UPDATE mail_outbox SET status = 'queued', next_attempt_at = $3, claimed_until = NULL, last_error = $4 \
             WHERE id = $1 AND status = 'sending' AND claimed_until = $2"
        );
        let n = exec!(self, DEFER_CLAIMED_MAIL, id, claimed_until, next_attempt_at, error)?;
        Ok(n == 1)
    }

    /// Gives up on a claimed message for good. `false` when the caller no
    /// longer holds it.
    pub async fn fail_claimed_mail(&mut self, id: i64, claimed_until: Millis, error: &str) -> Result<bool> {
        statement!(
            FAIL_CLAIMED_MAIL = "UPDATE mail_outbox SET status = 'failed', claimed_until = NULL, last_error = $3 \
             WHERE id = $1 AND status = 'sending' AND claimed_until = $2"
        );
        let n = exec!(self, FAIL_CLAIMED_MAIL, id, claimed_until, error)?;
        Ok(n == 1)
    }

    /// Drops a claimed message without sending it (N7: its recipient is
    /// inactive), saying why in `last_error`. `false` when the caller no
    /// longer holds it.
    pub async fn cancel_claimed_mail(&mut self, id: i64, claimed_until: Millis, reason: &str) -> Result<bool> {
        statement!(
            CANCEL_CLAIMED_MAIL = "UPDATE mail_outbox SET status = 'cancelled', claimed_until = NULL, last_error = $3 \
             WHERE id = $1 AND status = 'sending' AND claimed_until = $2"
        );
        let n = exec!(self, CANCEL_CLAIMED_MAIL, id, claimed_until, reason)?;
        Ok(n == 1)
    }
}
