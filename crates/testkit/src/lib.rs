//! Helpers for tests and benchmarks only; never a dependency of the product.

pub mod message;
pub mod smtp_sink;
