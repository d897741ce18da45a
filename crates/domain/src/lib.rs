//! The domain of Tracker: validated value types, the entities of SPEC §1 and
//! the rules of SPEC §2–§5 as pure functions over plain data.
//!
//! Nothing here knows HTTP, SQL, SMTP or an async runtime; every decision
//! that the product makes about users is taken here so that it can be tested
//! exhaustively without a server.

pub mod access;
pub mod audit;
pub mod audit_chain;
pub mod code;
pub mod deactivation;
pub mod email;
pub mod error;
pub mod ids;
pub mod links;
pub mod lockout;
pub mod model;
pub mod offboarding;
pub mod password;
pub mod role;
pub mod scim;
pub mod secret;
pub mod sso;
pub mod text;

#[doc(hidden)]
pub use serde as __serde;

pub use code::{StoredCode, UnknownCode};
pub use email::Email;
pub use error::Invalid;
pub use ids::{FirmId, MatterId, OfficeId, RouteId, UserId};
pub use role::{MatterRole, Role, Side};
pub use text::{EntityName, PersonName, ShortText};

/// Milliseconds since the Unix epoch. Every timestamp in Tracker is one of
/// these, so that both databases compare and index them the same way.
pub type Millis = i64;
