//! Read-only conveniences for the web pages: the lists that fill pickers,
//! names for ids, and what the set-password page shows before the form is
//! sent. Nothing here changes state; every rule stays in the use cases the
//! pages submit to.

use crate::{App, AppError, AppResult, Ctx};
use domain::access::UserScope;
use domain::deactivation::BlockingObject;
use domain::model::User;
use domain::password::PasswordPolicy;
use domain::secret::{hash_token, looks_like_token};
use domain::{Invalid, Side, UserId};
use std::collections::HashMap;
use store::{Org, SortKey, Status, UserQuery};

/// The most people a picker lists.
pub const MAX_CHOICES: i64 = 1000;

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
            email: u.email.clone(),
            active: u.active,
            side: u.side,
        }
    }
}

/// Which people a picker offers (all of them active).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Company users: leads, coordinators, approvers, the Tracker Coordinator.
    CompanyPeople,
    /// Anyone who can take part in a matter the caller can see: every
    /// active user for company-side callers, their own firm for firm users.
    MatterPeople,
    /// The caller's own organisation (side and firm), without the caller:
    /// delegates.
    Colleagues,
}

/// An open matter the user leads (D9's candidates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedMatter {
    pub id: String,
    pub name: String,
    pub number: String,
}

fn link_error(code: &'static str, msg: &str) -> AppError {
    AppError::invalid(vec![Invalid::new("token", code, msg.to_owned())])
}

impl App {
    /// S3: the policy the set-password page explains. Not a secret: shown
    /// before sign-in.
    pub async fn password_policy(&self) -> AppResult<PasswordPolicy> {
        let mut tx = self.db.read().await?;
        Ok(tx.settings().await?.password_policy)
    }

    /// The company's name, for page headers.
    pub async fn company_name(&self) -> AppResult<String> {
        let mut tx = self.db.read().await?;
        Ok(tx.settings().await?.company_name)
    }

    /// N6: whether an emailed link can still set a password, answered with
    /// the same codes [`App::set_password_with_link`] gives, so that the
    /// page can say so before the person types a password.
    pub async fn check_link(&self, token: &str) -> AppResult<()> {
        let invalid = "this sign-in link is not valid; ask your administrator for a new one";
        if !looks_like_token(token) {
            return Err(link_error("link_invalid", invalid));
        }
        let mut tx = self.db.read().await?;
        let link = tx
            .link(&hash_token(token))
            .await?
            .ok_or_else(|| link_error("link_invalid", invalid))?;
        let user = tx
            .user(&UserId::from(link.user_id.as_str()))
            .await?
            .ok_or_else(|| link_error("link_invalid", invalid))?;
        if link.used_at.is_some() {
            return Err(link_error(
                "link_used",
                "this sign-in link has already been used; ask your administrator for a new one",
            ));
        }
        if link.invalidated_at.is_some() || !user.active {
            return Err(link_error(
                "link_superseded",
                "this sign-in link was replaced by a newer one or withdrawn; use the newest email or ask for a new link",
            ));
        }
        if link.expires_at <= self.now() {
            return Err(link_error(
                "link_expired",
                "this sign-in link has expired; ask your administrator for a new one",
            ));
        }
        Ok(())
    }

    /// Active people for a picker, by last then first name.
    pub async fn people(&self, ctx: &Ctx, pick: Pick) -> AppResult<Vec<Person>> {
        let actor = ctx.signed_in()?;
        let company_side = actor.role.side() == Side::Company;
        let own_firm = || actor.firm_id.clone().map(UserScope::Firm).unwrap_or(UserScope::Nothing);
        let (scope, org) = match pick {
            Pick::CompanyPeople if company_side => (UserScope::All, Org::Company),
            Pick::CompanyPeople => return Err(AppError::forbidden("firm users do not choose company people")),
            Pick::MatterPeople if company_side => (UserScope::All, Org::All),
            Pick::MatterPeople => (own_firm(), Org::All),
            Pick::Colleagues if company_side => (UserScope::All, Org::Company),
            Pick::Colleagues => (own_firm(), Org::All),
        };
        let mut tx = self.db.read().await?;
        let (users, _) = tx
            .list_users(&UserQuery {
                scope,
                org,
                status: Status::Active,
                q: None,
                sort: SortKey::Name,
                descending: false,
                limit: MAX_CHOICES,
                offset: 0,
            })
            .await?;
        let exclude_self = pick == Pick::Colleagues;
        Ok(users
            .iter()
            .filter(|u| !(exclude_self && u.id == actor.id))
            .map(Person::from)
            .collect())
    }

    /// Names for ids shown on a page (leads, coordinators, approvers). Ids
    /// that name nobody are left out.
    pub async fn people_by_id(&self, ctx: &Ctx, ids: &[UserId]) -> AppResult<HashMap<UserId, Person>> {
        ctx.signed_in()?;
        let mut tx = self.db.read().await?;
        let mut out = HashMap::new();
        for id in ids {
            if out.contains_key(id) {
                continue;
            }
            if let Some(u) = tx.user(id).await? {
                out.insert(id.clone(), Person::from(&u));
            }
        }
        Ok(out)
    }

    /// D9: the open matters `user` leads, for the bulk update form
    /// (company system administrators, like the bulk update itself).
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
                BlockingObject::Matter { id, name, number } => Some(LedMatter { id, name, number }),
                _ => None,
            })
            .collect();
        Ok((Person::from(&u), matters))
    }
}
