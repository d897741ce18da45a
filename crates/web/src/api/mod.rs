//! The JSON API of SPEC §8 under `/api/v1`, with its OpenAPI document
//! generated from these handlers.

mod audit;
mod directory;
pub(crate) mod exchange;
mod matters;
pub mod offboarding;
mod onboarding;
mod orgs;
mod people;
mod routes;
pub mod schema;
mod sessions;
mod settings;
mod users;

use crate::types::*;
use app::{App, Page};
use axum::Router;
use schema::CommonResponses;
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tracker API", description = "User administration of a legal department's matter-management system. Errors are `{\"error\": {\"code\", \"message\", …}}`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody, UserOut, FirmOut, OfficeOut, MatterOut, ParticipantOut, RouteOut, AuditOut,
        schema::OrgSelector, schema::UserStatusFilter, schema::UserSortKey, schema::SortOrder, schema::PeoplePurpose))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub use schema::ErrorBody;

/// `page` (from 1) and `per_page` (default 50, at most 500).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// From 1 (the default).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 50 by default.
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, app::AppError> {
        Page::new(self.page, self.per_page)
    }
}

/// The API router and its OpenAPI document.
pub fn router() -> (Router<App>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::sign_in))
        .routes(routes!(sessions::sign_out))
        .routes(routes!(sessions::set_password))
        .routes(routes!(sessions::me))
        .routes(routes!(sessions::my_matters))
        .routes(routes!(sessions::my_delegates, sessions::set_my_delegates))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::patch_user))
        .routes(routes!(users::deactivation_check))
        .routes(routes!(users::send_new_user_email))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::unlock))
        .routes(routes!(users::history))
        .routes(routes!(users::delegates))
        .routes(routes!(offboarding::plan))
        .routes(routes!(offboarding::offboard))
        .routes(routes!(offboarding::cancel))
        .routes(routes!(offboarding::list))
        .routes(routes!(people::people))
        .routes(routes!(onboarding::pending))
        .routes(routes!(onboarding::send_all))
        .routes(routes!(orgs::list_offices, orgs::create_office))
        .routes(routes!(orgs::get_office, orgs::patch_office))
        .routes(routes!(orgs::list_firms, orgs::create_firm))
        .routes(routes!(orgs::get_firm))
        .routes(routes!(matters::list_matters, matters::create_matter))
        .routes(routes!(matters::get_matter, matters::patch_matter))
        .routes(routes!(matters::list_participants, matters::add_participant))
        .routes(routes!(matters::remove_participant))
        .routes(routes!(matters::bulk_update_lead))
        .routes(routes!(routes::list_routes, routes::create_route))
        .routes(routes!(routes::get_route, routes::patch_route))
        .routes(routes!(settings::get_settings, settings::patch_settings))
        .routes(routes!(audit::audit_log))
        .routes(routes!(directory::list_scim_tokens, directory::create_scim_token))
        .routes(routes!(directory::revoke_scim_token))
        .routes(routes!(directory::offboarding_items))
        .routes(routes!(audit::audit_verify))
        .routes(routes!(exchange::users_csv))
        .routes(routes!(exchange::audit_csv))
        .routes(routes!(exchange::import_users))
        .split_for_parts();
    // After the routes: only now does the document hold their operations.
    // The query first: the shared responses add 400 where there is one.
    people::document_query(&mut openapi);
    CommonResponses.modify(&mut openapi);
    (router, openapi)
}

/// The OpenAPI document as served, in JSON. utoipa 5.5 writes the fields of
/// a Link object in snake case (`operation_id`, `operation_ref`,
/// `request_body`) where OpenAPI names them in camel case; the links of
/// every response are corrected here, once, when the router is built.
pub fn served_document(openapi: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi).expect("the OpenAPI document is JSON");
    let links = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links").and_then(|l| l.as_object_mut()))
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(v) = link.remove(snake) {
                link.insert(camel.to_owned(), v);
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    /// Every link names its operation as OpenAPI spells it, and the
    /// operation exists.
    #[test]
    fn links_are_written_in_camel_case_and_name_real_operations() {
        let (_, openapi) = super::router();
        let doc = super::served_document(&openapi);
        let operations: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let mut seen = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for response in op["responses"].as_object().into_iter().flat_map(|r| r.values()) {
                    for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                        let target = link["operationId"].as_str().unwrap_or_else(|| panic!("operationId: {link}"));
                        assert!(operations.contains(&target), "{target} is an operation");
                        assert!(link.get("operation_id").is_none(), "{link}");
                        seen += 1;
                    }
                }
            }
        }
        assert!(
            seen >= 3,
            "the links of POST /approval-routes and POST /users/{{id}}/offboard: {seen}"
        );
    }
}
