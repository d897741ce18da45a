//! SPEC §2 (N1–N9) and §4a (M1–M3) at the HTTP boundary: the real server
//! delivering to a real SMTP server on 127.0.0.1, checked through the API,
//! the messages that arrive and the links in them.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::message::{parse, try_link_token, Parsed};
use testkit::smtp_sink::SmtpSink;

mod delivery;
mod links;
mod new_user;
mod sending;

const WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "An0ther-Passw0rd!";
const HOUR_MS: i64 = 3_600_000;

pub(crate) async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |cfg| cfg.smtp_url = Some(url)).await;
    (app, sink)
}

/// Waits until the outbox holds nothing queued or in flight, so that what
/// the sink has is all that will arrive for what was done so far.
pub(crate) async fn settle(app: &TestApp) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (counts, fanout) = {
            let db = &app.running.as_ref().unwrap().app.db;
            let mut tx = db.read().await.unwrap();
            (tx.outbox_counts().await.unwrap(), tx.mail_fanout_backlog().await.unwrap())
        };
        let busy = fanout.0 > 0
            || counts
                .iter()
                .any(|c| matches!(c.status, store::MailStatus::Queued | store::MailStatus::Sending) && c.count > 0);
        if !busy {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not settle: {counts:?}, fanout {fanout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a received message is, by its subject.
fn kind(m: &Parsed) -> &'static str {
    let s = &m.subject;
    if s.contains("set your password") {
        "new_user_email"
    } else if s.contains("was reset") {
        "password_reset"
    } else if s.starts_with("You were added to matter") {
        "matter_added"
    } else if s.starts_with("Matter ") && s.contains(" closed for ") {
        "matter_closed"
    } else {
        panic!("a message of no known kind: {s}")
    }
}

/// Every message received since the `from`-th, as (recipient, message).
fn received_since(sink: &SmtpSink, from: usize) -> Vec<(String, Parsed)> {
    sink.messages()
        .into_iter()
        .skip(from)
        .map(|r| {
            assert_eq!(r.rcpt_to.len(), 1, "one recipient per message");
            let m = parse(&r.data);
            assert_eq!(m.to, r.rcpt_to[0], "envelope and To header agree");
            (r.rcpt_to[0].clone(), m)
        })
        .collect()
}

pub(crate) fn to(sink: &SmtpSink, address: &str) -> Vec<Parsed> {
    received_since(sink, 0)
        .into_iter()
        .filter(|(to, _)| to == address)
        .map(|(_, m)| m)
        .collect()
}

/// Recipient → kinds received, for messages since the `from`-th.
fn tally_since(sink: &SmtpSink, from: usize) -> BTreeMap<String, Vec<&'static str>> {
    let mut out: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for (to, m) in received_since(sink, from) {
        out.entry(to).or_default().push(kind(&m));
    }
    out
}

/// Issue 8 and N6: a plain-text and an HTML body, both saying the same.
fn assert_two_bodies(m: &Parsed) {
    assert_eq!(m.content_type, "multipart/alternative", "{}", m.subject);
    assert!(!m.text.trim().is_empty() && !m.text.contains("<p"), "{}", m.text);
    assert!(m.html.contains("<html") || m.html.contains("<p"), "{}", m.html);
    assert!(m.message_id.len() > 5, "a Message-ID: {m:?}");
}

pub(crate) fn token_in(app: &TestApp, m: &Parsed) -> String {
    let text = try_link_token(&m.text, &app.url).unwrap_or_else(|| panic!("no link to {}/set-password in:\n{}", app.url, m.text));
    let html = try_link_token(&m.html, &app.url).expect("the link in the HTML part too");
    assert_eq!(text, html);
    assert!(text.len() >= 22, "a token of at least 128 bits: {text}");
    text
}

async fn user_with(app: &TestApp, email: &str, first: &str, hold: bool) -> String {
    app.create_user(json!({"email": email, "first_name": first, "last_name": "Doe",
        "side": "company", "role": "company_user", "hold_new_user_email": hold}))
        .await
}

async fn firm_user_with(app: &TestApp, token: &str, email: &str, firm: &str, hold: bool) -> String {
    let r = app
        .post(
            "/api/v1/users",
            token,
            json!({"email": email, "first_name": "Firm", "last_name": "Lawyer",
            "side": "firm", "firm_id": firm, "role": "firm_user", "hold_new_user_email": hold}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "create {email}: {}", r.body);
    r.id()
}

async fn email_state(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["new_user_email"].clone()
}

async fn pending(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get("/api/v1/new-user-emails/pending?per_page=500", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut emails: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(r.body["total"].as_u64(), Some(emails.len() as u64));
    emails.sort();
    emails
}

async fn send_all(app: &TestApp, token: &str) -> (i64, String) {
    let r = app.post("/api/v1/new-user-emails/send", token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (r.body["sent"].as_i64().unwrap(), r.body["message"].as_str().unwrap().to_owned())
}

async fn patch_matter(app: &TestApp, m: &str, body: Value) {
    let r = app.patch(&format!("/api/v1/matters/{m}"), &app.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn set_active(app: &TestApp, id: &str, active: bool) {
    let r = app
        .patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": active}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "active={active}: {}", r.body);
}

/// The company's name and Tracker Coordinator, as N6 shows them.
async fn company_with_coordinator(app: &TestApp) -> String {
    let coordinator = app
        .create_user(
            json!({"email": "cora@company.example", "first_name": "Cora", "last_name": "Ordinator",
            "side": "company", "role": "company_user", "hold_new_user_email": true}),
        )
        .await;
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"company_name": "Acme Legal", "tracker_coordinator_id": coordinator}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    coordinator
}
