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

const WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "An0ther-Passw0rd!";
const HOUR_MS: i64 = 3_600_000;

// ---------------------------------------------------------------- helpers

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
        let counts = {
            let db = &app.running.as_ref().unwrap().app.db;
            let mut tx = db.read().await.unwrap();
            tx.outbox_counts().await.unwrap()
        };
        let busy = counts
            .iter()
            .any(|c| matches!(c.status, store::MailStatus::Queued | store::MailStatus::Sending) && c.count > 0);
        if !busy {
            return;
        }
        assert!(Instant::now() < deadline, "the outbox did not settle: {counts:?}");
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

// ---------------------------------------------------------------- N1

#[tokio::test]
async fn n1_a_new_user_is_emailed_at_once_unless_held() {
    let (app, sink) = app_with_sink().await;
    company_with_coordinator(&app).await;

    let ann = user_with(&app, "ann@company.example", "Ann", false).await;
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    let got = to(&sink, "ann@company.example");
    assert_eq!(got.len(), 1, "exactly one email");
    let m = &got[0];
    assert_eq!(kind(m), "new_user_email");
    assert!(m.subject.contains("Acme Legal"), "the subject says what happened: {}", m.subject);
    assert_eq!(m.from, "tracker@test.example");
    assert_eq!(m.to_name.as_deref(), Some("Ann Doe"));
    assert_two_bodies(m);
    for body in [&m.text, &m.html] {
        assert!(body.contains("ann@company.example"), "the sign-in id: {body}");
        assert!(
            body.contains("Cora Ordinator") && body.contains("cora@company.example"),
            "the coordinator: {body}"
        );
        assert!(body.contains("7 days"), "how long the link works: {body}");
    }
    assert!(m.text.contains("Your sign-in ID: ann@company.example"), "{}", m.text);
    token_in(&app, m);
    let state = email_state(&app, &ann).await;
    assert_eq!(state["status"], "sent", "{state}");
    assert_eq!(state["send_count"], 1);
    assert!(state["sent_at"].is_string(), "{state}");

    // Held: nothing is sent, and the status says so.
    let bob = user_with(&app, "bob@company.example", "Bob", true).await;
    settle(&app).await;
    assert!(to(&sink, "bob@company.example").is_empty());
    let state = email_state(&app, &bob).await;
    assert_eq!(state["status"], "held", "{state}");
    assert_eq!((state["sent_at"].clone(), state["send_count"].clone()), (Value::Null, json!(0)));
    assert_eq!(sink.messages().len(), 1, "nothing else was sent");
}

#[tokio::test]
async fn n1_creating_a_firm_emails_its_administrator_unless_held() {
    let (app, sink) = app_with_sink().await;
    let r = app
        .post(
            "/api/v1/firms",
            &app.admin,
            json!({"name": "Kappa LLP",
            "administrator": {"email": "admin@kappa.example", "first_name": "Kim", "last_name": "Kappa"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let kim = r.body["administrator"]["id"].as_str().unwrap().to_owned();
    app.firm("Lambda LLP", "admin@lambda.example").await; // held by the helper
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    let got = to(&sink, "admin@kappa.example");
    assert_eq!(got.len(), 1);
    assert_eq!(kind(&got[0]), "new_user_email");
    assert!(got[0].text.contains("admin@kappa.example"));
    token_in(&app, &got[0]);
    assert_eq!(email_state(&app, &kim).await["status"], "sent");
    assert!(to(&sink, "admin@lambda.example").is_empty());
    assert_eq!(sink.messages().len(), 1);
}

// ---------------------------------------------------------------- N2, M1

#[tokio::test]
async fn n2_adding_a_never_emailed_user_to_a_matter_sends_the_new_user_email_instead_of_m1() {
    let (app, sink) = app_with_sink().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("2026-100", &lead).await;
    let (firm, _) = app.firm("Kappa LLP", "admin@kappa.example").await;
    let held = app.firm_user("held@kappa.example", "firm_user", &firm).await;
    settle(&app).await;
    let before = sink.messages().len();

    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": held, "role": "matter_reader", "receives_notifications": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    sink.wait_for(before + 1, WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(
        got.get("held@kappa.example"),
        Some(&vec!["new_user_email"]),
        "the new user email, and not also the matter email: {got:?}"
    );
    assert_eq!(got.len(), 1, "{got:?}");
    let state = email_state(&app, &held).await;
    assert_eq!((state["status"].as_str(), state["send_count"].as_i64()), (Some("sent"), Some(1)));

    // Once they have had it, the next matter brings M1.
    let m2 = app.matter("2026-101", &lead).await;
    let before = sink.messages().len();
    app.post(
        &format!("/api/v1/matters/{m2}/participants"),
        &app.admin,
        json!({"user_id": held, "role": "matter_editor", "receives_notifications": true}),
    )
    .await;
    sink.wait_for(before + 1, WAIT).await;
    settle(&app).await;
    assert_eq!(tally_since(&sink, before).get("held@kappa.example"), Some(&vec!["matter_added"]));
}

#[tokio::test]
async fn m1_an_added_participant_is_told_the_matter_name_number_and_role() {
    let (app, sink) = app_with_sink().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("M-2026-7", &lead).await;
    let eve = user_with(&app, "eve@company.example", "Eve", false).await;
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    let before = sink.messages().len();

    let r = app
        .post(
            &format!("/api/v1/matters/{m}/participants"),
            &app.admin,
            json!({"user_id": eve, "role": "matter_editor", "receives_notifications": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    sink.wait_for(before + 1, WAIT).await;
    settle(&app).await;
    let got = received_since(&sink, before);
    assert_eq!(got.len(), 1, "{:?}", got.iter().map(|(t, m)| (t, &m.subject)).collect::<Vec<_>>());
    let (address, mail) = &got[0];
    assert_eq!(address, "eve@company.example");
    assert_eq!(kind(mail), "matter_added");
    assert!(
        mail.subject.contains("Matter M-2026-7") && mail.subject.contains("(M-2026-7)"),
        "{}",
        mail.subject
    );
    assert_two_bodies(mail);
    for body in [&mail.text, &mail.html] {
        assert!(body.contains("Matter M-2026-7"), "name: {body}");
        assert!(body.contains("Matter editor"), "role: {body}");
        assert!(body.contains(&format!("{}/matters/{m}", app.url)), "link: {body}");
    }
    // M1 leaves the new-user-email status alone.
    assert_eq!(email_state(&app, &eve).await["send_count"], 1);

    // Changing the role is not an addition.
    let before = sink.messages().len();
    app.post(
        &format!("/api/v1/matters/{m}/participants"),
        &app.admin,
        json!({"user_id": eve, "role": "matter_reader", "receives_notifications": true}),
    )
    .await;
    settle(&app).await;
    assert_eq!(sink.messages().len(), before, "no email for a role change");
}

#[tokio::test]
async fn n2_m1_the_lead_of_a_matter_is_added_to_it_and_told() {
    let (app, sink) = app_with_sink().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    app.matter("2026-300", &lead).await;
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    assert_eq!(
        tally_since(&sink, 0).get("lead@company.example"),
        Some(&vec!["new_user_email"]),
        "N2 for a held lead"
    );
    let m2 = app.matter("2026-301", &lead).await;
    sink.wait_for(2, WAIT).await;
    settle(&app).await;
    let got = to(&sink, "lead@company.example");
    assert_eq!(got.len(), 2);
    assert_eq!(kind(&got[1]), "matter_added");
    assert!(got[1].text.contains("Matter administrator"), "{}", got[1].text);

    // A new lead who was not on the matter is added to it; the system
    // administrator who makes themselves lead is not emailed.
    let next = user_with(&app, "next@company.example", "Next", true).await;
    patch_matter(&app, &m2, json!({"lead_company_person_id": next})).await;
    patch_matter(&app, &m2, json!({"lead_company_person_id": app.admin_id})).await;
    app.matter("2026-302", &app.admin_id).await;
    sink.wait_for(3, WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, 2);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got.get("next@company.example"), Some(&vec!["new_user_email"]));
}

// ---------------------------------------------------------------- N3, N9

#[tokio::test]
async fn n3_the_report_lists_never_emailed_active_users_in_scope_and_confirm_sends_each_once() {
    let (app, sink) = app_with_sink().await;
    let (firm_a, admin_a) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (firm_b, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let admin_a_token = app.password_for(&admin_a, "admin@alpha.example").await;
    for i in 1..=3 {
        firm_user_with(&app, &admin_a_token, &format!("a{i}@alpha.example"), &firm_a, true).await;
    }
    firm_user_with(&app, &app.admin, "b1@beta.example", &firm_b, true).await;
    user_with(&app, "c1@company.example", "Cee", true).await;
    user_with(&app, "c2@company.example", "Cee", true).await;
    user_with(&app, "mailed@company.example", "Mai", false).await;
    let gone = user_with(&app, "gone@company.example", "Gon", true).await;
    set_active(&app, &gone, false).await;
    settle(&app).await;
    let before = sink.messages().len();
    assert_eq!(before, 1, "only the user created without hold was emailed");

    // The firm administrator sees their own firm only (their own account is
    // activated, hence not listed).
    let firm_view = pending(&app, &admin_a_token).await;
    assert_eq!(firm_view, ["a1@alpha.example", "a2@alpha.example", "a3@alpha.example"]);
    let all = pending(&app, &app.admin).await;
    assert_eq!(
        all,
        [
            "a1@alpha.example",
            "a2@alpha.example",
            "a3@alpha.example",
            "admin@beta.example",
            "b1@beta.example",
            "c1@company.example",
            "c2@company.example"
        ],
        "every active never-emailed user, the inactive one excluded"
    );

    let (sent, message) = send_all(&app, &admin_a_token).await;
    assert_eq!(sent, 3, "{message}");
    sink.wait_for(before + 3, WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), firm_view);
    assert!(got.values().all(|k| k == &vec!["new_user_email"]), "{got:?}");
    assert_eq!(pending(&app, &admin_a_token).await, Vec::<String>::new());

    let before = sink.messages().len();
    let (sent, _) = send_all(&app, &app.admin).await;
    assert_eq!(sent, 4);
    sink.wait_for(before + 4, WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        ["admin@beta.example", "b1@beta.example", "c1@company.example", "c2@company.example"]
    );
    assert!(got.values().all(|k| k == &vec!["new_user_email"]), "each once: {got:?}");
    assert!(to(&sink, "gone@company.example").is_empty(), "N7");
    assert_eq!(email_state(&app, &gone).await["status"], "held");

    // Nobody left: the answer says so and nothing is sent.
    let before = sink.messages().len();
    assert_eq!(pending(&app, &app.admin).await, Vec::<String>::new());
    let (sent, message) = send_all(&app, &app.admin).await;
    assert_eq!(
        (sent, message.as_str()),
        (0, "New user emails have already been sent to all users in the system.")
    );
    let (sent, _) = send_all(&app, &admin_a_token).await;
    assert_eq!(sent, 0);
    settle(&app).await;
    assert_eq!(sink.messages().len(), before);
}

#[tokio::test]
async fn n9_administrators_send_only_within_their_scope() {
    let (app, sink) = app_with_sink().await;
    let (firm_a, admin_a) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (firm_b, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let admin_a_token = app.password_for(&admin_a, "admin@alpha.example").await;
    let mine = app.firm_user("mine@alpha.example", "firm_user", &firm_a).await;
    let theirs = app.firm_user("theirs@beta.example", "firm_user", &firm_b).await;
    let company = app.company_user("staff@company.example", "company_user", None).await;
    let plain = app.company_user("plain@company.example", "company_user", None).await;
    let plain_token = app.password_for(&plain, "plain@company.example").await;

    for target in [&theirs, &company] {
        for action in ["new-user-email", "reset-password"] {
            let r = app
                .post(&format!("/api/v1/users/{target}/{action}"), &admin_a_token, json!({}))
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{action} outside the firm: {}", r.body);
        }
    }
    let r = app
        .post(&format!("/api/v1/users/{mine}/new-user-email"), &admin_a_token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // Users without an administrator role send nothing.
    let r = app
        .post(&format!("/api/v1/users/{mine}/new-user-email"), &plain_token, json!({}))
        .await;
    assert!(matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{}", r.status);
    assert_eq!(
        app.get("/api/v1/new-user-emails/pending", &plain_token).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/api/v1/new-user-emails/send", &plain_token, json!({})).await.status,
        StatusCode::FORBIDDEN
    );

    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, 0);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got.get("mine@alpha.example"), Some(&vec!["new_user_email"]));
}

// ---------------------------------------------------------------- N4, N6

#[tokio::test]
async fn n4_an_administrator_sends_the_email_to_one_user_and_again_later() {
    let (app, sink) = app_with_sink().await;
    let ann = user_with(&app, "ann@company.example", "Ann", true).await;
    user_with(&app, "bob@company.example", "Bob", true).await;
    let r = app
        .post(&format!("/api/v1/users/{ann}/new-user-email"), &app.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    assert_eq!(tally_since(&sink, 0).len(), 1, "only Ann");
    let first = to(&sink, "ann@company.example").remove(0);
    let state = email_state(&app, &ann).await;
    assert_eq!((state["status"].as_str(), state["send_count"].as_i64()), (Some("sent"), Some(1)));
    let sent_at = state["sent_at"].clone();

    app.advance_clock(60_000).await;
    let r = app
        .post(&format!("/api/v1/users/{ann}/new-user-email"), &app.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    sink.wait_for(2, WAIT).await;
    settle(&app).await;
    let mails = to(&sink, "ann@company.example");
    assert_eq!(mails.len(), 2);
    assert_ne!(mails[0].message_id, mails[1].message_id, "a new message, not a duplicate");
    assert_ne!(token_in(&app, &first), token_in(&app, &mails[1]), "a fresh link");
    let state = email_state(&app, &ann).await;
    assert_eq!(state["send_count"], 2);
    assert_eq!(state["sent_at"], sent_at, "the first-sent time stays");
}

#[tokio::test]
async fn n6_the_link_works_once_expires_after_seven_days_and_activates_the_account() {
    let (app, sink) = app_with_sink().await;
    let ann = user_with(&app, "ann@company.example", "Ann", false).await;
    user_with(&app, "late@company.example", "Late", false).await;
    user_with(&app, "ontime@company.example", "Ontime", false).await;
    sink.wait_for(3, WAIT).await;
    settle(&app).await;
    let link = |address: &str| token_in(&app, &to(&sink, address)[0]);
    let (ann_link, late_link, ontime_link) = (
        link("ann@company.example"),
        link("late@company.example"),
        link("ontime@company.example"),
    );

    let r = app.get(&format!("/api/v1/users/{ann}"), &app.admin).await;
    assert_eq!(r.body["activated"], false);
    let r = app.set_password(&ann_link, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["activated"], true, "{}", r.body);
    assert!(r.body["activated_at"].is_string());
    app.sign_in("ann@company.example", PASSWORD).await;
    let again = app.set_password(&ann_link, NEW_PASSWORD).await;
    assert_eq!((again.status, again.code()), (StatusCode::UNPROCESSABLE_ENTITY, "link_used"));
    let r = app.try_sign_in("ann@company.example", NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the used link changed nothing");

    // Default validity: 7 days.
    app.advance_clock(7 * 24 * HOUR_MS - HOUR_MS).await;
    let r = app.set_password(&ontime_link, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "still valid an hour before the end: {}", r.body);
    app.advance_clock(2 * HOUR_MS).await;
    let r = app.set_password(&late_link, PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "link_expired"),
        "{}",
        r.body
    );
    let r = app.try_sign_in("late@company.example", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn n6_the_link_validity_follows_the_link_ttl_setting() {
    let (app, sink) = app_with_sink().await;
    let admin = app.fresh_admin("ops@company.example").await;
    let r = app.patch("/api/v1/settings", &admin, json!({"link_ttl_hours": 2})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    user_with(&app, "ann@company.example", "Ann", false).await;
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    let m = to(&sink, "ann@company.example").remove(0);
    assert!(m.text.contains("2 hours"), "{}", m.text);
    let token = token_in(&app, &m);
    app.advance_clock(2 * HOUR_MS + 1_000).await;
    let r = app.set_password(&token, PASSWORD).await;
    assert_eq!(r.code(), "link_expired", "{}", r.body);
}

// ---------------------------------------------------------------- N5

#[tokio::test]
async fn n5_a_reset_ends_the_password_every_earlier_link_and_session_and_emails_a_fresh_link() {
    let (app, sink) = app_with_sink().await;
    let ann = user_with(&app, "ann@company.example", "Ann", true).await;
    let session = app.password_for(&ann, "ann@company.example").await;
    assert_eq!(app.get("/api/v1/me", &session).await.status, StatusCode::OK);
    // An earlier emailed link, never used.
    app.post(&format!("/api/v1/users/{ann}/new-user-email"), &app.admin, json!({}))
        .await;
    sink.wait_for(1, WAIT).await;
    settle(&app).await;
    let old_link = token_in(&app, &to(&sink, "ann@company.example")[0]);

    let r = app
        .post(&format!("/api/v1/users/{ann}/reset-password"), &app.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    sink.wait_for(2, WAIT).await;
    settle(&app).await;

    assert_eq!(
        app.get("/api/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED,
        "sessions end"
    );
    let r = app.try_sign_in("ann@company.example", PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        "old password refused"
    );
    let r = app.set_password(&old_link, NEW_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "link_superseded"),
        "{}",
        r.body
    );

    let mails = to(&sink, "ann@company.example");
    assert_eq!(mails.len(), 2, "one reset email");
    let reset = &mails[1];
    assert_eq!(kind(reset), "password_reset");
    assert!(reset.subject.contains("reset"), "{}", reset.subject);
    assert_two_bodies(reset);
    let fresh = token_in(&app, reset);
    let r = app.set_password(&fresh, NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = app.sign_in("ann@company.example", NEW_PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    let r = app.set_password(&fresh, "Yet-An0ther-Passw0rd!").await;
    assert_eq!(r.code(), "link_used", "the fresh link works once");
    let state = email_state(&app, &ann).await;
    assert_eq!((state["status"].as_str(), state["send_count"].as_i64()), (Some("sent"), Some(2)));
}

// ---------------------------------------------------------------- N7

#[tokio::test]
async fn n7_inactive_users_are_emailed_by_no_path() {
    let (app, sink) = app_with_sink().await;
    let lead = user_with(&app, "lead@company.example", "Lead", false).await;
    let m = app.matter("2026-700", &lead).await;
    let other = app.matter("2026-701", &lead).await;
    let held = user_with(&app, "held@company.example", "Held", true).await;
    user_with(&app, "waiting@company.example", "Waiting", true).await;
    let mailed = user_with(&app, "mailed@company.example", "Mailed", false).await;
    app.post(
        &format!("/api/v1/matters/{m}/participants"),
        &app.admin,
        json!({"user_id": mailed, "role": "matter_editor", "receives_notifications": true}),
    )
    .await;
    settle(&app).await;
    assert_eq!(pending(&app, &app.admin).await, ["held@company.example", "waiting@company.example"]);

    set_active(&app, &held, false).await;
    set_active(&app, &mailed, false).await;
    let before = sink.messages().len();

    assert_eq!(pending(&app, &app.admin).await, ["waiting@company.example"], "N3 report");
    let (sent, _) = send_all(&app, &app.admin).await;
    assert_eq!(sent, 1, "N3 confirm: only the active one");
    for id in [&held, &mailed] {
        for action in ["new-user-email", "reset-password"] {
            let r = app.post(&format!("/api/v1/users/{id}/{action}"), &app.admin, json!({})).await;
            assert_eq!(
                (r.status, r.code()),
                (StatusCode::CONFLICT, "user_inactive"),
                "{action}: {}",
                r.body
            );
        }
        let r = app
            .post(
                &format!("/api/v1/matters/{other}/participants"),
                &app.admin,
                json!({"user_id": id, "role": "matter_reader", "receives_notifications": true}),
            )
            .await;
        assert_eq!(r.code(), "user_inactive", "N2/M1: {}", r.body);
    }
    patch_matter(&app, &m, json!({"open_for_editing": false})).await;
    sink.wait_for(before + 2, WAIT).await; // waiting: new user email; lead: the closing
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(got.get("waiting@company.example"), Some(&vec!["new_user_email"]), "{got:?}");
    assert_eq!(got.get("lead@company.example"), Some(&vec!["matter_closed"]), "{got:?}");
    assert_eq!(got.len(), 2, "nothing to the deactivated users: {got:?}");
}

// ---------------------------------------------------------------- M2, M3

#[tokio::test]
async fn m2_closing_a_matter_emails_each_notified_participant_and_their_delegates_once() {
    let (app, sink) = app_with_sink().await;
    let lead = user_with(&app, "lead@company.example", "Lead", false).await;
    let m = app.matter("2026-200", &lead).await;
    let ids: BTreeMap<&str, String> = {
        let mut ids = BTreeMap::new();
        for name in ["p1", "p2", "p3", "d1", "d2", "d3", "mute"] {
            ids.insert(name, user_with(&app, &format!("{name}@company.example"), name, false).await);
        }
        ids
    };
    // p1, p3, d1: notified participants; p2 and mute participate without
    // notifications; d1 also delegate of p1 (qualifies twice); p2 and d2
    // delegates of p1; d3 delegate of p3 only.
    for (who, receives) in [("p1", true), ("p2", false), ("p3", true), ("d1", true), ("mute", false)] {
        let r = app
            .post(
                &format!("/api/v1/matters/{m}/participants"),
                &app.admin,
                json!({"user_id": ids[who], "role": "matter_reader", "receives_notifications": receives}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{who}: {}", r.body);
    }
    for (delegator, delegates) in [("p1", vec!["d1", "p2", "d2"]), ("p3", vec!["d3"]), ("mute", vec!["d3"])] {
        let token = app.password_for(&ids[delegator], &format!("{delegator}@company.example")).await;
        let list: Vec<&String> = delegates.iter().map(|d| &ids[d]).collect();
        let r = app.put("/api/v1/me/delegates", &token, json!({"delegate_ids": list})).await;
        assert_eq!(r.status, StatusCode::OK, "{delegator}: {}", r.body);
    }
    settle(&app).await;

    let addresses = |names: &[&str]| -> Vec<String> { names.iter().map(|n| format!("{n}@company.example")).collect() };

    // Closed for editing: the lead (a notified participant), p1, p3, d1
    // once, p2 and d2 through p1, d3 through p3.
    let before = sink.messages().len();
    patch_matter(&app, &m, json!({"open_for_editing": false})).await;
    let everyone = addresses(&["d1", "d2", "d3", "lead", "p1", "p2", "p3"]);
    sink.wait_for(before + everyone.len(), WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), everyone, "{got:?}");
    assert!(got.values().all(|k| k == &vec!["matter_closed"]), "one each: {got:?}");
    let sample = received_since(&sink, before)
        .into_iter()
        .find(|(to, _)| to == "p1@company.example")
        .unwrap()
        .1;
    assert!(
        sample.subject.contains("Matter 2026-200") && sample.subject.contains("closed for editing"),
        "{}",
        sample.subject
    );
    assert_two_bodies(&sample);
    assert!(sample.text.contains(&format!("{}/matters/{m}", app.url)), "{}", sample.text);
    let via_delegation = received_since(&sink, before)
        .into_iter()
        .find(|(to, _)| to == "d3@company.example")
        .unwrap()
        .1;
    assert!(
        via_delegation.text.contains("delegate of"),
        "a delegate is told why: {}",
        via_delegation.text
    );

    // p3 and d2 deactivated: nothing to p3, nothing to d3 through p3, nothing to d2.
    set_active(&app, &ids["p3"], false).await;
    set_active(&app, &ids["d2"], false).await;
    let before = sink.messages().len();
    patch_matter(&app, &m, json!({"open_for_invoicing": false})).await;
    let fewer = addresses(&["d1", "lead", "p1", "p2"]);
    sink.wait_for(before + fewer.len(), WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), fewer, "{got:?}");
    assert!(got.values().all(|k| k == &vec!["matter_closed"]), "{got:?}");
    let sample = received_since(&sink, before).remove(0).1;
    assert!(sample.subject.contains("closed for invoicing"), "{}", sample.subject);

    // Reactivated: everything again. Reopening sends nothing.
    set_active(&app, &ids["p3"], true).await;
    set_active(&app, &ids["d2"], true).await;
    let before = sink.messages().len();
    let r = app
        .patch(
            &format!("/api/v1/matters/{m}"),
            &app.admin,
            json!({"open_for_editing": true, "open_for_invoicing": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    settle(&app).await;
    assert_eq!(sink.messages().len(), before, "reopening is not closing");
    let r = app
        .patch(
            &format!("/api/v1/matters/{m}"),
            &app.admin,
            json!({"open_for_editing": false, "open_for_invoicing": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sink.wait_for(before + everyone.len(), WAIT).await;
    settle(&app).await;
    let got = tally_since(&sink, before);
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), everyone, "{got:?}");
    assert!(
        got.values().all(|k| k == &vec!["matter_closed"]),
        "one each, for both closings at once: {got:?}"
    );
    let sample = received_since(&sink, before).remove(0).1;
    assert!(sample.subject.contains("closed for editing and invoicing"), "{}", sample.subject);
}

// ---------------------------------------------------------------- N8

#[tokio::test]
async fn n8_mail_queued_while_the_smtp_server_is_down_arrives_exactly_once_when_it_is_up() {
    let addr = SmtpSink::unused_addr();
    let app = spawn_app_with(move |cfg| cfg.smtp_url = Some(format!("smtp://{addr}"))).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(user_with(&app, &format!("u{i}@company.example"), "User", false).await);
    }
    let quitter = user_with(&app, "quitter@company.example", "Quit", false).await;
    // Each message has been tried and put back for a retry.
    let deadline = Instant::now() + WAIT;
    loop {
        let db = &app.running.as_ref().unwrap().app.db;
        let mut tx = db.read().await.unwrap();
        let tried = tx
            .mail_for_user(&domain::UserId::from(ids[4].as_str()), 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.attempts >= 1 && m.status == store::MailStatus::Queued && m.last_error.is_some());
        if tried {
            break;
        }
        assert!(Instant::now() < deadline, "no attempt was made");
        drop(tx);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let state = email_state(&app, id).await;
        assert_eq!(state["status"], "queued", "still on its way: {state}");
    }
    // N7 as well: deactivated meanwhile, never sent.
    set_active(&app, &quitter, false).await;

    let sink = SmtpSink::start_on(addr).await;
    app.advance_clock(10 * 60_000).await; // past any backoff
    sink.wait_for(5, WAIT).await;
    settle(&app).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = tally_since(&sink, 0);
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got.values().all(|k| k == &vec!["new_user_email"]), "exactly once each: {got:?}");
    assert!(!got.contains_key("quitter@company.example"));
    for id in &ids {
        let state = email_state(&app, id).await;
        assert_eq!(
            (state["status"].as_str(), state["send_count"].as_i64()),
            (Some("sent"), Some(1)),
            "{state}"
        );
    }
}
