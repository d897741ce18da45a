//! A small SMTP server for tests and the benchmark: real SMTP over a real
//! TCP socket on 127.0.0.1, keeping every message it accepts.
//!
//! It is written here rather than taken from mailin-embedded because the
//! tests need what that one does not give: an async server that stops when
//! dropped, one that can be started later on a port chosen before (the
//! "server was down" case), replies chosen per recipient (4xx, 5xx), and a
//! count of connections (to see that the client pools them).

use base64::Engine;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent, dot-unstuffed, with CRLF line ends.
    pub data: String,
    /// User and password of `AUTH PLAIN`, if the client authenticated.
    pub auth: Option<(String, String)>,
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
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                s.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(session(stream, Arc::clone(&s)));
            }
        });
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// A free port on 127.0.0.1 with nobody listening (yet).
    pub fn unused_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn set_rcpt_rule(&self, rule: impl Fn(&str) -> Option<String> + Send + Sync + 'static) {
        *self.shared.rcpt_rule.lock().unwrap() = Some(Box::new(rule));
    }

    pub fn set_data_rule(
        &self,
        rule: impl Fn(&Received) -> Option<String> + Send + Sync + 'static,
    ) {
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
                panic!(
                    "expected {n} messages within {limit:?}, got {}",
                    self.messages().len()
                );
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let reply = |text: String| {
        let mut out = text.into_bytes();
        out.extend_from_slice(b"\r\n");
        out
    };
    if write
        .write_all(&reply("220 sink.test ESMTP ready".into()))
        .await
        .is_err()
    {
        return;
    }
    let (mut from, mut to, mut auth) = (String::new(), Vec::<String>::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN".to_owned(),
            "HELO" => "250 sink.test".to_owned(),
            "AUTH" => match command.split_whitespace().nth(2).and_then(decode_plain) {
                Some(creds) => {
                    auth = Some(creds);
                    "235 2.7.0 authenticated".to_owned()
                }
                None => "535 5.7.8 bad credentials".to_owned(),
            },
            "MAIL" => {
                from = between_brackets(command);
                to.clear();
                "250 2.1.0 ok".to_owned()
            }
            "RCPT" => {
                let address = between_brackets(command);
                let refusal = shared
                    .rcpt_rule
                    .lock()
                    .unwrap()
                    .as_ref()
                    .and_then(|rule| rule(&address));
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
                if write
                    .write_all(&reply("354 go ahead".into()))
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(data) = read_data(&mut lines).await else {
                    return;
                };
                let message = Received {
                    mail_from: from.clone(),
                    rcpt_to: std::mem::take(&mut to),
                    data,
                    auth: auth.clone(),
                };
                let delay = *shared.data_delay.lock().unwrap();
                tokio::time::sleep(delay).await;
                let refusal = shared
                    .data_rule
                    .lock()
                    .unwrap()
                    .as_ref()
                    .and_then(|rule| rule(&message));
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
                let _ = write.write_all(&reply("221 2.0.0 bye".into())).await;
                return;
            }
            _ => "502 5.5.2 command not recognised".to_owned(),
        };
        if write.write_all(&reply(answer)).await.is_err() {
            return;
        }
    }
}

/// Reads message lines up to the lone ".", undoing dot-stuffing.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
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
