//! A small SMTP server for tests and the benchmark: real SMTP over a real
//! TCP socket on 127.0.0.1, keeping every message it accepts.
//!
//! It is written here rather than taken from mailin-embedded because the
//! tests need what that one does not give: an async server that stops when
//! dropped, one that can be started later on a port chosen before (the
//! "server was down" case), replies chosen per recipient (4xx, 5xx), a
//! count of connections (to see that the client pools them), and STARTTLS
//! or implicit TLS with a certificate for `127.0.0.1` and `localhost`
//! signed by a test CA ([`test_ca_pem`]) that only tests trust.

use base64::Engine;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// How the sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain text only (`smtp://`).
    None,
    /// Plain connect, STARTTLS offered (`smtp+starttls://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// The CA that signed the sink's certificate, in PEM: what a client must
/// trust to talk TLS to the sink.
pub fn test_ca_pem() -> &'static [u8] {
    include_bytes!("../certs/ca.pem")
}

fn acceptor() -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(include_bytes!("../certs/sink.pem"))
        .collect::<Result<Vec<_>, _>>()
        .expect("the sink certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../certs/sink.key")).expect("the sink key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the sink's TLS configuration");
    TlsAcceptor::from(Arc::new(config))
}

/// A connection, plain or encrypted.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent, dot-unstuffed, with CRLF line ends.
    pub data: String,
    /// User and password of `AUTH PLAIN`, if the client authenticated.
    pub auth: Option<(String, String)>,
    /// Whether the message came over TLS (implicit or after STARTTLS).
    pub tls: bool,
}

/// Decides the reply to `RCPT TO:<address>`: `None` accepts, `Some(line)`
/// answers with that line (e.g. "451 4.3.0 try later").
pub type RcptRule = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// Decides the reply at the end of DATA, the same way; a refused message
/// is kept in [`SmtpSink::refused`] instead of [`SmtpSink::messages`].
pub type DataRule = Box<dyn Fn(&Received) -> Option<String> + Send + Sync>;

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    refused: Mutex<Vec<Received>>,
    connections: AtomicUsize,
    data_begun: AtomicUsize,
    rcpt_rule: Mutex<Option<RcptRule>>,
    data_rule: Mutex<Option<DataRule>>,
    data_delay: Mutex<Duration>,
    arrived: Notify,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    tls: SinkTls,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(addr: SocketAddr) -> Self {
        Self::start_with(addr, SinkTls::None).await
    }

    /// A sink on 127.0.0.1 speaking TLS as `tls` says; its certificate is
    /// signed by [`test_ca_pem`].
    pub async fn start_tls(tls: SinkTls) -> Self {
        Self::start_with("127.0.0.1:0".parse().unwrap(), tls).await
    }

    pub async fn start_with(addr: SocketAddr, tls: SinkTls) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let acceptor = (tls != SinkTls::None).then(acceptor);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                s.connections.fetch_add(1, Ordering::SeqCst);
                let s = Arc::clone(&s);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match (tls, acceptor) {
                        (SinkTls::Implicit, Some(a)) => {
                            if let Ok(encrypted) = a.accept(stream).await {
                                session(Box::new(encrypted), s, None, true).await;
                            }
                        }
                        (SinkTls::StartTls, a) => session(Box::new(stream), s, a, false).await,
                        _ => session(Box::new(stream), s, None, false).await,
                    }
                });
            }
        });
        Self { addr, tls, shared, accept }
    }

    /// A free port on 127.0.0.1 with nobody listening (yet).
    pub fn unused_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    /// The URL to reach it, with the scheme of its TLS mode.
    pub fn url(&self) -> String {
        let scheme = match self.tls {
            SinkTls::None => "smtp",
            SinkTls::StartTls => "smtp+starttls",
            SinkTls::Implicit => "smtps",
        };
        format!("{scheme}://{}", self.addr)
    }

    pub fn set_rcpt_rule(&self, rule: impl Fn(&str) -> Option<String> + Send + Sync + 'static) {
        *self.shared.rcpt_rule.lock().unwrap() = Some(Box::new(rule));
    }

    pub fn set_data_rule(&self, rule: impl Fn(&Received) -> Option<String> + Send + Sync + 'static) {
        *self.shared.data_rule.lock().unwrap() = Some(Box::new(rule));
    }

    /// Waits this long before answering the end of DATA.
    pub fn set_data_delay(&self, delay: Duration) {
        *self.shared.data_delay.lock().unwrap() = delay;
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    pub fn refused(&self) -> Vec<Received> {
        self.shared.refused.lock().unwrap().clone()
    }

    /// How many DATA commands clients have started.
    pub fn data_begun(&self) -> usize {
        self.shared.data_begun.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages arrived, or panics after `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.shared.arrived.notified();
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("expected {n} messages within {limit:?}, got {}", self.messages().len());
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn session(stream: Box<dyn Io>, shared: Arc<Shared>, mut starttls: Option<TlsAcceptor>, mut encrypted: bool) {
    let mut io = BufReader::new(stream);
    if reply(&mut io, "220 sink.test ESMTP ready").await.is_err() {
        return;
    }
    let (mut from, mut to, mut auth) = (String::new(), Vec::<String>::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        match io.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" if starttls.is_some() => "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-STARTTLS\r\n250 AUTH PLAIN".to_owned(),
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN".to_owned(),
            "HELO" => "250 sink.test".to_owned(),
            "STARTTLS" => match starttls.take() {
                Some(acceptor) => {
                    if reply(&mut io, "220 2.0.0 ready to start TLS").await.is_err() {
                        return;
                    }
                    // The client waits for that answer before its
                    // handshake, so nothing is left in the buffer.
                    let plain = io.into_inner();
                    let Ok(tls) = acceptor.accept(plain).await else {
                        return;
                    };
                    io = BufReader::new(Box::new(tls));
                    encrypted = true;
                    // RFC 3207: everything known before is forgotten.
                    (from, to, auth) = (String::new(), Vec::new(), None);
                    continue;
                }
                None => "503 5.5.1 TLS already active or not offered".to_owned(),
            },
            "AUTH" => match command.split_whitespace().nth(2).and_then(decode_plain) {
                Some(creds) => {
                    auth = Some(creds);
                    "235 2.7.0 authenticated".to_owned()
                }
                None => "535 5.7.8 bad credentials".to_owned(),
            },
            "MAIL" => {
                from = between_brackets(&command);
                to.clear();
                "250 2.1.0 ok".to_owned()
            }
            "RCPT" => {
                let address = between_brackets(&command);
                let refusal = shared.rcpt_rule.lock().unwrap().as_ref().and_then(|rule| rule(&address));
                match refusal {
                    Some(line) => line,
                    None => {
                        to.push(address);
                        "250 2.1.5 ok".to_owned()
                    }
                }
            }
            "DATA" if to.is_empty() => "503 5.5.1 no valid recipients".to_owned(),
            "DATA" => {
                shared.data_begun.fetch_add(1, Ordering::SeqCst);
                if reply(&mut io, "354 go ahead").await.is_err() {
                    return;
                }
                let Some(data) = read_data(&mut io).await else {
                    return;
                };
                let message = Received {
                    mail_from: from.clone(),
                    rcpt_to: std::mem::take(&mut to),
                    data,
                    auth: auth.clone(),
                    tls: encrypted,
                };
                let delay = *shared.data_delay.lock().unwrap();
                tokio::time::sleep(delay).await;
                let refusal = shared.data_rule.lock().unwrap().as_ref().and_then(|rule| rule(&message));
                match refusal {
                    Some(line) => {
                        shared.refused.lock().unwrap().push(message);
                        line
                    }
                    None => {
                        shared.messages.lock().unwrap().push(message);
                        shared.arrived.notify_waiters();
                        "250 2.0.0 queued".to_owned()
                    }
                }
            }
            "RSET" => {
                to.clear();
                "250 2.0.0 ok".to_owned()
            }
            "NOOP" => "250 2.0.0 ok".to_owned(),
            "QUIT" => {
                let _ = reply(&mut io, "221 2.0.0 bye").await;
                return;
            }
            _ => "502 5.5.2 command not recognised".to_owned(),
        };
        if reply(&mut io, &answer).await.is_err() {
            return;
        }
    }
}

/// Writes one reply (CRLF added) and flushes it: TLS buffers otherwise.
async fn reply(io: &mut BufReader<Box<dyn Io>>, text: &str) -> io::Result<()> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    let w = io.get_mut();
    w.write_all(&out).await?;
    w.flush().await
}

/// Reads message lines up to the lone ".", undoing dot-stuffing.
async fn read_data(lines: &mut BufReader<Box<dyn Io>>) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == ".\r\n" || line == ".\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

fn between_brackets(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command.get(start..end).unwrap_or("").to_owned()
}

fn decode_plain(b64: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (_authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some((user.to_owned(), password.to_owned()))
}
