//! A2: CSV exports of the user list and the audit log. RFC 4180 (CRLF,
//! quotes doubled, a header row), UTF-8, streamed: each chunk of the body is
//! one keyset page read when the client wants it, so memory stays flat
//! whatever the number of rows. Cells that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-` or `@`) are prefixed with `'`.
//! A3: the user import, read with the same CSV crate.

use super::audit::{audit_filter, AuditExportQuery, AuditQuery};
use super::users::{user_filter, UserListQuery};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use crate::types::ts;
use app::audit::AuditFilter;
use app::exchange::ImportRow;
use app::users::UserFilter;
use app::{App, AppError};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::model::User;
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use store::RowExtras;
use utoipa::{IntoParams, ToSchema};

/// Rows read per page (and so per chunk of the body).
const PAGE: i64 = 500;

/// A2: a cell as written, with a leading formula character defused.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// RFC 4180: CRLF after each record, quotes where needed. The writer's
/// own buffer is copied into the chunk in a few large pieces.
fn csv_writer(out: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(64 * 1024)
        .from_writer(out)
}

/// One CSV chunk: the rows, each already turned into cells.
fn chunk(rows: &[Vec<String>]) -> Result<Bytes, AppError> {
    let mut w = csv_writer(Vec::with_capacity(64 * 1024));
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c).into_owned()))
            .map_err(|e| AppError::internal(format!("csv: {e}")))?;
    }
    let bytes = w.into_inner().map_err(|e| AppError::internal(format!("csv: {e}")))?;
    Ok(Bytes::from(bytes))
}

fn csv_response(filename: &str, body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8; header=present".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

const USER_COLUMNS: &[&str] = &[
    "id",
    "email",
    "first_name",
    "last_name",
    "side",
    "firm",
    "office",
    "role",
    "active",
    "activated_at",
    "last_sign_in_at",
    "new_user_email_status",
    "created_at",
];

/// Users read per page of an export (and so per chunk of the body): big
/// enough that statements and chunks are few, small enough that memory
/// stays a few megabytes.
const USER_PAGE: i64 = 2_000;

/// One chunk of the users export: each user's cells written straight into
/// the CSV buffer, as `GET /users` shows them.
fn user_chunk(users: &[User], names: &[RowExtras]) -> Result<Bytes, AppError> {
    let mut w = csv_writer(Vec::with_capacity(users.len() * 256));
    let csv_err = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    let time = |t: Option<i64>| t.map(ts).unwrap_or_default();
    for (u, n) in users.iter().zip(names) {
        let cells: [&str; 13] = [
            u.id.as_str(),
            &u.email,
            &u.first_name,
            &u.last_name,
            u.side.as_str(),
            n.firm.as_deref().unwrap_or(""),
            n.office.as_deref().unwrap_or(""),
            u.role.as_str(),
            if u.active { "true" } else { "false" },
            &time(u.activated_at),
            &time(u.last_sign_in_at),
            u.new_user_email.status.as_str(),
            &ts(u.created_at),
        ];
        for c in cells {
            w.write_field(csv_cell(c).as_bytes()).map_err(csv_err)?;
        }
        w.write_record(None::<&[u8]>).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| AppError::internal(format!("csv: {e}")))?;
    Ok(Bytes::from(bytes))
}

/// A2: the user list as CSV, with every selector and sort of `GET /users`
/// (`page`, `per_page` and `cursor` are ignored: the whole list comes).
#[utoipa::path(get, path = "/api/v1/users.csv", tag = "users", params(UserListQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "RFC 4180, UTF-8, with a header row."), (status = 403), (status = 422)))]
pub async fn users_csv(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<UserListQuery>) -> ApiResult<Response> {
    let (filter, _) = user_filter(&q)?;
    let filter = UserFilter { cursor: None, ..filter };
    app.begin_user_export(&caller.ctx, &filter).await?;
    let export = app.start_user_export(&caller.ctx, &filter).await?;
    let header = chunk(&[USER_COLUMNS.iter().map(|c| c.to_string()).collect()])?;
    let ctx = caller.ctx;
    // State: the export, None once it is done.
    let pages = stream::try_unfold(Some(export), move |state| {
        let (app, ctx) = (app.clone(), ctx.clone());
        async move {
            let Some(mut export) = state else { return Ok(None) };
            match app.user_export_page(&ctx, &mut export, USER_PAGE).await? {
                Some((users, names)) => Ok(Some((user_chunk(&users, &names)?, Some(export)))),
                None => Ok(None),
            }
        }
    });
    let body = with_header(header, pages);
    Ok(csv_response("users.csv", body))
}

const AUDIT_COLUMNS: &[&str] = &[
    "id",
    "at",
    "actor_id",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "before",
    "after",
    "source_ip",
];

/// A2: the audit log as CSV, newest first, filtered like `GET /audit`
/// (time range, actor, action, target); company system administrators.
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(AuditExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "RFC 4180, UTF-8, with a header row."), (status = 403), (status = 422)))]
pub async fn audit_csv(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<AuditExportQuery>) -> ApiResult<Response> {
    let filter: AuditFilter = audit_filter(&AuditQuery::from(q))?;
    app.begin_audit_export(&caller.ctx, &filter).await?;
    let header = chunk(&[AUDIT_COLUMNS.iter().map(|c| c.to_string()).collect()])?;
    let ctx = caller.ctx;
    // State: the id the next page starts below, None on the first page;
    // the outer None once the log is done.
    let pages = stream::try_unfold(Some(None::<i64>), move |state| {
        let (app, ctx, filter) = (app.clone(), ctx.clone(), filter.clone());
        async move {
            let Some(before) = state else { return Ok(None) };
            let items = app.audit_export_page(&ctx, &filter, before, PAGE).await?;
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|r| {
                    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
                    vec![
                        r.id.to_string(),
                        ts(r.at),
                        opt(&r.actor_id),
                        r.actor_label.clone(),
                        r.action.clone(),
                        r.target_kind.clone(),
                        opt(&r.target_id),
                        opt(&r.before_json),
                        opt(&r.after_json),
                        opt(&r.source_ip),
                    ]
                })
                .collect();
            let next = match items.last() {
                Some(last) if items.len() as i64 == PAGE => Some(Some(last.id)),
                _ => None,
            };
            Ok(Some((chunk(&rows)?, next)))
        }
    });
    let body = with_header(header, pages);
    Ok(csv_response("audit.csv", body))
}

/// The header chunk, then the pages. An error mid-way is logged and ends
/// the body early (the status line has gone): the client sees a broken
/// download, never a silently short file.
fn with_header(
    header: Bytes,
    pages: impl Stream<Item = Result<Bytes, AppError>> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    stream::once(async move { Ok(header) }).chain(pages).map(|r| {
        r.map_err(|e| {
            tracing::error!(error = %e.message(), "CSV export stopped");
            std::io::Error::other(e.message())
        })
    })
}

/// A3: the largest import file.
pub const IMPORT_MAX_BYTES: usize = 8 * 1024 * 1024;
/// A3: the most rows one import takes.
pub const IMPORT_MAX_ROWS: usize = 50_000;
/// A3: the columns of SPEC §5c; `hold_new_user_email` may be left out.
const IMPORT_COLUMNS: &[&str] = &["email", "first_name", "last_name", "side", "firm", "office", "role"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `true`: check every row and create nothing.
    pub dry_run: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportErrorOut {
    /// The row in a spreadsheet (the header is row 1).
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportOut {
    /// Users created: 0 for a dry run or when any row is invalid.
    pub created: usize,
    pub dry_run: bool,
    /// Rows in the file and rows without a problem.
    pub rows: usize,
    pub valid_rows: usize,
    pub errors: Vec<ImportErrorOut>,
}

/// A body that cannot be an import file at all (not CSV by its content
/// type, not UTF-8 text, too large): 400.
fn bad_file(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::bad_request(code, message)
}

/// UTF-8 text that is not a usable file (empty, not CSV, without the
/// columns, too many rows): 422 on `file`, like any other invalid value.
fn bad_content(code: &'static str, message: impl Into<String>) -> AppError {
    domain::Invalid::new("file", code, message).into()
}

/// A3: reads an import file into rows; a file that is not one answers a
/// clear 400 or 422 naming what is wrong, before any row is looked at.
pub fn parse_import(bytes: &[u8]) -> Result<Vec<ImportRow>, AppError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        bad_file(
            "not_utf8",
            format!("the file must be UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(bad_content(
            "empty_file",
            "the file is empty: it needs a header row and at least one user",
        ));
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad_content("invalid_csv", format!("the file is not CSV: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let missing: Vec<&str> = IMPORT_COLUMNS.iter().copied().filter(|c| !headers.iter().any(|h| h == c)).collect();
    if !missing.is_empty() {
        return Err(bad_content(
            "missing_columns",
            format!(
                "the header row lacks the column(s) {}; expected {}, hold_new_user_email",
                missing.join(", "),
                IMPORT_COLUMNS.join(", ")
            ),
        ));
    }
    let at = |name: &str| headers.iter().position(|h| h == name);
    let cols: Vec<Option<usize>> = IMPORT_COLUMNS.iter().chain(["hold_new_user_email"].iter()).map(|c| at(c)).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad_content("invalid_csv", format!("the file is not valid CSV: {e}")))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == IMPORT_MAX_ROWS {
            return Err(bad_content("too_many_rows", format!("at most {IMPORT_MAX_ROWS} users per file")));
        }
        let cell = |k: usize| cols[k].and_then(|c| record.get(c)).unwrap_or("").to_owned();
        rows.push(ImportRow {
            row: i + 2,
            email: cell(0),
            first_name: cell(1),
            last_name: cell(2),
            side: cell(3),
            firm: cell(4),
            office: cell(5),
            role: cell(6),
            hold_new_user_email: cell(7),
        });
    }
    if rows.is_empty() {
        return Err(bad_content("empty_file", "the file has a header row but no users"));
    }
    Ok(rows)
}

/// A3: creates users from a CSV file (`text/csv`, UTF-8, a header row with
/// `email, first_name, last_name, side, firm, office, role` and optionally
/// `hold_new_user_email`; firm and office by name). Every row is checked
/// like `POST /users`; with `dry_run=true`, or when any row has a problem,
/// nothing is created.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportOut, description = "Dry run: the report."),
        (status = 201, body = ImportOut, description = "Every user created."),
        (status = 400, description = "Not a file to read: not sent as text/csv, not UTF-8, or too large."),
        (status = 403), (status = 422, description = "An unusable file (`fields` names `file`: empty, not CSV, missing columns, too many rows), or some rows have problems and nothing was created: `fields` names each as `rows[N].field` (N as in a spreadsheet, the header is row 1). A dry run answers the same problems as its report.")))]
pub async fn import_users(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim().to_ascii_lowercase().starts_with("text/csv") {
        return Err(bad_file("not_csv", "send the file as text/csv").into());
    }
    let bytes = axum::body::to_bytes(body, IMPORT_MAX_BYTES).await.map_err(|_| {
        bad_file(
            "file_too_large",
            format!("the file is larger than {} MiB", IMPORT_MAX_BYTES / (1024 * 1024)),
        )
    })?;
    let rows = parse_import(&bytes)?;
    let n = rows.len();
    let dry_run = q.dry_run.unwrap_or(false);
    let report = app.import_users(&caller.ctx, rows, dry_run).await?;
    if !dry_run && !report.errors.is_empty() {
        // The error format of every refusal (SPEC §8), each problem on its
        // row's field; the dry run is where the report lives.
        let fields: Vec<serde_json::Value> = report
            .errors
            .iter()
            .map(|e| {
                let field = if e.field.is_empty() {
                    format!("rows[{}]", e.row)
                } else {
                    format!("rows[{}].{}", e.row, e.field)
                };
                serde_json::json!({"field": field, "code": e.code, "message": e.message})
            })
            .collect();
        let message = format!(
            "{} problem(s) in {} of {n} rows; nothing was created (a dry run lists them as a report)",
            report.errors.len(),
            n - report.valid_rows
        );
        let body = serde_json::json!({"error": {"code": "invalid_rows", "message": message, "fields": fields}});
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    let status = if dry_run { StatusCode::OK } else { StatusCode::CREATED };
    let out = ImportOut {
        created: report.created,
        dry_run,
        rows: n,
        valid_rows: report.valid_rows,
        errors: report
            .errors
            .into_iter()
            .map(|e| ImportErrorOut {
                row: e.row,
                field: e.field,
                code: e.code,
                message: e.message,
            })
            .collect(),
    };
    Ok((status, Json(out)).into_response())
}
