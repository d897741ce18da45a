//! A3: the *Import users* page. The CSV is pasted (the pages work without
//! JavaScript, and a file input would need multipart forms): *Check* runs
//! the import as a dry run and shows every problem in a table; when there
//! is none, *Import N users* applies the same text, all or nothing, through
//! the same use case as `POST /api/v1/users/import`. Files beyond the form
//! size limit go through the API.

use super::page::{ok, redirect_with, render, Flash, Layout, PageResult, Posted, Session};
use crate::api::exchange::parse_import;
use app::exchange::ImportProblem;
use app::App;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "users/import.html")]
struct ImportPage {
    layout: Layout,
    csv: String,
    /// A file-level problem (not CSV, missing columns, …).
    problem: Option<String>,
    /// Rows checked by the last dry run, if any.
    checked: Option<usize>,
    errors: Vec<ImportProblem>,
}

pub async fn page(State(app): State<App>, s: Session) -> PageResult {
    app.require_user_administrator(&s.ctx)?;
    Ok(ok(&ImportPage {
        layout: s.layout("Import users", "users"),
        csv: "email,first_name,last_name,side,firm,office,role,hold_new_user_email\n".into(),
        problem: None,
        checked: None,
        errors: Vec::new(),
    }))
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csv: String,
    /// `check` (dry run) or `apply`.
    #[serde(default)]
    action: String,
}

pub async fn submit(State(app): State<App>, s: Session, Posted(f): Posted<ImportForm>) -> PageResult {
    app.require_user_administrator(&s.ctx)?;
    let dry_run = f.action != "apply";
    let rows = match parse_import(f.csv.as_bytes()) {
        Ok(rows) => rows,
        Err(e) => {
            let page = ImportPage {
                layout: s.layout("Import users", "users"),
                csv: f.csv,
                problem: Some(e.message()),
                checked: None,
                errors: Vec::new(),
            };
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let n = rows.len();
    let report = app.import_users(&s.ctx, rows, dry_run).await?;
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
    let page = ImportPage {
        layout: s.layout("Import users", "users"),
        csv: f.csv,
        problem: None,
        checked: Some(n),
        errors: report.errors,
    };
    Ok(render(status, &page))
}
