//! Request extractors: the signed-in caller (S5, S6), JSON bodies and query
//! strings whose rejections answer in our error format (S8).

use crate::error::ApiError;
use app::{App, AppError, Ctx};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum_extra::extract::CookieJar;
use domain::model::User;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "tracker_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie (S5): HttpOnly, SameSite=Lax, Secure behind https;
/// the API's sign-in and the sign-in page both set it.
pub fn session_cookie(app: &App, token: String) -> axum_extra::extract::cookie::Cookie<'static> {
    axum_extra::extract::cookie::Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .secure(app.config.public_url.starts_with("https://"))
        .path("/")
        .build()
}

/// The CSRF token of a browser session: derived from the session token, so
/// it needs no storage and dies with the session (S5).
pub fn csrf_token(session_token: &str) -> String {
    domain::secret::hash_token(&format!("csrf:{session_token}"))[..32].to_owned()
}

/// Constant-time comparison of two short strings.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The client address of the request (S12), for the audit log and the
/// rate limits: the TCP peer, or what our trusted proxies say it is.
pub fn client_ip(parts: &Parts, app: &App) -> Option<String> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        // A value that is not text is garbage: the peer is the answer.
        .map(|v| v.to_str().unwrap_or("?"))
        .collect();
    Some(crate::client_addr::client_address(peer, &forwarded, &app.config.trusted_proxies).to_string())
}

/// The client address (S12) for handlers that take no [`Caller`].
pub struct ClientIp(pub Option<String>);

impl FromRequestParts<App> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, app)))
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// A signed-in, active caller (S6: checked on every request).
pub struct Caller {
    pub ctx: Ctx,
    pub user: User,
    pub token_hash: String,
    pub via: Via,
    /// The raw session token (to derive the CSRF token for pages).
    pub token: String,
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let (token, via) = match bearer(parts) {
            Some(t) => (t, Via::Bearer),
            None => {
                let jar = CookieJar::from_headers(&parts.headers);
                let t = jar
                    .get(SESSION_COOKIE)
                    .map(|c| c.value().to_owned())
                    .ok_or_else(|| AppError::unauthorized("not_signed_in", "sign in first: send Authorization: Bearer <token>"))?;
                (t, Via::Cookie)
            }
        };
        let auth = app.authenticate(&token).await?;
        crate::observe::record_user(&auth.user.id);
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via == Via::Cookie && unsafe_method {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same(sent, &csrf_token(&token)) {
                return Err(AppError::forbidden("missing or wrong CSRF token: send the X-CSRF-Token header with a cookie session").into());
            }
        }
        let ctx = Ctx::user(&auth.user, client_ip(parts, app));
        Ok(Caller {
            ctx,
            user: auth.user,
            token_hash: auth.token_hash,
            via,
            token,
        })
    }
}

/// A JSON body; malformed JSON, wrong types and unknown fields are 400s
/// that name the problem.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AppError::bad_request(
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            )
            .into());
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if body_timed_out(&e) => return Err(body_timeout().into()),
            Err(e) => return Err(AppError::bad_request("invalid_body", e.body_text()).into()),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::bad_request("invalid_json", format!("the request body is not valid JSON: {e}")))?;
        // Read as the OpenAPI schema says (crate::strict_json): objects only
        // where an object is meant, whole numbers as integers.
        match crate::strict_json::from_value::<T>(&value) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => Err(AppError::bad_request(
                "invalid_body",
                format!("the request body does not match what this endpoint takes: {e}"),
            )
            .into()),
        }
    }
}

/// `application/json` or any `application/*+json`, as axum's `Json` takes.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_timeout() -> AppError {
    AppError::bad_request(
        "body_timeout",
        "the request body did not arrive in time; send it without long pauses",
    )
}

/// Whether reading the body failed because it paused longer than the body
/// timeout (OP4, tower-http's `RequestBodyTimeoutLayer`).
fn body_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Query parameters with our error format.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(AppError::bad_request("invalid_query", format!("the query string is not valid: {}", e.body_text())).into())
            }
            Err(e) => Err(AppError::bad_request("invalid_query", e.body_text()).into()),
        }
    }
}

/// Deserialises a field that may be absent (`None`), null (`Some(None)`)
/// or a value (`Some(Some(v))`), for PATCH bodies that can clear a field.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

use serde::Deserialize;
