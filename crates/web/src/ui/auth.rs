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
}

pub async fn sign_in_page(v: Visitor, Query(q): Query<SignInQuery>) -> PageResult {
    let page = SignInPage {
        layout: v.layout("Sign in"),
        email: q.email.unwrap_or_default(),
        next: same_site_path(q.next.as_deref()),
        error: None,
    };
    Ok(v.respond(ok(&page)))
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
            let page = SignInPage {
                layout: v.layout("Sign in"),
                email: f.email,
                next,
                error: Some(sentence(&e.message())),
            };
            let mut resp = v.respond(render(super::page::status_of(e.kind()), &page));
            crate::error::retry_after(&mut resp, &e);
            Ok(resp)
        }
    }
}

/// The session ends at once (S6), then the sign-in page.
pub async fn sign_out(State(app): State<App>, s: Session, Posted(_): Posted<Empty>) -> PageResult {
    app.sign_out(&s.ctx, &s.token_hash).await?;
    let mut resp = redirect_with("/sign-in", &[super::page::Flash::ok("You are signed out.")]);
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
