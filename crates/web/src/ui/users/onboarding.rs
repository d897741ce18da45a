//! *Email new users* (N3): the report of active users never sent the new
//! user email, and sending them all.

use super::{row, Row, PER_PAGE};
use crate::ui::auth::Empty;
use crate::ui::page::{ok, page_number, redirect_with, Flash, Layout, PageParam, PageResult, Pager, Posted, Session};
use app::{App, Page};
use askama::Template;
use axum::extract::{Query, State};

#[derive(Template)]
#[template(path = "users/email_new_users.html")]
struct EmailNewUsersPage {
    layout: Layout,
    rows: Vec<Row>,
    total: i64,
    pager: Pager,
    all_sent: &'static str,
}

/// N3's report: every active user never sent the new user email, 50 a
/// page (P3) with the kept total.
pub async fn email_new_users(State(app): State<App>, s: Session, Query(q): Query<PageParam>) -> PageResult {
    let page = page_number(&q.page);
    let l = app.pending_new_user_emails(&s.ctx, Page { page, per_page: PER_PAGE }).await?;
    let now = app.now();
    let page = EmailNewUsersPage {
        layout: s.layout("Email new users", "users"),
        rows: l
            .items
            .iter()
            .zip(&l.extras)
            .map(|(u, extras)| row(u, extras.firm.as_deref(), now))
            .collect(),
        total: l.total,
        pager: Pager::new(page, PER_PAGE, l.total, String::new()),
        all_sent: app::onboarding::ALL_SENT_MESSAGE,
    };
    Ok(ok(&page))
}

/// N3's confirm step.
pub async fn send_new_user_emails(State(app): State<App>, s: Session, Posted(_): Posted<Empty>) -> PageResult {
    let r = app.send_pending_new_user_emails(&s.ctx).await?;
    let flash = if r.sent == 0 {
        Flash::warn(r.message)
    } else {
        Flash::ok(r.message)
    };
    Ok(redirect_with("/users", &[flash]))
}
