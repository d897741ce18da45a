//! S14: the one picker of people, used by the pages too, so that a page
//! never offers anyone the API would not.

use super::schema::PeoplePurpose;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use app::ui_support::{PeopleQuery, Person, Purpose, DEFAULT_CHOICES};
use app::{App, AppError};
use axum::extract::State;
use axum::Json;
use domain::MatterId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeopleParams {
    /// What the person is chosen for, authorized like the change that takes
    /// the choice: `lead` (who may create matters; with `matter_id`, who may
    /// edit that matter), `coordinator`, `approver`, `route_delegate`,
    /// `tracker_coordinator` (company system administrators), `participant`
    /// (with `matter_id`: who may add participants to that matter),
    /// `delegate` (anyone: their own organisation), `successor` (with
    /// `user_id`: who may offboard that user; people in the caller's scope).
    #[serde(rename = "for")]
    #[param(rename = "for", value_type = PeoplePurpose)]
    pub purpose: String,
    /// The matter, for `participant` (required) and `lead` (editing it).
    pub matter_id: Option<String>,
    /// The leaving user, for `successor` (required).
    pub user_id: Option<String>,
    /// Starts of first name, last name or email.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// At most this many (default 50); `more` says whether there are.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
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
#[utoipa::path(get, path = "/api/v1/people", tag = "users", params(PeopleParams),
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
