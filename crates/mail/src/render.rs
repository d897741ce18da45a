//! What each kind of message says (N5, N6, M1, M2), as plain text and HTML.
//!
//! The templates live in `templates/`; askama escapes every value in the
//! `.html` ones and none in the `.txt` ones, so a name such as
//! `O'Brien <Legal>` reads the same in both and can never become markup.
//! The views below hold finished strings: deciding what to say (coordinator
//! or not, how long a link lasts) happens here, not in the templates.

use askama::Template;
use domain::{MatterRole, Millis};

/// A rendered message, ready to be put into an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Somebody to contact: the company's Tracker Coordinator (N6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contact {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInPurpose {
    /// N6: the first invitation (N1–N4).
    NewUser,
    /// N5: an administrator reset the user's access.
    Reset,
}

/// N5/N6: a message carrying a one-time sign-in link.
#[derive(Debug, Clone)]
pub(crate) struct SignInLetter {
    pub purpose: SignInPurpose,
    pub greeting: String,
    pub sign_in_id: String,
    pub company_name: String,
    pub link: String,
    pub valid_for: String,
    pub expires: String,
    pub coordinator: Option<Contact>,
}

/// M1: the recipient now takes part in a matter.
#[derive(Debug, Clone)]
pub(crate) struct MatterAdded {
    pub greeting: String,
    pub company_name: String,
    pub matter_name: String,
    pub matter_number: String,
    pub role: String,
    pub link: String,
}

/// DIR3: to a system administrator, the open offboarding items a
/// directory deactivation left.
#[derive(Debug, Clone)]
pub(crate) struct DirectoryDigest {
    pub greeting: String,
    pub company_name: String,
    pub user_name: String,
    pub user_email: String,
    pub items: Vec<String>,
    pub link: String,
}

#[derive(Template)]
#[template(path = "directory_digest.txt")]
struct DirectoryDigestText<'a> {
    v: &'a DirectoryDigest,
}

#[derive(Template)]
#[template(path = "directory_digest.html")]
struct DirectoryDigestHtml<'a> {
    v: &'a DirectoryDigest,
    subject: &'a str,
    company_name: &'a str,
}

impl DirectoryDigest {
    pub fn render(&self) -> askama::Result<Letter> {
        let subject = one_line(&format!(
            "{} left in the directory: {} open offboarding item(s)",
            self.user_name,
            self.items.len()
        ));
        let text = DirectoryDigestText { v: self }.render()?;
        let html = DirectoryDigestHtml {
            v: self,
            subject: &subject,
            company_name: &self.company_name,
        }
        .render()?;
        Ok(Letter { subject, text, html })
    }
}

/// M2: a matter was closed for editing, invoicing, or both.
#[derive(Debug, Clone)]
pub(crate) struct MatterClosed {
    pub greeting: String,
    pub company_name: String,
    pub matter_name: String,
    pub matter_number: String,
    pub closed_for: ClosedFor,
    /// Set when the recipient gets this as a delegate of a participant.
    pub on_behalf_of: Option<String>,
    pub link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosedFor {
    Editing,
    Invoicing,
    Both,
}

impl ClosedFor {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "editing" => Some(ClosedFor::Editing),
            "invoicing" => Some(ClosedFor::Invoicing),
            "editing and invoicing" => Some(ClosedFor::Both),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ClosedFor::Editing => "editing",
            ClosedFor::Invoicing => "invoicing",
            ClosedFor::Both => "editing and invoicing",
        }
    }

    fn stops_editing(self) -> bool {
        self != ClosedFor::Invoicing
    }

    fn stops_invoicing(self) -> bool {
        self != ClosedFor::Editing
    }
}

/// O2/O3: a list of responsibilities: the digest of what a successor took
/// over, or an alert to the system administrators about a scheduled
/// deactivation.
#[derive(Debug, Clone)]
pub(crate) struct Offboarding {
    pub greeting: String,
    pub company_name: String,
    pub subject: String,
    pub intro: String,
    pub lines: Vec<String>,
    /// Items beyond `lines`.
    pub more: i64,
    pub link: String,
}

#[derive(Template)]
#[template(path = "offboarding.txt")]
struct OffboardingText<'a> {
    v: &'a Offboarding,
}

#[derive(Template)]
#[template(path = "offboarding.html")]
struct OffboardingHtml<'a> {
    v: &'a Offboarding,
    subject: &'a str,
    company_name: &'a str,
}

impl Offboarding {
    pub fn render(&self) -> askama::Result<Letter> {
        let subject = one_line(&self.subject);
        let text = OffboardingText { v: self }.render()?;
        let html = OffboardingHtml {
            v: self,
            subject: &subject,
            company_name: &self.company_name,
        }
        .render()?;
        Ok(Letter { subject, text, html })
    }
}

#[derive(Template)]
#[template(path = "new_user_email.txt")]
struct NewUserText<'a> {
    v: &'a SignInLetter,
}

#[derive(Template)]
#[template(path = "new_user_email.html")]
struct NewUserHtml<'a> {
    v: &'a SignInLetter,
    subject: &'a str,
    company_name: &'a str,
}

#[derive(Template)]
#[template(path = "password_reset.txt")]
struct ResetText<'a> {
    v: &'a SignInLetter,
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetHtml<'a> {
    v: &'a SignInLetter,
    subject: &'a str,
    company_name: &'a str,
}

#[derive(Template)]
#[template(path = "matter_added.txt")]
struct MatterAddedText<'a> {
    v: &'a MatterAdded,
}

#[derive(Template)]
#[template(path = "matter_added.html")]
struct MatterAddedHtml<'a> {
    v: &'a MatterAdded,
    subject: &'a str,
    company_name: &'a str,
}

#[derive(Template)]
#[template(path = "matter_closed.txt")]
struct MatterClosedText<'a> {
    v: &'a MatterClosed,
    closed_for: &'a str,
    stops_editing: bool,
    stops_invoicing: bool,
}

#[derive(Template)]
#[template(path = "matter_closed.html")]
struct MatterClosedHtml<'a> {
    v: &'a MatterClosed,
    subject: &'a str,
    company_name: &'a str,
    closed_for: &'a str,
    stops_editing: bool,
    stops_invoicing: bool,
}

impl SignInLetter {
    pub fn render(&self) -> askama::Result<Letter> {
        let company_name = &self.company_name;
        let (subject, text, html) = match self.purpose {
            SignInPurpose::NewUser => {
                let subject = one_line(&format!("Your Tracker account at {company_name}: set your password"));
                let text = NewUserText { v: self }.render()?;
                let html = NewUserHtml {
                    v: self,
                    subject: &subject,
                    company_name,
                }
                .render()?;
                (subject, text, html)
            }
            SignInPurpose::Reset => {
                let subject = one_line(&format!("Your Tracker password at {company_name} was reset: choose a new one"));
                let text = ResetText { v: self }.render()?;
                let html = ResetHtml {
                    v: self,
                    subject: &subject,
                    company_name,
                }
                .render()?;
                (subject, text, html)
            }
        };
        Ok(Letter { subject, text, html })
    }
}

impl MatterAdded {
    pub fn render(&self) -> askama::Result<Letter> {
        let subject = one_line(&format!("You were added to matter {} ({})", self.matter_name, self.matter_number));
        let text = MatterAddedText { v: self }.render()?;
        let html = MatterAddedHtml {
            v: self,
            subject: &subject,
            company_name: &self.company_name,
        }
        .render()?;
        Ok(Letter { subject, text, html })
    }
}

impl MatterClosed {
    pub fn render(&self) -> askama::Result<Letter> {
        let closed_for = self.closed_for.as_str();
        let subject = one_line(&format!(
            "Matter {} ({}) closed for {closed_for}",
            self.matter_name, self.matter_number
        ));
        let (stops_editing, stops_invoicing) = (self.closed_for.stops_editing(), self.closed_for.stops_invoicing());
        let text = MatterClosedText {
            v: self,
            closed_for,
            stops_editing,
            stops_invoicing,
        }
        .render()?;
        let html = MatterClosedHtml {
            v: self,
            subject: &subject,
            company_name: &self.company_name,
            closed_for,
            stops_editing,
            stops_invoicing,
        }
        .render()?;
        Ok(Letter { subject, text, html })
    }
}

/// "Hello Ann," or, for an address without a user, "Hello,".
pub(crate) fn greeting(first_name: Option<&str>) -> String {
    match first_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("Hello {},", one_line(name)),
        None => "Hello,".to_owned(),
    }
}

/// The name of a matter role as people say it.
pub(crate) fn matter_role_label(role: &str) -> String {
    match MatterRole::parse(role) {
        Ok(MatterRole::MatterAdministrator) => "Matter administrator".into(),
        Ok(MatterRole::MatterEditor) => "Matter editor".into(),
        Ok(MatterRole::MatterReader) => "Matter reader".into(),
        Ok(MatterRole::BillingOnly) => "Billing only".into(),
        Ok(MatterRole::ReportOnly) => "Report only".into(),
        Err(_) => one_line(role),
    }
}

/// N6: how long a link lasts, in the unit a person would use.
pub(crate) fn valid_for(hours: i64) -> String {
    match hours {
        h if h > 0 && h % 24 == 0 => plural(h / 24, "day"),
        h => plural(h.max(1), "hour"),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A moment as "5 May 2026, 14:00 UTC": the recipient may be anywhere, so
/// the zone is said rather than guessed.
pub(crate) fn utc_text(at: Millis) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "an unknown date".into())
}

/// Header-safe text: line breaks and other control characters from names
/// typed by people become spaces, so a subject stays one header line.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        out.push(if ch.is_control() { ' ' } else { ch });
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
