//! Secrets the server keeps for itself (`server_keys`), made on first use.

use crate::db::{on, Db};
use crate::Result;
use domain::Millis;

impl Db {
    /// The secret kept for `purpose`: the one stored, or else `fresh`,
    /// stored now. Processes racing to make it all end with the same one.
    pub async fn server_key(&self, purpose: &str, fresh: &str, now: Millis) -> Result<String> {
        let mut tx = self.write().await?;
        on!(tx, c => sqlx::query("INSERT INTO server_keys (purpose, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (purpose) DO NOTHING")
            .bind(purpose).bind(fresh).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        let secret: String = on!(tx, c => sqlx::query_scalar("SELECT secret FROM server_keys WHERE purpose = $1")
            .bind(purpose).fetch_one(c).await)?;
        tx.commit().await?;
        Ok(secret)
    }
}
