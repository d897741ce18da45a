//! OP5: `tracker backup FILE` and `tracker restore FILE` for the embedded
//! SQLite database. A backup is a consistent copy taken while `serve`
//! runs (`VACUUM INTO`: one read snapshot, writers go on); a restore fills
//! an empty data directory, and only with a Tracker database of this
//! release's schema or an older one (`serve` migrates it forward).
//! PostgreSQL is backed up with its own tools (README, *Operating Tracker*).

use crate::config::Storage;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The migration that made the audit log a hash chain (A1): a backup with
/// it must verify before it is restored.
const AUDIT_CHAIN_MIGRATION: i64 = 4;

/// The SQLite file behind `storage`, or an error pointing PostgreSQL users
/// to `pg_dump`/`pg_restore`.
fn sqlite_file(storage: &Storage, tool: &str) -> anyhow::Result<PathBuf> {
    match &storage.database_url {
        None => Ok(storage.data_dir.join("tracker.db")),
        Some(url) if url.starts_with("sqlite:") => {
            let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
            Ok(PathBuf::from(path.split('?').next().unwrap_or(path)))
        }
        Some(_) => bail!("tracker {tool} works on the embedded SQLite database; for PostgreSQL use pg_dump and pg_restore (see the README, Operating Tracker)"),
    }
}

/// Writes a consistent copy of the database to `target` and reports it.
pub async fn backup(storage: &Storage, target: &Path) -> anyhow::Result<String> {
    let source = sqlite_file(storage, "backup")?;
    if !source.is_file() {
        bail!("no database at {}: check TRACKER_DATA_DIR", source.display());
    }
    if target.exists() {
        bail!("{} exists already: name a new file", target.display());
    }
    let started = Instant::now();
    let db = store::Db::connect(&format!("sqlite://{}", source.display())).await?;
    let status = db.schema_status().await?;
    let copied = db.backup_into(target).await;
    db.close().await;
    copied.with_context(|| format!("writing {}", target.display()))?;
    restrict(target)?;
    let size = std::fs::metadata(target)?.len();
    Ok(format!(
        "Backed up {} to {}: {} bytes in {:.2} s (schema version {}).",
        source.display(),
        target.display(),
        size,
        started.elapsed().as_secs_f64(),
        status.applied
    ))
}

/// Fills an empty data directory from a backup.
pub async fn restore(storage: &Storage, backup: &Path) -> anyhow::Result<String> {
    let target = sqlite_file(storage, "restore")?;
    let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        bail!("{} is not empty: restore into a new, empty data directory", dir.display());
    }
    let mut magic = [0u8; 16];
    let read = std::fs::File::open(backup)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .with_context(|| format!("reading {}", backup.display()));
    if read.is_err() || &magic != b"SQLite format 3\0" {
        bail!("{} is not a Tracker backup (not an SQLite database)", backup.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // Checked on a copy, so the backup itself is never changed.
    let staging = dir.join("tracker.db.restoring");
    let checked = async {
        std::fs::copy(backup, &staging).with_context(|| format!("copying {}", backup.display()))?;
        restrict(&staging)?;
        let db = store::Db::connect(&format!("sqlite://{}", staging.display())).await?;
        let status = db.schema_status().await;
        // A1: a copy with the audit chain (migration 0004 on) must verify.
        let chain = match &status {
            Ok(s) if s.is_tracker() && s.unknown.is_empty() && s.applied >= AUDIT_CHAIN_MIGRATION => {
                Some(async { db.read().await?.verify_audit_chain().await }.await)
            }
            _ => None,
        };
        db.close().await;
        let status = status?;
        if !status.is_tracker() {
            bail!("{} is not a Tracker backup (no Tracker schema in it)", backup.display());
        }
        if !status.unknown.is_empty() {
            bail!(
                "{} has a newer schema (migrations {:?}) than this release knows (up to {}): restore it with the release that made it",
                backup.display(),
                status.unknown,
                status.known
            );
        }
        if let Some(report) = chain {
            let report = report?;
            if !report.ok {
                bail!(
                    "{}: its audit log does not verify (first bad entry: {}); it was changed after it was written",
                    backup.display(),
                    report
                        .first_bad_seq
                        .map_or_else(|| "the chain head".to_owned(), |s| format!("seq {s}"))
                );
            }
        }
        Ok(status)
    }
    .await;
    match checked {
        Ok(status) => {
            std::fs::rename(&staging, &target)?;
            Ok(format!(
                "Restored {} into {} (schema version {}; tracker serve migrates it to {}).",
                backup.display(),
                target.display(),
                status.applied,
                status.known
            ))
        }
        Err(e) => {
            for leftover in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{leftover}", staging.display()));
            }
            Err(e)
        }
    }
}

/// The copy holds password hashes: readable by the service's user only.
fn restrict(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    Ok(())
}
