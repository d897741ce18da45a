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
