//! `tracker`: serve, create the first administrator, purge an account
//! created in error, verify the audit chain, migrate (SPEC §7).

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Read;
use tracker::config::{ServeConfig, Storage};

/// The allocator of the whole process (see the workspace's Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tracker",
    version,
    about = "User administration for a legal department's matter-management system"
)]
struct Cli {
    /// OP3: `text` lines on standard error, or `json`: one object per line
    /// on standard output.
    #[arg(long, env = "TRACKER_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    log_format: tracker::config::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the web UI and API.
    Serve(ServeConfig),
    /// Create a company system administrator.
    CreateAdmin {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// Read the password from standard input; otherwise print a one-time link.
        #[arg(long)]
        password_stdin: bool,
        /// Base of the printed link.
        #[arg(long, env = "TRACKER_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Operator tasks on users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Copy every record from one database into another, empty one, e.g.
    /// from the embedded SQLite file to PostgreSQL. Stop `tracker serve` first.
    MigrateData {
        /// Source: `sqlite://PATH` or `postgres://…`.
        #[arg(long)]
        from: String,
        /// Target: migrated here first; must hold no users.
        #[arg(long)]
        to: String,
    },
    /// The audit log (A1).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Apply database migrations only.
    Migrate {
        #[command(flatten)]
        storage: Storage,
    },
    /// Write a consistent copy of the SQLite database to FILE while
    /// `tracker serve` runs (PostgreSQL: use pg_dump).
    Backup {
        file: std::path::PathBuf,
        #[command(flatten)]
        storage: Storage,
    },
    /// Fill an empty data directory from a backup FILE.
    Restore {
        file: std::path::PathBuf,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// SSO1: print a one-time link for a company system administrator to
    /// set a password (the way in when the identity provider fails).
    Link {
        email: String,
        #[command(flatten)]
        storage: Storage,
        /// Base of the printed link.
        #[arg(long, env = "TRACKER_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// D7: remove an account created in error (never activated, not referred to).
    Purge {
        email: String,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain from the first entry to the head; exits non-zero
    /// if any entry is missing, altered, inserted or out of place.
    Verify {
        #[command(flatten)]
        storage: Storage,
    },
}

fn offline_app(db: store::Db, public_url: &str) -> app::App {
    app::App::new(
        db,
        std::sync::Arc::new(app::SystemClock),
        app::AppConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            ..Default::default()
        },
    )
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracker::logging::init(cli.log_format);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(cfg) => {
            let running = tracker::start(&cfg).await?;
            let demo = cfg
                .demo
                .then(|| format!("{} / {}", app::demo::DEMO_EMAIL, app::demo::DEMO_PASSWORD));
            if cli.log_format == tracker::config::LogFormat::Json {
                // OP3: with json, every line on standard output is JSON.
                tracing::info!(listen = %running.addr, public_url = %running.public_url, demo_sign_in = demo, "Tracker is listening");
            } else {
                println!("Tracker is listening on http://{}", running.addr);
                println!("Public URL: {}", running.public_url);
                if let Some(demo) = demo {
                    println!("Demo sign-in: {demo}");
                }
            }
            let stop = running.stopper();
            tokio::spawn(async move {
                tracker::shutdown::signal().await;
                tracing::info!("shutting down");
                let _ = stop.send(true);
            });
            running.wait().await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Backup { file, storage } => {
            println!("{}", tracker::backup::backup(&storage, &file).await?);
            Ok(())
        }
        Command::Restore { file, storage } => {
            println!("{}", tracker::backup::restore(&storage, &file).await?);
            Ok(())
        }
        Command::CreateAdmin {
            storage,
            email,
            first_name,
            last_name,
            password_stdin,
            public_url,
        } => {
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading the password from standard input")?;
                Some(s.trim_end_matches(['\n', '\r']).to_owned())
            } else {
                None
            };
            let db = tracker::open_db(&storage.database_url()?).await?;
            let app = offline_app(db, &public_url);
            let created = app
                .create_admin(&email, &first_name, &last_name, password)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("Created company system administrator {} ({})", created.user.email, created.user.id);
            if let Some(link) = created.link {
                println!("One-time sign-in link (set a password with it): {link}");
            }
            app.db.close().await;
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Link {
                email,
                storage,
                public_url,
            },
        } => {
            let db = tracker::open_db(&storage.database_url()?).await?;
            let app = offline_app(db, &public_url);
            let result = app.operator_link(&email).await;
            app.db.close().await;
            let (user, link) = result.map_err(|e| anyhow::anyhow!("no link for {email}: {}", e.message()))?;
            println!("One-time sign-in link for {} (set a password with it): {link}", user.email);
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Purge { email, storage },
        } => {
            let db = tracker::open_db(&storage.database_url()?).await?;
            let app = offline_app(db, "http://127.0.0.1");
            let result = app.purge_user(&email).await;
            app.db.close().await;
            let user = result.map_err(|e| anyhow::anyhow!("cannot purge {email}: {}", e.message()))?;
            println!("Removed {} ({}); an audit entry records it.", user.email, user.id);
            Ok(())
        }
        Command::MigrateData { from, to } => {
            let source = tracker::open_db(&from).await.context("--from")?;
            let target = tracker::open_db(&to).await.context("--to")?;
            let copied = source.copy_into(&target).await.context("copying")?;
            source.close().await;
            target.close().await;
            for (table, n) in &copied {
                println!("{table:<26} {n:>9} rows");
            }
            println!(
                "Copied {} rows; point TRACKER_DATABASE_URL at the new database.",
                copied.iter().map(|(_, n)| n).sum::<u64>()
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { storage },
        } => {
            let db = tracker::open_db(&storage.database_url()?).await?;
            let app = offline_app(db, "http://127.0.0.1");
            let report = app.verify_audit_chain().await;
            app.db.close().await;
            let r = report.map_err(|e| anyhow::anyhow!("cannot read the audit log: {}", e.message()))?;
            println!("entries:   {}\nhead:      {} (seq {})", r.entries, r.head_hash, r.head_seq);
            match r.first_bad_seq {
                None => {
                    println!("The audit hash chain is intact.");
                    Ok(())
                }
                Some(seq) => anyhow::bail!("the audit hash chain is broken at entry {seq}"),
            }
        }
        Command::Migrate { storage } => {
            let db = tracker::open_db(&storage.database_url()?).await?;
            db.close().await;
            println!("Database is up to date.");
            Ok(())
        }
    }
}
