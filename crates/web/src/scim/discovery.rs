//! DIR1: what the server supports (RFC 7644 §4): ServiceProviderConfig,
//! ResourceTypes and Schemas. `/Schemas` lists exactly the attributes we
//! store; `emails` is required because the Tracker email is the sign-in id.

use super::{scim_json, Directory};
use axum::http::StatusCode;
use axum::response::Response;
use domain::scim::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA};
use serde_json::{json, Value};

pub async fn service_provider_config(Directory(_): Directory) -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": super::MAX_COUNT},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM token",
                "description": "A token made by a system administrator in Settings › Directory, sent as Authorization: Bearer",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig"}
        }),
    )
}

fn user_resource_type() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A company user of Tracker",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType"}
    })
}

fn group_resource_type() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A directory group; the mapping in settings gives its members a Tracker role",
        "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType"}
    })
}

pub async fn resource_types(Directory(_): Directory) -> Response {
    scim_json(
        StatusCode::OK,
        json!({"schemas": [LIST_SCHEMA], "totalResults": 2, "startIndex": 1, "itemsPerPage": 2, "Resources": [user_resource_type(), group_resource_type()]}),
    )
}

fn attr(name: &str, kind: &str, required: bool, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": false, "required": required, "caseExact": false,
        "mutability": "readWrite", "returned": "default", "uniqueness": "none", "description": name,
    });
    if let (Some(a), Value::Object(extra)) = (a.as_object_mut(), extra) {
        a.extend(extra);
    }
    a
}

fn user_schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A company user of Tracker",
        "attributes": [
            attr("userName", "string", true, json!({"uniqueness": "server", "description": "The directory's login, unique without regard to case"})),
            attr("name", "complex", true, json!({"subAttributes": [
                attr("givenName", "string", true, json!({})),
                attr("familyName", "string", true, json!({})),
            ]})),
            attr("emails", "complex", true, json!({"multiValued": true, "description": "The primary (else work, else first) address is the Tracker sign-in id", "subAttributes": [
                attr("value", "string", true, json!({})),
                attr("type", "string", false, json!({"canonicalValues": ["work", "home", "other"]})),
                attr("primary", "boolean", false, json!({})),
            ]})),
            attr("active", "boolean", false, json!({})),
            attr("externalId", "string", false, json!({"caseExact": true})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{USER_SCHEMA}")}
    })
}

fn enterprise_schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": ENTERPRISE_SCHEMA,
        "name": "EnterpriseUser",
        "description": "Enterprise User: department becomes the Tracker office of that name",
        "attributes": [attr("department", "string", false, json!({}))],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{ENTERPRISE_SCHEMA}")}
    })
}

fn group_schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A directory group: members are directory users",
        "attributes": [
            attr("displayName", "string", true, json!({"uniqueness": "server", "description": "Unique without regard to case; the name the role mapping in settings uses"})),
            attr("externalId", "string", false, json!({"caseExact": true})),
            attr("members", "complex", false, json!({"multiValued": true, "description": "Directory users (no nested groups)", "subAttributes": [
                attr("value", "string", true, json!({"caseExact": true, "mutability": "immutable", "description": "The user's id"})),
                attr("display", "string", false, json!({"mutability": "readOnly"})),
                attr("type", "string", false, json!({"mutability": "immutable", "canonicalValues": ["User"]})),
            ]})),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{GROUP_SCHEMA}")}
    })
}

pub async fn schemas(Directory(_): Directory) -> Response {
    scim_json(
        StatusCode::OK,
        json!({"schemas": [LIST_SCHEMA], "totalResults": 3, "startIndex": 1, "itemsPerPage": 3, "Resources": [user_schema(), enterprise_schema(), group_schema()]}),
    )
}
