//! D9 bulk update of the lead, then R1/R3: reactivation gives everything
//! back, and the history shows both changes.

use super::*;

#[tokio::test]
async fn bulk_update_moves_the_lead_of_open_matters_then_deactivation_succeeds() {
    let app = spawn_app().await;
    let from = app.company_user("from@company.example", "company_user", None).await;
    let to = app.company_user("to@company.example", "company_user", None).await;
    let someone = app.company_user("someone@company.example", "company_user", None).await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    assert_eq!(deactivate(&app, &app.admin, &gone).await.status, StatusCode::OK);
    let (_, fa) = app.firm("Eta LLP", "admin@eta.example").await;
    let m1 = app.matter("BULK-1", &from).await;
    let m2 = app.matter("BULK-2", &from).await;
    let m3 = app.matter("BULK-3", &from).await;
    assert_eq!(
        patch_matter(&app, &m3, json!({"open_for_editing": false})).await.status,
        StatusCode::OK
    );
    let closed = app.matter("BULK-4", &from).await;
    assert_eq!(
        patch_matter(&app, &closed, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    let not_theirs = app.matter("BULK-5", &someone).await;
    let url = "/api/v1/bulk-update/lead-company-person";

    for (body, code) in [
        (json!({"from_user_id": from, "to_user_id": fa}), "not_company_user"),
        (json!({"from_user_id": from, "to_user_id": gone}), "user_inactive"),
        (json!({"from_user_id": from, "to_user_id": from}), "same_user"),
        (
            json!({"from_user_id": from, "to_user_id": to, "matter_ids": [closed]}),
            "not_led_by_user",
        ),
        (
            json!({"from_user_id": from, "to_user_id": to, "matter_ids": [m1, not_theirs]}),
            "not_led_by_user",
        ),
        (json!({"from_user_id": from, "to_user_id": to, "matter_ids": []}), "required"),
    ] {
        let r = app.post(url, &app.admin, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, code), "{body}: {}", r.body);
    }
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m1}"), &app.admin).await.body["lead_company_person_id"],
        from.as_str(),
        "a refused bulk update changes nothing"
    );
    let from_token = app.password_for(&from, "from@company.example").await;
    assert_eq!(
        app.post(url, &from_token, json!({"from_user_id": from, "to_user_id": to}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The listed matters only (a matter listed twice moves once).
    let r = app
        .post(
            url,
            &app.admin,
            json!({"from_user_id": from, "to_user_id": to, "matter_ids": [m1, m1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["updated"].as_i64(), r.body["matter_ids"].clone()), (Some(1), json!([m1])));
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m2}"), &app.admin).await.body["lead_company_person_id"],
        from.as_str()
    );
    // All the remaining open ones, the closed one untouched.
    let r = app.post(url, &app.admin, json!({"from_user_id": from, "to_user_id": to})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["updated"], 2);
    let mut moved: Vec<String> = r.body["matter_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    moved.sort();
    assert_eq!(moved, sorted(&[&m2, &m3]));
    for m in [&m1, &m2, &m3] {
        assert_eq!(
            app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"],
            to.as_str()
        );
        let parts = app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body;
        let row = parts["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user_id"] == to.as_str())
            .expect("the new lead takes part")
            .clone();
        assert_eq!(row["role"], "matter_administrator");
        assert!(
            parts["items"].as_array().unwrap().iter().any(|p| p["user_id"] == from.as_str()),
            "the former lead stays a participant"
        );
    }
    let c = app.get(&format!("/api/v1/matters/{closed}"), &app.admin).await.body;
    assert_eq!(
        (c["lead_company_person_id"].as_str(), c["open"].as_bool()),
        (Some(from.as_str()), Some(false))
    );
    let entries = app.audit("action=matter.lead_reassigned").await;
    let mut targets: Vec<String> = entries.iter().map(|e| e["target_id"].as_str().unwrap().to_owned()).collect();
    targets.sort();
    assert_eq!(targets, sorted(&[&m1, &m2, &m3]));
    for e in &entries {
        assert_eq!(
            (
                e["before"]["lead_company_person_id"].as_str(),
                e["after"]["lead_company_person_id"].as_str()
            ),
            (Some(from.as_str()), Some(to.as_str()))
        );
        assert_eq!(e["actor_id"], app.admin_id.as_str());
    }
    // Nothing left to move.
    let r = app.post(url, &app.admin, json!({"from_user_id": from, "to_user_id": to})).await;
    assert_eq!(r.body["updated"], 0, "{}", r.body);

    assert_clear(&app, &app.admin, &from).await;
    assert_eq!(deactivate(&app, &app.admin, &from).await.status, StatusCode::OK);
}

#[tokio::test]
async fn reactivation_restores_sign_in_every_participation_with_its_role_and_delegations_both_ways() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (u, u_token) = app.signed_in_company_user("back@company.example").await;
    let (boss, boss_token) = app.signed_in_company_user("boss@company.example").await;
    let (helper, helper_token) = app.signed_in_company_user("helper@company.example").await;
    let m1 = app.matter("R1-1", &lead).await;
    let m2 = app.matter("R1-2", &lead).await;
    let boss_matter = app.matter("R1-3", &lead).await;
    app.add_participant(&m1, &u, "matter_editor", false).await;
    app.add_participant(&m2, &u, "report_only", true).await;
    app.add_participant(&boss_matter, &boss, "matter_reader", true).await;
    // u delegates to helper; boss delegates to u.
    assert_eq!(
        app.put("/api/v1/me/delegates", &u_token, json!({"delegate_ids": [helper]}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.put("/api/v1/me/delegates", &boss_token, json!({"delegate_ids": [u]}))
            .await
            .status,
        StatusCode::OK
    );
    let everything = sorted(&[&m1, &m2, &boss_matter]);
    assert_eq!(ids(&app.get("/api/v1/me/matters", &u_token).await.body["items"]), everything);
    let roles_before = app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body;

    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me/matters", &helper_token).await.body["total"], 0);
    // While inactive, the delegations are still recorded, with the flag.
    let d = app.get(&format!("/api/v1/users/{boss}/delegates"), &app.admin).await.body;
    assert_eq!(
        (d["delegates"][0]["id"].as_str(), d["delegates"][0]["active"].as_bool()),
        (Some(u.as_str()), Some(false)),
        "{d}"
    );

    let r = reactivate(&app, &app.admin, &u).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["active"].as_bool(), r.body["deactivated_at"].clone()),
        (Some(true), Value::Null)
    );
    assert_eq!(
        app.get("/api/v1/me", &u_token).await.status,
        StatusCode::UNAUTHORIZED,
        "old sessions stay ended"
    );
    let token = app.sign_in("back@company.example", PASSWORD).await;
    assert_eq!(ids(&app.get("/api/v1/me/matters", &token).await.body["items"]), everything);
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m1}/participants"), &app.admin).await.body,
        roles_before,
        "same roles and flags"
    );
    let row = app.participant_row(&m2, &u).await;
    assert_eq!(
        (
            row["role"].as_str(),
            row["receives_notifications"].as_bool(),
            row["user_deactivated"].as_bool()
        ),
        (Some("report_only"), Some(true), Some(false))
    );
    let d = app.get(&format!("/api/v1/users/{u}/delegates"), &app.admin).await.body;
    assert_eq!(
        (ids(&d["delegates"]), ids(&d["delegators"])),
        (vec![helper.clone()], vec![boss.clone()])
    );
    let mine = app.get("/api/v1/me/delegates", &token).await.body;
    assert_eq!(
        (ids(&mine["delegates"]), ids(&mine["delegators"])),
        (vec![helper.clone()], vec![boss.clone()])
    );
    assert_eq!(
        ids(&app.get("/api/v1/me/matters", &helper_token).await.body["items"]),
        sorted(&[&m1, &m2])
    );
    // u may again be made lead.
    assert_eq!(
        patch_matter(&app, &m1, json!({"lead_company_person_id": u})).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn history_shows_deactivation_and_reactivation_with_actor_and_time() {
    let app = spawn_app().await;
    let office = app.office("Paris").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&office))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let u = app.company_user("u@company.example", "company_user", Some(&office)).await;
    assert_eq!(deactivate(&app, &oa_token, &u).await.status, StatusCode::OK);
    app.advance_clock(60_000).await;
    assert_eq!(reactivate(&app, &app.admin, &u).await.status, StatusCode::OK);

    let items = user_actions(&app, &u).await;
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["user.reactivated", "user.deactivated"], "newest first: {actions:?}");
    assert!(actions.contains(&"user.created"), "{actions:?}");
    let (re, de) = (&items[0], &items[1]);
    assert_eq!(
        (de["actor_id"].as_str(), de["actor"].as_str()),
        (Some(oa.as_str()), Some("oa@company.example"))
    );
    assert_eq!(
        (re["actor_id"].as_str(), re["actor"].as_str()),
        (Some(app.admin_id.as_str()), Some(ADMIN_EMAIL))
    );
    assert_eq!(
        (de["before"]["active"].as_bool(), de["after"]["user"]["active"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (re["before"]["active"].as_bool(), re["after"]["active"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(
        re["at"].as_str().unwrap() > de["at"].as_str().unwrap(),
        "{} vs {}",
        re["at"],
        de["at"]
    );
    // The office administrator may read it too.
    assert_eq!(
        app.get(&format!("/api/v1/users/{u}/history"), &oa_token).await.body["items"],
        Value::Array(items)
    );
}
