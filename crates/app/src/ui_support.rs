//! Read-only use cases behind choosing and naming people: the picker
//! (`GET /api/v1/people`, and every picker of the pages), names for ids,
//! and what the set-password page shows before the form is sent. Nothing
//! here changes state.
//!
//! S14: a picker is authorized exactly like the use case that takes the
//! choice, and offers only people that use case could accept, so a page
//! that shows a picker reveals no more than the API does.

use crate::matters::{require_matter_admin, visible_matter};
use crate::offices::require_sysadmin;
use crate::users::subject;
use crate::{App, AppError, AppResult, Ctx};
use domain::access::UserScope;
use domain::deactivation::BlockingObject;
use domain::model::User;
use domain::password::PasswordPolicy;
use domain::secret::{hash_token, looks_like_token};
use domain::{Invalid, MatterId, Side, UserId};
use std::collections::HashMap;
use store::{Org, SortKey, Status, UserQuery};

/// The most people one picker answer holds.
pub const MAX_CHOICES: i64 = 500;
/// How many a picker answers when no limit is asked for.
pub const DEFAULT_CHOICES: i64 = 50;

/// A person as a picker or a table cell shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub side: Side,
}

impl From<&User> for Person {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            name: u.full_name(),
            email: u.email.to_string(),
            active: u.active,
            side: u.side,
        }
    }
}

/// What a picker chooses a person for; each is authorized like the use
/// case that takes the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Lead company person of a new matter (who may create matters), or of
    /// this matter (who may edit it).
    Lead(Option<MatterId>),
    /// Coordinator or backup coordinator of an office (who may edit offices).
    Coordinator,
    /// Primary or alternate approver of a route level (who may edit routes).
    Approver,
    /// Delegate on a route level: any active user (who may edit routes).
    RouteDelegate,
    /// The company's Tracker Coordinator (who may edit settings).
    TrackerCoordinator,
    /// Participant of this matter (who may add participants to it).
    Participant(MatterId),
    /// The caller's own delegate: their own organisation, without them.
    Delegate,
    /// A successor to this user's responsibilities (O4): who may offboard
    /// the user; active people within the caller's own scope, but the user.
    Successor(UserId),
}

/// A picker request: the purpose, an optional search (starts of first name,
/// last name or email, as the user list searches) and how many at most.
#[derive(Debug, Clone)]
pub struct PeopleQuery {
    pub purpose: Purpose,
    pub q: Option<String>,
    pub limit: i64,
}

impl PeopleQuery {
    pub fn new(purpose: Purpose) -> Self {
        Self {
            purpose,
            q: None,
            limit: DEFAULT_CHOICES,
        }
    }
}

/// A picker's answer, by last then first name; `more` when the limit cut
/// it short (narrow it with a search).
#[derive(Debug, Clone, Default)]
pub struct Picked {
    pub people: Vec<Person>,
    pub more: bool,
}

/// An open matter the user leads (D9's candidates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedMatter {
    pub id: String,
    pub name: String,
    pub number: String,
}

/// The most ids one page may ask names for.
const MAX_NAMED: usize = 1000;

impl App {
    /// S3: the policy the set-password page explains. Not a secret: shown
    /// before sign-in.
    #[tracing::instrument(name = "password_policy", skip_all)]
    pub async fn password_policy(&self) -> AppResult<PasswordPolicy> {
        Ok(self.current_settings().await?.password_policy)
    }

    /// The company's name, for page headers.
    #[tracing::instrument(name = "company_name", skip_all)]
    pub async fn company_name(&self) -> AppResult<String> {
        Ok(self.current_settings().await?.company_name.into_string())
    }

    /// N6: whether an emailed link can still set a password, answered with
    /// the same codes [`App::set_password_with_link`] gives, so that the
    /// page can say so before the person types a password.
    #[tracing::instrument(name = "check_link", skip_all)]
    pub async fn check_link(&self, token: &str) -> AppResult<()> {
        if !looks_like_token(token) {
            return Err(domain::links::LinkProblem::Invalid.into());
        }
        let mut tx = self.db.read().await?;
        crate::auth::usable_link(&mut tx, &hash_token(token), self.now()).await?;
        Ok(())
    }

    /// S14: the people a picker offers. Outside the consumer's scope the
    /// answer is its 404/403: a matter the caller cannot reach is 404, one
    /// they reach but may not add participants to is 403; company people
    /// (leads, coordinators, approvers, the Tracker Coordinator) are never
    /// offered to firm users.
    ///
    /// Who is offered is what the consumer accepts (SPEC §1): active company
    /// users for company people; active users for route delegates; for
    /// participants, active users — a firm-side matter administrator only
    /// their own firm's **(I)**; for delegates, the active users of the
    /// caller's side and firm but the caller.
    #[tracing::instrument(name = "people", skip_all)]
    pub async fn people(&self, ctx: &Ctx, query: &PeopleQuery) -> AppResult<Picked> {
        let actor = ctx.signed_in()?;
        if !(1..=MAX_CHOICES).contains(&query.limit) {
            return Err(Invalid::new("limit", "out_of_range", format!("limit must be between 1 and {MAX_CHOICES}")).into());
        }
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 100) {
            return Err(Invalid::new("q", "too_long", "q: at most 100 characters").into());
        }
        let company_side = actor.role.side() == Side::Company;
        let own_firm = || actor.firm_id.clone().map(UserScope::Firm).unwrap_or(UserScope::Nothing);
        let company_people = || {
            if company_side {
                Ok(())
            } else {
                Err(AppError::forbidden("firm users do not choose company people"))
            }
        };
        let mut tx = self.db.read().await?;
        let (scope, org) = match &query.purpose {
            Purpose::Lead(None) => {
                company_people()?;
                if !actor.role.may_create_matters() {
                    return Err(AppError::forbidden("your role does not create matters"));
                }
                (UserScope::All, Org::Company)
            }
            Purpose::Lead(Some(id)) => {
                let matter = tx.matter(id).await?.ok_or_else(|| AppError::not_found("matter"))?;
                require_matter_admin(&mut tx, actor, &matter).await?;
                company_people()?;
                (UserScope::All, Org::Company)
            }
            Purpose::Coordinator | Purpose::Approver | Purpose::TrackerCoordinator => {
                require_sysadmin(ctx)?;
                (UserScope::All, Org::Company)
            }
            Purpose::RouteDelegate => {
                require_sysadmin(ctx)?;
                (UserScope::All, Org::All)
            }
            Purpose::Participant(id) => {
                let matter = tx.matter(id).await?.ok_or_else(|| AppError::not_found("matter"))?;
                require_matter_admin(&mut tx, actor, &matter).await?;
                if company_side {
                    (UserScope::All, Org::All)
                } else {
                    (own_firm(), Org::All)
                }
            }
            Purpose::Successor(id) => {
                let leaving = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
                crate::users::require_manage(ctx, &leaving)?;
                (actor.user_scope(), Org::All)
            }
            Purpose::Delegate if company_side => (UserScope::All, Org::Company),
            Purpose::Delegate => (own_firm(), Org::All),
        };
        let exclude_self = query.purpose == Purpose::Delegate;
        let leaving = match &query.purpose {
            Purpose::Successor(id) => Some(id.clone()),
            _ => None,
        };
        // The checks above read their own snapshot; the people offered are
        // the list's, read as of now.
        drop(tx);
        // One more than asked tells whether there are more; one more again
        // makes up for the caller, who is left out of their own delegates.
        let users = self
            .db
            .list_users(&UserQuery {
                scope,
                org,
                status: Status::Active,
                q: q.map(str::to_owned),
                sort: SortKey::Name,
                descending: false,
                limit: query.limit + 2,
                offset: 0,
                after: None,
            })
            .await?
            .items;
        let mut people: Vec<Person> = users
            .iter()
            .filter(|u| !(exclude_self && u.id == actor.id) && leaving.as_ref() != Some(&u.id))
            .map(Person::from)
            .collect();
        let more = people.len() as i64 > query.limit;
        people.truncate(query.limit as usize);
        Ok(Picked { people, more })
    }

    /// Names for ids shown on a page (coordinators, approvers, the Tracker
    /// Coordinator, a chosen person): only people the caller could `GET`
    /// through the API (S7, S14); others are left out, as are ids that name
    /// nobody.
    #[tracing::instrument(name = "people_by_id", skip_all)]
    pub async fn people_by_id(&self, ctx: &Ctx, ids: &[UserId]) -> AppResult<HashMap<UserId, Person>> {
        let actor = ctx.signed_in()?;
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        if ids.len() > MAX_NAMED {
            return Err(Invalid::new("ids", "too_many", format!("at most {MAX_NAMED} people at once")).into());
        }
        let mut tx = self.db.read().await?;
        Ok(tx
            .users_by_ids(&ids)
            .await?
            .iter()
            .filter(|u| actor.can_see(subject(u)))
            .map(|u| (u.id.clone(), Person::from(u)))
            .collect())
    }

    /// The lead company persons of matters, for matters the caller can see:
    /// the lead is always a participant, so the matter's participant list
    /// already names them. Matters the caller cannot see are left out.
    #[tracing::instrument(name = "matter_leads", skip_all)]
    pub async fn matter_leads(&self, ctx: &Ctx, matters: &[MatterId]) -> AppResult<HashMap<MatterId, Person>> {
        let actor = ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        let mut out = HashMap::new();
        for id in matters {
            if out.contains_key(id) {
                continue;
            }
            let matter = match visible_matter(&mut tx, actor, id).await {
                Ok(m) => m,
                Err(AppError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if let Some(u) = tx.user(&matter.lead_company_person_id).await? {
                out.insert(id.clone(), Person::from(&u));
            }
        }
        Ok(out)
    }

    /// Whether the caller may edit this matter, answered as
    /// [`App::update_matter`] would refuse: 404 outside their reach, 403 for
    /// a participant who does not administer it.
    #[tracing::instrument(name = "matter_to_edit", skip_all)]
    pub async fn matter_to_edit(&self, ctx: &Ctx, id: &MatterId) -> AppResult<domain::model::Matter> {
        let actor = ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        let matter = visible_matter(&mut tx, actor, id).await?;
        require_matter_admin(&mut tx, actor, &matter).await?;
        Ok(matter)
    }

    /// Whether the caller administers users at all, answered as
    /// [`App::create_user`] and [`App::list_users`] refuse (403).
    pub fn require_user_administrator(&self, ctx: &Ctx) -> AppResult<()> {
        let actor = ctx.signed_in()?;
        if actor.role.is_user_administrator() {
            Ok(())
        } else {
            Err(AppError::forbidden("your role does not administer users"))
        }
    }

    /// D9's form is for who may run the bulk update: company system
    /// administrators (403 for anyone else, as the bulk update answers).
    pub fn require_bulk_update(&self, ctx: &Ctx) -> AppResult<()> {
        require_sysadmin(ctx)
    }

    /// D9: the open matters `user` leads, for the bulk update form
    /// (company system administrators, like the bulk update itself).
    #[tracing::instrument(name = "open_matters_led_by", skip_all)]
    pub async fn open_matters_led_by(&self, ctx: &Ctx, user: &UserId) -> AppResult<(Person, Vec<LedMatter>)> {
        let actor = ctx.signed_in()?;
        if !actor.is_system_administrator() {
            return Err(AppError::forbidden(
                "only company system administrators reassign lead company persons",
            ));
        }
        let mut tx = self.db.read().await?;
        let u = tx.user(user).await?.ok_or_else(|| AppError::not_found("user"))?;
        let facts = tx.deactivation_facts(&u).await?;
        let matters = facts
            .led_open_matters
            .into_iter()
            .filter_map(|m| match m {
                BlockingObject::Matter { id, name, number } => Some(LedMatter {
                    id,
                    name: name.into_string(),
                    number,
                }),
                _ => None,
            })
            .collect();
        Ok((Person::from(&u), matters))
    }
}
