//! The server-rendered web UI (SPEC §9): plain HTML forms that post and
//! redirect, so every flow works without JavaScript. Each handler reads
//! the form, calls the same `app::App` use case as the JSON API and shows
//! the answer; errors of the use cases are shown next to the fields, and a
//! refused deactivation lists every blocker with a link that clears it.

mod account;
mod admin;
mod auth;
mod blockers;
mod directory;
mod errors;
mod flash;
mod import;
mod matters;
mod offboarding;
mod orgs;
pub(crate) mod page;
mod pickers;
mod profile;
mod routes;
mod session;
mod users;

use app::App;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use page::{PageError, Session, FLASH_COOKIE};

const STYLESHEET: &str = include_str!("../../static/tracker.css");

/// The pages; merged into the service router.
pub fn router(app: App) -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/static/tracker.css", get(stylesheet))
        .route("/static/import.js", get(import::script))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/sso/start", get(auth::sso_start))
        .route("/sso/callback", get(auth::sso_callback))
        .route("/set-password", get(auth::set_password_page).post(auth::set_password))
        .route("/users", get(users::list))
        .route("/users/new", get(users::new_page).post(users::create))
        .route(
            "/users/import",
            get(import::page)
                .post(import::submit)
                .layer(axum::extract::DefaultBodyLimit::max(import::IMPORT_FORM_MAX_BYTES)),
        )
        .route("/users/import/progress", get(import::progress))
        .route(
            "/users/email-new-users",
            get(users::email_new_users).post(users::send_new_user_emails),
        )
        .route("/users/{id}", get(profile::show).post(profile::save))
        .route("/users/{id}/reset-password", get(profile::reset_page).post(profile::reset))
        .route("/users/{id}/new-user-email", post(profile::send_email))
        .route("/users/{id}/unlock", post(profile::unlock))
        .route("/users/{id}/history", get(profile::history))
        .route("/users/{id}/deactivation-check", get(profile::check))
        .route("/users/{id}/offboard", get(offboarding::page).post(offboarding::confirm))
        .route("/users/{id}/offboard/preview", post(offboarding::preview))
        .route("/users/{id}/offboard/items", post(offboarding::items))
        .route("/users/{id}/scheduled-deactivation/cancel", post(offboarding::cancel))
        .route("/scheduled-deactivations", get(offboarding::scheduled))
        .route("/matters", get(matters::list))
        .route("/matters/new", get(matters::new_page).post(matters::create))
        .route("/matters/{id}", get(matters::show))
        .route("/matters/{id}/edit", get(matters::edit_page).post(matters::save))
        .route("/matters/{id}/participants", post(matters::add_participant))
        .route("/matters/{id}/participants/{user_id}/remove", post(matters::remove_participant))
        .route("/bulk-update/lead-company-person", get(matters::bulk_page).post(matters::bulk))
        .route("/offices", get(orgs::offices))
        .route("/offices/new", get(orgs::new_office).post(orgs::create_office))
        .route("/offices/{id}", get(orgs::office).post(orgs::save_office))
        .route("/firms", get(orgs::firms))
        .route("/firms/new", get(orgs::new_firm).post(orgs::create_firm))
        .route("/approval-routes", get(routes::list))
        .route("/approval-routes/new", get(routes::new_page).post(routes::create))
        .route("/approval-routes/{id}", get(routes::edit_page).post(routes::save))
        .route("/settings", get(admin::settings).post(admin::save_settings))
        .route("/audit", get(admin::audit))
        .route("/settings/directory", get(directory::show))
        .route("/settings/directory/tokens", post(directory::create))
        .route("/settings/directory/group-roles", post(directory::save_mapping))
        .route("/settings/directory/tokens/{id}/revoke", post(directory::revoke))
        .route("/offboarding-items", get(directory::items))
        .route("/account/preferences", get(account::page).post(account::save))
        .layer(middleware::from_fn_with_state(app, page_headers))
}

/// Administrators start at the user list, everyone else at their matters.
async fn home(s: Result<Session, PageError>) -> Response {
    match s {
        Ok(s) if s.may(page::Area::Users) => Redirect::to("/users").into_response(),
        Ok(_) => Redirect::to("/matters").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// Headers of every page: a strict Content-Security-Policy (scripts only
/// from our own files — the one is the import page's progress —, nothing
/// inline, requests and forms only to ourselves); the notices a redirect
/// carries, signed into their cookie; and that cookie cleared once a page
/// has shown it.
async fn page_headers(State(app): State<App>, req: Request, next: Next) -> Response {
    let had_flash = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.contains(FLASH_COOKIE)));
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    let mut sets_flash = false;
    if let Some(flash::PendingFlash(lines)) = resp.extensions_mut().remove::<flash::PendingFlash>() {
        match app.flash_key().await {
            Ok(key) => {
                if let Some(cookie) = flash::flash_cookie(key, &lines) {
                    resp.headers_mut().append(header::SET_COOKIE, cookie);
                    sets_flash = true;
                }
            }
            Err(e) => tracing::warn!(error = %e, "the notice key could not be read; the notice is dropped"),
        }
    }
    let shown = resp.status() != StatusCode::SEE_OTHER && !resp.status().is_redirection();
    if had_flash && shown && !sets_flash {
        resp.headers_mut().append(header::SET_COOKIE, page::clear_flash_cookie());
    }
    resp
}
