//! Where messages go (SPEC §6): an SMTP server when `TRACKER_SMTP_URL` is
//! set, otherwise `.eml` files in the data directory's `outbox/` folder, so
//! that an installation without a mail server still shows what it would
//! have sent.

use crate::error::{ConfigError, Failure};
use crate::message::OutboxRef;
use crate::smtp_pool::{Protection, Settings, SmtpPool};
use crate::smtp_url::{Security, SmtpUrl};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::Message;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Opening a connection (TCP, TLS, greeting, EHLO, AUTH) gives up after
/// this long; shorter than the worker's send timeout, which bounds the
/// whole delivery, so a hung server is reported as a connection timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Idle connections kept open for the next message. The pool never opens
/// more connections than there are deliveries in flight, so this only needs
/// to be at least the worker's concurrency for a bulk send (N3) to reuse
/// every connection; idle ones close after a minute.
const POOL_SIZE: usize = 64;
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection idle longer than this is checked with NOOP before reuse.
const CHECK_AFTER: Duration = Duration::from_secs(1);

/// Delivers composed messages. Cheap to share behind an `Arc`.
pub struct Transport {
    from: Mailbox,
    way: Way,
}

enum Way {
    Smtp { pool: Box<SmtpPool>, url: SmtpUrl },
    Files { dir: PathBuf },
}

impl Transport {
    /// The transport of SPEC §6: SMTP when `smtp_url` is given, otherwise
    /// files under `<data_dir>/outbox/` (created here). `from` is the
    /// sender (`TRACKER_MAIL_FROM`). Create it inside the Tokio runtime,
    /// where its SMTP connections live.
    pub fn from_config(smtp_url: Option<&str>, data_dir: &Path, from: &str) -> Result<Self, ConfigError> {
        match smtp_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Self::smtp(&SmtpUrl::parse(url)?, from),
            None => Self::files(data_dir.join("outbox"), from),
        }
    }

    pub fn smtp(url: &SmtpUrl, from: &str) -> Result<Self, ConfigError> {
        Self::smtp_trusting(url, from, None)
    }

    /// SMTP whose server certificate may also be signed by the CA in
    /// `extra_root_pem` (a private CA, or a test's), besides the system's.
    pub fn smtp_trusting(url: &SmtpUrl, from: &str, extra_root_pem: Option<&[u8]>) -> Result<Self, ConfigError> {
        let from = parse_from(from)?;
        tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let tls_failed = |e: lettre::transport::smtp::Error| ConfigError::SmtpUrl(format!("TLS set-up failed: {e}"));
        let tls = |host: &str| -> Result<TlsParameters, ConfigError> {
            let mut builder = TlsParameters::builder(host.to_owned());
            if let Some(pem) = extra_root_pem {
                builder = builder.add_root_certificate(Certificate::from_pem(pem).map_err(tls_failed)?);
            }
            builder.build_rustls().map_err(tls_failed)
        };
        let protection = match url.security {
            Security::None => Protection::Plain,
            Security::StartTls => Protection::StartTls(tls(&url.host)?),
            Security::Tls => Protection::Implicit(tls(&url.host)?),
        };
        let pool = SmtpPool::new(Settings {
            host: url.host.clone(),
            port: url.port,
            protection,
            credentials: url
                .credentials
                .as_ref()
                .map(|(user, password)| Credentials::new(user.clone(), password.clone())),
            connect_timeout: CONNECT_TIMEOUT,
            max_idle: POOL_SIZE,
            idle_timeout: IDLE_TIMEOUT,
            check_after: CHECK_AFTER,
        });
        Ok(Self {
            from,
            way: Way::Smtp {
                pool: Box::new(pool),
                url: url.clone(),
            },
        })
    }

    /// Writes messages into `dir` (the outbox folder itself).
    pub fn files(dir: impl Into<PathBuf>, from: &str) -> Result<Self, ConfigError> {
        let from = parse_from(from)?;
        let dir = dir.into();
        private_dir(&dir).map_err(|source| ConfigError::OutboxDir {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self {
            from,
            way: Way::Files { dir },
        })
    }

    /// Where mail goes, without secrets, for the start-up log line.
    pub fn describe(&self) -> String {
        match &self.way {
            Way::Smtp { url, .. } => format!("SMTP {} as {}", url.redacted(), self.from),
            Way::Files { dir } => format!(".eml files in {} as {}", dir.display(), self.from),
        }
    }

    pub(crate) fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Hands one message over. `Ok` means the server accepted it (or the
    /// file is in place): from then on it is the server's to deliver.
    pub(crate) async fn deliver(&self, row: OutboxRef, kind: &str, message: &Message) -> Result<(), Failure> {
        match &self.way {
            Way::Smtp { pool, .. } => pool.send(message.envelope(), &message.formatted()).await,
            Way::Files { dir } => {
                let path = dir.join(format!("{:010}-{kind}.eml", row.id));
                let bytes = message.formatted();
                let target = path.clone();
                tokio::task::spawn_blocking(move || write_atomically(&target, &bytes))
                    .await
                    .map_err(|e| Failure::Transient(format!("writing the file was interrupted: {e}")))?
                    .map_err(|e| Failure::Transient(format!("cannot write {}: {e}", path.display())))?;
                tracing::info!(outbox_id = row.id, kind, path = %path.display(), "mail written to file");
                Ok(())
            }
        }
    }

    /// Closes pooled SMTP connections politely (QUIT).
    pub async fn shutdown(&self) {
        if let Way::Smtp { pool, .. } = &self.way {
            pool.shutdown().await;
        }
    }
}

/// A reader of the folder never sees half a message: the file appears
/// under its final name only once it is complete and on disk. A retry of
/// the same row replaces the file instead of adding a second one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("message.eml");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    // The message carries a live sign-in link: only the service's own user
    // may read it.
    let mut file = private_file(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// The outbox folder, readable by the service's own user only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn parse_from(from: &str) -> Result<Mailbox, ConfigError> {
    from.trim().parse::<Mailbox>().map_err(|_| ConfigError::From(from.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_must_be_an_address() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "tracker", "Tracker <not an address>"] {
            let e = Transport::files(dir.path(), bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(e.to_string().starts_with("TRACKER_MAIL_FROM"), "{e}");
        }
        assert!(Transport::files(dir.path(), "Tracker <tracker@example.com>").is_ok());
    }

    #[test]
    fn without_an_smtp_url_mail_goes_to_the_outbox_folder() {
        let dir = tempfile::tempdir().unwrap();
        let t = Transport::from_config(None, dir.path(), "tracker@example.com").unwrap();
        assert!(dir.path().join("outbox").is_dir());
        assert!(t.describe().contains("outbox"), "{}", t.describe());
        let t = Transport::from_config(Some("  "), dir.path(), "tracker@example.com").unwrap();
        assert!(t.describe().starts_with(".eml files"));
    }

    #[test]
    fn a_bad_smtp_url_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Transport::from_config(Some("smtp:/broken"), dir.path(), "tracker@example.com")
            .err()
            .unwrap();
        assert!(e.to_string().contains("TRACKER_SMTP_URL"), "{e}");
    }

    #[test]
    fn smtp_needs_a_runtime_and_never_shows_the_password() {
        let url = SmtpUrl::parse("smtp+starttls://me:s3cret@mail.example.com").unwrap();
        assert!(matches!(Transport::smtp(&url, "tracker@example.com"), Err(ConfigError::NoRuntime)));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // The connection pool also needs the runtime when it is dropped.
        let described = rt.block_on(async { Transport::smtp(&url, "tracker@example.com").unwrap().describe() });
        assert_eq!(described, "SMTP smtp+starttls://me:***@mail.example.com:587 as tracker@example.com");
    }
}
