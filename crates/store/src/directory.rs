//! DIR1–DIR3: SCIM tokens, the directory's link to each user it manages,
//! and the offboarding items a directory deactivation leaves.

use crate::db::{exec, fetch_all, fetch_optional, on, scalar_all, scalar_one, statement, Tx};
use crate::sql::{bind_args, push_in_list, Sql};
use crate::users::{UserRow, USER_COLUMNS};
use crate::Result;
use const_format::formatcp;
use domain::model::User;
use domain::offboarding::{ItemKind, TargetType};
use domain::{Millis, UserId};

/// DIR2: a SCIM bearer token (its hash stays in the database).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScimToken {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// DIR1: what the directory knows of a user beyond Tracker's fields.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DirectoryLink {
    pub user_id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub department: Option<String>,
    pub deprovisioned_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// DIR3: one responsibility of a user the directory deactivated.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OffboardingItem {
    pub id: String,
    pub user_id: String,
    #[sqlx(try_from = "crate::code::Code<ItemKind>")]
    pub kind: ItemKind,
    #[sqlx(try_from = "crate::code::Code<TargetType>")]
    pub target_type: TargetType,
    pub target_id: String,
    pub target_name: String,
    pub fix: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// DIR1: a directory group; its members are read apart.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DirectoryGroup {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A group member as the group's representation shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupMember {
    pub user_id: String,
    pub first_name: String,
    pub last_name: String,
}

/// How a list of groups starts: one index probe, or every group in
/// creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupLookup {
    All,
    DisplayName(String),
    ExternalId(String),
}

/// How a list of directory users starts: by an index on one attribute, or
/// every linked user in creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryLookup {
    All,
    UserName(String),
    ExternalId(String),
}

const TOKEN_COLUMNS: &str = "id, name, created_at, created_by, last_used_at, revoked_at";
const LINK_COLUMNS: &str = "d.user_id, d.user_name, d.external_id, d.department, d.deprovisioned_at, d.created_at, d.updated_at";
const GROUP_COLUMNS: &str = "id, display_name, external_id, created_at, updated_at";
const ITEM_COLUMNS: &str = "id, user_id, kind, target_type, target_id, target_name, fix, created_at, resolved_at";

/// A link and its user in one row; the link's columns are renamed, as
/// both tables have `created_at` and `updated_at`.
#[derive(sqlx::FromRow)]
struct LinkedRow {
    d_user_name: String,
    d_external_id: Option<String>,
    d_department: Option<String>,
    d_created_at: i64,
    d_updated_at: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

impl LinkedRow {
    fn into_pair(self) -> Result<(DirectoryLink, User)> {
        let user = User::try_from(self.user)?;
        let link = DirectoryLink {
            user_id: user.id.to_string(),
            user_name: self.d_user_name,
            external_id: self.d_external_id,
            department: self.d_department,
            deprovisioned_at: None,
            created_at: self.d_created_at,
            updated_at: self.d_updated_at,
        };
        Ok((link, user))
    }
}

const LINKED_COLUMNS: &str = "d.user_name AS d_user_name, d.external_id AS d_external_id, d.department AS d_department, \
    d.created_at AS d_created_at, d.updated_at AS d_updated_at";

impl Tx {
    pub async fn insert_scim_token(&mut self, t: &ScimToken, token_hash: &str) -> Result<()> {
        statement!(
            INSERT_SCIM_TOKEN = "INSERT INTO scim_tokens (id, name, token_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5)"
        );
        exec!(self, INSERT_SCIM_TOKEN, &t.id, &t.name, token_hash, t.created_at, &t.created_by)?;
        Ok(())
    }

    /// Every token, revoked ones last, newest first.
    pub async fn scim_tokens(&mut self) -> Result<Vec<ScimToken>> {
        statement!(SCIM_TOKENS = formatcp!("SELECT {TOKEN_COLUMNS} FROM scim_tokens ORDER BY revoked_at IS NOT NULL, created_at DESC, id"));
        Ok(fetch_all!(self, SCIM_TOKENS)?)
    }

    /// Revokes a live token; whether there was one.
    pub async fn revoke_scim_token(&mut self, id: &str, now: Millis) -> Result<bool> {
        statement!(REVOKE_SCIM_TOKEN = "UPDATE scim_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL");
        let n = exec!(self, REVOKE_SCIM_TOKEN, now, id)?;
        Ok(n > 0)
    }

    /// The live token with this hash.
    pub async fn scim_token_by_hash(&mut self, token_hash: &str) -> Result<Option<ScimToken>> {
        statement!(SCIM_TOKEN_BY_HASH = formatcp!("SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE token_hash = $1 AND revoked_at IS NULL"));
        Ok(fetch_optional!(self, SCIM_TOKEN_BY_HASH, token_hash)?)
    }

    /// DIR2: records a use, at most once a minute per token so that a
    /// provisioning run does not write the token row on every request.
    pub async fn touch_scim_token(&mut self, id: &str, now: Millis) -> Result<()> {
        statement!(
            TOUCH_SCIM_TOKEN = "UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)"
        );
        exec!(self, TOUCH_SCIM_TOKEN, now, id, now - 60_000)?;
        Ok(())
    }

    pub async fn directory_link(&mut self, user: &UserId) -> Result<Option<DirectoryLink>> {
        statement!(DIRECTORY_LINK = formatcp!("SELECT {LINK_COLUMNS} FROM directory_users d WHERE d.user_id = $1"));
        Ok(fetch_optional!(self, DIRECTORY_LINK, user.as_str())?)
    }

    /// Which of `users` the directory links (not deprovisioned), in one
    /// statement: DIR3's `directory_managed` of a list of users.
    pub async fn directory_linked_among(&mut self, users: &[UserId]) -> Result<std::collections::HashSet<UserId>> {
        if users.is_empty() {
            return Ok(Default::default());
        }
        let mut sql = Sql::new("SELECT d.user_id FROM directory_users d WHERE d.deprovisioned_at IS NULL AND");
        push_in_list(&mut sql, " d.user_id", users.iter().map(|u| u.as_str()));
        let ids: Vec<String> = on!(self, |c| bind_args!(sqlx::query_scalar(&sql.text), sql.args.clone())
            .fetch_all(c)
            .await)?;
        Ok(ids.into_iter().map(UserId::from).collect())
    }

    /// The link with this userName (without regard to case), deprovisioned or not.
    pub async fn directory_link_by_user_name(&mut self, user_name: &str) -> Result<Option<DirectoryLink>> {
        statement!(DIRECTORY_LINK_BY_USER_NAME = formatcp!("SELECT {LINK_COLUMNS} FROM directory_users d WHERE d.user_name_norm = $1"));
        Ok(fetch_optional!(self, DIRECTORY_LINK_BY_USER_NAME, domain::text::fold(user_name))?)
    }

    pub async fn insert_directory_link(&mut self, l: &DirectoryLink) -> Result<()> {
        statement!(INSERT_DIRECTORY_LINK = "INSERT INTO directory_users (user_id, user_name, user_name_norm, external_id, department, deprovisioned_at, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        exec!(
            self,
            INSERT_DIRECTORY_LINK,
            &l.user_id,
            &l.user_name,
            domain::text::fold(&l.user_name),
            &l.external_id,
            &l.department,
            l.deprovisioned_at,
            l.created_at,
            l.updated_at
        )?;
        Ok(())
    }

    /// Sets the directory's own fields of a link (the caller holds the user row).
    pub async fn update_directory_link(&mut self, l: &DirectoryLink) -> Result<()> {
        statement!(
            UPDATE_DIRECTORY_LINK = "UPDATE directory_users SET user_name = $1, user_name_norm = $2, external_id = $3, department = $4, \
            deprovisioned_at = $5, updated_at = $6 WHERE user_id = $7"
        );
        exec!(
            self,
            UPDATE_DIRECTORY_LINK,
            &l.user_name,
            domain::text::fold(&l.user_name),
            &l.external_id,
            &l.department,
            l.deprovisioned_at,
            l.updated_at,
            &l.user_id
        )?;
        Ok(())
    }

    /// Linked, not deprovisioned users with their links, starting from an
    /// index: one probe for `UserName`/`ExternalId`, creation order for `All`.
    pub async fn directory_users(&mut self, lookup: &DirectoryLookup) -> Result<Vec<(DirectoryLink, User)>> {
        const BASE: &str = formatcp!(
            "SELECT {LINKED_COLUMNS}, {USER_COLUMNS} FROM directory_users d JOIN users u ON u.id = d.user_id WHERE d.deprovisioned_at IS NULL"
        );
        statement!(DIRECTORY_USERS_ALL = formatcp!("{BASE} ORDER BY d.created_at, d.user_id"));
        statement!(DIRECTORY_USERS_BY_USER_NAME = formatcp!("{BASE} AND d.user_name_norm = $1"));
        statement!(DIRECTORY_USERS_BY_EXTERNAL_ID = formatcp!("{BASE} AND d.external_id = $1 ORDER BY d.created_at, d.user_id"));
        let rows: Vec<LinkedRow> = match lookup {
            DirectoryLookup::All => fetch_all!(self, DIRECTORY_USERS_ALL)?,
            DirectoryLookup::UserName(v) => fetch_all!(self, DIRECTORY_USERS_BY_USER_NAME, domain::text::fold(v))?,
            DirectoryLookup::ExternalId(v) => fetch_all!(self, DIRECTORY_USERS_BY_EXTERNAL_ID, v)?,
        };
        rows.into_iter().map(LinkedRow::into_pair).collect()
    }

    /// DIR1 without a filter: one page of linked users in creation order
    /// (the `directory_users_by_created` index) and how many there are.
    pub async fn directory_users_page(&mut self, offset: i64, limit: i64) -> Result<(Vec<(DirectoryLink, User)>, i64)> {
        statement!(
            DIRECTORY_USERS_PAGE = formatcp!(
                "SELECT {LINKED_COLUMNS}, {USER_COLUMNS} FROM directory_users d JOIN users u ON u.id = d.user_id \
             WHERE d.deprovisioned_at IS NULL ORDER BY d.created_at, d.user_id LIMIT $1 OFFSET $2"
            )
        );
        let rows: Vec<LinkedRow> = fetch_all!(self, DIRECTORY_USERS_PAGE, limit, offset)?;
        statement!(COUNT_DIRECTORY_USERS = "SELECT COUNT(*) FROM directory_users WHERE deprovisioned_at IS NULL");
        let total: i64 = scalar_one!(self, COUNT_DIRECTORY_USERS)?;
        Ok((rows.into_iter().map(LinkedRow::into_pair).collect::<Result<_>>()?, total))
    }

    pub async fn insert_directory_group(&mut self, g: &DirectoryGroup) -> Result<()> {
        statement!(
            INSERT_DIRECTORY_GROUP =
                "INSERT INTO directory_groups (id, display_name, display_name_norm, external_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6)"
        );
        exec!(
            self,
            INSERT_DIRECTORY_GROUP,
            &g.id,
            &g.display_name,
            domain::text::fold(&g.display_name),
            &g.external_id,
            g.created_at,
            g.updated_at
        )?;
        Ok(())
    }

    /// The group `id`, locked on PostgreSQL when `lock` (SQLite serialises writers).
    pub async fn directory_group(&mut self, id: &str, lock: bool) -> Result<Option<DirectoryGroup>> {
        statement!(DIRECTORY_GROUP = formatcp!("SELECT {GROUP_COLUMNS} FROM directory_groups WHERE id = $1"));
        statement!(postgres DIRECTORY_GROUP_FOR_UPDATE = formatcp!("SELECT {GROUP_COLUMNS} FROM directory_groups WHERE id = $1 FOR UPDATE"));
        let stmt = if lock && self.dialect() == crate::Dialect::Postgres {
            &DIRECTORY_GROUP_FOR_UPDATE
        } else {
            &DIRECTORY_GROUP
        };
        Ok(fetch_optional!(self, stmt, id)?)
    }

    /// Groups from an index probe, or all of them in creation order.
    pub async fn directory_groups(&mut self, lookup: &GroupLookup) -> Result<Vec<DirectoryGroup>> {
        Ok(match lookup {
            GroupLookup::All => {
                statement!(DIRECTORY_GROUPS_ALL = formatcp!("SELECT {GROUP_COLUMNS} FROM directory_groups ORDER BY created_at, id"));
                fetch_all!(self, DIRECTORY_GROUPS_ALL)?
            }
            GroupLookup::DisplayName(v) => {
                statement!(
                    DIRECTORY_GROUPS_BY_NAME = formatcp!("SELECT {GROUP_COLUMNS} FROM directory_groups WHERE display_name_norm = $1")
                );
                fetch_all!(self, DIRECTORY_GROUPS_BY_NAME, domain::text::fold(v))?
            }
            GroupLookup::ExternalId(v) => {
                statement!(
                    DIRECTORY_GROUPS_BY_EXTERNAL_ID =
                        formatcp!("SELECT {GROUP_COLUMNS} FROM directory_groups WHERE external_id = $1 ORDER BY created_at, id")
                );
                fetch_all!(self, DIRECTORY_GROUPS_BY_EXTERNAL_ID, v)?
            }
        })
    }

    /// Sets a group's own fields (the caller holds its row).
    pub async fn update_directory_group(&mut self, g: &DirectoryGroup) -> Result<()> {
        statement!(
            UPDATE_DIRECTORY_GROUP =
                "UPDATE directory_groups SET display_name = $1, display_name_norm = $2, external_id = $3, updated_at = $4 WHERE id = $5"
        );
        exec!(
            self,
            UPDATE_DIRECTORY_GROUP,
            &g.display_name,
            domain::text::fold(&g.display_name),
            &g.external_id,
            g.updated_at,
            &g.id
        )?;
        Ok(())
    }

    /// Deletes a group and its memberships; whether there was one.
    pub async fn delete_directory_group(&mut self, id: &str) -> Result<bool> {
        statement!(DELETE_DIRECTORY_GROUP_MEMBERS = "DELETE FROM directory_group_members WHERE group_id = $1");
        exec!(self, DELETE_DIRECTORY_GROUP_MEMBERS, id)?;
        statement!(DELETE_DIRECTORY_GROUP = "DELETE FROM directory_groups WHERE id = $1");
        let n = exec!(self, DELETE_DIRECTORY_GROUP, id)?;
        Ok(n > 0)
    }

    /// A group's members who are linked, not deprovisioned users, by id.
    pub async fn directory_group_members(&mut self, group: &str) -> Result<Vec<GroupMember>> {
        statement!(
            DIRECTORY_GROUP_MEMBERS = "SELECT m.user_id, u.first_name, u.last_name FROM directory_group_members m \
             JOIN directory_users d ON d.user_id = m.user_id AND d.deprovisioned_at IS NULL \
             JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY m.user_id"
        );
        Ok(fetch_all!(self, DIRECTORY_GROUP_MEMBERS, group)?)
    }

    /// Adds a member; whether they were not one already.
    pub async fn add_directory_group_member(&mut self, group: &str, user: &str) -> Result<bool> {
        statement!(
            ADD_DIRECTORY_GROUP_MEMBER = "INSERT INTO directory_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        );
        let n = exec!(self, ADD_DIRECTORY_GROUP_MEMBER, group, user)?;
        Ok(n > 0)
    }

    /// Removes a member; whether they were one.
    pub async fn remove_directory_group_member(&mut self, group: &str, user: &str) -> Result<bool> {
        statement!(REMOVE_DIRECTORY_GROUP_MEMBER = "DELETE FROM directory_group_members WHERE group_id = $1 AND user_id = $2");
        let n = exec!(self, REMOVE_DIRECTORY_GROUP_MEMBER, group, user)?;
        Ok(n > 0)
    }

    /// The display names of the groups a user is in (through the member index).
    pub async fn directory_group_names_of(&mut self, user: &UserId) -> Result<Vec<String>> {
        statement!(DIRECTORY_GROUP_NAMES_OF = "SELECT g.display_name FROM directory_group_members m JOIN directory_groups g ON g.id = m.group_id WHERE m.user_id = $1 ORDER BY g.id");
        Ok(scalar_all!(self, DIRECTORY_GROUP_NAMES_OF, user.as_str())?)
    }

    /// Takes a deprovisioned user out of every group; the groups they left,
    /// with `updated_at` moved to `now`.
    pub async fn leave_directory_groups(&mut self, user: &UserId, now: Millis) -> Result<Vec<String>> {
        statement!(GROUPS_OF_MEMBER = "SELECT group_id FROM directory_group_members WHERE user_id = $1 ORDER BY group_id");
        let groups: Vec<String> = scalar_all!(self, GROUPS_OF_MEMBER, user.as_str())?;
        for g in &groups {
            statement!(TOUCH_DIRECTORY_GROUP = "UPDATE directory_groups SET updated_at = $1 WHERE id = $2");
            exec!(self, TOUCH_DIRECTORY_GROUP, now, g)?;
        }
        statement!(LEAVE_DIRECTORY_GROUPS = "DELETE FROM directory_group_members WHERE user_id = $1");
        exec!(self, LEAVE_DIRECTORY_GROUPS, user.as_str())?;
        Ok(groups)
    }

    pub async fn insert_offboarding_item(&mut self, i: &OffboardingItem) -> Result<()> {
        statement!(
            INSERT_OFFBOARDING_ITEM =
                "INSERT INTO offboarding_items (id, user_id, kind, target_type, target_id, target_name, fix, created_at, resolved_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        exec!(
            self,
            INSERT_OFFBOARDING_ITEM,
            &i.id,
            &i.user_id,
            i.kind.as_str(),
            i.target_type.as_str(),
            &i.target_id,
            &i.target_name,
            &i.fix,
            i.created_at,
            i.resolved_at
        )?;
        Ok(())
    }

    /// Open items, oldest first, at most `limit`, and how many are open.
    pub async fn open_offboarding_items(&mut self, limit: i64, offset: i64) -> Result<(Vec<OffboardingItem>, i64)> {
        statement!(
            OPEN_OFFBOARDING_ITEMS = formatcp!(
                "SELECT {ITEM_COLUMNS} FROM offboarding_items WHERE resolved_at IS NULL ORDER BY created_at, id LIMIT $1 OFFSET $2"
            )
        );
        let items = fetch_all!(self, OPEN_OFFBOARDING_ITEMS, limit, offset)?;
        statement!(COUNT_OPEN_OFFBOARDING_ITEMS = "SELECT COUNT(*) FROM offboarding_items WHERE resolved_at IS NULL");
        let total: i64 = scalar_one!(self, COUNT_OPEN_OFFBOARDING_ITEMS)?;
        Ok((items, total))
    }

    /// R1: a reactivated user's open items are settled.
    pub async fn resolve_offboarding_items(&mut self, user: &UserId, now: Millis) -> Result<u64> {
        statement!(RESOLVE_OFFBOARDING_ITEMS = "UPDATE offboarding_items SET resolved_at = $1 WHERE user_id = $2 AND resolved_at IS NULL");
        Ok(exec!(self, RESOLVE_OFFBOARDING_ITEMS, now, user.as_str())?)
    }
}
