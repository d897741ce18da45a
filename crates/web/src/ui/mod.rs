//! The server-rendered web UI (SPEC §9).

use app::App;
use axum::Router;

/// The pages; merged into the service router.
pub fn router() -> Router<App> {
    Router::new()
}
