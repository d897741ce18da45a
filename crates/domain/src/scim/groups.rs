//! DIR1: groups map to Tracker roles through a mapping kept in settings
//! (group display name → role); a directory user's membership sets their
//! role. Display names are compared without regard to case, as SCIM
//! compares `displayName`.

use crate::text::fold;
use crate::{Invalid, Role, Side};
use serde::{Deserialize, Serialize};

/// One line of the mapping: members of the group `group` get `role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRole {
    pub group: String,
    pub role: Role,
}

/// How much a company role may do; membership of several mapped groups
/// gives the most.
fn rank(role: Role) -> u8 {
    match role {
        Role::CompanySystemAdministrator => 3,
        Role::CompanyOfficeAdministrator => 2,
        Role::CompanyMatterCreator => 1,
        _ => 0,
    }
}

/// The role the mapping gives members of the group named `group`.
pub fn mapped_role(mapping: &[GroupRole], group: &str) -> Option<Role> {
    let g = fold(group);
    mapping.iter().find(|m| fold(&m.group) == g).map(|m| m.role)
}

/// The role a directory user holds through the groups they are in: the
/// most powerful role any of them maps to, else `company_user` (the role
/// the directory creates users with).
pub fn role_from_groups<'a>(mapping: &[GroupRole], groups: impl IntoIterator<Item = &'a str>) -> Role {
    groups
        .into_iter()
        .filter_map(|g| mapped_role(mapping, g))
        .max_by_key(|r| rank(*r))
        .unwrap_or(Role::CompanyUser)
}

/// Checks a mapping as an administrator sends it, as (group, role) text:
/// every group named once (without regard to case), not blank, at most
/// 256 characters, and every role a company role (the directory manages
/// company users only).
pub fn validate_mapping(mapping: Vec<(String, String)>) -> Result<Vec<GroupRole>, Vec<Invalid>> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (i, (group, role)) in mapping.into_iter().enumerate() {
        let group = group.trim().to_owned();
        let field = format!("directory_group_roles[{i}]");
        let role = match Role::parse(&role) {
            Ok(r) => r,
            Err(_) => {
                problems.push(Invalid::new(
                    format!("{field}.role"),
                    "invalid_role",
                    format!("'{role}' is not a role"),
                ));
                Role::CompanyUser
            }
        };
        if group.is_empty() {
            problems.push(Invalid::new(format!("{field}.group"), "required", "name the group"));
        } else if group.chars().count() > 256 {
            problems.push(Invalid::new(
                format!("{field}.group"),
                "too_long",
                "a group name has at most 256 characters",
            ));
        } else if group.chars().any(char::is_control) {
            problems.push(Invalid::new(
                format!("{field}.group"),
                "invalid_characters",
                "a group name has no control characters",
            ));
        } else if seen.contains(&fold(&group)) {
            problems.push(Invalid::new(
                format!("{field}.group"),
                "duplicate",
                format!("the group {group} is mapped twice"),
            ));
        }
        if role.side() != Side::Company {
            problems.push(Invalid::new(
                format!("{field}.role"),
                "role_side_mismatch",
                format!("the directory manages company users; {role} is a firm role"),
            ));
        }
        seen.push(fold(&group));
        out.push(GroupRole { group, role });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Vec<GroupRole> {
        vec![
            GroupRole {
                group: "Tracker Admins".into(),
                role: Role::CompanySystemAdministrator,
            },
            GroupRole {
                group: "Matter Openers".into(),
                role: Role::CompanyMatterCreator,
            },
            GroupRole {
                group: "Office Admins".into(),
                role: Role::CompanyOfficeAdministrator,
            },
        ]
    }

    #[test]
    fn the_most_powerful_mapped_group_wins_and_case_does_not_matter() {
        let m = mapping();
        assert_eq!(role_from_groups(&m, ["matter openers", "Everyone"]), Role::CompanyMatterCreator);
        assert_eq!(
            role_from_groups(&m, ["Matter Openers", "OFFICE ADMINS"]),
            Role::CompanyOfficeAdministrator
        );
        assert_eq!(
            role_from_groups(&m, ["Office Admins", "Tracker Admins", "Matter Openers"]),
            Role::CompanySystemAdministrator
        );
        assert_eq!(role_from_groups(&m, ["Everyone"]), Role::CompanyUser);
        assert_eq!(role_from_groups(&m, []), Role::CompanyUser);
        assert_eq!(mapped_role(&m, " tracker admins "), Some(Role::CompanySystemAdministrator));
        assert_eq!(mapped_role(&m, "Everyone"), None);
    }

    #[test]
    fn a_mapping_names_each_group_once_with_company_roles() {
        let text = |m: Vec<GroupRole>| m.into_iter().map(|m| (m.group, m.role.as_str().to_owned())).collect::<Vec<_>>();
        assert_eq!(validate_mapping(text(mapping())).unwrap(), mapping());
        let mut bad = text(mapping());
        bad.push((" tracker ADMINS".into(), "company_user".into()));
        bad.push(("  ".into(), "firm_user".into()));
        bad.push(("Chiefs".into(), "chief".into()));
        let fields: Vec<_> = validate_mapping(bad)
            .unwrap_err()
            .into_iter()
            .map(|p| (p.field.into_owned(), p.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("directory_group_roles[3].group".to_owned(), "duplicate"),
                ("directory_group_roles[4].group".to_owned(), "required"),
                ("directory_group_roles[4].role".to_owned(), "role_side_mismatch"),
                ("directory_group_roles[5].role".to_owned(), "invalid_role"),
            ]
        );
        let trimmed = validate_mapping(vec![(" Legal ".into(), "company_user".into())]).unwrap();
        assert_eq!(trimmed[0].group, "Legal");
    }
}
