//! N1, N2 and M1: who is emailed when a user, a firm or a participant is
//! added, and with what.

use super::*;

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

#[tokio::test]
async fn n2_adding_a_never_emailed_user_to_a_matter_sends_the_new_user_email_instead_of_m1() {
    let (app, sink) = app_with_sink().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("2026-100", &lead).await;
    let (firm, _) = app.firm("Kappa LLP", "admin@kappa.example").await;
    let held = app.firm_user("held@kappa.example", "firm_user", &firm).await;
    settle(&app).await;
    let before = sink.messages().len();

    app.add_participant(&m, &held, "matter_reader", true).await;
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
    app.add_participant(&m2, &held, "matter_editor", true).await;
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

    app.add_participant(&m, &eve, "matter_editor", false).await;
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
    app.add_participant(&m, &eve, "matter_reader", true).await;
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
