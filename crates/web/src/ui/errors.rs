//! How errors of the use cases become pages: error pages, and the
//! problems of a refused form shown next to its fields.

use super::page::*;
use app::{AppError, ErrorKind};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

pub use crate::error::status_of;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): sign in, then come back here.
    SignIn(String),
    App(AppError),
    Csrf,
    Bad(String),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e)
    }
}

pub type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout::bare(heading, String::new(), Vec::new()),
        heading: heading.to_owned(),
        message: message.to_owned(),
    };
    render(status, &page)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn(next) => {
                // S13: only a same-site path is carried to the sign-in page.
                let next = crate::redirect::same_site_path(Some(&next));
                let to = if next == "/" {
                    "/sign-in".to_owned()
                } else {
                    format!("/sign-in?next={}", url_encode(&next))
                };
                Redirect::to(&to).into_response()
            }
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from a current Tracker page (or your session changed). Go back, reload the page and try again.",
            ),
            PageError::Bad(msg) => error_page(StatusCode::BAD_REQUEST, "Something is wrong with this request", &msg),
            PageError::App(e) => match e.kind() {
                ErrorKind::Unauthorized => Redirect::to("/sign-in").into_response(),
                ErrorKind::NotFound => error_page(
                    StatusCode::NOT_FOUND,
                    "Page not found",
                    "There is nothing here, or it is outside what your role can see.",
                ),
                ErrorKind::Forbidden => error_page(StatusCode::FORBIDDEN, "Not allowed", &sentence(&e.message())),
                ErrorKind::Internal => {
                    tracing::error!(code = %e.code(), message = %e.message(), "page failed");
                    error_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "Something went wrong on our side; nothing was changed. Try again in a moment.",
                    )
                }
                kind => {
                    let mut resp = error_page(status_of(kind), "This could not be done", &sentence(&e.message()));
                    crate::error::retry_after(&mut resp, &e);
                    resp
                }
            },
        }
    }
}

/// Messages of the use cases start in lower case; pages show sentences.
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let mut out = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Problems of a refused form, by field, to show next to the inputs.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub summary: Option<String>,
    fields: HashMap<String, String>,
}

impl FormErrors {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn from_app(e: &AppError) -> Self {
        let mut fields = HashMap::new();
        if let AppError::Invalid(problems) = e {
            for p in problems {
                fields.entry(p.field.to_string()).or_insert_with(|| sentence(&p.message));
            }
        }
        if let Some(f) = e.field() {
            fields.entry(f.into_owned()).or_insert_with(|| sentence(&e.message()));
        }
        Self {
            summary: Some(sentence(&e.message())),
            fields,
        }
    }

    /// One problem found while reading the form (before any use case).
    pub fn field(field: &str, message: &str) -> Self {
        let mut fields = HashMap::new();
        fields.insert(field.to_owned(), sentence(message));
        Self {
            summary: Some("Please correct the marked fields.".into()),
            fields,
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }
}

/// A refused form comes back with its problems; errors a form cannot
/// help with (gone, outside scope, signed out, our fault) become pages.
pub fn form_problem(e: AppError) -> Result<(StatusCode, FormErrors), PageError> {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::Unauthorized | ErrorKind::Internal => Err(PageError::App(e)),
        kind => Ok((status_of(kind), FormErrors::from_app(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form of the shapes `templates/macros.html` writes.
    #[derive(Template)]
    #[template(
        ext = "html",
        source = r#"{% import "macros.html" as form %}
{% call form::input("email", "Email", errors.get("email"), "email", email, attrs = "required") %}{% endcall %}
{% call form::select("role", "Role", errors.get("role"), roles, empty = "— None —", hint = "Pick one.") %}{% endcall %}
{% call form::problem("levels", errors.get("levels")) %}{% endcall %}"#
    )]
    struct Form<'a> {
        errors: FormErrors,
        email: &'a str,
        roles: Vec<Choice>,
    }

    fn render(errors: FormErrors) -> String {
        let roles = vec![Choice::new("a", "A", false), Choice::new("b", "B", true)];
        Form {
            errors,
            email: "pat@<x>.example",
            roles,
        }
        .render()
        .unwrap()
    }

    #[test]
    fn a_field_with_a_problem_is_marked_and_tied_to_its_message() {
        let html = render(FormErrors::field("email", "that is not an email address"));
        assert!(html.contains(r#"<div class="field invalid">"#), "{html}");
        assert!(
            html.contains(r#"<input type="email" id="email" name="email" value="pat@&#60;x&#62;.example" aria-invalid="true" aria-describedby="email-error" required>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<p class="field-error" id="email-error">That is not an email address.</p>"#),
            "{html}"
        );
        // The other fields stay as they were.
        assert!(html.contains(r#"<select id="role" name="role">"#), "{html}");
        assert_eq!(html.matches("aria-invalid").count(), 1, "{html}");
    }

    #[test]
    fn fields_without_problems_keep_their_values_and_say_nothing() {
        let html = render(FormErrors::none());
        assert!(!html.contains("invalid"), "{html}");
        assert!(!html.contains("field-error"), "{html}");
        assert!(html.contains(r#"value="pat@&#60;x&#62;.example""#), "{html}");
        assert!(html.contains(r#"<label for="role">Role</label>"#), "{html}");
        assert!(html.contains(r#"<option value="">— None —</option>"#), "{html}");
        assert!(html.contains(r#"<option value="b" selected>B</option>"#), "{html}");
        assert!(html.contains(r#"<option value="a">A</option>"#), "{html}");
        assert!(html.contains(r#"<p class="hint">Pick one.</p>"#), "{html}");
    }

    #[test]
    fn a_groups_problem_is_shown_alone() {
        let html = render(FormErrors::field("levels", "add a level"));
        assert!(
            html.contains(r#"<p class="field-error" id="levels-error">Add a level.</p>"#),
            "{html}"
        );
        assert!(!html.contains("aria-invalid"), "{html}");
    }
}
