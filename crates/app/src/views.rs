//! Snapshots for the audit log's before/after columns.

use domain::model::User;
use serde_json::{json, Value};

pub fn user_json(u: &User) -> Value {
    json!({
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "side": u.side.as_str(),
        "firm_id": u.firm_id,
        "office_id": u.office_id,
        "role": u.role.as_str(),
        "active": u.active,
        "activated": u.activated_at.is_some(),
        "new_user_email_status": u.new_user_email.status.as_str(),
    })
}
