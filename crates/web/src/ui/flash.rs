//! One-time notices carried across a redirect in a cookie.

use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

/// A notice shown once on the next page (after a redirect).
pub const FLASH_COOKIE: &str = "tracker_flash";

/// One line of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `ok`, `warn` or `error`: the colour of the notice.
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            kind: "ok",
            text: text.into(),
        }
    }
    pub fn warn(text: impl Into<String>) -> Self {
        Self {
            kind: "warn",
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: "error",
            text: text.into(),
        }
    }
}

/// Cookie values are base64url (no padding): any text, in cookie-safe
/// characters.
fn cookie_text(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn from_cookie_text(raw: &str) -> Option<String> {
    use base64::Engine;
    if raw.len() > 8000 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).ok()?;
    String::from_utf8(bytes).ok()
}

fn encode_flash(lines: &[Flash]) -> String {
    let mut text = String::new();
    for l in lines {
        let line: String = l.text.chars().filter(|c| *c != '\n').take(600).collect();
        text.push_str(&format!("{}:{}\n", l.kind, line));
    }
    cookie_text(&text)
}

fn decode_flash(raw: &str) -> Vec<Flash> {
    let Some(text) = from_cookie_text(raw) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (kind, text) = l.split_once(':')?;
            let kind = match kind {
                "ok" => "ok",
                "warn" => "warn",
                _ => "error",
            };
            Some(Flash {
                kind,
                text: text.to_owned(),
            })
        })
        .collect()
}

pub(crate) fn read_flash(parts: &Parts) -> Vec<Flash> {
    CookieJar::from_headers(&parts.headers)
        .get(FLASH_COOKIE)
        .map(|c| decode_flash(c.value()))
        .unwrap_or_default()
}

/// Redirect-after-post (303), carrying notices to the next page.
pub fn redirect_with(to: &str, flash: &[Flash]) -> Response {
    let mut resp = Redirect::to(to).into_response();
    if !flash.is_empty() {
        let cookie = format!("{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", encode_flash(flash));
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Clears the notice once a page has shown it.
pub fn clear_flash_cookie() -> HeaderValue {
    HeaderValue::from_static("tracker_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
