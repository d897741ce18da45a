//! S14: the one picker of people, used by the pages too, so that a page
//! never offers anyone the API would not.

use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use app::ui_support::{PeopleQuery, Person, Purpose, DEFAULT_CHOICES};
use app::{App, AppError};
use axum::extract::State;
use axum::Json;
use domain::MatterId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /people`'s query. Which of `matter_id` and `user_id` a purpose
/// takes is a rule between parameters, which separate query parameters
/// cannot state; the document describes the query as one object instead
/// ([`document_query`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleParams {
    #[serde(rename = "for")]
    pub purpose: String,
    pub matter_id: Option<String>,
    pub user_id: Option<String>,
    pub q: Option<String>,
    pub limit: Option<i64>,
}

/// The purposes that take neither a matter nor a user.
const PLAIN_PURPOSES: [&str; 5] = ["coordinator", "approver", "route_delegate", "tracker_coordinator", "delegate"];

/// Describes `GET /people`'s query exactly as [`purpose`] parses it: one
/// form-exploded object parameter (`?for=lead&matter_id=…`), `oneOf` a
/// branch per kind of purpose. An empty `matter_id` or `user_id` counts as
/// absent, so a purpose that takes neither still accepts them empty
/// (`maxLength: 0`); `participant` needs a matter and `successor` a user.
/// Called once the routes are in the document.
pub fn document_query(openapi: &mut utoipa::openapi::OpenApi) {
    let none = serde_json::json!({"type": "string", "maxLength": 0, "description": "Not taken by this purpose; empty counts as absent."});
    let q = serde_json::json!({"type": "string", "maxLength": 100, "description": "Starts of first name, last name or email."});
    let limit = serde_json::json!({"type": "integer", "minimum": 1, "maximum": 500, "description": "At most this many (default 50); `more` says whether there are."});
    let branch = |title: &str, purposes: &[&str], matter: serde_json::Value, user: serde_json::Value, required: &[&str]| {
        let mut required_fields = vec!["for"];
        required_fields.extend_from_slice(required);
        serde_json::json!({
            "title": title,
            "type": "object",
            "additionalProperties": false,
            "required": required_fields,
            "properties": {
                "for": {"type": "string", "enum": purposes},
                "matter_id": matter,
                "user_id": user,
                "q": q,
                "limit": limit,
            },
        })
    };
    // Built as a `OneOf` on purpose: utoipa reads any schema JSON with a
    // `type` as a plain object and would drop `oneOf`.
    let one_of: utoipa::openapi::schema::OneOf = serde_json::from_value(serde_json::json!({
        "type": "object",
        "oneOf": [
            branch(
                "Company people, delegates (their own organisation), tracker coordinators",
                &PLAIN_PURPOSES,
                none.clone(),
                none.clone(),
                &[],
            ),
            branch(
                "A lead: who may create matters, or with matter_id who may edit that matter",
                &["lead"],
                serde_json::json!({"type": "string", "description": "The matter being edited; empty counts as absent."}),
                none.clone(),
                &[],
            ),
            branch(
                "A participant of the matter: who may add participants to it",
                &["participant"],
                serde_json::json!({"type": "string", "minLength": 1}),
                none.clone(),
                &["matter_id"],
            ),
            branch(
                "A successor of the leaving user: who may offboard them",
                &["successor"],
                none,
                serde_json::json!({"type": "string", "minLength": 1, "description": "The leaving user."}),
                &["user_id"],
            ),
        ],
    }))
    .expect("a oneOf schema");
    let mut parameter: utoipa::openapi::path::Parameter = serde_json::from_value(serde_json::json!({
        "name": "query",
        "in": "query",
        "required": true,
        "style": "form",
        "explode": true,
        "description": "What the person is chosen for (`for`), authorized like the change that takes the choice, with what that purpose takes.",
    }))
    .expect("an OpenAPI parameter");
    parameter.schema = Some(utoipa::openapi::schema::Schema::OneOf(one_of).into());
    let operation = openapi
        .paths
        .paths
        .get_mut("/api/v1/people")
        .and_then(|item| item.get.as_mut())
        .expect("GET /api/v1/people is routed before its query is described");
    operation.parameters = Some(vec![parameter]);
}

#[derive(Serialize, ToSchema)]
pub struct PersonOut {
    pub id: String,
    pub name: String,
    pub email: String,
    pub active: bool,
}

impl From<&Person> for PersonOut {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            email: p.email.clone(),
            active: p.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PeopleOut {
    /// Active people the purpose accepts, by last then first name.
    pub items: Vec<PersonOut>,
    /// More people match than `limit`: narrow with `q`.
    pub more: bool,
}

fn bad(msg: &str) -> AppError {
    AppError::bad_request("invalid_query", msg.to_owned())
}

/// Parses `for`, `matter_id` and `user_id` into a purpose: 400 for an
/// unknown `for`, 422 on the field when `matter_id` or `user_id` is missing
/// where needed or given where not taken.
pub fn purpose(for_: &str, matter_id: Option<&str>, user_id: Option<&str>) -> Result<Purpose, AppError> {
    let user = user_id.filter(|u| !u.is_empty()).map(domain::UserId::from);
    let not_taken =
        |field: &'static str, message: &str| -> AppError { domain::Invalid::new(field, "not_taken", message.to_owned()).into() };
    if for_ == "successor" {
        if matter_id.is_some_and(|m| !m.is_empty()) {
            return Err(not_taken("matter_id", "matter_id: only for=lead or for=participant take a matter"));
        }
        return user
            .map(Purpose::Successor)
            .ok_or_else(|| domain::Invalid::new("user_id", "required", "user_id: for=successor needs the leaving user").into());
    }
    if user.is_some() {
        return Err(not_taken("user_id", "user_id: only for=successor takes a user"));
    }
    let matter = matter_id.filter(|m| !m.is_empty()).map(MatterId::from);
    let no_matter = |p: Purpose| {
        if matter.is_some() {
            Err(not_taken("matter_id", "matter_id: only for=lead or for=participant take a matter"))
        } else {
            Ok(p)
        }
    };
    match for_ {
        "lead" => Ok(Purpose::Lead(matter)),
        "participant" => matter
            .map(Purpose::Participant)
            .ok_or_else(|| domain::Invalid::new("matter_id", "required", "matter_id: for=participant needs the matter").into()),
        "coordinator" => no_matter(Purpose::Coordinator),
        "approver" => no_matter(Purpose::Approver),
        "route_delegate" => no_matter(Purpose::RouteDelegate),
        "tracker_coordinator" => no_matter(Purpose::TrackerCoordinator),
        "delegate" => no_matter(Purpose::Delegate),
        _ => Err(bad(
            "for: use lead, coordinator, approver, route_delegate, tracker_coordinator, participant, delegate or successor",
        )),
    }
}

/// People to choose from, authorized per purpose exactly like the change
/// that takes the choice (S14): outside its scope the same 403/404.
#[utoipa::path(get, path = "/api/v1/people", tag = "users",
    responses((status = 200, body = PeopleOut), (status = 403), (status = 404, description = "`matter_id` names a matter the caller cannot see."), (status = 422)))]
pub async fn people(State(app): State<App>, caller: Caller, ApiQuery(p): ApiQuery<PeopleParams>) -> ApiResult<Json<PeopleOut>> {
    let query = PeopleQuery {
        purpose: purpose(&p.purpose, p.matter_id.as_deref(), p.user_id.as_deref())?,
        q: p.q,
        limit: p.limit.unwrap_or(DEFAULT_CHOICES),
    };
    let picked = app.people(&caller.ctx, &query).await?;
    Ok(Json(PeopleOut {
        items: picked.people.iter().map(PersonOut::from).collect(),
        more: picked.more,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Whether `query` fits the described object: the one `oneOf` branch
    /// whose `for` enum holds it, its `required`, and its length limits.
    fn fits(schema: &Value, query: &[(&str, &str)]) -> bool {
        let get = |name: &str| query.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let Some(purpose) = get("for") else { return false };
        let branches = schema["oneOf"].as_array().unwrap();
        let matching: Vec<&Value> = branches
            .iter()
            .filter(|b| b["properties"]["for"]["enum"].as_array().unwrap().iter().any(|p| p == purpose))
            .collect();
        let [branch] = matching[..] else { return false };
        let required = branch["required"].as_array().unwrap();
        if required.iter().any(|r| get(r.as_str().unwrap()).is_none()) {
            return false;
        }
        query.iter().all(|(name, value)| {
            let property = &branch["properties"][name];
            let len = value.chars().count() as u64;
            !property.is_null()
                && property["maxLength"].as_u64().is_none_or(|max| len <= max)
                && property["minLength"].as_u64().is_none_or(|min| len >= min)
        })
    }

    /// The document's description of the query and `purpose`, which parses
    /// it, agree on every purpose (and an unknown one) with `matter_id` and
    /// `user_id` each absent, empty or given.
    #[test]
    fn the_described_query_is_exactly_what_purpose_accepts() {
        let (_, openapi) = super::super::router();
        let doc = super::super::served_document(&openapi);
        let parameters = doc["paths"]["/api/v1/people"]["get"]["parameters"].as_array().unwrap();
        assert_eq!(parameters.len(), 1, "{parameters:?}");
        assert_eq!(parameters[0]["style"], "form");
        assert_eq!(parameters[0]["explode"], true);
        let schema = &parameters[0]["schema"];
        let mut checked = 0;
        for purpose in super::PLAIN_PURPOSES.iter().chain(&["lead", "participant", "successor", "nobody"]) {
            for matter in [None, Some(""), Some("m1")] {
                for user in [None, Some(""), Some("u1")] {
                    let mut query = vec![("for", *purpose)];
                    query.extend(matter.map(|m| ("matter_id", m)));
                    query.extend(user.map(|u| ("user_id", u)));
                    assert_eq!(fits(schema, &query), super::purpose(purpose, matter, user).is_ok(), "{query:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 81);
    }
}
