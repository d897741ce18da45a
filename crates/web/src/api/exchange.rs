//! A2: CSV exports of the user list and the audit log. RFC 4180 (CRLF,
//! quotes doubled, a header row), UTF-8, streamed: each chunk of the body is
//! one keyset page read when the client wants it, so memory stays flat
//! whatever the number of rows. Cells that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-` or `@`) are prefixed with `'`.

use super::audit::{audit_filter, AuditQuery};
use super::users::{user_filter, UserListQuery};
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use crate::types::{ts, UserOut};
use app::audit::AuditFilter;
use app::users::UserFilter;
use app::{App, AppError, Page};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};

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

/// One CSV chunk: the rows, each already turned into cells.
fn chunk(rows: &[Vec<String>]) -> Result<Bytes, AppError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(64 * 1024));
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

fn user_row(u: &UserOut) -> Vec<String> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        u.id.clone(),
        u.email.clone(),
        u.first_name.clone(),
        u.last_name.clone(),
        u.side.clone(),
        opt(&u.firm_name),
        opt(&u.office_name),
        u.role.clone(),
        u.active.to_string(),
        opt(&u.activated_at),
        opt(&u.last_sign_in_at),
        u.new_user_email.status.clone(),
        u.created_at.clone(),
    ]
}

/// A2: the user list as CSV, with every selector and sort of `GET /users`
/// (`page`, `per_page` and `cursor` are ignored: the whole list comes).
#[utoipa::path(get, path = "/api/v1/users.csv", tag = "users", params(UserListQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "RFC 4180, UTF-8, with a header row."), (status = 403), (status = 422)))]
pub async fn users_csv(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<UserListQuery>) -> ApiResult<Response> {
    let (filter, _) = user_filter(&q)?;
    let filter = UserFilter { cursor: None, ..filter };
    app.begin_user_export(&caller.ctx, &filter).await?;
    let sync = app.directory_sync().await?;
    let header = chunk(&[USER_COLUMNS.iter().map(|c| c.to_string()).collect()])?;
    let ctx = caller.ctx;
    // State: the cursor of the next page, or None once the list is done.
    let pages = stream::try_unfold(Some(None::<String>), move |state| {
        let (app, ctx, filter) = (app.clone(), ctx.clone(), filter.clone());
        async move {
            let Some(cursor) = state else { return Ok(None) };
            let page = Page { page: 1, per_page: PAGE };
            let l = app.list_users(&ctx, UserFilter { cursor, ..filter }, page).await?;
            let now = app.now();
            let rows: Vec<Vec<String>> = l
                .items
                .iter()
                .zip(&l.org_names)
                .map(|(u, names)| {
                    let mut out = UserOut::new(u, now, sync);
                    out.firm_name = names.firm.clone();
                    out.office_name = names.office.clone();
                    user_row(&out)
                })
                .collect();
            let next = l.next.map(Some);
            Ok(Some((chunk(&rows)?, next)))
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
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "RFC 4180, UTF-8, with a header row."), (status = 403), (status = 422)))]
pub async fn audit_csv(State(app): State<App>, caller: Caller, ApiQuery(q): ApiQuery<AuditQuery>) -> ApiResult<Response> {
    let filter: AuditFilter = audit_filter(&q)?;
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
