//! Who is on a page: the signed-in session read from the cookie (S6:
//! re-checked on every request), the visitor before sign-in, and the CSRF
//! check of every posted form (S5).

use super::page::*;
use crate::extract::{client_ip, csrf_token, same, SESSION_COOKIE};
use app::{App, Ctx, ErrorKind};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use domain::model::User;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Before sign-in: a random value whose hash is the CSRF token of the
/// sign-in and set-password forms (S5 covers them too).
pub const PRE_COOKIE: &str = "tracker_pre";

/// A signed-in person on a page (S5, S6). Without a valid session the page
/// redirects to the sign-in page and comes back afterwards.
pub struct Session {
    pub ctx: Ctx,
    pub user: User,
    pub token_hash: String,
    pub csrf: String,
    pub flash: Vec<Flash>,
}

impl Session {
    /// Whether the signed-in user's role works in `area` (SPEC §1, as
    /// `domain::access` has it): what a page links to.
    pub fn may(&self, area: Area) -> bool {
        area.open_to(self.user.role)
    }

    /// Whether the signed-in user may add users on `side` (`can_assign`).
    pub fn may_add_users(&self, side: domain::Side) -> bool {
        self.ctx.actor.as_ref().is_some_and(|a| a.may_add_users(side))
    }

    pub fn layout(&self, title: impl Into<String>, section: &'static str) -> Layout {
        Layout {
            title: title.into(),
            section,
            user: Some(NavUser::of(&self.user)),
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
        }
    }
}

fn sign_in_target(parts: &Parts) -> String {
    if parts.method != axum::http::Method::GET {
        return "/".into();
    }
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into())
}

impl FromRequestParts<App> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(PageError::SignIn(sign_in_target(parts)));
        };
        let auth = match app.authenticate(&token).await {
            Ok(a) => a,
            Err(e) if e.kind() == ErrorKind::Unauthorized => return Err(PageError::SignIn(sign_in_target(parts))),
            Err(e) => return Err(PageError::App(e)),
        };
        crate::observe::record_user(&auth.user.id);
        let ctx = Ctx::user(&auth.user, client_ip(parts, app));
        Ok(Session {
            ctx,
            user: auth.user,
            token_hash: auth.token_hash,
            csrf: csrf_token(&token),
            flash: read_flash(parts, app).await,
        })
    }
}

/// A visitor before sign-in: the sign-in and set-password pages.
pub struct Visitor {
    pub csrf: String,
    pub flash: Vec<Flash>,
    pub ip: Option<String>,
    /// A fresh pre-session value to set as a cookie with the page.
    new_pre: Option<String>,
}

impl Visitor {
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout::bare(title, self.csrf.clone(), self.flash.clone())
    }

    /// Adds the pre-session cookie the form's CSRF token comes from.
    pub fn respond(&self, resp: impl IntoResponse) -> Response {
        let mut resp = resp.into_response();
        if let Some(pre) = &self.new_pre {
            if let Ok(v) = HeaderValue::from_str(&format!("{PRE_COOKIE}={pre}; Path=/; HttpOnly; SameSite=Lax")) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }
}

impl FromRequestParts<App> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let existing = jar
            .get(PRE_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| domain::secret::looks_like_token(v));
        let (pre, new_pre) = match existing {
            Some(v) => (v, None),
            None => {
                let (token, _) = domain::secret::new_token();
                (token.clone(), Some(token))
            }
        };
        Ok(Visitor {
            csrf: csrf_token(&pre),
            flash: read_flash(parts, app).await,
            ip: client_ip(parts, app),
            new_pre,
        })
    }
}

/// A posted HTML form of a signed-in page: its hidden `csrf` field must be
/// the CSRF token of the session cookie it came with (S5, S13: bound to
/// that session), compared in constant time. The pre-session token of the
/// sign-in forms is not accepted here, so a value planted before sign-in
/// can never authorize a signed-in change.
pub struct Posted<T>(pub T);

/// A posted form of a page shown before sign-in (sign-in, set-password):
/// its `csrf` field must be the token of the pre-session cookie (S5).
pub struct VisitorPosted<T>(pub T);

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// Reads a form whose `csrf` field must match the token derived from
/// `cookie`.
async fn checked_form<T: DeserializeOwned>(req: Request, state: &App, cookie: &str) -> Result<T, PageError> {
    let expected = CookieJar::from_headers(req.headers()).get(cookie).map(|c| csrf_token(c.value()));
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|_| PageError::Bad("the form could not be read".into()))?;
    let sent = serde_html_form::from_bytes::<CsrfField>(&body)
        .ok()
        .and_then(|c| c.csrf)
        .unwrap_or_default();
    if !expected.is_some_and(|token| same(&sent, &token)) {
        return Err(PageError::Csrf);
    }
    serde_html_form::from_bytes::<T>(&body).map_err(|e| PageError::Bad(format!("the form is not valid: {e}")))
}

impl<T: DeserializeOwned> FromRequest<App> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        checked_form(req, state, SESSION_COOKIE).await.map(Posted)
    }
}

impl<T: DeserializeOwned> FromRequest<App> for VisitorPosted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &App) -> Result<Self, Self::Rejection> {
        checked_form(req, state, PRE_COOKIE).await.map(VisitorPosted)
    }
}
