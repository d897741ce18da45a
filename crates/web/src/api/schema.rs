//! The parts of the OpenAPI document that derive macros cannot state
//! exactly: the error object, the value sets of roles and statuses (taken
//! from `domain`, so they cannot drift), free text as `domain::text`
//! accepts it, and the error answers every operation shares.

use domain::deactivation::BlockerKind;
use domain::model::EmailStatus;
use domain::text::is_invisible_or_spoofing;
use domain::{MatterRole, Role, Side};
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The JSON error of SPEC §8, `{"error": {"code", "message", …}}`, built by
/// `crate::error::error_body`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// A stable snake_case code, such as `not_found`, `invalid_email`,
    /// `deactivation_blocked` or `too_many_attempts`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// The one field at fault (`administrator.email` inside a nested object).
    #[schema(required = false)]
    pub field: String,
    /// Every field at fault, all reported at once (422).
    #[schema(required = false)]
    pub fields: Vec<FieldProblem>,
    /// `deactivation_blocked` (409): everything to clear first.
    #[schema(required = false)]
    pub blockers: Vec<BlockerOut>,
    /// 429: when to try again, as in the `Retry-After` header.
    #[schema(required = false)]
    pub retry_after_seconds: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// One D3/D4 blocker (or warning) and the object it is about: exactly one
/// of `matter`, `office` and `route` is present.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BlockerOut {
    #[schema(value_type = BlockerKindName)]
    pub kind: String,
    /// What to do to clear it.
    pub fix: String,
    #[schema(required = false)]
    pub matter: BlockingMatter,
    #[schema(required = false)]
    pub office: BlockingOffice,
    #[schema(required = false)]
    pub route: BlockingRoute,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BlockingMatter {
    pub id: String,
    pub name: String,
    pub number: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BlockingOffice {
    pub id: String,
    pub name: String,
    pub active: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BlockingRoute {
    pub id: String,
    pub name: String,
    pub active: bool,
    /// From 1.
    pub level: i64,
}

fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Declares a string schema whose value set comes from `domain`.
macro_rules! value_set {
    ($name:ident, $description:literal, $values:expr) => {
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($description, $values)
            }
        }

        impl ToSchema for $name {}
    };
}

value_set!(RoleName, "A system role (SPEC §1).", Role::ALL.iter().map(|r| r.as_str()));
value_set!(
    SideName,
    "Which organisation a user belongs to.",
    Side::ALL.iter().map(|s| s.as_str())
);
value_set!(
    MatterRoleName,
    "A role on one matter: `billing_only` is for firm users, `report_only` for company users.",
    MatterRole::ALL.iter().map(|r| r.as_str())
);
value_set!(
    EmailStatusName,
    "N8: the state of the new user email.",
    [EmailStatus::Held, EmailStatus::Queued, EmailStatus::Sent, EmailStatus::Failed].map(|s| s.as_str())
);
value_set!(
    BlockerKindName,
    "D3/D4: what keeps a user from being deactivated.",
    [
        BlockerKind::LeadCompanyPerson,
        BlockerKind::OfficeCoordinator,
        BlockerKind::OfficeBackupCoordinator,
        BlockerKind::RoutePrimaryApprover,
        BlockerKind::RouteAlternateApprover,
        BlockerKind::OnlyFirmUserOnMatter,
        BlockerKind::OnlyNotifiedFirmUserOnMatter,
    ]
    .map(|k| k.as_str())
);

value_set!(
    UserStatusFilter,
    "R2: which users; `locked` are those locked out now (S4).",
    ["active", "inactive", "all", "locked"]
);
value_set!(
    UserSortKey,
    "R2: sort by last then first name, by email, or by last sign-in.",
    ["name", "email", "last_sign_in"]
);
value_set!(SortOrder, "Ascending or descending.", ["asc", "desc"]);
value_set!(
    PeoplePurpose,
    "What the person is chosen for (S14).",
    [
        "lead",
        "coordinator",
        "approver",
        "route_delegate",
        "tracker_coordinator",
        "participant",
        "delegate",
        "successor"
    ]
);

/// R2's organisation selector: `all`, `company`, `firms` or `firm:<id>`.
pub struct OrgSelector;

impl PartialSchema for OrgSelector {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some("`all` (default), `company`, `firms` or `firm:<id>`."))
            .pattern(Some("^(?:all|company|firms|firm:[^\\n]+)$"))
            .into()
    }
}

impl ToSchema for OrgSelector {}

/// Characters Rust's `str::trim` removes (Unicode `White_Space`).
fn trimmed(c: char) -> bool {
    c.is_whitespace()
}

/// The ranges of characters `domain::ShortText` keeps inside a text:
/// visible ones (S8). The space joins words but cannot start or end one.
fn visible_ranges() -> Vec<(char, char)> {
    let mut ranges: Vec<(char, char)> = Vec::new();
    for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
        if c == ' ' || is_invisible_or_spoofing(c) {
            continue;
        }
        match ranges.last_mut() {
            Some((_, end)) if *end as u32 + 1 == c as u32 => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    ranges
}

/// A character in a regex class: printable ones as themselves (the
/// characters are visible by construction), escaped where the class syntax
/// needs it, invisible ones as `\uXXXX`.
fn class_char(c: char, out: &mut String) {
    if matches!(c, '\\' | ']' | '[' | '^' | '-') {
        out.push('\\');
        out.push(c);
    } else if is_invisible_or_spoofing(c) || c == ' ' {
        out.push_str(&format!("\\u{:04X}", c as u32));
    } else {
        out.push(c);
    }
}

fn class(ranges: &[(char, char)]) -> String {
    let mut out = String::from("[");
    for &(a, b) in ranges {
        class_char(a, &mut out);
        if b != a {
            if b as u32 > a as u32 + 1 {
                out.push('-');
            }
            class_char(b, &mut out);
        }
    }
    out.push(']');
    out
}

/// Exactly the strings `ShortText::parse(_, s, max)` accepts: surrounding
/// white space (trimmed), then 1 to `max` characters that start and end
/// visible, with plain spaces between.
fn short_text_pattern(max: usize) -> String {
    // Both classes walk every code point: once a process is enough.
    static CLASSES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (visible, ws) = CLASSES.get_or_init(|| {
        let mut ws: Vec<(char, char)> = Vec::new();
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32).filter(|&c| trimmed(c)) {
            match ws.last_mut() {
                Some((_, end)) if *end as u32 + 1 == c as u32 => *end = c,
                _ => ws.push((c, c)),
            }
        }
        (class(&visible_ranges()), class(&ws))
    });
    let inner = if max >= 2 {
        format!("(?:(?:{visible}| ){{0,{}}}{visible})?", max - 2)
    } else {
        String::new()
    };
    format!("^{ws}*{visible}{inner}{ws}*$")
}

fn short_text(description: &str, max: usize) -> RefOr<Schema> {
    static PATTERNS: std::sync::Mutex<Vec<(usize, String)>> = std::sync::Mutex::new(Vec::new());
    let pattern = {
        let mut cache = PATTERNS.lock().unwrap_or_else(|e| e.into_inner());
        match cache.iter().find(|(m, _)| *m == max) {
            Some((_, p)) => p.clone(),
            None => {
                let p = short_text_pattern(max);
                cache.push((max, p.clone()));
                p
            }
        }
    };
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(format!(
            "{description} Surrounding white space is trimmed; then 1 to {max} characters, a single line of visible characters and plain spaces (S8)."
        )))
        .min_length(Some(1))
        .pattern(Some(pattern))
        .into()
}

/// Declares a free-text schema with `domain`'s rules and length.
macro_rules! text {
    ($name:ident, $description:literal, $max:expr) => {
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                short_text($description, $max)
            }
        }

        impl ToSchema for $name {}
    };
}

text!(PersonNameText, "A first or last name.", domain::PersonName::MAX_CHARS);
text!(
    NameText,
    "The name of an office, firm, matter or approval route, or the company.",
    domain::EntityName::MAX_CHARS
);
text!(MatterNumberText, "A matter's number.", 50);

/// An email address as `domain::Email` accepts it (at most 254 characters).
pub struct EmailText;

impl PartialSchema for EmailText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            .max_length(Some(domain::Email::MAX_LEN))
            .description(Some(
                "The dot-atom form of RFC 5321 (no quoted local parts or IP-literal domains); the sign-in id, case-insensitive.",
            ))
            .into()
    }
}

impl ToSchema for EmailText {}

/// The error answers every operation shares, added where they apply so that
/// no operation can forget one; an operation states the others (403, 409,
/// 422, 429) itself. Every 4xx answer gets the [`ErrorBody`] schema.
pub struct CommonResponses;

fn error_response(status: &str) -> utoipa::openapi::Response {
    let description = match status {
        "400" => "Malformed request: the body is not JSON of this shape (unknown fields, wrong types, missing required fields), or a query parameter cannot be read.",
        "401" => "Not signed in, or the session has ended.",
        "403" => "Inside the caller's scope, but the caller's role may not do this.",
        "404" => "No such record, or it is outside the caller's scope (S7).",
        "409" => "The current state forbids it; `code` says why.",
        "422" => "Well-formed but invalid values; `fields` lists every problem.",
        "429" => "Too many attempts; try again after `Retry-After` seconds.",
        _ => "Error.",
    };
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
    );
    if status == "429" {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(SchemaType::new(Type::Integer)))
                .description(Some("Seconds to wait."))
                .build(),
        );
    }
    response.build()
}

fn is_public(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|s| {
        s.iter()
            .all(|r| serde_json::to_value(r).is_ok_and(|v| v == Value::Object(Default::default())))
    })
}

/// Every `{name}` of the path as an opaque string id (SPEC §8: ids are
/// opaque strings), unless the handler declared it.
fn declare_path_parameters(path: &str, op: &mut Operation) {
    let names = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name));
    for name in names {
        let params = op.parameters.get_or_insert_with(Vec::new);
        if params.iter().any(|p| p.name == name && p.parameter_in == ParameterIn::Path) {
            continue;
        }
        params.push(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("An opaque id."))
                .schema(Some(ObjectBuilder::new().schema_type(SchemaType::new(Type::String))))
                .build(),
        );
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                let has_query = op
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| serde_json::to_value(p).is_ok_and(|v| v.get("in").and_then(Value::as_str) == Some("query")));
                let mut shared = Vec::new();
                if op.request_body.is_some() || has_query {
                    shared.push("400");
                }
                if !is_public(op) {
                    shared.push("401");
                }
                if path.contains('{') {
                    shared.push("404");
                }
                declare_path_parameters(path, op);
                let responses = &mut op.responses.responses;
                for status in shared {
                    responses.entry(status.to_owned()).or_insert_with(|| error_response(status).into());
                }
                for (status, response) in responses.iter_mut() {
                    let empty = matches!(response, RefOr::T(r) if r.content.is_empty());
                    if status.starts_with('4') && empty {
                        *response = error_response(status).into();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ShortText;
    use proptest::prelude::*;
    use regex::Regex;

    /// Compiled once: the character classes are large.
    fn name_regex() -> &'static Regex {
        static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        RE.get_or_init(|| Regex::new(&short_text_pattern(12)).expect("the pattern compiles"))
    }

    /// The pattern and `ShortText::parse` agree, in both directions.
    #[test]
    fn the_text_pattern_is_exactly_what_short_text_accepts() {
        let re = name_regex();
        for s in [
            "Ann",
            " Ann ",
            "\tAnn Lee\n",
            "a b",
            "Ann  Lee",
            "",
            " ",
            "Ann\u{202E}",
            "a\u{00A0}b",
            "\u{3000}x",
            &"x".repeat(12),
            &"x".repeat(13),
        ] {
            assert_eq!(re.is_match(s), ShortText::parse("name", s, 12).is_ok(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn pattern_and_parser_agree(s in "\\PC{0,16}|[ \\t\\u{a0}\\u{200b}a-c]{0,16}|\\p{Cf}[a ]{0,3}") {
            prop_assert_eq!(name_regex().is_match(&s), ShortText::parse("name", &s, 12).is_ok());
        }
    }
}
