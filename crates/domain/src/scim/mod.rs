//! DIR1: the parts of SCIM 2.0 (RFC 7643/7644) that are pure rules over
//! JSON: the filter language and PATCH operations. The representation of
//! a Tracker user as a SCIM resource is `app::directory`'s; HTTP is `web`'s.

pub mod filter;
pub mod groups;
pub mod patch;

pub use filter::{AttrPath, Filter, FilterError, PatchPath};
pub use groups::GroupRole;
pub use patch::{PatchOp, PatchOpKind};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The schema Microsoft Entra ID names beside the core Group schema when it
/// creates a group (its documented "Create Group" request). It carries no
/// attributes of its own in that body, so naming it asks for nothing more.
pub const ENTRA_GROUP_SCHEMA: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` of a refusal (RFC 7644 §3.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    InvalidSyntax,
    InvalidPath,
    InvalidValue,
    NoTarget,
    Uniqueness,
    Mutability,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::InvalidValue => "invalidValue",
            ScimType::NoTarget => "noTarget",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
        }
    }

    /// The error code Tracker's own errors carry for it (`scim_<type>`).
    pub fn code(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "scim_invalid_filter",
            ScimType::InvalidSyntax => "scim_invalid_syntax",
            ScimType::InvalidPath => "scim_invalid_path",
            ScimType::InvalidValue => "scim_invalid_value",
            ScimType::NoTarget => "scim_no_target",
            ScimType::Uniqueness => "scim_uniqueness",
            ScimType::Mutability => "scim_mutability",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            ScimType::InvalidFilter,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::InvalidValue,
            ScimType::NoTarget,
            ScimType::Uniqueness,
            ScimType::Mutability,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }
}

/// A refused SCIM request: its `scimType` and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimProblem {
    pub scim_type: ScimType,
    pub message: String,
}

impl ScimProblem {
    pub fn new(scim_type: ScimType, message: impl Into<String>) -> Self {
        Self {
            scim_type,
            message: message.into(),
        }
    }
}

/// A boolean as directories send it: JSON `true`/`false`, or Microsoft
/// Entra ID's strings `"True"`/`"False"` (any case).
pub fn boolean(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_in_both_dialects() {
        assert_eq!(boolean(&json!(true)), Some(true));
        assert_eq!(boolean(&json!("False")), Some(false));
        assert_eq!(boolean(&json!("TRUE")), Some(true));
        assert_eq!(boolean(&json!("no")), None);
        assert_eq!(boolean(&json!(0)), None);
    }

    #[test]
    fn codes_round_trip() {
        for t in [ScimType::InvalidFilter, ScimType::Uniqueness, ScimType::NoTarget] {
            assert_eq!(ScimType::from_code(t.code()), Some(t));
        }
        assert_eq!(ScimType::from_code("invalid_json"), None);
    }
}
