//! Users written straight into the store by tests and benchmarks that need
//! many of them faster than the API makes them.

use domain::model::User;
use domain::{Email, Millis, PersonName, Role};

/// A company user as created with *Hold user notification* (N1): active,
/// no firm or office, the new user email held.
pub fn held_company_user(email: &str, first_name: &str, last_name: &str, now: Millis) -> User {
    User::created(
        Email::parse(email).expect("a valid email"),
        PersonName::parse("first_name", first_name).expect("a valid first name"),
        PersonName::parse("last_name", last_name).expect("a valid last name"),
        Role::CompanyUser,
        None,
        None,
        now,
    )
}
