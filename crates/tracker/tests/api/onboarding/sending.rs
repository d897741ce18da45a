//! N3, N9 and N4: administrators send the new-user email — the report of
//! those never emailed, in their scope only, and to one user again.

use super::*;

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
    let (_, plain_token) = app.signed_in_company_user("plain@company.example").await;

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

/// N3: a user whose new user email was refused for good counts as never
/// emailed; confirm queues them with the held ones, and each audit entry
/// records the status it replaced (the statement that marks them reads it
/// per status on PostgreSQL, in one pass on SQLite).
#[tokio::test]
async fn n3_confirm_queues_refused_users_again_and_audits_the_status_each_had() {
    let (app, sink) = app_with_sink().await;
    sink.set_rcpt_rule(|address| (address == "bounced@company.example").then(|| "550 5.1.1 no such mailbox".to_owned()));
    let bounced = user_with(&app, "bounced@company.example", "Bou", false).await;
    let held = user_with(&app, "held@company.example", "Hel", true).await;
    settle(&app).await;
    assert_eq!(email_state(&app, &bounced).await["status"], "failed");
    assert_eq!(email_state(&app, &held).await["status"], "held");
    assert_eq!(pending(&app, &app.admin).await, ["bounced@company.example", "held@company.example"]);

    sink.set_rcpt_rule(|_| None);
    let before = sink.messages().len();
    let (sent, message) = send_all(&app, &app.admin).await;
    assert_eq!(sent, 2, "{message}");
    sink.wait_for(before + 2, WAIT).await;
    settle(&app).await;
    assert_eq!(pending(&app, &app.admin).await, Vec::<String>::new());
    // Newest first: the confirm's entry, after the first send's (the user
    // created without hold was queued once already).
    for (id, was, times) in [(&bounced, "failed", 2), (&held, "held", 1)] {
        let entries = app.audit(&format!("target_id={id}&action=user.new_user_email_queued")).await;
        assert_eq!(entries.len(), times, "{entries:?}");
        assert_eq!(entries[0]["before"]["new_user_email_status"], was, "{}", entries[0]);
        assert_eq!(entries[0]["after"]["new_user_email_status"], "queued", "{}", entries[0]);
        assert_eq!(email_state(&app, id).await["status"], "sent");
    }
}
