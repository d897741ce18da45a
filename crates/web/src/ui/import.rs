//! A3: the *Import users* page. The administrator uploads a CSV file (a
//! plain `multipart/form-data` form with `<input type=file>`); *Check* runs
//! the import as a dry run and shows the report as a table (row, field,
//! problem, code). When every row is valid the page offers *Import N
//! users*, whose form carries the checked text back, and applies it all or
//! nothing through the same use case as `POST /api/v1/users/import`.
//!
//! Progress: the forms work without JavaScript. With it, `/static/import.js`
//! sends them with `XMLHttpRequest`, shows the upload's progress, and while
//! the server checks or creates the rows polls `GET /users/import/progress`
//! for the rows done, under a random key the page put in the form.

use super::page::{ok, redirect_with, render, Flash, Layout, PageError, PageResult, Session};
use crate::api::exchange::{parse_import, IMPORT_MAX_BYTES};
use crate::extract::same;
use app::exchange::ImportProblem;
use app::App;
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// The most a posted import form may weigh: the largest file, and the text
/// of a checked file sent back on confirmation, with room for the fields.
pub const IMPORT_FORM_MAX_BYTES: usize = IMPORT_MAX_BYTES + 64 * 1024;

/// The one script of the pages: progress for the import forms.
pub const SCRIPT: &str = include_str!("../../static/import.js");

#[derive(Template)]
#[template(path = "users/import.html")]
struct ImportPage {
    layout: Layout,
    /// The checked file, carried by the confirmation form.
    csv: String,
    /// The uploaded file's name, as the browser gave it.
    file_name: String,
    /// A file-level problem (not CSV, missing columns, …).
    problem: Option<String>,
    /// Rows checked by the last dry run, if any.
    checked: Option<usize>,
    errors: Vec<ImportProblem>,
    /// A new key for the next import this page sends, for its progress.
    upload: String,
}

fn new_key() -> String {
    domain::secret::new_token().0
}

pub async fn page(State(app): State<App>, s: Session) -> PageResult {
    app.require_user_administrator(&s.ctx)?;
    Ok(ok(&ImportPage {
        layout: s.layout("Import users", "users"),
        csv: String::new(),
        file_name: String::new(),
        problem: None,
        checked: None,
        errors: Vec::new(),
        upload: new_key(),
    }))
}

/// What the import form posted.
#[derive(Default)]
struct ImportForm {
    csrf: String,
    /// `check` (dry run) or `apply`.
    action: String,
    /// The file chosen, or the text carried back for confirmation.
    file: Option<Vec<u8>>,
    file_name: String,
    csv: Option<String>,
    upload: String,
}

/// Reads the multipart form; a body that is not one is a bad request.
async fn read_form(mut m: Multipart) -> Result<ImportForm, PageError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PageError::Bad(format!("the file is larger than {} MiB", IMPORT_MAX_BYTES / (1024 * 1024)))
        } else {
            PageError::Bad(format!("the form could not be read: {}", e.body_text()))
        }
    };
    let mut f = ImportForm::default();
    while let Some(field) = m.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => f.csrf = field.text().await.map_err(bad)?,
            "action" => f.action = field.text().await.map_err(bad)?,
            "upload" => f.upload = field.text().await.map_err(bad)?,
            "csv" => f.csv = Some(field.text().await.map_err(bad)?),
            "file" => {
                f.file_name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(bad)?;
                // A form sent without choosing a file has an empty part.
                if !(bytes.is_empty() && f.file_name.is_empty()) {
                    f.file = Some(bytes.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

pub async fn submit(State(app): State<App>, s: Session, m: Multipart) -> PageResult {
    app.require_user_administrator(&s.ctx)?;
    let f = read_form(m).await?;
    if !same(&f.csrf, &s.csrf) {
        return Err(PageError::Csrf);
    }
    let dry_run = f.action != "apply";
    let file_name = f.file_name.clone();
    let shown = |csv: String, problem: Option<String>, checked: Option<usize>, errors: Vec<ImportProblem>| ImportPage {
        layout: s.layout("Import users", "users"),
        csv,
        file_name: file_name.clone(),
        problem,
        checked,
        errors,
        upload: new_key(),
    };
    let bytes = match (f.file, f.csv) {
        (Some(file), _) => file,
        (None, Some(text)) => text.into_bytes(),
        (None, None) => {
            let page = shown(String::new(), Some("choose a CSV file to import".into()), None, Vec::new());
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let rows = match parse_import(&bytes) {
        Ok(rows) => rows,
        Err(e) => {
            let page = shown(String::new(), Some(e.message()), None, Vec::new());
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    // parse_import has read the bytes as UTF-8.
    let csv = String::from_utf8(bytes).unwrap_or_default();
    let n = rows.len();
    let key = if f.upload.is_empty() { new_key() } else { f.upload };
    let report = app.import_users_followed(&s.ctx, &key, rows, dry_run).await?;
    if !dry_run && report.errors.is_empty() {
        return Ok(redirect_with(
            "/users",
            &[Flash::ok(format!("{} users were imported.", report.created))],
        ));
    }
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // A file with problems is not carried on: the administrator fixes it
    // and uploads it again.
    let carried = if report.errors.is_empty() { csv } else { String::new() };
    Ok(render(status, &shown(carried, None, Some(n), report.errors)))
}

#[derive(Deserialize)]
pub struct ProgressQuery {
    upload: String,
}

#[derive(Serialize)]
struct ProgressOut {
    /// `unknown` (not started here, or another process runs it),
    /// `checking` or `creating`.
    state: &'static str,
    total: usize,
    done: usize,
}

/// How far the import sent under `upload` has got, for the page's script.
pub async fn progress(State(app): State<App>, s: Session, Query(q): Query<ProgressQuery>) -> PageResult {
    let status = app.import_progress(&s.ctx, &q.upload).await?;
    let out = match status {
        None => ProgressOut {
            state: "unknown",
            total: 0,
            done: 0,
        },
        Some(p) if p.checked < p.total || p.created == 0 => ProgressOut {
            state: "checking",
            total: p.total,
            done: p.checked,
        },
        Some(p) => ProgressOut {
            state: "creating",
            total: p.total,
            done: p.created,
        },
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(out)).into_response())
}

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}
