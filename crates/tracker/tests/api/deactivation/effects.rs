//! D2: the effects of a deactivation, all at once: sessions, sign-in links,
//! queued email, delegations, notifications, and what an inactive user can
//! no longer be made.

use super::*;

#[tokio::test]
async fn deactivation_ends_every_session_at_once_and_sign_in_answers_as_for_a_wrong_password() {
    let app = spawn_app().await;
    let (u, first) = app.signed_in_company_user("leaving@company.example").await;
    let second = app.sign_in("leaving@company.example", PASSWORD).await;
    let (_, bystander_token) = app.signed_in_company_user("staying@company.example").await;
    for t in [&first, &second] {
        assert_eq!(app.get("/api/v1/me", t).await.status, StatusCode::OK);
    }
    let wrong = app.try_sign_in("staying@company.example", "Wr0ng-Passw0rd!").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let r = deactivate(&app, &app.admin, &u).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for t in [&first, &second] {
        let me = app.get("/api/v1/me", t).await;
        assert_eq!((me.status, me.code()), (StatusCode::UNAUTHORIZED, "not_signed_in"), "{}", me.body);
        assert_eq!(app.get("/api/v1/me/matters", t).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.get("/api/v1/me", &bystander_token).await.status,
        StatusCode::OK,
        "other users keep their sessions"
    );
    let refused = app.try_sign_in("leaving@company.example", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.body, wrong.body,
        "a deactivated user is answered exactly as a wrong password"
    );
    assert!(refused.headers.get("set-cookie").is_none());
    let entry = &app.audit(&format!("target_id={u}&action=user.deactivated")).await[0];
    assert_eq!(entry["after"]["sessions_revoked"], 2);
    assert_eq!(entry["actor_id"], app.admin_id.as_str());
}

#[tokio::test]
async fn open_sign_in_links_are_refused_after_deactivation_and_stay_dead_after_reactivation() {
    let app = spawn_app().await;
    let u = app.company_user("invited@company.example", "company_user", None).await;
    let token = app.link_for(&u).await;

    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let set = json!({"token": token, "password": PASSWORD});
    let r = app.call(Method::POST, "/api/v1/password/set", None, Some(set.clone())).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "link_superseded"),
        "{}",
        r.body
    );
    let entry = &app.audit(&format!("target_id={u}&action=user.deactivated")).await[0];
    assert_eq!(entry["after"]["links_invalidated"], 1);
    // N7: no email of any kind to an inactive user.
    let r = app.post(&format!("/api/v1/users/{u}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "user_inactive"), "{}", r.body);
    let r = app.post(&format!("/api/v1/users/{u}/reset-password"), &app.admin, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "user_inactive"), "{}", r.body);
    let pending = app.get("/api/v1/new-user-emails/pending", &app.admin).await;
    assert!(
        !pending.body["items"].as_array().unwrap().iter().any(|x| x["id"] == u.as_str()),
        "{}",
        pending.body
    );

    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let r = app.call(Method::POST, "/api/v1/password/set", None, Some(set)).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an invalidated link stays invalid: {}",
        r.body
    );
    assert_eq!(app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body["activated"], false);
}

#[tokio::test]
async fn a_new_user_email_stopped_by_deactivation_can_be_sent_after_reactivation() {
    let app = spawn_app().await;
    let u = app.company_user("soon@company.example", "company_user", None).await;
    // The new user email is in the outbox and, the mail server refusing for
    // now, waits for its next attempt (N8): exactly what N1 leaves behind
    // while delivery is retried. Made here directly so that the delivery
    // worker cannot send it first.
    {
        let running = app.running.as_ref().unwrap();
        let later = running.app.now() + 3_600_000;
        let mut tx = running.app.db.write().await.unwrap();
        let id = domain::UserId::from(u.as_str());
        let user = tx.user_for_update(&id).await.unwrap().unwrap();
        tx.enqueue_mail(&store::OutboxPayload::NewUserEmail, Some(&id), &user.email, later)
            .await
            .unwrap();
        tx.set_new_user_email_status(&id, domain::model::EmailStatus::Queued, running.app.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let before = app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body;
    assert_eq!(before["new_user_email"]["status"], "queued");
    let r = app.post(&format!("/api/v1/users/{u}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "new_user_email_queued"), "{}", r.body);
    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let outbox = {
        let running = app.running.as_ref().unwrap();
        let mut tx = running.app.db.read().await.unwrap();
        tx.mail_for_user(&domain::UserId::from(u.as_str()), 10).await.unwrap()
    };
    assert!(
        outbox.iter().all(|m| m.status == store::MailStatus::Cancelled),
        "D2/N7: nothing stays queued for an inactive user: {outbox:?}"
    );
    let shown = app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body;
    assert_ne!(
        shown["new_user_email"]["status"], "queued",
        "the cancelled email is not shown as on its way: {shown}"
    );

    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    // The email never went out: the user is pending again (N3) and can be sent it (N4).
    let pending = app.get("/api/v1/new-user-emails/pending", &app.admin).await;
    assert!(
        pending.body["items"].as_array().unwrap().iter().any(|x| x["id"] == u.as_str()),
        "{}",
        pending.body
    );
    let r = app.post(&format!("/api/v1/users/{u}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

#[tokio::test]
async fn delegates_lose_access_through_a_deactivated_delegator_and_participant_lists_keep_the_flagged_user() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (u, u_token) = app.signed_in_company_user("partner@company.example").await;
    let (assistant, a_token) = app.signed_in_company_user("assistant@company.example").await;
    let m1 = app.matter("DEL-1", &lead).await;
    let m2 = app.matter("DEL-2", &lead).await;
    app.add_participant(&m1, &u, "matter_editor", false).await;
    app.add_participant(&m2, &u, "report_only", true).await;
    let r = app
        .put("/api/v1/me/delegates", &u_token, json!({"delegate_ids": [assistant]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        ids(&app.get("/api/v1/me/matters", &a_token).await.body["items"]),
        sorted(&[&m1, &m2])
    );

    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    let mine = app.get("/api/v1/me/matters", &a_token).await;
    assert_eq!(mine.body["total"], 0, "{}", mine.body);
    for m in [&m1, &m2] {
        assert_eq!(
            app.get(&format!("/api/v1/matters/{m}"), &a_token).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("/api/v1/matters/{m}/participants"), &a_token).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let parts = app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body;
    assert_eq!(parts["total"], 2, "the deactivated participant stays in the list: {parts}");
    let row = parts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == u.as_str())
        .expect("still listed")
        .clone();
    assert_eq!(
        (
            row["user_deactivated"].as_bool(),
            row["role"].as_str(),
            row["receives_notifications"].as_bool()
        ),
        (Some(true), Some("matter_editor"), Some(false))
    );
    let lead_row = parts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == lead.as_str())
        .unwrap()
        .clone();
    assert_eq!(lead_row["user_deactivated"], false);

    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    assert_eq!(
        ids(&app.get("/api/v1/me/matters", &a_token).await.body["items"]),
        sorted(&[&m1, &m2])
    );
    assert_eq!(app.get(&format!("/api/v1/matters/{m2}"), &a_token).await.status, StatusCode::OK);
    let row = app.participant_row(&m1, &u).await;
    assert_eq!(row["user_deactivated"], false);
}

#[tokio::test]
async fn an_inactive_user_cannot_be_made_participant_lead_coordinator_approver_delegate_or_tracker_coordinator() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (_, active_token) = app.signed_in_company_user("active@company.example").await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    let (firm, _) = app.firm("Gamma LLP", "admin@gamma.example").await;
    let gone_lawyer = app.firm_user("gone@gamma.example", "firm_user", &firm).await;
    let m = app.matter("INACT-1", &lead).await;
    let office = app.office("Somewhere").await;
    let rt = route(&app, "Route", true, json!([{"primary_approver_id": lead}])).await;
    assert_eq!(deactivate(&app, &app.admin, &gone).await.status, StatusCode::OK);
    assert_eq!(deactivate(&app, &app.admin, &gone_lawyer).await.status, StatusCode::OK);

    let attempts: Vec<(&str, Reply)> = vec![
        (
            "user_id",
            app.post(
                &format!("/api/v1/matters/{m}/participants"),
                &app.admin,
                json!({"user_id": gone, "role": "matter_reader"}),
            )
            .await,
        ),
        (
            "user_id",
            app.post(
                &format!("/api/v1/matters/{m}/participants"),
                &app.admin,
                json!({"user_id": gone_lawyer, "role": "billing_only"}),
            )
            .await,
        ),
        (
            "lead_company_person_id",
            app.post(
                "/api/v1/matters",
                &app.admin,
                json!({"name": "N", "number": "INACT-2", "lead_company_person_id": gone}),
            )
            .await,
        ),
        (
            "lead_company_person_id",
            patch_matter(&app, &m, json!({"lead_company_person_id": gone})).await,
        ),
        (
            "coordinator_id",
            app.post("/api/v1/offices", &app.admin, json!({"name": "New", "coordinator_id": gone}))
                .await,
        ),
        (
            "coordinator_id",
            app.patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"coordinator_id": gone}))
                .await,
        ),
        (
            "backup_coordinator_id",
            app.patch(
                &format!("/api/v1/offices/{office}"),
                &app.admin,
                json!({"coordinator_id": lead, "backup_coordinator_id": gone}),
            )
            .await,
        ),
        (
            "levels[0].primary_approver_id",
            app.post(
                "/api/v1/approval-routes",
                &app.admin,
                json!({"name": "R2", "levels": [{"primary_approver_id": gone}]}),
            )
            .await,
        ),
        (
            "levels[0].alternate_approver_id",
            app.patch(
                &format!("/api/v1/approval-routes/{rt}"),
                &app.admin,
                json!({"levels": [{"primary_approver_id": lead, "alternate_approver_id": gone}]}),
            )
            .await,
        ),
        (
            "levels[0].delegate_ids",
            app.patch(
                &format!("/api/v1/approval-routes/{rt}"),
                &app.admin,
                json!({"levels": [{"primary_approver_id": lead, "delegate_ids": [gone]}]}),
            )
            .await,
        ),
        (
            "delegate_ids",
            app.put("/api/v1/me/delegates", &active_token, json!({"delegate_ids": [gone]}))
                .await,
        ),
        (
            "tracker_coordinator_id",
            app.patch("/api/v1/settings", &app.admin, json!({"tracker_coordinator_id": gone}))
                .await,
        ),
        (
            "to_user_id",
            app.post(
                "/api/v1/bulk-update/lead-company-person",
                &app.admin,
                json!({"from_user_id": lead, "to_user_id": gone}),
            )
            .await,
        ),
    ];
    for (field, r) in &attempts {
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "user_inactive"),
            "{field}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], *field, "{}", r.body);
    }
    // Nothing changed anywhere.
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body["total"],
        1
    );
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"],
        lead.as_str()
    );
    let o = app.get(&format!("/api/v1/offices/{office}"), &app.admin).await.body;
    assert_eq!(
        (o["coordinator_id"].clone(), o["backup_coordinator_id"].clone()),
        (Value::Null, Value::Null)
    );
    let r = app.get(&format!("/api/v1/approval-routes/{rt}"), &app.admin).await.body;
    assert_eq!(
        r["levels"],
        json!([{"primary_approver_id": lead, "alternate_approver_id": null, "delegate_ids": []}])
    );
    assert_eq!(app.get("/api/v1/me/delegates", &active_token).await.body["delegates"], json!([]));
    assert_eq!(
        app.get("/api/v1/settings", &app.admin).await.body["tracker_coordinator_id"],
        Value::Null
    );
    assert_eq!(app.get("/api/v1/me/matters", &app.admin).await.body["total"], 1);
}

#[tokio::test]
async fn reopening_a_closed_matter_whose_lead_is_inactive_is_refused() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let successor = app.company_user("next@company.example", "company_user", None).await;
    let m = app.matter("REOPEN-1", &lead).await;
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(deactivate(&app, &app.admin, &lead).await.status, StatusCode::OK);
    for body in [
        json!({"open_for_editing": true}),
        json!({"open_for_invoicing": true}),
        json!({"open_for_invoicing": true, "name": "Renamed"}),
    ] {
        let r = patch_matter(&app, &m, body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "user_inactive"),
            "{}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "lead_company_person_id");
    }
    let now = app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body;
    assert_eq!(
        (now["open"].as_bool(), now["name"].as_str()),
        (Some(false), Some("Matter REOPEN-1"))
    );
    // Edits that do not reopen it still work; reopening with an active lead works.
    assert_eq!(patch_matter(&app, &m, json!({"name": "Archived"})).await.status, StatusCode::OK);
    let r = patch_matter(&app, &m, json!({"open_for_editing": true, "lead_company_person_id": successor})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["open"].as_bool(), r.body["lead_company_person_id"].as_str()),
        (Some(true), Some(successor.as_str()))
    );
}

#[tokio::test]
async fn matter_notifications_skip_a_deactivated_participant_and_their_delegates() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (p, p_token) = app.signed_in_company_user("p@company.example").await;
    let (u, u_token) = app.signed_in_company_user("u@company.example").await;
    let p_delegate = app.company_user("pd@company.example", "company_user", None).await;
    let u_delegate = app.company_user("ud@company.example", "company_user", None).await;
    let m = app.matter("NOTE-1", &lead).await;
    app.add_participant(&m, &p, "matter_editor", true).await;
    app.add_participant(&m, &u, "matter_editor", true).await;
    for (token, d) in [(&p_token, &p_delegate), (&u_token, &u_delegate)] {
        let r = app.put("/api/v1/me/delegates", token, json!({"delegate_ids": [d]})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_editing": false})).await.status,
        StatusCode::OK
    );

    let running = app.running.as_ref().unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    let mut closed_for = Vec::new();
    for (name, id) in [("lead", &lead), ("p", &p), ("u", &u), ("pd", &p_delegate), ("ud", &u_delegate)] {
        let mail = tx.mail_for_user(&domain::UserId::from(id.as_str()), 50).await.unwrap();
        if mail
            .iter()
            .any(|m| m.kind == "matter_closed" && m.status != store::MailStatus::Cancelled)
        {
            closed_for.push(name);
        }
    }
    assert_eq!(
        closed_for,
        ["lead", "p", "pd"],
        "M2/M3/D2: nothing to the inactive user or through them"
    );
}
