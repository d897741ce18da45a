//! A2: exporting the user list and the audit log as CSV. The pages of an
//! export are read with the same use cases and scope as the lists; what is
//! here is the audit entry every export writes and the keyset pages of the
//! audit log. A3: importing users, every row checked like `POST /users`,
//! all created in one transaction or none.

use crate::audit::{record, AuditFilter};
use crate::users::{
    authorize_new_user, mark_queued, new_user_row, record_created, require_user_admin, user_query, NewUser, StatusFilter, UserFilter,
    ValidNewUser,
};
use crate::{App, AppError, AppResult, Ctx, Page};
use domain::audit::AuditAction;
use domain::model::{EmailStatus, User};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{AuditQuery, AuditRecord, OutboxPayload, RowExtras, UserExport};

impl App {
    /// A2: records that the caller exports the user list with these
    /// selectors; the rows then come page by page from `list_users`, so an
    /// export shows exactly what the list shows the caller (S7).
    #[tracing::instrument(name = "begin_user_export", skip_all)]
    pub async fn begin_user_export(&self, ctx: &Ctx, f: &UserFilter) -> AppResult<()> {
        require_user_admin(ctx)?;
        let status = match f.status {
            StatusFilter::Active => "active",
            StatusFilter::Inactive => "inactive",
            StatusFilter::All => "all",
            StatusFilter::Locked => "locked",
        };
        let params = json!({
            "org": format!("{:?}", f.org),
            "status": status,
            "q": f.q,
            "sort": format!("{:?}", f.sort),
            "descending": f.descending,
        });
        self.audit_export(ctx, AuditAction::UsersExported, params).await
    }

    /// A2: the export of the list `f` as the caller sees it (S7), from its
    /// first row whatever `f.cursor` says; read with
    /// [`App::user_export_page`].
    #[tracing::instrument(name = "start_user_export", skip_all)]
    pub async fn start_user_export(&self, ctx: &Ctx, f: &UserFilter) -> AppResult<UserExport> {
        let f = UserFilter { cursor: None, ..f.clone() };
        let query = user_query(ctx, &f, self.now(), Page { page: 1, per_page: 1 })?;
        let mut tx = self.db.read().await?;
        Ok(UserExport::start(&mut tx, query).await?)
    }

    /// A2: the next rows of `export` (at most `limit`) with their firm
    /// and office names, each page in a read transaction of its own;
    /// `None` once done.
    #[tracing::instrument(name = "user_export_page", skip_all)]
    pub async fn user_export_page(&self, ctx: &Ctx, export: &mut UserExport, limit: i64) -> AppResult<Option<(Vec<User>, Vec<RowExtras>)>> {
        require_user_admin(ctx)?;
        let mut tx = self.db.read().await?;
        Ok(export.next_page(&mut tx, limit).await?)
    }

    /// A2: records that the caller exports the audit log with this filter.
    #[tracing::instrument(name = "begin_audit_export", skip_all)]
    pub async fn begin_audit_export(&self, ctx: &Ctx, f: &AuditFilter) -> AppResult<()> {
        crate::audit::require_system_administrator(ctx)?;
        let params = json!({"actor_id": f.actor_id, "target_id": f.target_id, "action": f.action, "from": f.from, "to": f.to});
        self.audit_export(ctx, AuditAction::AuditExported, params).await
    }

    async fn audit_export(&self, ctx: &Ctx, action: AuditAction, params: serde_json::Value) -> AppResult<()> {
        let mut tx = self.db.write().await?;
        record(&mut tx, ctx, self.now(), action, None, None, Some(params)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A2: up to `limit` audit entries older than `before_id`, newest first.
    #[tracing::instrument(name = "audit_export_page", skip_all)]
    pub async fn audit_export_page(&self, ctx: &Ctx, f: &AuditFilter, before_id: Option<i64>, limit: i64) -> AppResult<Vec<AuditRecord>> {
        crate::audit::require_system_administrator(ctx)?;
        if limit < 1 {
            return Err(AppError::bad_request("invalid_query", "limit: at least 1"));
        }
        let mut tx = self.db.read().await?;
        Ok(tx
            .audit_page(&AuditQuery {
                actor_id: f.actor_id.clone(),
                target_id: f.target_id.clone(),
                action: f.action.clone(),
                from: f.from,
                to: f.to,
                limit,
                offset: 0,
                before_id,
            })
            .await?)
    }
}

/// A3: one data row of an import, as read from the file (firm and office
/// by name). `row` is its line in a spreadsheet: the header is row 1.
#[derive(Debug, Clone, Default)]
pub struct ImportRow {
    pub row: usize,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub side: String,
    pub firm: String,
    pub office: String,
    pub role: String,
    pub hold_new_user_email: String,
}

/// A3: what is wrong with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// A3: how many users were created (0 for a dry run or when any row is
/// invalid), how many rows are valid, and every problem.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub created: usize,
    pub valid_rows: usize,
    pub errors: Vec<ImportProblem>,
}

fn problem(row: usize, field: &str, code: &str, message: impl Into<String>) -> ImportProblem {
    ImportProblem {
        row,
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.into(),
    }
}

/// The problems `POST /users` would answer for this row, as row errors.
fn row_problems(row: usize, e: AppError) -> Vec<ImportProblem> {
    match e {
        AppError::Invalid(list) => list
            .into_iter()
            .map(|i| {
                // The file names firms and offices, not their ids.
                let field = match i.field.as_ref() {
                    "firm_id" => "firm",
                    "office_id" => "office",
                    f => f,
                };
                problem(row, field, i.code, i.message)
            })
            .collect(),
        // S7: a firm outside the caller's scope is as unknown as a missing one.
        AppError::NotFound { .. } => vec![problem(row, "firm", "unknown_firm", "no firm of that name")],
        AppError::Forbidden { message, .. } => vec![problem(row, "role", "role_not_allowed", message)],
        other => vec![problem(row, "", &other.code(), other.message())],
    }
}

fn hold(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Some(false),
        "true" | "yes" | "1" => Some(true),
        _ => None,
    }
}

impl App {
    /// A3: checks every row with the rules of `POST /users` (valid fields,
    /// a role, firm and office the caller may give — S7 —, an email neither
    /// taken nor repeated in the file, firm and office known by name), then,
    /// unless `dry_run` or any row is invalid, creates every user in one
    /// transaction with its audit entry and its N1 email (queued, or held
    /// as the row says). All or nothing.
    #[tracing::instrument(name = "import_users", skip_all)]
    pub async fn import_users(&self, ctx: &Ctx, rows: Vec<ImportRow>, dry_run: bool) -> AppResult<ImportReport> {
        self.import_users_tracked(ctx, rows, dry_run, &ImportProgress::default()).await
    }

    /// [`App::import_users`], counting checked and created rows in
    /// `progress` as it goes (the *Import users* page's progress bar).
    #[tracing::instrument(name = "import_users_tracked", skip_all)]
    pub async fn import_users_tracked(
        &self,
        ctx: &Ctx,
        rows: Vec<ImportRow>,
        dry_run: bool,
        progress: &ImportProgress,
    ) -> AppResult<ImportReport> {
        require_user_admin(ctx)?;
        progress.total.store(rows.len(), Ordering::Relaxed);
        let now = self.now();
        let mut tx = self.db.write().await?;
        let firms: HashMap<String, String> = tx
            .list_firms(None, i64::MAX / 2, 0)
            .await?
            .0
            .into_iter()
            .map(|f| (f.name.to_lowercase(), f.id.to_string()))
            .collect();
        let offices: HashMap<String, String> = tx
            .list_offices(None, i64::MAX / 2, 0)
            .await?
            .0
            .into_iter()
            .map(|o| (o.name.to_lowercase(), o.id.to_string()))
            .collect();
        let mut errors = Vec::new();
        let mut seen = HashMap::new();
        let mut valid = Vec::with_capacity(rows.len());
        // A chunk of rows at a time: each row checked on its own, then one
        // statement finds which of the chunk's emails are taken.
        for chunk in rows.chunks(IMPORT_CHUNK) {
            let mut checked = Vec::with_capacity(chunk.len());
            for r in chunk {
                checked.push(check_row(ctx, r, &firms, &offices, &mut seen));
            }
            let emails: Vec<&domain::Email> = checked.iter().filter_map(|c| c.candidate.as_ref().map(|(v, _)| &v.email)).collect();
            let taken = tx.taken_emails(&emails).await?;
            for (r, mut c) in chunk.iter().zip(checked) {
                if let Some((v, hold)) = c.candidate {
                    let email = &v.email;
                    if taken.contains(&email.normalized()) {
                        c.problems
                            .push(problem(r.row, "email", "email_taken", format!("{email} already has an account")));
                    } else if c.problems.is_empty() {
                        valid.push((v, hold));
                    }
                }
                errors.extend(c.problems);
            }
            progress.checked.fetch_add(chunk.len(), Ordering::Relaxed);
        }
        let valid_rows = valid.len();
        if dry_run || !errors.is_empty() {
            // Nothing written: dropping the transaction rolls it back.
            return Ok(ImportReport {
                created: 0,
                valid_rows,
                errors,
            });
        }
        // Firms, offices and emails were checked above in this transaction.
        // A chunk at a time: its users in multi-row inserts, their audit
        // entries in row order (created, then queued unless held: what
        // `POST /users` records, chained at commit), then the N1 messages.
        let mut queued_any = false;
        let mut valid = valid.into_iter();
        loop {
            let chunk: Vec<(ValidNewUser, bool)> = valid.by_ref().take(IMPORT_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let mut users = Vec::with_capacity(chunk.len());
            for (v, hold) in chunk {
                let mut user = new_user_row(v, now);
                record_created(&mut tx, ctx, &user, hold, now).await?;
                // N1: sent at once unless held; the row is written queued.
                if !hold {
                    mark_queued(&mut tx, ctx, &mut user, now).await?;
                }
                users.push(user);
            }
            tx.insert_users(&users).await?;
            let to: Vec<(&domain::UserId, &str)> = users
                .iter()
                .filter(|u| u.new_user_email.status == EmailStatus::Queued)
                .map(|u| (&u.id, u.email.as_str()))
                .collect();
            tx.enqueue_mails(&OutboxPayload::NewUserEmail, &to, now).await?;
            queued_any |= !to.is_empty();
            progress.created.fetch_add(users.len(), Ordering::Relaxed);
        }
        self.commit(tx, queued_any).await?;
        Ok(ImportReport {
            created: valid_rows,
            valid_rows,
            errors,
        })
    }
}

/// Rows checked, and created, per step of an import: one statement finds
/// the taken emails of a chunk, a few write its users and their messages.
const IMPORT_CHUNK: usize = 500;

/// One row as far as it can be checked on its own.
struct CheckedRow {
    problems: Vec<ImportProblem>,
    /// The user, once authorized and not a repeat in the file: still to be
    /// checked against the emails already taken.
    candidate: Option<(ValidNewUser, bool)>,
}

/// Checks one row (fields, firm and office by name, S7 via
/// `authorize_new_user`, repeats in the file), all but whether its email is
/// taken.
fn check_row(
    ctx: &Ctx,
    r: &ImportRow,
    firms: &HashMap<String, String>,
    offices: &HashMap<String, String>,
    seen: &mut HashMap<String, usize>,
) -> CheckedRow {
    let mut errors = Vec::new();
    let lookup = |map: &HashMap<String, String>, name: &str| {
        let name = name.trim();
        (!name.is_empty()).then(|| map.get(&name.to_lowercase()).cloned())
    };
    let firm_id = match lookup(firms, &r.firm) {
        Some(None) => {
            errors.push(problem(r.row, "firm", "unknown_firm", format!("no firm named '{}'", r.firm.trim())));
            None
        }
        other => other.flatten(),
    };
    let office_id = match lookup(offices, &r.office) {
        Some(None) => {
            errors.push(problem(
                r.row,
                "office",
                "unknown_office",
                format!("no office named '{}'", r.office.trim()),
            ));
            None
        }
        other => other.flatten(),
    };
    let hold_new_user_email = hold(&r.hold_new_user_email).unwrap_or_else(|| {
        errors.push(problem(r.row, "hold_new_user_email", "invalid_boolean", "use true or false"));
        false
    });
    let mut input = NewUser {
        email: r.email.clone(),
        first_name: r.first_name.clone(),
        last_name: r.last_name.clone(),
        side: Some(r.side.trim().to_owned()).filter(|s| !s.is_empty()),
        firm_id,
        office_id,
        role: r.role.trim().to_owned(),
        hold_new_user_email,
    };
    let mut candidate = None;
    match authorize_new_user(ctx, &mut input) {
        Err(e) => {
            for p in row_problems(r.row, e) {
                // An unknown firm or office is reported once, by name.
                if !errors.iter().any(|q: &ImportProblem| q.field == p.field) {
                    errors.push(p);
                }
            }
        }
        Ok(v) => {
            if let Some(first) = seen.insert(v.email.normalized(), r.row) {
                errors.push(problem(
                    r.row,
                    "email",
                    "duplicate_in_file",
                    format!("{} is also on row {first}", v.email),
                ));
            } else {
                candidate = Some((v, hold_new_user_email));
            }
        }
    }
    CheckedRow {
        problems: errors,
        candidate,
    }
}

/// A3: how far one import has got: rows checked, then rows created (the
/// transaction commits after the last).
#[derive(Debug, Default)]
pub struct ImportProgress {
    pub total: AtomicUsize,
    pub checked: AtomicUsize,
    pub created: AtomicUsize,
}

/// What [`App::import_progress`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportStatus {
    pub total: usize,
    pub checked: usize,
    pub created: usize,
}

/// The imports of this process that a page follows, by the key the page
/// chose, each visible only to the user who started it. In memory: behind
/// several processes a poll may reach another one and find nothing, and
/// the page then shows the upload's progress alone.
#[derive(Default)]
pub struct ImportTracker {
    running: Mutex<HashMap<String, Followed>>,
}

/// A followed import: whose it is, when it started, how far it is.
type Followed = (String, Instant, Arc<ImportProgress>);

/// How long a finished import's progress can still be read.
const KEEP: Duration = Duration::from_secs(600);
/// The most imports followed at once; the oldest goes first.
const MAX_TRACKED: usize = 64;

impl ImportTracker {
    fn start(&self, key: &str, owner: &str) -> Arc<ImportProgress> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|_, (_, at, _)| at.elapsed() < KEEP);
        if running.len() >= MAX_TRACKED {
            if let Some(oldest) = running.iter().min_by_key(|(_, (_, at, _))| *at).map(|(k, _)| k.clone()) {
                running.remove(&oldest);
            }
        }
        let progress = Arc::new(ImportProgress::default());
        running.insert(key.to_owned(), (owner.to_owned(), Instant::now(), progress.clone()));
        progress
    }

    fn get(&self, key: &str, owner: &str) -> Option<Arc<ImportProgress>> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(key).filter(|(o, _, _)| o == owner).map(|(_, _, p)| p.clone())
    }
}

impl App {
    /// A3: [`App::import_users`], followed under `key` (a random token the
    /// page made) so that [`App::import_progress`] can tell how far it is.
    #[tracing::instrument(name = "import_users_followed", skip_all)]
    pub async fn import_users_followed(&self, ctx: &Ctx, key: &str, rows: Vec<ImportRow>, dry_run: bool) -> AppResult<ImportReport> {
        require_user_admin(ctx)?;
        let progress = self.imports.start(key, &owner(ctx));
        self.import_users_tracked(ctx, rows, dry_run, &progress).await
    }

    /// A3: how far the caller's import `key` has got, if this process runs
    /// or recently ran it.
    #[tracing::instrument(name = "import_progress", skip_all)]
    pub async fn import_progress(&self, ctx: &Ctx, key: &str) -> AppResult<Option<ImportStatus>> {
        require_user_admin(ctx)?;
        Ok(self.imports.get(key, &owner(ctx)).map(|p| ImportStatus {
            total: p.total.load(Ordering::Relaxed),
            checked: p.checked.load(Ordering::Relaxed),
            created: p.created.load(Ordering::Relaxed),
        }))
    }
}

/// Whose import it is: the signed-in user (or the label of whoever else).
fn owner(ctx: &Ctx) -> String {
    ctx.actor_id().map(|id| id.to_string()).unwrap_or_else(|| ctx.label.clone())
}
