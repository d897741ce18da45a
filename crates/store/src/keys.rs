//! Secrets the server keeps for itself (`server_keys`), made on first use.

use crate::db::{exec, scalar_one, statement, Db};
use crate::Result;
use domain::Millis;

impl Db {
    /// The secret kept for `purpose`: the one stored, or else `fresh`,
    /// stored now. Processes racing to make it all end with the same one.
    pub async fn server_key(&self, purpose: &str, fresh: &str, now: Millis) -> Result<String> {
        let mut tx = self.write().await?;
        statement!(
            KEEP_SERVER_KEY = "INSERT INTO server_keys (purpose, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (purpose) DO NOTHING"
        );
        exec!(tx, KEEP_SERVER_KEY, purpose, fresh, now)?;
        statement!(SERVER_KEY = "SELECT secret FROM server_keys WHERE purpose = $1");
        let secret: String = scalar_one!(tx, SERVER_KEY, purpose)?;
        tx.commit().await?;
        Ok(secret)
    }
}
