//! N5–N7: sign-in links — once only, their lifetime, a reset ends every
//! earlier one, and inactive users get none.

use super::*;

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

#[tokio::test]
async fn n7_inactive_users_are_emailed_by_no_path() {
    let (app, sink) = app_with_sink().await;
    let lead = user_with(&app, "lead@company.example", "Lead", false).await;
    let m = app.matter("2026-700", &lead).await;
    let other = app.matter("2026-701", &lead).await;
    let held = user_with(&app, "held@company.example", "Held", true).await;
    user_with(&app, "waiting@company.example", "Waiting", true).await;
    let mailed = user_with(&app, "mailed@company.example", "Mailed", false).await;
    app.add_participant(&m, &mailed, "matter_editor", true).await;
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
