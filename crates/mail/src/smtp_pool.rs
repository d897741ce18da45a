//! SMTP connections with Nagle's algorithm off, kept open between messages.
//!
//! lettre 0.11.23 never sets `TCP_NODELAY`. Its client writes a message's
//! body and then the closing `<CRLF>.<CRLF>` as two writes, and Nagle holds
//! the second, tiny one back until the server acknowledges the first; a
//! server that delays its ACKs (Linux: 40 ms) makes every message wait that
//! long. One connection then carries about 23 messages a second, and the
//! worker's default 8 connections about 170 (see `benches/delivery.rs`).
//!
//! lettre's protocol client ([`AsyncSmtpConnection`]) accepts a stream we
//! open ourselves, so this module connects the TCP socket, switches Nagle
//! off, and lets lettre speak SMTP on it: greeting, EHLO, STARTTLS or
//! implicit TLS with lettre's own TLS set-up (rustls, system roots), AUTH.
//! It also keeps the idle connections, since lettre's pool only pools the
//! connections lettre opened.

use crate::error::Failure;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
#[allow(deprecated)]
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How the connection is protected, with lettre's TLS parameters.
#[derive(Clone)]
pub(crate) enum Protection {
    Plain,
    StartTls(TlsParameters),
    Implicit(TlsParameters),
}

/// What the pool needs to open a connection.
pub(crate) struct Settings {
    pub host: String,
    pub port: u16,
    pub protection: Protection,
    pub credentials: Option<Credentials>,
    /// Connecting (TCP, TLS, greeting, EHLO, AUTH) gives up after this long.
    pub connect_timeout: Duration,
    /// At most this many idle connections are kept.
    pub max_idle: usize,
    /// An idle connection older than this is closed instead of reused.
    pub idle_timeout: Duration,
    /// An idle connection older than this is checked with NOOP before it is
    /// reused; younger ones are used straight away. The check costs one
    /// round trip, which matters only in a bulk send, where connections
    /// are never idle that long.
    pub check_after: Duration,
}

struct Parked {
    conn: AsyncSmtpConnection,
    since: Instant,
}

pub(crate) struct SmtpPool {
    settings: Settings,
    hello: ClientId,
    idle: Mutex<Option<Vec<Parked>>>,
}

impl SmtpPool {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            hello: ClientId::default(),
            idle: Mutex::new(Some(Vec::new())),
        }
    }

    /// Sends one message on an idle connection, or on a new one. A
    /// connection goes back to the pool only after a clean exchange; after
    /// any error (lettre has then sent QUIT or the socket is unusable) it
    /// is dropped. Cancelling the future drops the connection too.
    pub async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), Failure> {
        let mut conn = self.connection().await?;
        match conn.send(envelope, raw).await {
            Ok(_) => {
                self.park(conn);
                Ok(())
            }
            Err(e) => {
                if !conn.has_broken() {
                    conn.abort().await;
                }
                Err(Failure::from_smtp(&e))
            }
        }
    }

    /// Closes the idle connections with QUIT; later sends are refused.
    pub async fn shutdown(&self) {
        let parked = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        for mut p in parked.unwrap_or_default() {
            let _ = tokio::time::timeout(Duration::from_secs(2), p.conn.quit()).await;
        }
    }

    fn take_idle(&self) -> Result<Option<Parked>, Failure> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        match idle.as_mut() {
            Some(list) => Ok(list.pop()),
            None => Err(Failure::Transient("the mail transport was shut down".into())),
        }
    }

    async fn connection(&self) -> Result<AsyncSmtpConnection, Failure> {
        while let Some(mut parked) = self.take_idle()? {
            let idle_for = parked.since.elapsed();
            if idle_for > self.settings.idle_timeout {
                continue; // dropped: the server has probably closed it anyway
            }
            if idle_for > self.settings.check_after && !parked.conn.test_connected().await {
                continue;
            }
            return Ok(parked.conn);
        }
        let s = &self.settings;
        match tokio::time::timeout(s.connect_timeout, self.connect()).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Transient(format!(
                "connection error: connecting to {}:{} took longer than {} s",
                s.host,
                s.port,
                s.connect_timeout.as_secs()
            ))),
        }
    }

    fn park(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = idle.as_mut() {
            if list.len() < self.settings.max_idle {
                list.push(Parked {
                    conn,
                    since: Instant::now(),
                });
            }
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let s = &self.settings;
        let tcp = connect_tcp(&s.host, s.port).await?;
        self.speak(tcp).await.map_err(|e| {
            // Not a refusal of this message (no STARTTLS offered, a
            // certificate not trusted, AUTH refused): the server or the
            // settings must change, and the message waits for that with
            // the retries' backoff rather than failing at once.
            Failure::Transient(format!("cannot open an SMTP session: {}", Failure::from_smtp(&e)))
        })
    }

    /// Greeting, EHLO, TLS and AUTH on a connected socket.
    async fn speak(&self, tcp: TcpStream) -> Result<AsyncSmtpConnection, lettre::transport::smtp::Error> {
        let s = &self.settings;
        let mut conn = match &s.protection {
            Protection::Plain => AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?,
            Protection::StartTls(tls) => {
                let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
                // Refuses a server that does not offer STARTTLS: the URL
                // asked for encryption, so never fall back to plain text.
                conn.starttls(tls.clone(), &self.hello).await?;
                conn
            }
            Protection::Implicit(tls) => {
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                #[allow(deprecated)]
                stream.upgrade_tls(tls.clone()).await?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Encrypted(stream)), &self.hello).await?
            }
        };
        if let Some(credentials) = &s.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}

/// Resolves the host and connects to the first address that answers, with
/// Nagle's algorithm off.
async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, Failure> {
    let failed = |e: io::Error| Failure::Transient(format!("connection error: {host}:{port}: {e}"));
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(failed)?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true).map_err(failed)?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(failed(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address")
    })))
}

/// lettre's TLS stream (implicit TLS, set up by lettre) seen as the plain
/// Tokio stream `connect_with_transport` takes.
#[allow(deprecated)]
struct Encrypted(AsyncNetworkStream);

impl fmt::Debug for Encrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Encrypted(..)")
    }
}

impl AsyncTokioStream for Encrypted {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        #[allow(deprecated)]
        self.0.peer_addr()
    }
}

impl AsyncRead for Encrypted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match futures_io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.0), cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With Nagle's algorithm on, each message on a pooled connection would
    /// wait for the server's delayed ACK (40 ms on Linux).
    #[tokio::test]
    async fn connections_are_opened_with_nagle_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tcp = connect_tcp("127.0.0.1", port).await.unwrap_or_else(|_| panic!("connects"));
        assert!(tcp.nodelay().unwrap());
    }
}
