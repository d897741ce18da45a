//! Claiming due messages and making them ready to send, in one short
//! transaction before anything goes over the wire.
//!
//! A new user email or reset gets its fresh sign-in link here (N5, N6):
//! only the link's hash is stored, and the token exists nowhere but in the
//! message about to be sent. Each attempt gets its own link; the link of an
//! attempt that never reached the user is useless, since nobody knows its
//! token. Messages that must not or cannot be sent are settled in the same
//! transaction.

use crate::message::{compose, OutboxRef};
use crate::render::{
    greeting, matter_role_label, one_line, utc_text, valid_for, ClosedFor, Contact, Letter, MatterAdded, MatterClosed, Offboarding,
    SignInLetter, SignInPurpose,
};
use crate::transport::Transport;
use domain::links::LinkPurpose;
use domain::model::User;
use domain::secret::new_token;
use domain::{Millis, UserId};
use lettre::message::Mailbox;
use lettre::Message;
use store::{MailKind, OutboxMessage, OutboxPayload, StoreError, Tx};

/// A claimed message, composed and ready for the transport.
pub(crate) struct Job {
    pub row: OutboxMessage,
    pub kind: MailKind,
    /// The recipient whose new-user-email status this message moves
    /// (N8), for the two kinds that carry a sign-in link.
    pub tracked_user: Option<UserId>,
    /// Names this worker's claim; see `store::Tx::defer_claimed_mail`.
    pub claimed_until: Millis,
    pub message: Message,
}

/// A claimed message that is settled without sending.
pub(crate) enum Settled {
    /// N7: never emailed.
    Cancelled { row: OutboxMessage, reason: String },
    /// Cannot be sent, now or later.
    Failed { row: OutboxMessage, error: String },
    /// Changed by someone else since the claim; nothing recorded.
    Skipped { row: OutboxMessage },
}

/// What the company says in every message: its name and its Tracker
/// Coordinator (N6), read once per batch.
struct Company {
    name: String,
    link_ttl_hours: i64,
    coordinator: Option<Contact>,
}

/// Why one message will not be sent.
enum NotSent {
    Cancel(String),
    Fail(String),
}

pub(crate) struct Claim<'a> {
    pub transport: &'a Transport,
    pub public_url: &'a str,
    pub lease_ms: i64,
}

impl Claim<'_> {
    /// Claims up to `limit` due messages at `now` and prepares them. An
    /// error leaves nothing claimed: the whole transaction rolls back.
    pub async fn run(&self, tx: &mut Tx, now: Millis, limit: usize) -> Result<(Vec<Job>, Vec<Settled>), StoreError> {
        let rows = tx.claim_mail(now, self.lease_ms, limit as i64).await?;
        let (mut jobs, mut settled) = (Vec::with_capacity(rows.len()), Vec::new());
        if rows.is_empty() {
            return Ok((jobs, settled));
        }
        let claimed_until = now + self.lease_ms;
        let company = company(tx).await?;
        for row in rows {
            let kind = MailKind::parse(&row.kind).ok();
            let user = match &row.to_user_id {
                Some(id) => tx.user(&UserId::from(id.as_str())).await?,
                None => None,
            };
            let prepared = match kind {
                Some(kind) => self.prepare(tx, &company, kind, user.as_ref(), &row, now).await?.map(|m| (kind, m)),
                None => Err(NotSent::Fail(format!("unknown kind of message '{}'", row.kind))),
            };
            match prepared {
                Ok((kind, message)) => {
                    let tracked_user = user.filter(|_| carries_link(kind)).map(|u| u.id);
                    jobs.push(Job {
                        row,
                        kind,
                        tracked_user,
                        claimed_until,
                        message,
                    });
                }
                Err(NotSent::Cancel(reason)) => {
                    let done = tx.cancel_claimed_mail(row.id, claimed_until, &reason).await?;
                    settled.push(if done {
                        Settled::Cancelled { row, reason }
                    } else {
                        Settled::Skipped { row }
                    });
                }
                Err(NotSent::Fail(error)) => {
                    let done = tx.fail_claimed_mail(row.id, claimed_until, &error).await?;
                    if done && kind.is_some_and(carries_link) {
                        if let Some(user) = &user {
                            tx.record_new_user_email_failed(&user.id, now).await?;
                        }
                    }
                    settled.push(if done {
                        Settled::Failed { row, error }
                    } else {
                        Settled::Skipped { row }
                    });
                }
            }
        }
        Ok((jobs, settled))
    }

    async fn prepare(
        &self,
        tx: &mut Tx,
        company: &Company,
        kind: MailKind,
        user: Option<&User>,
        row: &OutboxMessage,
        now: Millis,
    ) -> Result<Result<Message, NotSent>, StoreError> {
        if let Some(id) = &row.to_user_id {
            match user {
                None => return Ok(Err(NotSent::Fail(format!("the recipient user {id} does not exist")))),
                Some(u) if !u.active => return Ok(Err(NotSent::Cancel("the recipient is inactive (N7)".into()))),
                Some(_) => {}
            }
        }
        // The user's current address and name, not those at the time of
        // queueing: a corrected typo in an address must take effect (D7).
        let address = user.map_or(row.to_address.as_str(), |u| u.email.as_str());
        let Ok(address) = address.trim().parse() else {
            return Ok(Err(NotSent::Fail(format!("'{address}' is not an email address"))));
        };
        let to = Mailbox::new(user.map(|u| one_line(&u.full_name())), address);
        let hello = greeting(user.map(|u| u.first_name.as_str()));
        let payload = match OutboxPayload::decode(&row.kind, &row.payload) {
            Ok(p) => p,
            Err(e) => return Ok(Err(NotSent::Fail(e))),
        };
        let letter = match payload {
            OutboxPayload::NewUserEmail | OutboxPayload::PasswordReset => {
                let Some(user) = user else {
                    return Ok(Err(NotSent::Fail("a sign-in link needs a recipient user".into())));
                };
                let (token, hash) = new_token();
                let expires_at = now + company.link_ttl_hours * 3_600_000;
                // S10: the link works only while the user keeps this address.
                let link_purpose = if kind == MailKind::NewUserEmail {
                    LinkPurpose::NewUserEmail
                } else {
                    LinkPurpose::PasswordReset
                };
                tx.insert_link(&hash, &user.id, &user.email, link_purpose, now, expires_at).await?;
                let purpose = if kind == MailKind::NewUserEmail {
                    SignInPurpose::NewUser
                } else {
                    SignInPurpose::Reset
                };
                SignInLetter {
                    purpose,
                    greeting: hello,
                    sign_in_id: user.email.to_string(),
                    company_name: company.name.clone(),
                    link: format!("{}/set-password?token={token}", self.public_url),
                    valid_for: valid_for(company.link_ttl_hours),
                    expires: utc_text(expires_at),
                    coordinator: company.coordinator.clone(),
                }
                .render()
            }
            OutboxPayload::MatterAdded(p) => MatterAdded {
                greeting: hello,
                company_name: company.name.clone(),
                link: self.matter_link(&p.matter_id),
                matter_name: p.matter_name,
                matter_number: p.matter_number,
                role: matter_role_label(&p.role),
            }
            .render(),
            OutboxPayload::DirectoryDigest(p) => crate::render::DirectoryDigest {
                greeting: hello,
                company_name: company.name.clone(),
                user_name: p.user_name,
                user_email: p.user_email,
                items: p.items,
                link: format!("{}/offboarding-items", self.public_url),
            }
            .render(),
            OutboxPayload::OffboardingDigest(p) => Offboarding {
                greeting: hello,
                company_name: company.name.clone(),
                subject: format!(
                    "You took over {} {} from {}",
                    p.total,
                    if p.total == 1 { "responsibility" } else { "responsibilities" },
                    p.leaving_user_name
                ),
                intro: format!(
                    "{} has left {} and you now hold these responsibilities in Tracker:",
                    one_line(&p.leaving_user_name),
                    company.name
                ),
                more: p.total - p.lines.len() as i64,
                lines: p.lines.iter().map(|l| one_line(l)).collect(),
                link: self.public_url.to_owned(),
            }
            .render(),
            OutboxPayload::OffboardingAlert(p) => {
                let name = one_line(&p.user_name);
                let when = utc_text(p.effective_at);
                let (subject, intro) = if p.alert == "reminder" {
                    (
                        format!("{name} leaves on {when}: responsibilities without a successor"),
                        format!("{name} is scheduled to be deactivated on {when}, but nobody takes over these responsibilities yet, so the deactivation will not happen:"),
                    )
                } else {
                    (
                        format!("The scheduled deactivation of {name} was not carried out"),
                        format!("{name} was to be deactivated on {when}. Nothing was changed, because:"),
                    )
                };
                Offboarding {
                    greeting: hello,
                    company_name: company.name.clone(),
                    subject,
                    intro,
                    more: 0,
                    lines: p.details.iter().map(|l| one_line(l)).collect(),
                    link: format!(
                        "{}/users/{}/offboard",
                        self.public_url,
                        percent_encoding::utf8_percent_encode(&p.user_id, PATH_SEGMENT)
                    ),
                }
                .render()
            }
            OutboxPayload::MatterClosed(p) => {
                let Some(closed_for) = ClosedFor::parse(&p.closed_for) else {
                    return Ok(Err(NotSent::Fail(format!(
                        "bad matter_closed payload: closed_for '{}'",
                        p.closed_for
                    ))));
                };
                MatterClosed {
                    greeting: hello,
                    company_name: company.name.clone(),
                    link: self.matter_link(&p.matter_id),
                    matter_name: p.matter_name,
                    matter_number: p.matter_number,
                    closed_for,
                    on_behalf_of: p.on_behalf_of.filter(|n| !n.trim().is_empty()),
                }
                .render()
            }
        };
        let letter: Letter = match letter {
            Ok(l) => l,
            Err(e) => return Ok(Err(NotSent::Fail(format!("cannot render the message: {e}")))),
        };
        let outbox = OutboxRef {
            id: row.id,
            created_at: row.created_at,
        };
        Ok(compose(outbox, self.transport.from(), to, &letter, now).map_err(|e| NotSent::Fail(e.to_string())))
    }

    fn matter_link(&self, matter_id: &str) -> String {
        let id = percent_encoding::utf8_percent_encode(matter_id, PATH_SEGMENT);
        format!("{}/matters/{id}", self.public_url)
    }
}

/// What to escape in one path segment: everything but RFC 3986's
/// unreserved characters, so that ids (UUIDs) stay readable in links.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The kinds whose delivery moves the user's new-user-email status (N8).
pub(crate) fn carries_link(kind: MailKind) -> bool {
    matches!(kind, MailKind::NewUserEmail | MailKind::PasswordReset)
}

async fn company(tx: &mut Tx) -> Result<Company, StoreError> {
    let settings = tx.settings().await?;
    let coordinator = match &settings.tracker_coordinator_id {
        Some(id) => tx.user(id).await?.filter(|u| u.active).map(|u| Contact {
            name: one_line(&u.full_name()),
            email: u.email.into_string(),
        }),
        None => None,
    };
    Ok(Company {
        name: one_line(&settings.company_name),
        link_ttl_hours: settings.link_ttl_hours,
        coordinator,
    })
}
