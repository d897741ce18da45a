//! M2/M3 and N8: matter emails reach each notified participant and their
//! delegates once, and mail queued while the SMTP server is down arrives
//! exactly once.

use super::*;

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
    app.set_matter_open(&m, true).await;
    settle(&app).await;
    assert_eq!(sink.messages().len(), before, "reopening is not closing");
    app.set_matter_open(&m, false).await;
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
