//! Configuration (SPEC §6): each setting is an environment variable and a
//! flag of `tracker serve`. Bad values stop start-up with a message naming
//! the setting.

use anyhow::{bail, Context};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the data lives; every command needs it.
#[derive(Debug, Clone, Args)]
pub struct Storage {
    /// Directory for the embedded SQLite database and the outbox folder.
    #[arg(long, env = "TRACKER_DATA_DIR", default_value = "./tracker-data")]
    pub data_dir: PathBuf,
    /// `postgres://…` for scale-out; defaults to `sqlite://<data dir>/tracker.db`.
    #[arg(long, env = "TRACKER_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl Storage {
    pub fn database_url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) => {
                if !(url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:")) {
                    bail!(
                        "TRACKER_DATABASE_URL must start with sqlite:// or postgres:// (got '{}')",
                        url.split("://").next().unwrap_or(url)
                    );
                }
                Ok(url.clone())
            }
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("TRACKER_DATA_DIR: cannot create {}", self.data_dir.display()))?;
                Ok(format!("sqlite://{}/tracker.db", self.data_dir.display()))
            }
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub storage: Storage,
    /// Address to listen on.
    #[arg(long, env = "TRACKER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base of links in emails; defaults to http://<listen address>.
    #[arg(long, env = "TRACKER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// `smtp://host:port`, `smtp+starttls://…` or `smtps://…`, with user and
    /// password in the URL; without it mail is written to <data dir>/outbox/.
    #[arg(long, env = "TRACKER_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The From address of every email.
    #[arg(long, env = "TRACKER_MAIL_FROM", default_value = "Tracker <tracker@localhost>")]
    pub mail_from: String,
    /// Load the demo company first and print the demo sign-in.
    #[arg(long)]
    pub demo: bool,
    /// For tests only: a clock that `POST /api/v1/_test/clock` can advance.
    /// Exists only in test builds (the `test-hooks` feature).
    #[cfg(feature = "test-hooks")]
    #[arg(long, env = "TRACKER_TEST_CLOCK", hide = true)]
    pub test_clock: bool,
    #[command(flatten)]
    pub http: HttpConfig,
    #[command(flatten)]
    pub ops: OpsConfig,
}

/// What the operator's tools see and how the process stops and sheds load
/// (SPEC §5d OP2, OP4).
#[derive(Debug, Clone, Args)]
pub struct OpsConfig {
    /// OP2: `host:port` of a separate listener serving Prometheus metrics
    /// at `/metrics`; unset: no metrics are served.
    #[arg(long, env = "TRACKER_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// OP4: seconds a stop (SIGTERM, SIGINT) waits for requests and mail
    /// deliveries in flight before it cuts them off.
    #[arg(long = "shutdown-grace", env = "TRACKER_SHUTDOWN_GRACE", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
    /// OP4: requests served at once; more are answered 503 with
    /// `Retry-After` instead of waiting in a queue.
    #[arg(long, env = "TRACKER_MAX_CONCURRENT_REQUESTS", default_value_t = 256)]
    pub max_concurrent_requests: usize,
    /// PostgreSQL: connections in the pool (the user list's own pool has
    /// a quarter as many more, at least one).
    #[arg(long, env = "TRACKER_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Milliseconds a request waits for a database connection before it is
    /// answered 503 `server_busy` with `Retry-After`.
    #[arg(long = "db-acquire-timeout", env = "TRACKER_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 10_000)]
    pub db_acquire_timeout_ms: u64,
    /// SQLite: seconds between the rounds that put search documents
    /// numbered out of name order back in it (0: never; P2).
    #[arg(long = "search-order-every", env = "TRACKER_SEARCH_ORDER_EVERY_SECS", default_value_t = 5)]
    pub search_order_every_secs: u64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            metrics_listen: None,
            shutdown_grace_secs: 20,
            max_concurrent_requests: 256,
            db_max_connections: 16,
            db_acquire_timeout_ms: 10_000,
            search_order_every_secs: 5,
        }
    }
}

impl OpsConfig {
    pub fn metrics_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        self.metrics_listen
            .as_deref()
            .map(|a| {
                a.parse()
                    .with_context(|| format!("TRACKER_METRICS_LISTEN must be host:port such as 127.0.0.1:9090 (got '{a}')"))
            })
            .transpose()
    }

    pub fn shutdown_grace(&self) -> anyhow::Result<Duration> {
        seconds("TRACKER_SHUTDOWN_GRACE", self.shutdown_grace_secs)
    }

    pub fn max_concurrent_requests(&self) -> anyhow::Result<usize> {
        if !(1..=100_000).contains(&self.max_concurrent_requests) {
            bail!(
                "TRACKER_MAX_CONCURRENT_REQUESTS must be between 1 and 100000 (got {})",
                self.max_concurrent_requests
            );
        }
        Ok(self.max_concurrent_requests)
    }

    pub fn pool_limits(&self) -> anyhow::Result<store::PoolLimits> {
        if !(1..=1_000).contains(&self.db_max_connections) {
            bail!(
                "TRACKER_DB_MAX_CONNECTIONS must be between 1 and 1000 (got {})",
                self.db_max_connections
            );
        }
        if !(1..=600_000).contains(&self.db_acquire_timeout_ms) {
            bail!(
                "TRACKER_DB_ACQUIRE_TIMEOUT_MS must be between 1 and 600000 (got {})",
                self.db_acquire_timeout_ms
            );
        }
        Ok(store::PoolLimits {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
        })
    }
}

/// OP3: how log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines on standard error.
    Text,
    /// One JSON object per line on standard output.
    Json,
}

/// How the HTTP edge treats clients: whom to believe about addresses (S12)
/// and how long a client may take (OP4), so that no request is held open
/// forever.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// S12: comma-separated addresses and CIDR networks of our own reverse
    /// proxies, whose `X-Forwarded-For` names the client; unset: none.
    #[arg(long, env = "TRACKER_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Seconds a client may take to send a request's headers.
    #[arg(long = "header-timeout", env = "TRACKER_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a request body may pause between two pieces.
    #[arg(long = "body-timeout", env = "TRACKER_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout_secs: u64,
    /// Seconds a whole request may take before it is answered 503.
    #[arg(long = "request-timeout", env = "TRACKER_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: None,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            request_timeout_secs: 60,
        }
    }
}

impl HttpConfig {
    /// S12: the trusted proxies; a bad entry stops start-up.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        web::client_addr::parse_trusted(self.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|e| anyhow::anyhow!("TRACKER_TRUSTED_PROXIES: {e}"))
    }

    /// The header read timeout of every connection.
    pub fn header_timeout(&self) -> anyhow::Result<Duration> {
        seconds("TRACKER_HEADER_TIMEOUT", self.header_timeout_secs)
    }

    /// The body and whole-request timeouts, for the router.
    pub fn timeouts(&self) -> anyhow::Result<web::Timeouts> {
        Ok(web::Timeouts {
            body: seconds("TRACKER_BODY_TIMEOUT", self.body_timeout_secs)?,
            request: seconds("TRACKER_REQUEST_TIMEOUT", self.request_timeout_secs)?,
        })
    }
}

fn seconds(name: &str, secs: u64) -> anyhow::Result<Duration> {
    if !(1..=86_400).contains(&secs) {
        bail!("{name} must be a number of seconds between 1 and 86400 (got {secs})");
    }
    Ok(Duration::from_secs(secs))
}

impl ServeConfig {
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .with_context(|| format!("TRACKER_LISTEN must be host:port such as 127.0.0.1:8080 (got '{}')", self.listen))
    }

    /// The public URL without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> anyhow::Result<String> {
        let url = self.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            bail!("TRACKER_PUBLIC_URL must be an http:// or https:// URL (got '{url}')");
        }
        Ok(url.trim_end_matches('/').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s12_a_bad_trusted_proxy_stops_start_up_naming_the_setting() {
        let http = HttpConfig {
            trusted_proxies: Some("10.0.0.0/8, proxy.internal".into()),
            ..HttpConfig::default()
        };
        let e = http.trusted_proxies().unwrap_err().to_string();
        assert!(e.contains("TRACKER_TRUSTED_PROXIES") && e.contains("proxy.internal"), "{e}");
        let ok = HttpConfig {
            trusted_proxies: Some("10.0.0.0/8, 2001:db8::1".into()),
            ..HttpConfig::default()
        };
        assert_eq!(ok.trusted_proxies().unwrap().len(), 2);
        assert!(HttpConfig::default().trusted_proxies().unwrap().is_empty());
    }

    #[test]
    fn op4_timeouts_must_be_positive() {
        let zero = HttpConfig {
            header_timeout_secs: 0,
            ..HttpConfig::default()
        };
        assert!(zero.header_timeout().unwrap_err().to_string().contains("TRACKER_HEADER_TIMEOUT"));
        let t = HttpConfig::default().timeouts().unwrap();
        assert_eq!((t.body.as_secs(), t.request.as_secs()), (30, 60));
    }
}
