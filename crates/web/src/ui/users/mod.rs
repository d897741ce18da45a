//! Users: the user list (R2) with its two selectors and *Change view*
//! (`list`), the add-user forms with N1's hold checkbox (`new`), and
//! *Email new users* (N3, `onboarding`). The rows they share are here.

mod list;
mod new;
mod onboarding;

pub use list::list;
pub use new::{create, new_page};
pub use onboarding::{email_new_users, send_new_user_emails};

use super::page::{role_label, when};
use domain::model::{EmailStatus, User};
use domain::Side;

pub const PER_PAGE: i64 = 50;

/// The fields the add-user form and the profile form share, as typed.
#[derive(serde::Deserialize, Default, Clone)]
pub struct PersonFields {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
}

/// One row of the list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub role: &'static str,
    pub last_sign_in: String,
    pub active: bool,
    pub locked: bool,
    pub email_status: &'static str,
    pub email_title: String,
    /// Once the account is activated a never-needed email is no news.
    pub show_email: bool,
    /// O3: "leaves on …" when a deactivation is scheduled.
    pub leaves_on: String,
}

pub fn email_title(u: &User) -> String {
    let n = &u.new_user_email;
    match n.status {
        EmailStatus::Held if n.sent_at.is_none() => "New user email held: never sent".into(),
        EmailStatus::Held => format!("New user email last sent {}", when(n.sent_at)),
        EmailStatus::Queued => "New user email on its way".into(),
        EmailStatus::Sent => format!("New user email sent {} ({} time(s))", when(n.sent_at), n.send_count),
        EmailStatus::Failed => "The new user email could not be delivered".into(),
    }
}

/// One row; `firm` is the name of the user's firm.
fn row(u: &User, firm: Option<&str>, now: i64) -> Row {
    let organisation = match (&u.side, &u.firm_id) {
        (Side::Firm, Some(_)) => firm.unwrap_or("Firm").to_owned(),
        (Side::Firm, None) => "Firm".into(),
        (Side::Company, _) => "Company".into(),
    };
    Row {
        id: u.id.to_string(),
        name: format!("{}, {}", u.last_name, u.first_name),
        email: u.email.to_string(),
        organisation,
        role: role_label(u.role),
        last_sign_in: if u.last_sign_in_at.is_some() {
            when(u.last_sign_in_at)
        } else {
            "Never".into()
        },
        active: u.active,
        locked: u.is_locked(now),
        email_status: u.new_user_email.status.as_str(),
        email_title: email_title(u),
        show_email: u.activated_at.is_none() || u.new_user_email.status != EmailStatus::Held,
        leaves_on: String::new(),
    }
}
