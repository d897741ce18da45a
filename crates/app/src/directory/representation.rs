//! DIR1: a linked user as a SCIM resource (RFC 7643 §4.1 and the
//! enterprise extension), and what a SCIM User body asks for.

use super::scim_error;
use crate::AppResult;
use domain::model::User;
use domain::scim::{self, ScimType};
use domain::{Email, Millis};
use serde_json::{json, Value};
use store::DirectoryLink;

/// A linked user as the directory sees it.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    pub link: DirectoryLink,
    pub user: User,
    pub office_name: Option<domain::EntityName>,
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
        let department = self
            .link
            .department
            .clone()
            .or_else(|| self.office_name.as_ref().map(|n| n.to_string()));
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
pub(super) struct Wanted {
    pub(super) user_name: String,
    pub(super) first_name: String,
    pub(super) last_name: String,
    pub(super) email: Email,
    pub(super) active: bool,
    pub(super) external_id: Option<String>,
    pub(super) department: Option<String>,
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
pub(super) fn read_user(body: &Value) -> AppResult<Wanted> {
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
fn pick_email(emails: Option<&Value>, user_name: &str) -> AppResult<Email> {
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
    Email::parse(&address).map_err(|_| scim_error(ScimType::InvalidValue, format!("'{address}' is not an email address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AppError;

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
