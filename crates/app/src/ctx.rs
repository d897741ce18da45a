//! Who is acting, from where: every use case takes one.

use domain::access::Actor;
use domain::model::User;

/// The audit actor of a SCIM request is this prefix and the token's name.
pub const DIRECTORY_LABEL: &str = "scim:";

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
            label: user.email.to_string(),
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

    /// DIR2: the directory, acting through the SCIM token named `token_name`
    /// (the audit log's actor). Outside the administrators' scope rules;
    /// its writes are the directory's own (DIR3).
    pub fn directory(token_name: &str, source_ip: Option<String>) -> Self {
        Self {
            actor: None,
            label: format!("{DIRECTORY_LABEL}{token_name}"),
            source_ip,
        }
    }

    /// Whether the directory is acting (DIR3).
    pub fn is_directory(&self) -> bool {
        self.actor.is_none() && self.label.starts_with(DIRECTORY_LABEL)
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
