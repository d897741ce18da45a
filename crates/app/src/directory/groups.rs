//! DIR1: the directory's groups as SCIM `Group` resources (RFC 7643 §4.2),
//! and the roles their membership gives: a mapping in settings names the
//! groups whose members get a Tracker role (`domain::scim::groups`). A
//! change of membership, of a mapped group's name, or of the mapping sets
//! the role of each directory user it touches through the API's own edit
//! (`users::edit_user`), audited with the caller as actor — `scim:<token>`
//! for the directory.

use super::{check_version, get_ci, opt_string, rfc3339, scim_error, uniqueness, version_of};
use crate::audit::record;
use crate::users::{edit_user, UserPatch};
use crate::{App, AppError, AppResult, Ctx};
use domain::audit::AuditAction;
use domain::scim::groups::{mapped_role, role_from_groups};
use domain::scim::{self, GroupRole, PatchOp, ScimType};
use domain::{Millis, UserId};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use store::{DirectoryGroup, GroupLookup, GroupMember, Tx};

/// A group with its members, as the directory sees it.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: DirectoryGroup,
    /// `None` when the caller did not ask for them (`excludedAttributes=members`).
    pub members: Option<Vec<GroupMember>>,
}

impl GroupView {
    /// The SCIM representation without `meta.location` (the web layer's).
    pub fn to_scim(&self) -> Value {
        let mut v = json!({
            "schemas": [scim::GROUP_SCHEMA],
            "id": self.group.id,
            "displayName": self.group.display_name,
        });
        if let Some(e) = &self.group.external_id {
            v["externalId"] = json!(e);
        }
        if let Some(members) = &self.members {
            v["members"] = members
                .iter()
                .map(|m| json!({"value": m.user_id, "display": format!("{} {}", m.first_name, m.last_name), "type": "User"}))
                .collect();
        }
        let version = version_of(&v);
        v["meta"] = json!({
            "resourceType": "Group",
            "created": rfc3339(self.group.created_at),
            "lastModified": rfc3339(self.group.updated_at),
            "version": version,
        });
        v
    }

    pub fn version(&self) -> String {
        self.to_scim()["meta"]["version"].as_str().unwrap_or_default().to_owned()
    }

    fn member_ids(&self) -> BTreeSet<String> {
        self.members.iter().flatten().map(|m| m.user_id.clone()).collect()
    }
}

/// What a SCIM Group body asks for, validated.
#[derive(Debug, Clone, PartialEq)]
struct WantedGroup {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<String>,
}

/// DIR1: reads a Group body. Attributes outside the schema are ignored;
/// an unknown schema URN is not (Entra ID's ADSCIM Group schema, which it
/// names beside the core one, is known and asks for nothing); members are
/// users (no nested groups).
fn read_group(body: &Value) -> AppResult<WantedGroup> {
    let Value::Object(obj) = body else {
        return Err(scim_error(ScimType::InvalidSyntax, "a Group is a JSON object"));
    };
    let schemas = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .ok_or_else(|| scim_error(ScimType::InvalidValue, "schemas must list the Group schema"))?;
    let mut named_group = false;
    for s in schemas {
        let s = s
            .as_str()
            .ok_or_else(|| scim_error(ScimType::InvalidValue, "schemas holds strings"))?;
        if s.eq_ignore_ascii_case(scim::GROUP_SCHEMA) {
            named_group = true;
        } else if !s.eq_ignore_ascii_case(scim::ENTRA_GROUP_SCHEMA) {
            return Err(scim_error(ScimType::InvalidValue, format!("unknown schema {s}")));
        }
    }
    if !named_group {
        return Err(scim_error(
            ScimType::InvalidValue,
            format!("schemas must include {}", scim::GROUP_SCHEMA),
        ));
    }
    if let Some(k) = obj.keys().find(|k| k.to_ascii_lowercase().starts_with("urn:")) {
        return Err(scim_error(ScimType::InvalidValue, format!("unknown schema extension {k}")));
    }
    let display_name = opt_string(get_ci(body, "displayName"), "displayName")?
        .ok_or_else(|| scim_error(ScimType::InvalidValue, "displayName is required"))?;
    if display_name.chars().count() > 256 || display_name.chars().any(char::is_control) {
        return Err(scim_error(
            ScimType::InvalidValue,
            "displayName has at most 256 characters and no control characters",
        ));
    }
    let external_id = opt_string(get_ci(body, "externalId"), "externalId")?;
    let list = match get_ci(body, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(scim_error(ScimType::InvalidValue, "members must be an array")),
    };
    let mut members = BTreeSet::new();
    for m in &list {
        let Some(value) = get_ci(m, "value").and_then(Value::as_str) else {
            return Err(scim_error(
                ScimType::InvalidValue,
                "each of members is an object with the user's id as a string value",
            ));
        };
        if get_ci(m, "type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("group"))
        {
            return Err(scim_error(ScimType::InvalidValue, "members are users: groups do not nest here"));
        }
        members.insert(value.trim().to_owned());
    }
    Ok(WantedGroup {
        display_name,
        external_id,
        members,
    })
}

/// The group `id` with its members (locked when `lock`), or 404.
async fn group_view(tx: &mut Tx, id: &str, lock: bool) -> AppResult<GroupView> {
    let group = tx.directory_group(id, lock).await?.ok_or_else(|| AppError::not_found("group"))?;
    let members = Some(tx.directory_group_members(&group.id).await?);
    Ok(GroupView { group, members })
}

/// A refusal of a role change, as the directory must read it: a rule the
/// change would break (the last system administrator) is an invalid value.
fn role_refused(e: AppError) -> AppError {
    match e {
        AppError::Conflict { message, .. } => scim_error(ScimType::InvalidValue, message),
        other => super::as_scim(other),
    }
}

/// Sets each of `users` (directory users, in id order: the lock order) to
/// the role their groups give under `mapping`. Whether mail was queued.
pub(crate) async fn sync_roles(
    app: &App,
    tx: &mut Tx,
    ctx: &Ctx,
    mapping: &[GroupRole],
    users: &BTreeSet<String>,
    now: Millis,
) -> AppResult<bool> {
    let mut queued = false;
    for id in users {
        let uid = UserId::from(id.as_str());
        if tx.directory_link(&uid).await?.is_none_or(|l| l.deprovisioned_at.is_some()) {
            continue;
        }
        let names = tx.directory_group_names_of(&uid).await?;
        let role = role_from_groups(mapping, names.iter().map(String::as_str));
        let patch = UserPatch {
            role: Some(role.as_str().into()),
            ..UserPatch::default()
        };
        queued |= edit_user(app, tx, ctx, &uid, patch, now).await?.1;
    }
    Ok(queued)
}

/// After a change of the mapping from `old` to `new`: the roles of the
/// members of every group whose mapped role changed.
pub(crate) async fn remap_roles(app: &App, tx: &mut Tx, ctx: &Ctx, old: &[GroupRole], new: &[GroupRole], now: Millis) -> AppResult<bool> {
    let mut users = BTreeSet::new();
    for name in old.iter().chain(new).map(|m| m.group.as_str()) {
        if mapped_role(old, name) == mapped_role(new, name) {
            continue;
        }
        for g in tx.directory_groups(&GroupLookup::DisplayName(name.to_owned())).await? {
            users.extend(tx.directory_group_members(&g.id).await?.into_iter().map(|m| m.user_id));
        }
    }
    sync_roles(app, tx, ctx, new, &users, now).await
}

/// The members whose role a change of a group from (`old_name`,
/// `before`) to (`new_name`, `after`) may change.
fn touched(
    mapping: &[GroupRole],
    old_name: Option<&str>,
    new_name: Option<&str>,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) -> BTreeSet<String> {
    let old_role = old_name.and_then(|n| mapped_role(mapping, n));
    let new_role = new_name.and_then(|n| mapped_role(mapping, n));
    if old_role != new_role {
        before.union(after).cloned().collect()
    } else if new_role.is_some() {
        before.symmetric_difference(after).cloned().collect()
    } else {
        BTreeSet::new()
    }
}

fn audit_json(g: &DirectoryGroup) -> Value {
    json!({"displayName": g.display_name, "externalId": g.external_id})
}

impl App {
    /// DIR1: groups, starting from an index when the filter allows;
    /// members read only when wanted.
    #[tracing::instrument(name = "directory_groups", skip_all)]
    pub async fn directory_groups(&self, lookup: &GroupLookup, with_members: bool) -> AppResult<Vec<GroupView>> {
        let mut tx = self.db.read().await?;
        let mut out = Vec::new();
        for group in tx.directory_groups(lookup).await? {
            let members = if with_members {
                Some(tx.directory_group_members(&group.id).await?)
            } else {
                None
            };
            out.push(GroupView { group, members });
        }
        Ok(out)
    }

    #[tracing::instrument(name = "directory_group", skip_all)]
    pub async fn directory_group(&self, id: &str) -> AppResult<GroupView> {
        let mut tx = self.db.read().await?;
        group_view(&mut tx, id, false).await
    }

    /// DIR1 `POST /Groups`.
    #[tracing::instrument(name = "directory_group_create", skip_all)]
    pub async fn directory_group_create(&self, ctx: &Ctx, body: &Value) -> AppResult<GroupView> {
        let w = read_group(body)?;
        self.group_write(ctx, None, None, |_| Ok(w)).await
    }

    /// DIR1 `PUT /Groups/{id}`.
    #[tracing::instrument(name = "directory_group_replace", skip_all)]
    pub async fn directory_group_replace(&self, ctx: &Ctx, id: &str, body: &Value, if_match: Option<&str>) -> AppResult<GroupView> {
        let w = read_group(body)?;
        self.group_write(ctx, Some(id), if_match, |_| Ok(w)).await
    }

    /// DIR1 `PATCH /Groups/{id}`: the operations (member add/remove in the
    /// RFC's, Entra ID's and Okta's spellings) apply to the group read
    /// under its lock, so concurrent patches all take effect.
    #[tracing::instrument(name = "directory_group_patch", skip_all)]
    pub async fn directory_group_patch(&self, ctx: &Ctx, id: &str, ops: &[PatchOp], if_match: Option<&str>) -> AppResult<GroupView> {
        self.group_write(ctx, Some(id), if_match, |current| {
            let mut v = current.to_scim();
            if v.get("members").is_none() {
                v["members"] = json!([]);
            }
            scim::patch::apply(&mut v, ops).map_err(|p| scim_error(p.scim_type, p.message))?;
            read_group(&v)
        })
        .await
    }

    /// DIR1 `DELETE /Groups/{id}`: the group and its memberships go; its
    /// members lose the role it gave them.
    #[tracing::instrument(name = "directory_group_delete", skip_all)]
    pub async fn directory_group_delete(&self, ctx: &Ctx, id: &str, if_match: Option<&str>) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let current = group_view(&mut tx, id, true).await?;
        check_version("group", &current.version(), if_match)?;
        let mapping = tx.settings().await?.directory_group_roles;
        let before = current.member_ids();
        tx.delete_directory_group(id).await?;
        record(
            &mut tx,
            ctx,
            now,
            AuditAction::DirectoryGroupDeleted,
            Some(id),
            Some(audit_json(&current.group)),
            None,
        )
        .await?;
        let users = touched(&mapping, Some(&current.group.display_name), None, &before, &BTreeSet::new());
        let queued = sync_roles(self, &mut tx, ctx, &mapping, &users, now).await.map_err(role_refused)?;
        self.commit(tx, queued).await
    }

    /// Creates (`id` None) or changes a group to what `wanted` makes of
    /// the current one, in one transaction with its audit entry and the
    /// role changes it causes.
    async fn group_write(
        &self,
        ctx: &Ctx,
        id: Option<&str>,
        if_match: Option<&str>,
        wanted: impl FnOnce(&GroupView) -> AppResult<WantedGroup>,
    ) -> AppResult<GroupView> {
        let now = self.now();
        let mut tx = self.db.write().await?;
        let current = match id {
            Some(id) => {
                let c = group_view(&mut tx, id, true).await?;
                check_version("group", &c.version(), if_match)?;
                Some(c)
            }
            None => None,
        };
        let empty = GroupView {
            group: DirectoryGroup {
                id: String::new(),
                display_name: String::new(),
                external_id: None,
                created_at: now,
                updated_at: now,
            },
            members: Some(Vec::new()),
        };
        let w = wanted(current.as_ref().unwrap_or(&empty))?;
        self.hooks.pause(crate::hooks::Point::DirectoryWrite).await;
        let clash = tx.directory_groups(&GroupLookup::DisplayName(w.display_name.clone())).await?;
        if clash.iter().any(|g| current.as_ref().is_none_or(|c| c.group.id != g.id)) {
            return Err(uniqueness(format!("a group named {} exists", w.display_name)));
        }
        let before = current.as_ref().map(GroupView::member_ids).unwrap_or_default();
        let added: Vec<&String> = w.members.difference(&before).collect();
        let removed: Vec<&String> = before.difference(&w.members).collect();
        for m in &added {
            let link = tx.directory_link(&UserId::from(m.as_str())).await?;
            if link.is_none_or(|l| l.deprovisioned_at.is_some()) {
                return Err(scim_error(
                    ScimType::InvalidValue,
                    format!("members: no directory user has the id {m}"),
                ));
            }
        }
        let (group, action, before_json) = match &current {
            None => {
                let g = DirectoryGroup {
                    id: UserId::generate().to_string(),
                    display_name: w.display_name.clone(),
                    external_id: w.external_id.clone(),
                    created_at: now,
                    updated_at: now,
                };
                tx.insert_directory_group(&g).await.map_err(|e| {
                    if e.is_unique_violation() {
                        uniqueness(format!("a group named {} exists", w.display_name))
                    } else {
                        e.into()
                    }
                })?;
                (g, AuditAction::DirectoryGroupCreated, None)
            }
            Some(c) => {
                let g = DirectoryGroup {
                    display_name: w.display_name.clone(),
                    external_id: w.external_id.clone(),
                    updated_at: now,
                    ..c.group.clone()
                };
                (g, AuditAction::DirectoryGroupUpdated, Some(audit_json(&c.group)))
            }
        };
        for m in &added {
            tx.add_directory_group_member(&group.id, m).await?;
        }
        for m in &removed {
            tx.remove_directory_group_member(&group.id, m).await?;
        }
        let fields_changed = current
            .as_ref()
            .is_none_or(|c| c.group.display_name != group.display_name || c.group.external_id != group.external_id);
        if current.is_some() && (fields_changed || !added.is_empty() || !removed.is_empty()) {
            tx.update_directory_group(&group).await?;
        }
        if fields_changed || !added.is_empty() || !removed.is_empty() {
            let mut after = audit_json(&group);
            after["members_added"] = json!(added);
            after["members_removed"] = json!(removed);
            record(&mut tx, ctx, now, action, Some(&group.id), before_json, Some(after)).await?;
        }
        let mapping = tx.settings().await?.directory_group_roles;
        let users = touched(
            &mapping,
            current.as_ref().map(|c| c.group.display_name.as_str()),
            Some(&group.display_name),
            &before,
            &w.members,
        );
        let queued = sync_roles(self, &mut tx, ctx, &mapping, &users, now).await.map_err(role_refused)?;
        let out = group_view(&mut tx, &group.id, false).await?;
        self.commit(tx, queued).await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;

    #[test]
    fn reads_groups_and_refuses_what_it_cannot_store() {
        let w = read_group(&json!({
            "schemas": [scim::GROUP_SCHEMA],
            "displayName": " Tracker Admins ",
            "externalId": "g-1",
            "members": [{"value": "b", "display": "B"}, {"value": "a"}, {"value": "b"}],
            "owner": "ignored"
        }))
        .unwrap();
        assert_eq!(w.display_name, "Tracker Admins");
        assert_eq!(w.members.iter().collect::<Vec<_>>(), ["a", "b"]);
        let code = |b: Value| match read_group(&b) {
            Err(AppError::BadRequest { code, .. }) => code.into_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(code(json!([])), "scim_invalid_syntax");
        assert_eq!(
            code(json!({"schemas": [scim::USER_SCHEMA], "displayName": "x"})),
            "scim_invalid_value"
        );
        assert_eq!(code(json!({"schemas": [scim::GROUP_SCHEMA]})), "scim_invalid_value");
        // Entra ID names its ADSCIM schema beside the core one; alone it
        // is no Group.
        let w = read_group(&json!({"schemas": [scim::GROUP_SCHEMA, scim::ENTRA_GROUP_SCHEMA], "displayName": "d"})).unwrap();
        assert_eq!(w.display_name, "d");
        assert_eq!(
            code(json!({"schemas": [scim::ENTRA_GROUP_SCHEMA], "displayName": "x"})),
            "scim_invalid_value"
        );
        assert_eq!(
            code(json!({"schemas": [scim::GROUP_SCHEMA, "urn:example:other"], "displayName": "x"})),
            "scim_invalid_value"
        );
        assert_eq!(
            code(json!({"schemas": [scim::GROUP_SCHEMA], "displayName": 5})),
            "scim_invalid_value"
        );
        assert_eq!(
            code(json!({"schemas": [scim::GROUP_SCHEMA], "displayName": "x", "members": {}})),
            "scim_invalid_value"
        );
        assert_eq!(
            code(json!({"schemas": [scim::GROUP_SCHEMA], "displayName": "x", "members": [{"value": 1}]})),
            "scim_invalid_value"
        );
        assert_eq!(
            code(json!({"schemas": [scim::GROUP_SCHEMA], "displayName": "x", "members": [{"value": "g", "type": "Group"}]})),
            "scim_invalid_value"
        );
    }

    #[test]
    fn only_members_whose_role_can_change_are_touched() {
        let mapping = vec![GroupRole {
            group: "Admins".into(),
            role: Role::CompanySystemAdministrator,
        }];
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let (before, after) = (set(&["a", "b"]), set(&["b", "c"]));
        // A mapped group: who joined or left.
        assert_eq!(touched(&mapping, Some("admins"), Some("Admins"), &before, &after), set(&["a", "c"]));
        // An unmapped group: nobody.
        assert_eq!(touched(&mapping, Some("Everyone"), Some("Everyone"), &before, &after), set(&[]));
        // Renamed into or out of the mapping, or deleted: everyone.
        assert_eq!(
            touched(&mapping, Some("Everyone"), Some("Admins"), &before, &after),
            set(&["a", "b", "c"])
        );
        assert_eq!(touched(&mapping, Some("Admins"), None, &before, &set(&[])), set(&["a", "b"]));
    }
}
