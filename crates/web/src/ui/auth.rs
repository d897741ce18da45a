//! Sign-in, sign-out and setting a password from the emailed link (N6,
//! S2, S5). The session cookie is the one the API sets.

use super::page::{
    ok, redirect_with, render, sentence, FormErrors, Layout, PageError, PageResult, Posted, Session, Visitor, VisitorPosted,
};
use crate::extract::{session_cookie, SESSION_COOKIE};
use crate::redirect::same_site_path;
use app::App;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    next: Option<String>,
    email: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    /// SSO1: the company whose identity provider signs people in, and
    /// whether company users must use it.
    sso_company: Option<String>,
    sso_only: bool,
}

impl SignInPage {
    async fn new(app: &App, v: &Visitor, email: String, next: String, error: Option<String>) -> Result<Self, PageError> {
        let offer = app.sso_offer().await?;
        Ok(Self {
            layout: v.layout("Sign in"),
            email,
            next,
            error,
            sso_only: offer.as_ref().is_some_and(|(_, only)| *only),
            sso_company: offer.map(|(company, _)| company),
        })
    }
}

pub async fn sign_in_page(State(app): State<App>, v: Visitor, Query(q): Query<SignInQuery>) -> PageResult {
    let page = SignInPage::new(&app, &v, q.email.unwrap_or_default(), same_site_path(q.next.as_deref()), None).await?;
    Ok(v.respond(ok(&page)))
}

/// The short-lived cookie that binds an OpenID Connect sign-in's `state`
/// to the browser that started it (SSO1).
pub const SSO_STATE_COOKIE: &str = "tracker_sso_state";

fn sso_state_cookie(app: &App, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if app.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SSO_STATE_COOKIE}={value}; Path=/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

#[derive(Deserialize, Default)]
pub struct SsoStartQuery {
    next: Option<String>,
}

/// SSO1: to the identity provider, with the state in a cookie for
/// ten minutes.
pub async fn sso_start(State(app): State<App>, v: Visitor, Query(q): Query<SsoStartQuery>) -> PageResult {
    let next = same_site_path(q.next.as_deref());
    match app.sso_start(&next, v.ip.clone()).await {
        Ok(started) => {
            let mut resp = axum::response::Redirect::to(&started.authorize_url).into_response();
            if let Some(h) = sso_state_cookie(&app, &started.state, domain::sso::ATTEMPT_TTL_MS / 1000) {
                resp.headers_mut().append(header::SET_COOKIE, h);
            }
            Ok(resp)
        }
        Err(e) => sso_failed(&app, &v, next, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct SsoCallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// SSO1: back from the identity provider. Success opens the same session
/// as the password form; every failure is the sign-in page with a message,
/// and the state cookie is gone either way.
pub async fn sso_callback(
    State(app): State<App>,
    v: Visitor,
    jar: axum_extra::extract::CookieJar,
    Query(q): Query<SsoCallbackQuery>,
) -> PageResult {
    let cb = app::sso::Callback {
        cookie_state: jar.get(SSO_STATE_COOKIE).map(|c| c.value().to_owned()),
        state: q.state,
        code: q.code,
        error: q.error,
    };
    let mut resp = match app.sso_callback(cb, v.ip.clone()).await {
        Ok((s, next)) => {
            let mut resp = redirect_with(&same_site_path(Some(&next)), &[]);
            if let Ok(h) = HeaderValue::from_str(&session_cookie(&app, s.token).to_string()) {
                resp.headers_mut().append(header::SET_COOKIE, h);
            }
            resp
        }
        Err(e) => sso_failed(&app, &v, "/".into(), e).await?,
    };
    if let Some(h) = sso_state_cookie(&app, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, h);
    }
    Ok(resp)
}

async fn sso_failed(app: &App, v: &Visitor, next: String, e: app::AppError) -> PageResult {
    if e.kind() == app::ErrorKind::Internal {
        return Err(PageError::App(e));
    }
    let page = SignInPage::new(app, v, String::new(), next, Some(sentence(&e.message()))).await?;
    let mut resp = v.respond(render(super::page::status_of(e.kind()), &page));
    crate::error::retry_after(&mut resp, &e);
    Ok(resp)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// S2: every refusal reads the same; the reason is only in the audit log.
/// S13: afterwards only to a same-site path.
pub async fn sign_in(State(app): State<App>, v: Visitor, VisitorPosted(f): VisitorPosted<SignInForm>) -> PageResult {
    let next = same_site_path(f.next.as_deref());
    match app.sign_in(f.email.trim(), &f.password, v.ip.clone()).await {
        Ok(s) => {
            let mut resp = redirect_with(&next, &[]);
            if let Ok(h) = HeaderValue::from_str(&session_cookie(&app, s.token).to_string()) {
                resp.headers_mut().append(header::SET_COOKIE, h);
            }
            Ok(resp)
        }
        Err(e) if e.kind() == app::ErrorKind::Internal => Err(PageError::App(e)),
        Err(e) => {
            let page = SignInPage::new(&app, &v, f.email, next, Some(sentence(&e.message()))).await?;
            let mut resp = v.respond(render(super::page::status_of(e.kind()), &page));
            crate::error::retry_after(&mut resp, &e);
            Ok(resp)
        }
    }
}

/// The session ends at once (S6), then the sign-in page — or, for a
/// session made through the identity provider that offers an
/// `end_session_endpoint`, that endpoint (SSO1), which comes back to the
/// sign-in page.
pub async fn sign_out(State(app): State<App>, s: Session, Posted(_): Posted<Empty>) -> PageResult {
    let method = app.session_method(&s.token_hash).await?;
    app.sign_out(&s.ctx, &s.token_hash).await?;
    let mut resp = match app.sso_end_session_url(method.as_deref()).await {
        Some(url) => axum::response::Redirect::to(&url).into_response(),
        None => redirect_with("/sign-in", &[super::page::Flash::ok("You are signed out.")]),
    };
    let gone = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(h) = HeaderValue::from_str(&gone) {
        resp.headers_mut().append(header::SET_COOKIE, h);
    }
    Ok(resp)
}

/// A form with nothing but its CSRF field.
#[derive(Deserialize)]
pub struct Empty {}

#[derive(Deserialize, Default)]
pub struct LinkQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    layout: Layout,
    token: String,
    policy: String,
    /// Set when the link cannot be used: the page says why instead of the form.
    link_problem: Option<String>,
    errors: FormErrors,
}

pub async fn set_password_page(State(app): State<App>, v: Visitor, Query(q): Query<LinkQuery>) -> PageResult {
    let token = q.token.unwrap_or_default();
    let link_problem = app.check_link(&token).await.err().map(|e| sentence(&e.message()));
    let policy = app.password_policy().await?.describe();
    let page = SetPasswordPage {
        layout: v.layout("Set your password"),
        token,
        policy,
        link_problem,
        errors: FormErrors::none(),
    };
    Ok(v.respond(ok(&page)))
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// N6: the link sets the password and activates the account; then sign in.
pub async fn set_password(State(app): State<App>, v: Visitor, VisitorPosted(f): VisitorPosted<SetPasswordForm>) -> PageResult {
    let policy = app.password_policy().await?.describe();
    let fail = |errors: FormErrors, status: StatusCode, link_problem: Option<String>| {
        let page = SetPasswordPage {
            layout: v.layout("Set your password"),
            token: f.token.clone(),
            policy: policy.clone(),
            link_problem,
            errors,
        };
        Ok(v.respond(render(status, &page)))
    };
    if f.password != f.confirm {
        return fail(
            FormErrors::field("confirm", "the two passwords are not the same"),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        );
    }
    match app.set_password_with_link(&f.token, &f.password, v.ip.clone()).await {
        Ok(user) => {
            let to = format!("/sign-in?email={}", super::page::url_encode(&user.email));
            Ok(redirect_with(
                &to,
                &[super::page::Flash::ok(
                    "Your password is set. Sign in with your email and new password.",
                )],
            ))
        }
        Err(e) if e.field().as_deref() == Some("token") => {
            fail(FormErrors::none(), super::page::status_of(e.kind()), Some(sentence(&e.message())))
        }
        Err(e) => match super::page::form_problem(e) {
            Ok((status, errors)) => fail(errors, status, None),
            Err(p) => Err(p),
        },
    }
}
