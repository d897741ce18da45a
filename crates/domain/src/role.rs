//! System roles, sides and matter roles (SPEC §1).

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// Which organisation a user belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Company,
    Firm,
}

/// A user's one system role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CompanySystemAdministrator,
    CompanyOfficeAdministrator,
    CompanyMatterCreator,
    CompanyUser,
    FirmAdministrator,
    FirmUser,
}

/// A user's role on one matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatterRole {
    MatterAdministrator,
    MatterEditor,
    MatterReader,
    /// Firm users only.
    BillingOnly,
    /// Company users only.
    ReportOnly,
}

macro_rules! text_enum {
    ($ty:ident, $field:literal, $code:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s { $($text => Ok($ty::$variant),)+
                    _ => Err(Invalid::new($field, $code, format!(
                        "'{}' is not one of: {}", s.chars().take(60).collect::<String>(),
                        [$($text),+].join(", ")))),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(Side, "side", "invalid_side", { Company => "company", Firm => "firm" });
text_enum!(Role, "role", "invalid_role", {
    CompanySystemAdministrator => "company_system_administrator",
    CompanyOfficeAdministrator => "company_office_administrator",
    CompanyMatterCreator => "company_matter_creator",
    CompanyUser => "company_user",
    FirmAdministrator => "firm_administrator",
    FirmUser => "firm_user",
});
text_enum!(MatterRole, "role", "invalid_matter_role", {
    MatterAdministrator => "matter_administrator",
    MatterEditor => "matter_editor",
    MatterReader => "matter_reader",
    BillingOnly => "billing_only",
    ReportOnly => "report_only",
});

impl Role {
    /// The side every holder of this role is on.
    pub fn side(self) -> Side {
        match self {
            Role::FirmAdministrator | Role::FirmUser => Side::Firm,
            _ => Side::Company,
        }
    }

    /// Whether the role administers users at all (any scope).
    pub fn is_user_administrator(self) -> bool {
        matches!(
            self,
            Role::CompanySystemAdministrator | Role::CompanyOfficeAdministrator | Role::FirmAdministrator
        )
    }

    /// Company-side administrators are the ones D3 binds and D4 only warns.
    pub fn is_company_administrator(self) -> bool {
        matches!(self, Role::CompanySystemAdministrator | Role::CompanyOfficeAdministrator)
    }

    pub fn may_create_matters(self) -> bool {
        matches!(self, Role::CompanySystemAdministrator | Role::CompanyMatterCreator)
    }
}

impl MatterRole {
    /// Whether a user of `side` may hold this matter role (SPEC §1: billing
    /// only is for firm users, report only for company users).
    pub fn allowed_for(self, side: Side) -> bool {
        match self {
            MatterRole::BillingOnly => side == Side::Firm,
            MatterRole::ReportOnly => side == Side::Company,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), *r);
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        for r in MatterRole::ALL {
            assert_eq!(MatterRole::parse(r.as_str()).unwrap(), *r);
        }
        for s in Side::ALL {
            assert_eq!(Side::parse(s.as_str()).unwrap(), *s);
        }
        let e = Role::parse("admin").unwrap_err();
        assert_eq!(e.code, "invalid_role");
        assert!(e.message.contains("firm_user"));
    }

    #[test]
    fn matter_roles_respect_sides() {
        assert!(MatterRole::BillingOnly.allowed_for(Side::Firm));
        assert!(!MatterRole::BillingOnly.allowed_for(Side::Company));
        assert!(MatterRole::ReportOnly.allowed_for(Side::Company));
        assert!(!MatterRole::ReportOnly.allowed_for(Side::Firm));
        for r in [MatterRole::MatterAdministrator, MatterRole::MatterEditor, MatterRole::MatterReader] {
            assert!(r.allowed_for(Side::Firm) && r.allowed_for(Side::Company));
        }
    }

    #[test]
    fn role_sides() {
        assert_eq!(Role::FirmUser.side(), Side::Firm);
        assert_eq!(Role::FirmAdministrator.side(), Side::Firm);
        assert_eq!(Role::CompanyUser.side(), Side::Company);
    }
}
