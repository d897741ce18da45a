//! Matters and their participants, with the notifications of SPEC §4a.

use crate::audit::record;
use crate::users::{active_company_user, active_user, lock_users_first, queue_new_user_email};
use crate::{App, AppError, AppResult, Ctx, Listing, Page};
use domain::access::Actor;
use domain::audit::AuditAction;
use domain::model::{EmailStatus, Matter, Participant, User};
use domain::{EntityName, Invalid, MatterId, MatterRole, Millis, ShortText, UserId};
use serde_json::json;
use store::{MatterAdded, MatterClosed, MatterQuery, OutboxPayload, ParticipantView, Tx};

#[derive(Debug, Clone, Default)]
pub struct MatterInput {
    pub name: Option<String>,
    pub number: Option<String>,
    pub lead_company_person_id: Option<String>,
    pub open_for_editing: Option<bool>,
    pub open_for_invoicing: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewParticipant {
    pub user_id: String,
    pub role: String,
    pub receives_notifications: bool,
}

fn matter_json(m: &Matter) -> serde_json::Value {
    json!({"name": m.name, "number": m.number, "lead_company_person_id": m.lead_company_person_id,
           "open_for_editing": m.open_for_editing, "open_for_invoicing": m.open_for_invoicing})
}

/// May the actor change this matter and its participants? System
/// administrators, and the matter's own matter administrators.
pub(crate) async fn require_matter_admin(tx: &mut Tx, actor: &Actor, matter: &Matter) -> AppResult<()> {
    if actor.is_system_administrator() {
        return Ok(());
    }
    match tx.participant(&matter.id, &actor.id).await? {
        Some(p) if p.role == MatterRole::MatterAdministrator => Ok(()),
        Some(_) => Err(AppError::forbidden("only the matter's administrators change it")),
        None if tx.reaches_matter(&actor.id, &matter.id).await? => Err(AppError::forbidden("only the matter's administrators change it")),
        None => Err(AppError::not_found("matter")),
    }
}

pub(crate) async fn visible_matter(tx: &mut Tx, actor: &Actor, id: &MatterId) -> AppResult<Matter> {
    let matter = tx.matter(id).await?.ok_or_else(|| AppError::not_found("matter"))?;
    if actor.is_system_administrator() || tx.reaches_matter(&actor.id, id).await? {
        Ok(matter)
    } else {
        Err(AppError::not_found("matter"))
    }
}

/// The lead company person is always a matter administrator of the matter.
async fn make_lead_administrator(tx: &mut Tx, matter: &MatterId, lead: &UserId, now: Millis) -> AppResult<()> {
    let receives = tx
        .participant(matter, lead)
        .await?
        .map(|p| p.receives_notifications)
        .unwrap_or(true);
    tx.upsert_participant(&Participant {
        matter_id: matter.clone(),
        user_id: lead.clone(),
        role: MatterRole::MatterAdministrator,
        receives_notifications: receives,
        added_at: now,
    })
    .await?;
    Ok(())
}

/// M1, or N2 instead when the user never got the new user email.
async fn notify_added(tx: &mut Tx, ctx: &Ctx, user: &mut User, matter: &Matter, role: MatterRole, now: Millis) -> AppResult<bool> {
    if user.new_user_email.sent_at.is_none() && user.activated_at.is_none() && user.new_user_email.status != EmailStatus::Queued {
        return queue_new_user_email(tx, ctx, user, now).await;
    }
    if user.new_user_email.status == EmailStatus::Queued {
        // Their welcome is on its way; it is the email that counts (N2).
        return Ok(false);
    }
    let payload = OutboxPayload::MatterAdded(MatterAdded {
        matter_id: matter.id.to_string(),
        matter_name: matter.name.to_string(),
        matter_number: matter.number.clone(),
        role: role.as_str().to_owned(),
    });
    tx.enqueue_mail(&payload, Some(&user.id), &user.email, now).await?;
    Ok(true)
}

/// M2: one email per person when a matter closes for editing or invoicing:
/// every active participant with notifications, and the active delegates of
/// each (M3: none through an inactive delegator). A recipient who is there
/// only as a delegate is told on whose behalf.
async fn notify_closed(tx: &mut Tx, matter: &Matter, closed_for: &str, now: Millis) -> AppResult<bool> {
    let recipients = tx.matter_notification_recipients(&matter.id).await?;
    if recipients.is_empty() {
        return Ok(false);
    }
    // The notified participants: active, with notifications on.
    let mut notified: Vec<User> = Vec::new();
    let mut offset = 0;
    loop {
        let (page, total) = tx.participants(&matter.id, 500, offset).await?;
        let n = page.len() as i64;
        notified.extend(
            page.into_iter()
                .filter(|p| p.participant.receives_notifications && p.user.active)
                .map(|p| p.user),
        );
        offset += n;
        if n == 0 || offset >= total {
            break;
        }
    }
    for u in &recipients {
        let on_behalf_of = if notified.iter().any(|p| p.id == u.id) {
            None
        } else {
            let names: Vec<String> = tx
                .delegators_of(&u.id)
                .await?
                .into_iter()
                .filter(|d| d.active && notified.iter().any(|p| p.id == d.id))
                .map(|d| d.full_name())
                .collect();
            (!names.is_empty()).then(|| names.join(", "))
        };
        let payload = OutboxPayload::MatterClosed(MatterClosed {
            matter_id: matter.id.to_string(),
            matter_name: matter.name.to_string(),
            matter_number: matter.number.clone(),
            closed_for: closed_for.to_owned(),
            on_behalf_of,
        });
        tx.enqueue_mail(&payload, Some(&u.id), &u.email, now).await?;
    }
    Ok(true)
}

impl App {
    #[tracing::instrument(name = "create_matter", skip_all)]
    pub async fn create_matter(&self, ctx: &Ctx, input: MatterInput) -> AppResult<Matter> {
        let actor = ctx.signed_in()?;
        if !actor.role.may_create_matters() {
            return Err(AppError::forbidden("your role does not create matters"));
        }
        let mut p = crate::error::Problems::new();
        let name = p.check(EntityName::parse("name", input.name.as_deref().unwrap_or("")));
        let number = p.check(ShortText::parse("number", input.number.as_deref().unwrap_or(""), 50));
        if input.lead_company_person_id.is_none() {
            p.push(Invalid::new(
                "lead_company_person_id",
                "required",
                "lead_company_person_id is required",
            ));
        }
        p.into_result()?;
        let (Some(name), Some(number)) = (name, number) else {
            return Err(AppError::internal("validation reported no problem but a field is missing"));
        };
        let now = self.now();
        let mut tx = self.db.write().await?;
        let mut lead = active_company_user(
            &mut tx,
            "lead_company_person_id",
            input.lead_company_person_id.as_deref().unwrap_or(""),
        )
        .await?;
        if tx.matter_number_taken(number.as_str(), None).await? {
            return Err(AppError::conflict(
                "matter_number_taken",
                format!("a matter numbered {} already exists", number.as_str()),
            )
            .on_field("number"));
        }
        let matter = Matter {
            id: MatterId::generate(),
            name,
            number: number.into_string(),
            lead_company_person_id: lead.id.clone(),
            open_for_editing: input.open_for_editing.unwrap_or(true),
            open_for_invoicing: input.open_for_invoicing.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        tx.insert_matter(&matter).await?;
        make_lead_administrator(&mut tx, &matter.id, &lead.id, now).await?;
        if actor.id != lead.id && !actor.is_system_administrator() {
            // A matter creator administers what they create.
            tx.upsert_participant(&Participant {
                matter_id: matter.id.clone(),
                user_id: actor.id.clone(),
                role: MatterRole::MatterAdministrator,
                receives_notifications: true,
                added_at: now,
            })
            .await?;
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::MatterCreated,
            Some(matter.id.as_str()),
            None,
            Some(matter_json(&matter)),
        )
        .await?;
        // The lead is added to the matter as its administrator: M1, or N2
        // when they were never sent the new user email. Not when they
        // create the matter themselves.
        let queued = actor.id != lead.id && notify_added(&mut tx, ctx, &mut lead, &matter, MatterRole::MatterAdministrator, now).await?;
        self.commit(tx, queued).await?;
        Ok(matter)
    }

    #[tracing::instrument(name = "update_matter", skip_all)]
    pub async fn update_matter(&self, ctx: &Ctx, id: &MatterId, input: MatterInput) -> AppResult<Matter> {
        let actor = ctx.signed_in()?;
        let mut p = crate::error::Problems::new();
        let name = input.name.as_deref().and_then(|n| p.check(EntityName::parse("name", n)));
        let number = input.number.as_deref().and_then(|n| p.check(ShortText::parse("number", n, 50)));
        p.into_result()?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order (as offboarding, office and route edits): the people a
        // change relies on — the lead now and the lead it names — then the
        // matter. The other order deadlocks with an offboarding on PostgreSQL.
        let mut named: Vec<String> = input.lead_company_person_id.iter().cloned().collect();
        if let Some(peek) = tx.matter(id).await? {
            named.push(peek.lead_company_person_id.to_string());
        }
        lock_users_first(&mut tx, named).await?;
        let mut matter = tx.matter_for_update(id).await?.ok_or_else(|| AppError::not_found("matter"))?;
        require_matter_admin(&mut tx, actor, &matter).await?;
        let before = matter.clone();
        if let Some(name) = name {
            matter.name = name;
        }
        if let Some(number) = number {
            if tx.matter_number_taken(number.as_str(), Some(id)).await? {
                return Err(AppError::conflict(
                    "matter_number_taken",
                    format!("a matter numbered {} already exists", number.as_str()),
                )
                .on_field("number"));
            }
            matter.number = number.into_string();
        }
        if let Some(e) = input.open_for_editing {
            matter.open_for_editing = e;
        }
        if let Some(i) = input.open_for_invoicing {
            matter.open_for_invoicing = i;
        }
        let mut new_lead = None;
        if let Some(lead) = &input.lead_company_person_id {
            let lead = active_company_user(&mut tx, "lead_company_person_id", lead).await?;
            matter.lead_company_person_id = lead.id.clone();
            new_lead = Some(lead);
        } else if matter.is_open() && !before.is_open() {
            // Reopening makes the lead responsible again: they must be active
            // (and stay so: the row is locked until commit).
            active_company_user(&mut tx, "lead_company_person_id", matter.lead_company_person_id.as_str()).await?;
        }
        if matter == before {
            return Ok(matter);
        }
        matter.updated_at = now;
        tx.update_matter(&matter).await?;
        let mut queued = false;
        if let Some(mut lead) = new_lead.filter(|l| l.id != before.lead_company_person_id) {
            let was_participant = tx.participant(&matter.id, &lead.id).await?.is_some();
            make_lead_administrator(&mut tx, &matter.id, &lead.id, now).await?;
            if !was_participant && lead.id != actor.id {
                // A new lead who was not on the matter is added to it (M1/N2).
                queued = notify_added(&mut tx, ctx, &mut lead, &matter, MatterRole::MatterAdministrator, now).await?;
            }
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::MatterUpdated,
            Some(matter.id.as_str()),
            Some(matter_json(&before)),
            Some(matter_json(&matter)),
        )
        .await?;
        let closed_editing = before.open_for_editing && !matter.open_for_editing;
        let closed_invoicing = before.open_for_invoicing && !matter.open_for_invoicing;
        let closed_for = match (closed_editing, closed_invoicing) {
            (true, true) => Some("editing and invoicing"),
            (true, false) => Some("editing"),
            (false, true) => Some("invoicing"),
            (false, false) => None,
        };
        if let Some(what) = closed_for {
            queued |= notify_closed(&mut tx, &matter, what, now).await?;
        }
        self.commit(tx, queued).await?;
        Ok(matter)
    }

    /// `GET /me/matters` (and `GET /matters`): every matter for a system
    /// administrator; otherwise direct participation and active delegators'.
    #[tracing::instrument(name = "list_matters", skip_all)]
    pub async fn list_matters(&self, ctx: &Ctx, page: Page) -> AppResult<Listing<Matter>> {
        let actor = ctx.signed_in()?;
        let reachable_by = if actor.is_system_administrator() {
            None
        } else {
            Some(actor.id.clone())
        };
        let mut tx = self.db.read().await?;
        let (items, total) = tx
            .list_matters(&MatterQuery {
                reachable_by,
                limit: page.per_page,
                offset: page.offset(),
            })
            .await?;
        Ok(Listing { items, total, page })
    }

    #[tracing::instrument(name = "matter", skip_all)]
    pub async fn matter(&self, ctx: &Ctx, id: &MatterId) -> AppResult<Matter> {
        let actor = ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        visible_matter(&mut tx, actor, id).await
    }

    #[tracing::instrument(name = "participants", skip_all)]
    pub async fn participants(&self, ctx: &Ctx, id: &MatterId, page: Page) -> AppResult<Listing<ParticipantView>> {
        let actor = ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        visible_matter(&mut tx, actor, id).await?;
        let (items, total) = tx.participants(id, page.per_page, page.offset()).await?;
        Ok(Listing { items, total, page })
    }

    /// Adds a participant or changes their role (D2: never an inactive
    /// user), emailing them per M1/N2.
    #[tracing::instrument(name = "add_participant", skip_all)]
    pub async fn add_participant(&self, ctx: &Ctx, id: &MatterId, input: NewParticipant) -> AppResult<Participant> {
        let actor = ctx.signed_in()?;
        let role = MatterRole::parse(&input.role)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order: the person, then the matter (see update_matter).
        lock_users_first(&mut tx, vec![input.user_id.clone()]).await?;
        let matter = tx.matter_for_update(id).await?.ok_or_else(|| AppError::not_found("matter"))?;
        require_matter_admin(&mut tx, actor, &matter).await?;
        let mut user = active_user(&mut tx, "user_id", &input.user_id).await?;
        if !role.allowed_for(user.side) {
            return Err(Invalid::new(
                "role",
                "role_not_allowed_for_side",
                format!("{role} is not a role for {} users", user.side),
            )
            .into());
        }
        if user.id == matter.lead_company_person_id && role != MatterRole::MatterAdministrator {
            return Err(AppError::conflict(
                "lead_must_be_administrator",
                "the lead company person is always a matter administrator of the matter",
            ));
        }
        let existing = tx.participant(id, &user.id).await?;
        let participant = Participant {
            matter_id: id.clone(),
            user_id: user.id.clone(),
            role,
            receives_notifications: input.receives_notifications,
            added_at: existing.as_ref().map(|p| p.added_at).unwrap_or(now),
        };
        tx.upsert_participant(&participant).await?;
        let before = existing
            .as_ref()
            .map(|p| json!({"role": p.role.as_str(), "receives_notifications": p.receives_notifications}));
        let action = if existing.is_some() {
            AuditAction::ParticipantUpdated
        } else {
            AuditAction::ParticipantAdded
        };
        record(
            &mut tx,
            ctx,
            now,
            action,
            Some(id.as_str()),
            before,
            Some(json!({"user_id": user.id, "role": role.as_str(), "receives_notifications": input.receives_notifications})),
        )
        .await?;
        let queued = existing.is_none() && notify_added(&mut tx, ctx, &mut user, &matter, role, now).await?;
        self.commit(tx, queued).await?;
        Ok(participant)
    }

    #[tracing::instrument(name = "remove_participant", skip_all)]
    pub async fn remove_participant(&self, ctx: &Ctx, id: &MatterId, user_id: &UserId) -> AppResult<()> {
        let actor = ctx.signed_in()?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order: the person, then the matter (see update_matter).
        lock_users_first(&mut tx, vec![user_id.to_string()]).await?;
        let matter = tx.matter_for_update(id).await?.ok_or_else(|| AppError::not_found("matter"))?;
        require_matter_admin(&mut tx, actor, &matter).await?;
        if &matter.lead_company_person_id == user_id {
            return Err(AppError::conflict(
                "lead_company_person",
                "the lead company person cannot be removed; assign another lead first",
            ));
        }
        if !tx.delete_participant(id, user_id).await? {
            return Err(AppError::not_found("participant"));
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::ParticipantRemoved,
            Some(id.as_str()),
            Some(json!({"user_id": user_id})),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
