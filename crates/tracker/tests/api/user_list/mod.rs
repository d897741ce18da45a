//! SPEC §5e at the HTTP boundary, by concern: kept totals equal a real
//! COUNT after random changes (`totals`), cursor pages walk the same order
//! as a single page with never-signed-in users last (`cursors`), every list
//! variant reads an index in order (`plans`), and P2's search (`search`).

mod cursors;
mod plans;
mod search;
mod totals;

use domain::{FirmId, OfficeId};
use serde_json::Value;
use store::Status;

const MIN: i64 = 60_000;

/// The ids of a list answer's `items`, in order.
fn ids(v: &Value) -> Vec<String> {
    crate::helpers::item_texts(v, "id")
}

/// Every status selector of the list, locked out as of `now`.
fn statuses(now: i64) -> [Status; 5] {
    [
        Status::Active,
        Status::Inactive,
        Status::All,
        Status::Locked(now),
        Status::NeverEmailed,
    ]
}

/// A user written straight into the store, its fields varied by `i`, for
/// lists too long to build through the API.
fn seeded_user(i: usize, firms: &[String], offices: &[String], now: i64) -> domain::model::User {
    use domain::model::{EmailStatus, NewUserEmail, User};
    use domain::{Role, Side, UserId};
    let firm = i.is_multiple_of(3).then(|| FirmId::from(firms[i % firms.len()].as_str()));
    User {
        id: UserId::generate(),
        email: domain::Email::parse(&format!("seed{i:05}@example.com")).unwrap(),
        first_name: domain::PersonName::parse("first_name", &format!("First{}", i % 97)).unwrap(),
        last_name: domain::PersonName::parse("last_name", &format!("Last{}", i % 113)).unwrap(),
        side: if firm.is_some() { Side::Firm } else { Side::Company },
        office_id: (firm.is_none() && i.is_multiple_of(2)).then(|| OfficeId::from(offices[i % offices.len()].as_str())),
        role: if firm.is_some() { Role::FirmUser } else { Role::CompanyUser },
        firm_id: firm,
        active: !i.is_multiple_of(10),
        activated_at: (!i.is_multiple_of(4)).then_some(now),
        last_sign_in_at: (!i.is_multiple_of(4)).then_some(now - i as i64),
        created_at: now,
        updated_at: now,
        deactivated_at: None,
        new_user_email: NewUserEmail {
            status: if i.is_multiple_of(4) {
                EmailStatus::Held
            } else {
                EmailStatus::Sent
            },
            sent_at: (!i.is_multiple_of(4)).then_some(now),
            send_count: 0,
            last_change_at: None,
        },
        // Locked now, or a lock on record that has run out (the sweep has
        // not cleared it yet): the locked-out list must skip those.
        locked_until: match i % 50 {
            0 => Some(now + 60 * MIN),
            25 => Some(now - 60 * MIN),
            _ => None,
        },
        lock_reason: None,
    }
}

/// A list plan reads an index in order: no scan of `users` without an
/// index, no sort step.
fn assert_plan_is_index_ordered(plan: &[String], what: &str) {
    for line in plan {
        let l = line.trim().trim_start_matches("->").trim();
        // SQLite
        if l.starts_with("SCAN u") || l.starts_with("SCAN users") {
            assert!(
                l.contains("USING INDEX") || l.contains("USING COVERING INDEX"),
                "a scan of users without an index: {what}"
            );
        }
        // PostgreSQL
        assert!(!l.starts_with("Seq Scan on users"), "a sequential scan of users: {what}");
        assert!(!l.contains("TEMP B-TREE"), "a sort step: {what}");
        assert!(!l.starts_with("Sort") && !l.starts_with("Incremental Sort"), "a sort step: {what}");
        assert!(!l.starts_with("Bitmap Heap Scan on users"), "an unordered read of users: {what}");
    }
}
