//! Who is acting, from where: every use case takes one.

use domain::access::Actor;
use domain::model::User;

#[derive(Debug, Clone)]
pub struct Ctx {
    /// `None` for the operator's command line and the system itself.
    pub actor: Option<Actor>,
    /// A readable name for the audit log: the actor's email, or "cli".
    pub label: String,
    pub source_ip: Option<String>,
}

impl Ctx {
    pub fn user(user: &User, source_ip: Option<String>) -> Self {
        Self {
            actor: Some(Actor {
                id: user.id.clone(),
                role: user.role,
                firm_id: user.firm_id.clone(),
                office_id: user.office_id.clone(),
            }),
            label: user.email.clone(),
            source_ip,
        }
    }

    /// The operator at the command line: outside every scope rule.
    pub fn operator() -> Self {
        Self {
            actor: None,
            label: "cli".into(),
            source_ip: None,
        }
    }

    /// Anonymous requests (sign-in, set password from a link).
    pub fn anonymous(source_ip: Option<String>) -> Self {
        Self {
            actor: None,
            label: "anonymous".into(),
            source_ip,
        }
    }

    pub fn actor_id(&self) -> Option<&domain::UserId> {
        self.actor.as_ref().map(|a| &a.id)
    }

    /// The signed-in actor, or 401 for anonymous and operator contexts.
    pub fn signed_in(&self) -> crate::AppResult<&Actor> {
        self.actor
            .as_ref()
            .ok_or_else(|| crate::AppError::unauthorized("not_signed_in", "sign in first"))
    }
}
