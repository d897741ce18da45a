//! What every answer gets at the edge, whatever route made it (S13, OP4):
//! cookies made `Secure` with the `__Host-` prefix and HSTS when the public
//! URL is https, `Cache-Control: no-store` unless the route chose its own
//! caching, and a bound on how long a request may take.

use app::App;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::Cookie;
use std::time::Duration;

/// How long a client may take (OP4). The header read timeout belongs to
/// the connection and is set where the server is started.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request body may pause this long between two pieces.
    pub body: Duration,
    /// A whole request is answered within this, or stopped with a 503.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            body: Duration::from_secs(30),
            request: Duration::from_secs(60),
        }
    }
}

/// Our cookies all start so; over https they travel as `__Host-tracker_…`.
const OURS: &str = "tracker_";
const HOST_PREFIX: &str = "__Host-";
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The state of [`edge`].
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// The public URL is https (S13).
    secure: bool,
    request_timeout: Duration,
}

impl Edge {
    pub fn new(app: &App, request_timeout: Duration) -> Self {
        Self {
            secure: is_https(&app.config.public_url),
            request_timeout,
        }
    }
}

/// Whether cookies must be `Secure` and HSTS sent (S13).
pub fn is_https(public_url: &str) -> bool {
    public_url.starts_with("https://")
}

/// The middleware. Handlers set and read cookies by their plain names
/// (`tracker_session`, …); over https this renames them on the way in and
/// out, so every cookie we set is `__Host-` and `Secure` without each
/// handler having to know, and a plain-named cookie planted over http or by
/// a sibling host is never read.
pub async fn edge(State(edge): State<Edge>, mut req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    if edge.secure {
        unprefix_request_cookies(req.headers_mut());
    }
    let mut resp = match tokio::time::timeout(edge.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => timed_out(api),
    };
    let headers = resp.headers_mut();
    // S13: nothing an API or page answer holds belongs in a shared cache;
    // only a route that chose its own policy (the stylesheet) keeps it.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if edge.secure {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        prefix_response_cookies(headers);
    }
    resp
}

/// OP4: a request that takes longer than the whole-request timeout is
/// stopped (its handler dropped, an open transaction rolled back) and
/// answered in the format of its side.
fn timed_out(api: bool) -> Response {
    let e = app::AppError::Unavailable {
        code: "request_timeout",
        message: "the request took too long and was stopped; check whether it took effect before sending it again".into(),
        retry_after_seconds: 5,
    };
    tracing::warn!("a request exceeded the request timeout");
    let mut resp = if api {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(crate::error::error_body(&e))).into_response()
    } else {
        crate::ui::page::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "This took too long",
            "The request took too long and was stopped. Check whether it took effect before trying again.",
        )
    };
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}

/// `__Host-tracker_x=v` becomes `tracker_x=v`; a plain `tracker_x` is
/// dropped; other cookies are left as they are.
fn unprefix_request_cookies(headers: &mut HeaderMap) {
    if !headers.contains_key(header::COOKIE) {
        return;
    }
    let mut kept = Vec::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            if let Some(plain) = name.strip_prefix(HOST_PREFIX).filter(|n| n.starts_with(OURS)) {
                kept.push(format!("{plain}{}", &pair[name.len()..]));
            } else if !name.starts_with(OURS) {
                kept.push(pair.to_owned());
            }
        }
    }
    headers.remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
        headers.insert(header::COOKIE, v);
    }
}

/// Every cookie of ours we set is `Secure`, `Path=/`, without `Domain`,
/// and named `__Host-…` (S13).
fn prefix_response_cookies(headers: &mut HeaderMap) {
    if !headers.contains_key(header::SET_COOKIE) {
        return;
    }
    let set: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    headers.remove(header::SET_COOKIE);
    for value in set {
        let rewritten = value
            .to_str()
            .ok()
            .and_then(|s| Cookie::parse(s.to_owned()).ok())
            .filter(|c| c.name().starts_with(OURS))
            .and_then(|mut c| {
                c.set_name(format!("{HOST_PREFIX}{}", c.name()));
                c.set_secure(true);
                c.set_path("/");
                c.unset_domain();
                HeaderValue::from_str(&c.to_string()).ok()
            });
        headers.append(header::SET_COOKIE, rewritten.unwrap_or(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(h: &HeaderMap, name: header::HeaderName) -> Vec<String> {
        h.get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn s13_request_cookies_are_read_only_under_the_host_prefix() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("tracker_session=planted; other=1"));
        h.append(header::COOKIE, HeaderValue::from_static("__Host-tracker_session=real=; __Host-x=2"));
        unprefix_request_cookies(&mut h);
        assert_eq!(cookies(&h, header::COOKIE), vec!["other=1; tracker_session=real=; __Host-x=2"]);
    }

    #[test]
    fn s13_our_set_cookies_become_secure_host_cookies() {
        let mut h = HeaderMap::new();
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("tracker_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("tracker_pre=abc; Domain=example.com; Path=/x"),
        );
        h.append(header::SET_COOKIE, HeaderValue::from_static("foreign=1; Path=/a"));
        prefix_response_cookies(&mut h);
        let set = cookies(&h, header::SET_COOKIE);
        assert!(set[0].starts_with("__Host-tracker_flash=;"), "{set:?}");
        assert!(set[0].contains("Secure") && set[0].contains("HttpOnly") && set[0].contains("Max-Age=0"));
        assert!(set[1].starts_with("__Host-tracker_pre=abc;"), "{set:?}");
        assert!(set[1].contains("Path=/") && !set[1].contains("Path=/x"), "{set:?}");
        assert!(!set[1].contains("Domain") && set[1].contains("Secure"), "{set:?}");
        assert_eq!(set[2], "foreign=1; Path=/a");
    }
}
