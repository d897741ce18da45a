//! Helpers for tests and benchmarks only; never a dependency of the product.

pub mod cli;
pub mod message;
pub mod oidc_idp;
pub mod smtp_sink;
pub mod users;
