//! Every SQL statement of Tracker lives in this crate.
//!
//! One [`Db`] serves both dialects: the embedded SQLite file (one writer
//! connection, so write transactions are serialised and every rule check
//! inside one sees a stable world; several readers under WAL) and
//! PostgreSQL (one pool; rule checks lock the rows they depend on). All work
//! happens inside a [`Tx`]: a write transaction from [`Db::write`] or a
//! consistent read snapshot from [`Db::read`]. The query methods are written
//! once and compiled for each dialect by the [`on!`] macro; where the SQL
//! itself differs, the method says so with an explicit `match`.

mod audit;
mod auth;
mod blockers;
mod db;
mod delivery;
mod matters;
mod onboarding;
mod orgs;
mod outbox;
mod routes;
mod settings;
mod sql;
mod users;

pub use audit::{AuditEntry, AuditQuery, AuditRecord};
pub use auth::{Credentials, SessionRecord, SignInLink};
pub use db::{Db, Dialect, StoreError, Tx};
pub use matters::{MatterQuery, ParticipantView};
pub use onboarding::Queuer;
pub use outbox::{MailKind, OutboxMessage, OutboxStatusCount};
pub use users::{Org, SortKey, Status, UserQuery};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
