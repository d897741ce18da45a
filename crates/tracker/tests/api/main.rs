//! Tracker's API tests: the real server on a real socket with a fresh
//! database file per test.

mod helpers;
mod lockout;

mod audit;
mod audit_chain;
mod authz_matrix;
mod authz_scopes;
mod deactivation;
mod edge;
mod exchange;
mod matters;
mod offboarding;
mod offboarding_edges;
mod onboarding;
mod ops;
mod orgs;
mod races;
mod scim;
mod scim_fixtures;
mod scopes;
mod sessions;
mod snapshots;
mod sso;
mod transfer;
mod trust;
mod ui;
mod user_list;
mod users;
mod validation;
