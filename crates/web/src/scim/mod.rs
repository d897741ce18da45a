//! DIR1: the SCIM 2.0 server at `/scim/v2` (RFC 7643/7644). Handlers parse
//! the protocol (bodies, filters, paging, attribute selection, ETags) and
//! call `app::directory`; every refusal is a SCIM error body with its
//! `scimType`, as `application/scim+json`. Only a SCIM token (DIR2) opens
//! it; a session token never does.

mod discovery;
mod groups;

use app::directory::{scim_error, DirectoryUser};
use app::{App, AppError, Ctx, ErrorKind};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::scim::{self, Filter, ScimType};
use domain::UserId;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const CONTENT_TYPE: &str = "application/scim+json";

/// The SCIM router, to nest at `/scim/v2`.
pub fn router() -> Router<App> {
    Router::new()
        .route("/ServiceProviderConfig", get(discovery::service_provider_config))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/Schemas", get(discovery::schemas))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", axum::routing::post(search_users))
        .route("/Users/{id}", get(get_user).put(replace_user).patch(patch_user).delete(delete_user))
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", axum::routing::post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete),
        )
        .fallback(|| async { ScimError(AppError::not_found("resource")).into_response() })
        .method_not_allowed_fallback(|| async {
            scim_json(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"schemas": [scim::ERROR_SCHEMA], "status": "405", "detail": "this resource does not take that method"}),
            )
        })
}

/// A SCIM answer: the JSON with our content type.
pub(crate) fn scim_json(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

/// An [`AppError`] as a SCIM error body (RFC 7644 §3.12).
pub struct ScimError(pub AppError);

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let e = self.0;
        crate::error::log_internal(&e);
        let code = e.code();
        let (status, scim_type) = match e.kind() {
            ErrorKind::BadRequest => (
                StatusCode::BAD_REQUEST,
                Some(ScimType::from_code(&code).unwrap_or(ScimType::InvalidSyntax)),
            ),
            ErrorKind::Unprocessable => (StatusCode::BAD_REQUEST, Some(ScimType::InvalidValue)),
            ErrorKind::Conflict => (StatusCode::CONFLICT, Some(ScimType::Uniqueness)),
            kind => (crate::error::status_of(kind), None),
        };
        let mut body = json!({
            "schemas": [scim::ERROR_SCHEMA],
            "status": status.as_u16().to_string(),
            "detail": e.message(),
        });
        if let Some(t) = scim_type {
            body["scimType"] = json!(t.as_str());
        }
        let mut r = scim_json(status, body);
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"scim\""));
        }
        r
    }
}

pub(crate) type ScimResult<T> = Result<T, ScimError>;

/// The directory, authenticated by its SCIM token (DIR2).
pub struct Directory(pub Ctx);

impl FromRequestParts<App> for Directory {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned())
            .ok_or_else(|| AppError::unauthorized("not_signed_in", "send a SCIM token as Authorization: Bearer <token>"))?;
        let ip = crate::extract::client_ip(parts, app);
        Ok(Directory(app.scim_authenticate(&token, ip).await?))
    }
}

/// A JSON body, sent as `application/scim+json` or `application/json`.
pub(crate) fn json_body(headers: &HeaderMap, body: &Bytes) -> ScimResult<Value> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !mime.is_empty() && mime != CONTENT_TYPE && mime != "application/json" {
        return Err(scim_error(ScimType::InvalidSyntax, format!("send the body as {CONTENT_TYPE}, not {mime}")).into());
    }
    serde_json::from_slice(body).map_err(|e| scim_error(ScimType::InvalidSyntax, format!("the body is not valid JSON: {e}")).into())
}

/// A write of one resource, user or group alike: its JSON body (see
/// [`json_body`]) and the `If-Match` version it expects (RFC 7644 §3.14),
/// read in one place for every create, replace, patch and delete.
pub(crate) struct Write {
    body: Option<Value>,
    if_match: Option<HeaderValue>,
}

impl Write {
    /// The JSON body.
    pub fn body(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.body.as_ref().unwrap_or(&NULL)
    }

    /// The body as PATCH operations (RFC 7644 §3.5.2).
    pub fn ops(&self) -> ScimResult<Vec<scim::PatchOp>> {
        scim::patch::parse(self.body()).map_err(|p| scim_error(p.scim_type, p.message).into())
    }

    /// The version the client expects the resource to have, if it named one.
    pub fn version(&self) -> ScimResult<Option<&str>> {
        self.if_match
            .as_ref()
            .map(|v| {
                v.to_str()
                    .map_err(|_| scim_error(ScimType::InvalidSyntax, "If-Match is not text").into())
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Write {
    type Rejection = ScimError;

    /// A body-less write (DELETE): only its version.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Write {
            body: None,
            if_match: parts.headers.get(header::IF_MATCH).cloned(),
        })
    }
}

/// A write with a body, which must be JSON; a body axum cannot read at all
/// keeps axum's own answer.
pub(crate) struct WriteWithBody(pub Write);

impl<S: Send + Sync> FromRequest<S> for WriteWithBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        let body = json_body(&headers, &bytes).map_err(IntoResponse::into_response)?;
        Ok(WriteWithBody(Write {
            body: Some(body),
            if_match: headers.get(header::IF_MATCH).cloned(),
        }))
    }
}

/// A user's representation with its location.
fn user_json(app: &App, u: &DirectoryUser) -> Value {
    let mut v = u.to_scim();
    v["meta"]["location"] = json!(format!("{}/scim/v2/Users/{}", app.config.public_url, u.user.id));
    v
}

fn one_user(app: &App, status: StatusCode, u: &DirectoryUser) -> Response {
    one(status, user_json(app, u), &Selection::default())
}

/// One resource: its representation as selected, `ETag` its version, and
/// `Location` when it was just created.
pub(crate) fn one(status: StatusCode, v: Value, sel: &Selection) -> Response {
    let version = v["meta"]["version"].as_str().unwrap_or_default().to_owned();
    let location = v["meta"]["location"].as_str().unwrap_or_default().to_owned();
    let mut r = scim_json(status, select(v, sel));
    if let Ok(etag) = HeaderValue::from_str(&version) {
        r.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED {
        if let Ok(loc) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, loc);
        }
    }
    r
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5).
#[derive(Default)]
pub(crate) struct Selection {
    only: Vec<scim::AttrPath>,
    except: Vec<scim::AttrPath>,
}

fn paths(list: Option<&String>) -> ScimResult<Vec<scim::AttrPath>> {
    list.map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            scim::PatchPath::parse(p)
                .ok()
                .filter(|pp| pp.filter.is_none())
                .map(|pp| pp.attr)
                .ok_or_else(|| scim_error(ScimType::InvalidPath, format!("'{p}' is not an attribute path")).into())
        })
        .collect()
}

fn holder_key(p: &scim::AttrPath) -> Option<&str> {
    p.urn.as_deref().filter(|u| !scim::filter::is_core_schema(u))
}

/// Keeps what `only` names (plus `id` and `schemas`, always returned) and
/// drops what `except` names.
fn select(mut v: Value, s: &Selection) -> Value {
    let Value::Object(obj) = &mut v else { return v };
    let names = |p: &scim::AttrPath| {
        (
            holder_key(p).map(str::to_owned),
            p.name.to_ascii_lowercase(),
            p.sub.as_ref().map(|s| s.to_ascii_lowercase()),
        )
    };
    if !s.only.is_empty() {
        let wanted: Vec<_> = s.only.iter().map(names).collect();
        obj.retain(|k, val| {
            let kl = k.to_ascii_lowercase();
            if kl == "id" || kl == "schemas" {
                return true;
            }
            if kl.starts_with("urn:") {
                if let Value::Object(ext) = val {
                    ext.retain(|ek, _| {
                        wanted
                            .iter()
                            .any(|(h, n, _)| h.as_deref() == Some(kl.as_str()) && *n == ek.to_ascii_lowercase())
                    });
                    return !ext.is_empty();
                }
                return false;
            }
            let subs: Vec<_> = wanted
                .iter()
                .filter(|(h, n, _)| h.is_none() && *n == kl)
                .map(|(_, _, s)| s.clone())
                .collect();
            if subs.is_empty() {
                return false;
            }
            if !subs.iter().any(Option::is_none) {
                if let Value::Object(inner) = val {
                    inner.retain(|ik, _| subs.iter().any(|s| s.as_deref() == Some(ik.to_ascii_lowercase().as_str())));
                }
            }
            true
        });
    }
    for (h, n, sub) in s.except.iter().map(names) {
        if n == "id" || n == "schemas" {
            continue;
        }
        let target = match h {
            Some(h) => obj
                .iter_mut()
                .find(|(k, _)| k.to_ascii_lowercase() == h)
                .and_then(|(_, v)| v.as_object_mut()),
            None => Some(&mut *obj),
        };
        let Some(target) = target else { continue };
        let key = target.keys().find(|k| k.to_ascii_lowercase() == n).cloned();
        match (key, sub) {
            (Some(k), None) => {
                target.remove(&k);
            }
            (Some(k), Some(sub)) => {
                if let Some(Value::Object(inner)) = target.get_mut(&k) {
                    inner.retain(|ik, _| ik.to_ascii_lowercase() != sub);
                }
            }
            _ => {}
        }
    }
    v
}

pub(crate) fn selection(q: &HashMap<String, String>) -> ScimResult<Selection> {
    let get = |name: &str| q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    Ok(Selection {
        only: paths(get("attributes"))?,
        except: paths(get("excludedAttributes"))?,
    })
}

/// Attributes compared with case (RFC 7643 §8.7.1: `id`, `externalId`
/// and `meta.version` are caseExact; `userName` and the rest are not).
pub(crate) fn case_exact(p: &scim::AttrPath) -> bool {
    p.name.eq_ignore_ascii_case("id")
        || p.name.eq_ignore_ascii_case("externalId")
        || (p.name.eq_ignore_ascii_case("meta") && p.sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("version")))
}

/// The most resources one page returns.
pub(crate) const MAX_COUNT: usize = 1000;

/// A SearchRequest body (RFC 7644 §3.4.3) as the query it stands for.
pub(crate) fn search_query(headers: &HeaderMap, body: &Bytes) -> ScimResult<HashMap<String, String>> {
    let body = json_body(headers, body)?;
    let Value::Object(obj) = body else {
        return Err(scim_error(ScimType::InvalidSyntax, "a SearchRequest is a JSON object").into());
    };
    let mut q = HashMap::new();
    for (k, v) in obj {
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            _ => continue,
        };
        q.insert(k, text);
    }
    Ok(q)
}

/// `POST /Users/.search`: a query in a SearchRequest body.
async fn search_users(State(app): State<App>, Directory(_): Directory, headers: HeaderMap, body: Bytes) -> ScimResult<Response> {
    list(&app, &search_query(&headers, &body)?).await
}

async fn list_users(State(app): State<App>, Directory(_): Directory, Query(q): Query<HashMap<String, String>>) -> ScimResult<Response> {
    list(&app, &q).await
}

/// What a list request asks (RFC 7644 §3.4.2): filter, page, attributes.
pub(crate) struct ListParams {
    pub filter: Option<Filter>,
    /// From 1.
    pub start: usize,
    pub count: usize,
    pub sel: Selection,
}

pub(crate) fn list_params(q: &HashMap<String, String>) -> ScimResult<ListParams> {
    let get = |name: &str| q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let filter = match get("filter") {
        None => None,
        Some(f) => Some(Filter::parse(f).map_err(|e| scim_error(ScimType::InvalidFilter, format!("filter: {e}")))?),
    };
    let number = |name: &str, default: i64| -> ScimResult<i64> {
        match get(name) {
            None => Ok(default),
            Some(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| scim_error(ScimType::InvalidValue, format!("{name} must be an integer")).into()),
        }
    };
    // RFC 7644 §3.4.2.4: startIndex below 1 means 1, a negative count 0.
    let start = number("startIndex", 1)?.max(1) as usize;
    let count = number("count", 100)?.clamp(0, MAX_COUNT as i64) as usize;
    Ok(ListParams {
        filter,
        start,
        count,
        sel: selection(q)?,
    })
}

/// A ListResponse of one page of `total` matches.
pub(crate) fn list_response(total: usize, start: usize, page: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": [scim::LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    )
}

/// Matches of `filter` among `all`, and the page asked for.
pub(crate) fn filtered_page(all: Vec<Value>, p: &ListParams) -> Response {
    let matching: Vec<Value> = all
        .into_iter()
        .filter(|v| p.filter.as_ref().is_none_or(|f| f.matches(v, &case_exact)))
        .collect();
    let total = matching.len();
    let page = matching
        .into_iter()
        .skip(p.start - 1)
        .take(p.count)
        .map(|v| select(v, &p.sel))
        .collect();
    list_response(total, p.start, page)
}

async fn list(app: &App, q: &HashMap<String, String>) -> ScimResult<Response> {
    let p = list_params(q)?;
    let lookup = match &p.filter {
        // Without a filter, the page is read from the creation-order index.
        None => {
            let (users, total) = app.directory_users_page((p.start - 1) as i64, p.count as i64).await?;
            let page = users.iter().map(|u| select(user_json(app, u), &p.sel)).collect();
            return Ok(list_response(total as usize, p.start, page));
        }
        Some(f) => match (f.equality_on("userName"), f.equality_on("externalId")) {
            (Some(v), _) => store::DirectoryLookup::UserName(v.to_owned()),
            (None, Some(v)) => store::DirectoryLookup::ExternalId(v.to_owned()),
            _ => store::DirectoryLookup::All,
        },
    };
    let users = app.directory_users(&lookup).await?;
    Ok(filtered_page(users.iter().map(|u| user_json(app, u)).collect(), &p))
}

async fn get_user(
    State(app): State<App>,
    Directory(_): Directory,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ScimResult<Response> {
    let u = app.directory_user(&UserId::from(id)).await?;
    Ok(one(StatusCode::OK, user_json(&app, &u), &selection(&q)?))
}

async fn create_user(State(app): State<App>, Directory(ctx): Directory, WriteWithBody(w): WriteWithBody) -> ScimResult<Response> {
    let u = app.directory_create(&ctx, w.body()).await?;
    Ok(one_user(&app, StatusCode::CREATED, &u))
}

async fn replace_user(
    State(app): State<App>,
    Directory(ctx): Directory,
    Path(id): Path<String>,
    WriteWithBody(w): WriteWithBody,
) -> ScimResult<Response> {
    let u = app.directory_replace(&ctx, &UserId::from(id), w.body(), w.version()?).await?;
    Ok(one_user(&app, StatusCode::OK, &u))
}

async fn patch_user(
    State(app): State<App>,
    Directory(ctx): Directory,
    Path(id): Path<String>,
    WriteWithBody(w): WriteWithBody,
) -> ScimResult<Response> {
    let u = app.directory_patch(&ctx, &UserId::from(id), &w.ops()?, w.version()?).await?;
    Ok(one_user(&app, StatusCode::OK, &u))
}

async fn delete_user(State(app): State<App>, Directory(ctx): Directory, Path(id): Path<String>, w: Write) -> ScimResult<StatusCode> {
    app.directory_delete(&ctx, &UserId::from(id), w.version()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
