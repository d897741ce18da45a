//! One-time notices carried across a redirect in a cookie.

use axum::http::request::Parts;
use axum::http::HeaderValue;
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

/// The notices a request carries: only a cookie this server signed (a
/// cookie planted by another site or a shared parent domain is ignored).
pub(crate) async fn read_flash(parts: &Parts, app: &app::App) -> Vec<Flash> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(FLASH_COOKIE) else {
        return Vec::new();
    };
    match app.flash_key().await {
        Ok(key) => domain::secret::verified(key, cookie.value()).map(decode_flash).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "the notice key could not be read; the notice is not shown");
            Vec::new()
        }
    }
}

/// Notices a response carries to the next page; `page_headers` signs them
/// into the cookie.
#[derive(Clone)]
pub(crate) struct PendingFlash(pub Vec<Flash>);

/// Redirect-after-post (303), carrying notices to the next page.
pub fn redirect_with(to: &str, flash: &[Flash]) -> Response {
    let mut resp = Redirect::to(to).into_response();
    if !flash.is_empty() {
        resp.extensions_mut().insert(PendingFlash(flash.to_vec()));
    }
    resp
}

/// The `Set-Cookie` value carrying notices, signed with the server's key.
pub(crate) fn flash_cookie(key: &[u8], flash: &[Flash]) -> Option<HeaderValue> {
    let value = domain::secret::sign(key, &encode_flash(flash));
    HeaderValue::from_str(&format!("{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax")).ok()
}

/// Clears the notice once a page has shown it.
pub fn clear_flash_cookie() -> HeaderValue {
    HeaderValue::from_static("tracker_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
