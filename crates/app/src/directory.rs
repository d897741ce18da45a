//! SPEC §5a: directory provisioning. DIR2's SCIM tokens, DIR1's users as
//! SCIM resources (their JSON representation, read from and written to
//! Tracker's users through the same creation and edit code as the API),
//! and DIR3: the directory owns the lifecycle of the users it manages, and
//! a directory deactivation that D3/D4 would block happens anyway, leaving
//! open offboarding items and one digest email to the system
//! administrators.

use crate::audit::record;
use crate::users::{edit_user, insert_new_user, NewUser, UserPatch};
use crate::views::user_json;
use crate::{App, AppError, AppResult, Ctx, Listing, Page};
use domain::audit::AuditAction;
use domain::model::User;
use domain::scim::{self, PatchOp, ScimType};
use domain::{Email, Millis, OfficeId, Role, Side, UserId};
use serde_json::{json, Value};
use store::{DirectoryLink, DirectoryLookup, OffboardingItem, OutboxPayload, ScimToken, Tx};

/// A SCIM refusal as an [`AppError`]: 400 with the SCIM type's code.
pub fn scim_error(t: ScimType, message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        code: t.code().into(),
        message: message.into(),
        field: None,
    }
}

pub(crate) fn uniqueness(message: impl Into<String>) -> AppError {
    AppError::Conflict {
        code: "scim_uniqueness",
        message: message.into(),
        field: None,
    }
}

/// A linked user as the directory sees it.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    pub link: DirectoryLink,
    pub user: User,
    pub office_name: Option<String>,
}

impl DirectoryUser {
    /// The SCIM representation (RFC 7643 §4.1 and the enterprise
    /// extension) without `meta.location`, which the web layer adds: the
    /// attributes `/Schemas` lists and nothing else, so a client that
    /// validates answers against the published schema accepts it.
    pub fn to_scim(&self) -> Value {
        let mut v = json!({
            "schemas": [scim::USER_SCHEMA, scim::ENTERPRISE_SCHEMA],
            "id": self.user.id.as_str(),
            "userName": self.link.user_name,
            "name": {"givenName": self.user.first_name, "familyName": self.user.last_name},
            "emails": [{"value": self.user.email, "type": "work", "primary": true}],
            "active": self.user.active,
        });
        if let Some(e) = &self.link.external_id {
            v["externalId"] = json!(e);
        }
        let department = self.link.department.clone().or_else(|| self.office_name.clone());
        v[scim::ENTERPRISE_SCHEMA] = match department {
            Some(d) => json!({"department": d}),
            None => json!({}),
        };
        let version = version_of(&v);
        v["meta"] = json!({
            "resourceType": "User",
            "created": rfc3339(self.link.created_at.min(self.user.created_at)),
            "lastModified": rfc3339(self.link.updated_at.max(self.user.updated_at)),
            "version": version,
        });
        v
    }

    /// `meta.version`: a weak ETag over everything the representation shows.
    pub fn version(&self) -> String {
        self.to_scim()["meta"]["version"].as_str().unwrap_or_default().to_owned()
    }
}

pub(crate) fn version_of(representation: &Value) -> String {
    let hash = domain::secret::hash_token(&representation.to_string());
    format!("W/\"{}\"", &hash[..16])
}

pub(crate) fn rfc3339(ms: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// What a SCIM User body asks for, validated.
#[derive(Debug, Clone, PartialEq)]
struct Wanted {
    user_name: String,
    first_name: String,
    last_name: String,
    email: String,
    active: bool,
    external_id: Option<String>,
    department: Option<String>,
}

pub(crate) fn get_ci<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

pub(crate) fn opt_string(v: Option<&Value>, name: &str) -> AppResult<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(scim_error(ScimType::InvalidValue, format!("{name} must be a string"))),
    }
}

/// DIR1: reads a User body. Attributes outside our schema are ignored
/// (RFC 7643 §3.1 lets a provider do so); an unknown schema URN is not.
fn read_user(body: &Value) -> AppResult<Wanted> {
    let Value::Object(obj) = body else {
        return Err(scim_error(ScimType::InvalidSyntax, "a User is a JSON object"));
    };
    let schemas = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .ok_or_else(|| scim_error(ScimType::InvalidValue, "schemas must list the User schema"))?;
    let known = [scim::USER_SCHEMA, scim::ENTERPRISE_SCHEMA];
    for s in schemas {
        let s = s
            .as_str()
            .ok_or_else(|| scim_error(ScimType::InvalidValue, "schemas holds strings"))?;
        if !known.iter().any(|k| k.eq_ignore_ascii_case(s)) {
            return Err(scim_error(ScimType::InvalidValue, format!("unknown schema {s}")));
        }
    }
    if !schemas
        .iter()
        .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(scim::USER_SCHEMA)))
    {
        return Err(scim_error(
            ScimType::InvalidValue,
            format!("schemas must include {}", scim::USER_SCHEMA),
        ));
    }
    if let Some(k) = obj
        .keys()
        .find(|k| k.to_ascii_lowercase().starts_with("urn:") && !known.iter().any(|s| s.eq_ignore_ascii_case(k)))
    {
        return Err(scim_error(ScimType::InvalidValue, format!("unknown schema extension {k}")));
    }
    let user_name =
        opt_string(get_ci(body, "userName"), "userName")?.ok_or_else(|| scim_error(ScimType::InvalidValue, "userName is required"))?;
    let name = get_ci(body, "name");
    if name.is_some_and(|n| !n.is_object() && !n.is_null()) {
        return Err(scim_error(ScimType::InvalidValue, "name must be an object"));
    }
    let given = opt_string(name.and_then(|n| get_ci(n, "givenName")), "name.givenName")?;
    let family = opt_string(name.and_then(|n| get_ci(n, "familyName")), "name.familyName")?;
    let (Some(first_name), Some(last_name)) = (given, family) else {
        return Err(scim_error(
            ScimType::InvalidValue,
            "name.givenName and name.familyName are required",
        ));
    };
    let email = pick_email(get_ci(body, "emails"), &user_name)?;
    let active = match get_ci(body, "active") {
        None | Some(Value::Null) => true,
        Some(v) => scim::boolean(v).ok_or_else(|| scim_error(ScimType::InvalidValue, "active must be true or false"))?,
    };
    let external_id = opt_string(get_ci(body, "externalId"), "externalId")?;
    let department = match get_ci(body, scim::ENTERPRISE_SCHEMA) {
        None | Some(Value::Null) => None,
        Some(ext @ Value::Object(_)) => opt_string(get_ci(ext, "department"), "department")?,
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "the enterprise extension must be an object")),
    };
    Ok(Wanted {
        user_name,
        first_name,
        last_name,
        email,
        active,
        external_id,
        department,
    })
}

/// DIR1: the Tracker email is the primary address, else the `work` one,
/// else the first, else `userName` when it is an address.
fn pick_email(emails: Option<&Value>, user_name: &str) -> AppResult<String> {
    let list = match emails {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "emails must be an array")),
    };
    for e in &list {
        if !e.is_object() || get_ci(e, "value").is_some_and(|v| !v.is_string()) {
            return Err(scim_error(
                ScimType::InvalidValue,
                "each of emails is an object with a string value",
            ));
        }
    }
    let value = |e: &Value| get_ci(e, "value").and_then(Value::as_str).map(str::to_owned);
    let chosen = list
        .iter()
        .find(|e| get_ci(e, "primary").and_then(scim::boolean) == Some(true))
        .or_else(|| {
            list.iter().find(|e| {
                get_ci(e, "type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
        })
        .or_else(|| list.first())
        .and_then(value);
    let address = match chosen {
        Some(a) => a,
        None if Email::parse(user_name).is_ok() => user_name.to_owned(),
        None => {
            return Err(scim_error(
                ScimType::InvalidValue,
                "no usable email address: send emails, or a userName that is one",
            ))
        }
    };
    Email::parse(&address)
        .map(|e| e.as_str().to_owned())
        .map_err(|_| scim_error(ScimType::InvalidValue, format!("'{address}' is not an email address")))
}

/// An office with this name, for `department` (DIR1).
async fn office_named(tx: &mut Tx, name: Option<&str>) -> AppResult<Option<OfficeId>> {
    let Some(name) = name else { return Ok(None) };
    Ok(tx.office_by_name(name).await?.map(|o| o.id))
}

fn check_if_match(current: &DirectoryUser, if_match: Option<&str>) -> AppResult<()> {
    check_version("user", &current.version(), if_match)
}

/// `If-Match` (RFC 7644 §3.14): the resource `what` must still be at one of
/// the versions named, or `*`; otherwise 412.
pub(crate) fn check_version(what: &str, version: &str, if_match: Option<&str>) -> AppResult<()> {
    let Some(wanted) = if_match else { return Ok(()) };
    let strip = |s: &str| s.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    if wanted.trim() == "*" || wanted.split(',').any(|w| strip(w) == strip(version)) {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed {
            message: format!("the {what} changed: it is now at version {version}"),
        })
    }
}

impl App {
    /// DIR2: the directory's token, or 401. A session token is never one.
    #[tracing::instrument(name = "scim_authenticate", skip_all)]
    pub async fn scim_authenticate(&self, token: &str, source_ip: Option<String>) -> AppResult<Ctx> {
        let refused = || {
            AppError::unauthorized(
                "invalid_token",
                "send a SCIM token made in Settings › Directory as Authorization: Bearer",
            )
        };
        if !domain::secret::looks_like_token(token) {
            return Err(refused());
        }
        let hash = domain::secret::hash_token(token);
        let mut tx = self.db.read().await?;
        let found = tx.scim_token_by_hash(&hash).await?.ok_or_else(refused)?;
        drop(tx);
        let now = self.now();
        if found.last_used_at.is_none_or(|t| t < now - 60_000) {
            let mut tx = self.db.write().await?;
            tx.touch_scim_token(&found.id, now).await?;
            tx.commit().await?;
        }
        Ok(Ctx::directory(&found.name, source_ip))
    }

    fn require_sysadmin(ctx: &Ctx) -> AppResult<()> {
        let actor = ctx.signed_in()?;
        if !actor.is_system_administrator() {
            return Err(AppError::forbidden(
                "only company system administrators manage the directory connection",
            ));
        }
        Ok(())
    }

    /// DIR2: a new named token; the secret is returned once, only its hash kept.
    #[tracing::instrument(name = "create_scim_token", skip_all)]
    pub async fn create_scim_token(&self, ctx: &Ctx, name: &str) -> AppResult<(ScimToken, String)> {
        Self::require_sysadmin(ctx)?;
        let name = domain::ShortText::parse("name", name, 100)?.into_string();
        let (token, hash) = domain::secret::new_token();
        let now = self.now();
        let t = ScimToken {
            id: UserId::generate().to_string(),
            name,
            created_at: now,
            created_by: ctx.actor_id().map(|a| a.to_string()),
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db.write().await?;
        tx.insert_scim_token(&t, &hash).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::ScimTokenCreated,
            Some(&t.id),
            None,
            Some(json!({"name": t.name})),
        )
        .await?;
        tx.commit().await?;
        Ok((t, token))
    }

    #[tracing::instrument(name = "scim_tokens", skip_all)]
    pub async fn scim_tokens(&self, ctx: &Ctx) -> AppResult<Vec<ScimToken>> {
        Self::require_sysadmin(ctx)?;
        Ok(self.db.read().await?.scim_tokens().await?)
    }

    #[tracing::instrument(name = "revoke_scim_token", skip_all)]
    pub async fn revoke_scim_token(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        Self::require_sysadmin(ctx)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if !tx.revoke_scim_token(id, now).await? {
            return Err(AppError::not_found("SCIM token"));
        }
        record(&mut tx, ctx, now, AuditAction::ScimTokenRevoked, Some(id), None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// DIR1: linked users, starting from an index when the filter allows.
    #[tracing::instrument(name = "directory_users", skip_all)]
    pub async fn directory_users(&self, lookup: &DirectoryLookup) -> AppResult<Vec<DirectoryUser>> {
        let mut tx = self.db.read().await?;
        let found = tx.directory_users(lookup).await?;
        with_offices(&mut tx, found).await
    }

    /// DIR1 without a filter: one page in creation order, and the total.
    #[tracing::instrument(name = "directory_users_page", skip_all)]
    pub async fn directory_users_page(&self, offset: i64, limit: i64) -> AppResult<(Vec<DirectoryUser>, i64)> {
        let mut tx = self.db.read().await?;
        let (found, total) = tx.directory_users_page(offset, limit).await?;
        Ok((with_offices(&mut tx, found).await?, total))
    }

    #[tracing::instrument(name = "directory_user", skip_all)]
    pub async fn directory_user(&self, id: &UserId) -> AppResult<DirectoryUser> {
        let mut tx = self.db.read().await?;
        linked(&mut tx, id, false).await
    }

    /// DIR1 `POST /Users`: creates a company user, or links the existing
    /// user with that address (DIR3: "created or linked").
    #[tracing::instrument(name = "directory_create", skip_all)]
    pub async fn directory_create(&self, ctx: &Ctx, body: &Value) -> AppResult<DirectoryUser> {
        let w = read_user(body)?;
        let now = self.now();
        let mut tx = self.db.write().await?;
        if let Some(l) = tx.directory_link_by_user_name(&w.user_name).await? {
            if l.deprovisioned_at.is_none() {
                return Err(uniqueness(format!("a user with userName {} exists", w.user_name)));
            }
        }
        let mut queued = false;
        let existing = tx.user_by_email(&w.email).await?;
        let user_id = match existing {
            Some(u) => {
                if u.side != Side::Company {
                    return Err(uniqueness(format!(
                        "{} is a firm user's address; the directory manages company users",
                        w.email
                    )));
                }
                if let Some(l) = tx.directory_link(&u.id).await? {
                    if l.deprovisioned_at.is_none() {
                        return Err(uniqueness(format!("{} belongs to the directory user {}", w.email, l.user_name)));
                    }
                }
                u.id
            }
            None => {
                let office = office_named(&mut tx, w.department.as_deref()).await?;
                let input = NewUser {
                    email: w.email.clone(),
                    first_name: w.first_name.clone(),
                    last_name: w.last_name.clone(),
                    side: Some(Side::Company.as_str().into()),
                    firm_id: None,
                    office_id: office.map(|o| o.to_string()),
                    role: Role::CompanyUser.as_str().into(),
                    hold_new_user_email: !w.active,
                };
                let (details, q) = insert_new_user(&mut tx, ctx, input, now).await?;
                queued = q;
                details.user.id
            }
        };
        // A deprovisioned link of this user, or of this userName, is reused.
        let previous = match tx.directory_link(&user_id).await? {
            Some(l) => Some(l),
            None => tx
                .directory_link_by_user_name(&w.user_name)
                .await?
                .filter(|l| l.user_id == user_id.as_str()),
        };
        if previous.is_none() {
            if let Some(stale) = tx.directory_link_by_user_name(&w.user_name).await? {
                // The name was another user's, deleted in the directory since.
                let mut freed = stale.clone();
                freed.user_name = format!("{}#deprovisioned-{}", stale.user_name, stale.user_id);
                tx.update_directory_link(&freed).await?;
            }
            tx.insert_directory_link(&DirectoryLink {
                user_id: user_id.to_string(),
                user_name: w.user_name.clone(),
                external_id: None,
                department: None,
                deprovisioned_at: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
        }
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDirectoryLinked,
            Some(user_id.as_str()),
            None,
            Some(json!({"userName": w.user_name})),
        )
        .await?;
        queued |= self.apply_wanted(&mut tx, ctx, &user_id, &w, now).await?;
        let out = linked(&mut tx, &user_id, false).await?;
        self.commit(tx, queued).await?;
        Ok(out)
    }

    /// DIR1 `PUT /Users/{id}`.
    #[tracing::instrument(name = "directory_replace", skip_all)]
    pub async fn directory_replace(&self, ctx: &Ctx, id: &UserId, body: &Value, if_match: Option<&str>) -> AppResult<DirectoryUser> {
        let w = read_user(body)?;
        self.directory_write(ctx, id, if_match, move |_| Ok(w)).await
    }

    /// DIR1 `PATCH /Users/{id}`: the operations apply to the representation
    /// read under lock, so two concurrent patches both take effect (S9).
    #[tracing::instrument(name = "directory_patch", skip_all)]
    pub async fn directory_patch(&self, ctx: &Ctx, id: &UserId, ops: &[PatchOp], if_match: Option<&str>) -> AppResult<DirectoryUser> {
        self.directory_write(ctx, id, if_match, |current| {
            let mut v = current.to_scim();
            scim::patch::apply(&mut v, ops).map_err(|p| scim_error(p.scim_type, p.message))?;
            read_user(&v)
        })
        .await
    }

    /// DIR1 `DELETE /Users/{id}`: D1 — the user is deactivated (DIR3) and
    /// the resource is gone for the directory.
    #[tracing::instrument(name = "directory_delete", skip_all)]
    pub async fn directory_delete(&self, ctx: &Ctx, id: &UserId, if_match: Option<&str>) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        tx.scheduled_deactivation_for_update(id).await?;
        let current = linked(&mut tx, id, true).await?;
        check_if_match(&current, if_match)?;
        if current.user.active {
            directory_set_active(&mut tx, ctx, current.user.clone(), false, now).await?;
        }
        // The resource is gone: it is no group's member any more.
        tx.leave_directory_groups(id, now).await?;
        let mut link = current.link.clone();
        link.deprovisioned_at = Some(now);
        link.updated_at = now;
        tx.update_directory_link(&link).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::UserDeprovisioned,
            Some(id.as_str()),
            None,
            Some(json!({"userName": link.user_name})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn directory_write(
        &self,
        ctx: &Ctx,
        id: &UserId,
        if_match: Option<&str>,
        wanted: impl FnOnce(&DirectoryUser) -> AppResult<Wanted>,
    ) -> AppResult<DirectoryUser> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        // Lock order: a stored plan, then the user (a deactivation settles it).
        tx.scheduled_deactivation_for_update(id).await?;
        let current = linked(&mut tx, id, true).await?;
        check_if_match(&current, if_match)?;
        let w = wanted(&current)?;
        self.hooks.pause(crate::hooks::Point::DirectoryWrite).await;
        let queued = self.apply_wanted(&mut tx, ctx, id, &w, now).await?;
        let out = linked(&mut tx, id, false).await?;
        self.commit(tx, queued).await?;
        Ok(out)
    }

    /// Makes the linked user what the directory wants: names and email
    /// through the API's own edit (S10 included), office by department,
    /// the link's fields, then the lifecycle (DIR3).
    async fn apply_wanted(&self, tx: &mut Tx, ctx: &Ctx, id: &UserId, w: &Wanted, now: Millis) -> AppResult<bool> {
        let link = tx.directory_link(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if !w.user_name.eq_ignore_ascii_case(&link.user_name) {
            if let Some(other) = tx.directory_link_by_user_name(&w.user_name).await? {
                if other.user_id != link.user_id {
                    return Err(uniqueness(format!("a user with userName {} exists", w.user_name)));
                }
            }
        }
        let before = tx.user_for_update(id).await?.ok_or_else(|| AppError::not_found("user"))?;
        if tx.email_taken(&w.email, Some(id)).await? {
            return Err(uniqueness(format!("a user with the email {} exists", w.email)));
        }
        let office = office_named(tx, w.department.as_deref()).await?;
        let office_change = match (&w.department, &office) {
            (Some(_), Some(o)) if before.office_id.as_ref() != Some(o) => Some(Some(o.to_string())),
            _ => None,
        };
        let patch = UserPatch {
            active: None,
            first_name: Some(w.first_name.clone()),
            last_name: Some(w.last_name.clone()),
            email: Some(w.email.clone()),
            role: None,
            office_id: office_change,
        };
        let (_, mut queued) = edit_user(self, tx, ctx, id, patch, now).await.map_err(as_scim)?;
        let new_link = DirectoryLink {
            user_name: w.user_name.clone(),
            external_id: w.external_id.clone(),
            department: w.department.clone(),
            deprovisioned_at: None,
            updated_at: now,
            ..link.clone()
        };
        if new_link
            != (DirectoryLink {
                updated_at: now,
                ..link.clone()
            })
        {
            tx.update_directory_link(&new_link).await?;
            record(
                tx,
                ctx,
                now,
                AuditAction::UserDirectoryUpdated,
                Some(id.as_str()),
                Some(json!({"userName": link.user_name, "externalId": link.external_id, "department": link.department})),
                Some(json!({"userName": new_link.user_name, "externalId": new_link.external_id, "department": new_link.department})),
            )
            .await?;
        }
        if w.active != before.active {
            let user = tx.user(id).await?.ok_or_else(|| AppError::not_found("user"))?;
            queued |= directory_set_active(tx, ctx, user, w.active, now).await?;
        }
        Ok(queued)
    }

    /// DIR3: `GET /offboarding-items`, for company system administrators.
    #[tracing::instrument(name = "offboarding_items", skip_all)]
    pub async fn offboarding_items(&self, ctx: &Ctx, page: Page) -> AppResult<Listing<OffboardingItem>> {
        Self::require_sysadmin(ctx)?;
        let mut tx = self.db.read().await?;
        let (items, total) = tx.open_offboarding_items(page.per_page, page.offset()).await?;
        Ok(Listing { items, total, page })
    }
}

/// Each user with their office's name (read once per office).
async fn with_offices(tx: &mut Tx, found: Vec<(DirectoryLink, User)>) -> AppResult<Vec<DirectoryUser>> {
    let mut out = Vec::with_capacity(found.len());
    let mut offices = std::collections::HashMap::new();
    for (link, user) in found {
        let office_name = match &user.office_id {
            None => None,
            Some(o) => match offices.get(o) {
                Some(n) => n,
                None => {
                    let n = tx.office(o).await?.map(|o| o.name);
                    offices.entry(o.clone()).or_insert(n)
                }
            }
            .clone(),
        };
        out.push(DirectoryUser { link, user, office_name });
    }
    Ok(out)
}

/// The API's validation errors, as the directory must read them.
pub(crate) fn as_scim(e: AppError) -> AppError {
    match e {
        AppError::Invalid(problems) => scim_error(
            ScimType::InvalidValue,
            problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "),
        ),
        AppError::Conflict { message, .. } => uniqueness(message),
        other => other,
    }
}

/// The linked user `id` (locked when `lock`), or 404 — also once deprovisioned.
async fn linked(tx: &mut Tx, id: &UserId, lock: bool) -> AppResult<DirectoryUser> {
    let link = tx
        .directory_link(id)
        .await?
        .filter(|l| l.deprovisioned_at.is_none())
        .ok_or_else(|| AppError::not_found("user"))?;
    let user = if lock { tx.user_for_update(id).await? } else { tx.user(id).await? }.ok_or_else(|| AppError::not_found("user"))?;
    let office_name = match &user.office_id {
        Some(o) => tx.office(o).await?.map(|o| o.name),
        None => None,
    };
    Ok(DirectoryUser { link, user, office_name })
}

/// DIR3: the directory (de)activates a user at once. Responsibilities that
/// D3/D4 would have refused the deactivation for become open offboarding
/// items, and the system administrators get one digest email about them.
/// R1: a reactivation gives everything back and settles the items.
async fn directory_set_active(tx: &mut Tx, ctx: &Ctx, mut user: User, active: bool, now: Millis) -> AppResult<bool> {
    let before = user_json(&user);
    if active {
        crate::lifecycle::reactivate_now(tx, ctx, &mut user, before, now).await?;
        tx.resolve_offboarding_items(&user.id, now).await?;
        return Ok(false);
    }
    tx.lock_for_deactivation(&user).await?;
    crate::offboarding::settle_plan_on_deactivation(tx, ctx, &user.id, now).await?;
    // The one computation of a user's responsibilities (§5b's plan); each
    // D3/D4 one becomes an item, whether D3 blocks or D4 only warns.
    let plan = crate::offboarding::plan_in(tx, Some(Role::CompanySystemAdministrator), &user).await?;
    let mut items = Vec::new();
    for (i, blocker) in plan.iter().filter_map(|i| i.kind.blocker().map(|b| (i, b))) {
        let item = OffboardingItem {
            id: UserId::generate().to_string(),
            user_id: user.id.to_string(),
            kind: i.kind,
            target_type: i.target.kind,
            target_id: i.target.id.clone(),
            target_name: i.target.name.clone(),
            fix: blocker.fix().into(),
            created_at: now,
            resolved_at: None,
        };
        tx.insert_offboarding_item(&item).await?;
        items.push(item);
    }
    let open: Vec<Value> = items
        .iter()
        .map(|i| json!({"kind": i.kind.as_str(), "target": {"type": i.target_type, "id": i.target_id, "name": i.target_name}}))
        .collect();
    crate::lifecycle::deactivate_now(
        tx,
        ctx,
        &mut user,
        before,
        json!({"by_directory": true, "offboarding_items": open}),
        now,
    )
    .await?;
    if items.is_empty() {
        return Ok(false);
    }
    let digest = OutboxPayload::DirectoryDigest(store::DirectoryDigest {
        user_name: format!("{} {}", user.first_name, user.last_name),
        user_email: user.email.to_string(),
        items: items
            .iter()
            .map(|i| format!("{}: {} — {}", i.kind.as_str().replace('_', " "), i.target_name, i.fix))
            .collect(),
    });
    let mut queued = false;
    for admin in tx.active_system_administrators().await? {
        tx.enqueue_mail(&digest, Some(&admin.id), &admin.email, now).await?;
        queued = true;
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "schemas": [scim::USER_SCHEMA, scim::ENTERPRISE_SCHEMA],
            "userName": "Barbara.Jensen@corp.example",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "home@example.org", "type": "home"}, {"value": "bjensen@example.com", "type": "work"}],
            "active": "False",
            "externalId": "e-1",
            scim::ENTERPRISE_SCHEMA: {"department": "Legal"},
            "nickName": "Babs"
        })
    }

    #[test]
    fn reads_users_in_every_dialect() {
        let w = read_user(&body()).unwrap();
        assert_eq!(w.email, "bjensen@example.com");
        assert!(!w.active);
        assert_eq!(w.department.as_deref(), Some("Legal"));
        let mut b = body();
        b["emails"][0]["primary"] = json!(true);
        assert_eq!(read_user(&b).unwrap().email, "home@example.org");
        // Without emails, userName is the address, as written: an address
        // keeps its case for display and matches case-insensitively.
        b["emails"] = json!([]);
        assert_eq!(read_user(&b).unwrap().email, "Barbara.Jensen@corp.example");
    }

    #[test]
    fn refuses_what_it_cannot_store() {
        let t = |b: Value| match read_user(&b) {
            Err(AppError::BadRequest { code, .. }) => code.into_owned(),
            other => panic!("{other:?}"),
        };
        let mut b = body();
        b["schemas"] = json!([scim::USER_SCHEMA, "urn:example:unknown"]);
        assert_eq!(t(b), "scim_invalid_value");
        let mut b = body();
        b["userName"] = json!("NOTANADDRESS");
        b["emails"] = json!([]);
        assert_eq!(t(b), "scim_invalid_value");
        let mut b = body();
        b["active"] = json!("maybe");
        assert_eq!(t(b), "scim_invalid_value");
        let mut b = body();
        b["userName"] = json!(5);
        assert_eq!(t(b), "scim_invalid_value");
        assert_eq!(t(json!([])), "scim_invalid_syntax");
    }
}
