//! D3–D5: what blocks a deactivation, listed all at once by the check and
//! the refusal, and what clears it.

use super::*;

#[tokio::test]
async fn each_company_blocker_kind_alone_refuses_and_is_listed_by_the_check() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;

    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("D3-1", &lead).await;
    assert_blocked(&app, &app.admin, &lead, &expect(&[("lead_company_person", &m)])).await;

    let coord = app.company_user("coord@company.example", "company_user", None).await;
    let o1 = office_with(&app, "Coordinated", Some(&coord), None).await;
    assert_blocked(&app, &app.admin, &coord, &expect(&[("office_coordinator", &o1)])).await;

    let backup = app.company_user("backup@company.example", "company_user", None).await;
    let o2 = office_with(&app, "Backed up", Some(&other), Some(&backup)).await;
    assert_blocked(&app, &app.admin, &backup, &expect(&[("office_backup_coordinator", &o2)])).await;

    let primary = app.company_user("primary@company.example", "company_user", None).await;
    let r1 = route(&app, "Primary route", true, json!([{"primary_approver_id": primary}])).await;
    assert_blocked(
        &app,
        &app.admin,
        &primary,
        &expect(&[("route_primary_approver", &format!("{r1}#1"))]),
    )
    .await;

    let alternate = app.company_user("alternate@company.example", "company_user", None).await;
    let r2 = route(
        &app,
        "Alternate route",
        true,
        json!([{"primary_approver_id": other}, {"primary_approver_id": other, "alternate_approver_id": alternate}]),
    )
    .await;
    assert_blocked(
        &app,
        &app.admin,
        &alternate,
        &expect(&[("route_alternate_approver", &format!("{r2}#2"))]),
    )
    .await;

    // The blockers of one user never leak into another's answer.
    let bystander = app.company_user("bystander@company.example", "company_user", None).await;
    assert_clear(&app, &app.admin, &bystander).await;
    assert_eq!(deactivate(&app, &app.admin, &bystander).await.status, StatusCode::OK);
    // A refused deactivation writes nothing to the audit log.
    let done = app.audit("action=user.deactivated").await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["target_id"], bystander.as_str());
}

#[tokio::test]
async fn every_blocker_is_listed_at_once_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;
    let third = app.company_user("third@company.example", "company_user", None).await;
    let (u, token) = app.signed_in_company_user("busy@company.example").await;

    let m1 = app.matter("ALL-1", &u).await;
    let m2 = app.matter("ALL-2", &u).await;
    // Open only for invoicing still blocks; closed for both does not.
    assert_eq!(
        patch_matter(&app, &m2, json!({"open_for_editing": false})).await.status,
        StatusCode::OK
    );
    let closed = app.matter("ALL-3", &u).await;
    assert_eq!(
        patch_matter(&app, &closed, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    let o1 = office_with(&app, "Inactive coordinated", Some(&u), None).await;
    assert_eq!(
        app.patch(&format!("/api/v1/offices/{o1}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );
    let o2 = office_with(&app, "Backup", Some(&other), Some(&u)).await;
    let r1 = route(
        &app,
        "Inactive route",
        false,
        json!([{"primary_approver_id": other}, {"primary_approver_id": u, "delegate_ids": [third]}]),
    )
    .await;
    let r2 = route(
        &app,
        "Alternate",
        true,
        json!([{"primary_approver_id": other, "alternate_approver_id": u}]),
    )
    .await;
    // Being a delegate on a level blocks nothing.
    route(
        &app,
        "Delegate only",
        true,
        json!([{"primary_approver_id": other, "delegate_ids": [u]}]),
    )
    .await;

    let expected = expect(&[
        ("lead_company_person", &m1),
        ("lead_company_person", &m2),
        ("office_coordinator", &o1),
        ("office_backup_coordinator", &o2),
        ("route_primary_approver", &format!("{r1}#2")),
        ("route_alternate_approver", &format!("{r2}#1")),
    ]);
    assert_blocked(&app, &app.admin, &u, &expected).await;
    let c = check(&app, &app.admin, &u).await;
    let blockers = c.body["blockers"].as_array().unwrap();
    let inactive_office = blockers.iter().find(|b| b["kind"] == "office_coordinator").unwrap();
    assert_eq!(inactive_office["office"]["active"], false);
    let inactive_route = blockers.iter().find(|b| b["kind"] == "route_primary_approver").unwrap();
    assert_eq!(
        (
            inactive_route["route"]["active"].as_bool(),
            inactive_route["route"]["name"].as_str()
        ),
        (Some(false), Some("Inactive route"))
    );
    let lead = blockers.iter().find(|b| b["matter"]["id"] == m2.as_str()).unwrap();
    assert_eq!(
        (lead["matter"]["name"].as_str(), lead["matter"]["number"].as_str()),
        (Some("Matter ALL-2"), Some("ALL-2"))
    );

    // Nothing of D2 happened: the session lives, no audit entry.
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    assert!(app.audit(&format!("target_id={u}&action=user.deactivated")).await.is_empty());
}

#[tokio::test]
async fn a_matter_blocks_while_open_for_editing_or_invoicing_and_closing_both_clears() {
    let app = spawn_app().await;
    let u = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("OPEN-1", &u).await;
    let blocked = expect(&[("lead_company_person", &m)]);
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_invoicing": false})).await.status,
        StatusCode::OK
    );
    assert_blocked(&app, &app.admin, &u, &blocked).await; // open for editing only
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_editing": false, "open_for_invoicing": true}))
            .await
            .status,
        StatusCode::OK
    );
    assert_blocked(&app, &app.admin, &u, &blocked).await; // open for invoicing only
    assert_eq!(
        patch_matter(&app, &m, json!({"open_for_invoicing": false})).await.status,
        StatusCode::OK
    );
    assert_clear(&app, &app.admin, &u).await;
    let r = deactivate(&app, &app.admin, &u).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["active"].as_bool(), r.body["warnings"].as_array().map(Vec::len)),
        (Some(false), Some(0))
    );
    assert!(r.body["deactivated_at"].is_string());
    // The closed matter keeps its (now inactive) lead: history is not rewritten.
    assert_eq!(
        app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body["lead_company_person_id"],
        u.as_str()
    );
}

#[tokio::test]
async fn inactive_offices_and_routes_still_block_a_route_delegate_does_not_and_replacing_clears() {
    let app = spawn_app().await;
    let other = app.company_user("other@company.example", "company_user", None).await;
    let u = app.company_user("u@company.example", "company_user", None).await;
    let delegate = app.company_user("delegate@company.example", "company_user", None).await;
    let office = office_with(&app, "Closed office", Some(&u), None).await;
    assert_eq!(
        app.patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );
    let r = route(
        &app,
        "Old route",
        true,
        json!([{"primary_approver_id": u, "delegate_ids": [delegate]}]),
    )
    .await;
    assert_eq!(
        app.patch(&format!("/api/v1/approval-routes/{r}"), &app.admin, json!({"active": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_blocked(
        &app,
        &app.admin,
        &u,
        &expect(&[("office_coordinator", &office), ("route_primary_approver", &format!("{r}#1"))]),
    )
    .await;

    // The route's delegate is not a blocker.
    assert_clear(&app, &app.admin, &delegate).await;
    assert_eq!(deactivate(&app, &app.admin, &delegate).await.status, StatusCode::OK);

    // Doing what the fixes say clears them.
    assert_eq!(
        app.patch(&format!("/api/v1/offices/{office}"), &app.admin, json!({"coordinator_id": other}))
            .await
            .status,
        StatusCode::OK
    );
    assert_blocked(&app, &app.admin, &u, &expect(&[("route_primary_approver", &format!("{r}#1"))])).await;
    let rr = app
        .patch(
            &format!("/api/v1/approval-routes/{r}"),
            &app.admin,
            json!({"levels": [{"primary_approver_id": other}]}),
        )
        .await;
    assert_eq!(rr.status, StatusCode::OK, "{}", rr.body);
    assert_clear(&app, &app.admin, &u).await;
    assert_eq!(deactivate(&app, &app.admin, &u).await.status, StatusCode::OK);
}

#[tokio::test]
async fn d4_refuses_a_firm_administrator_and_only_warns_a_company_administrator() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (firm, fa) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (other_firm, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let fa_token = app.password_for(&fa, "admin@alpha.example").await;
    let l1 = app.firm_user("l1@alpha.example", "firm_user", &firm).await;
    let l2 = app.firm_user("l2@alpha.example", "firm_user", &firm).await;
    let l3 = app.firm_user("l3@alpha.example", "firm_user", &firm).await;
    let b1 = app.firm_user("b1@beta.example", "firm_user", &other_firm).await;

    // M1: l1 alone. M2: l1 (not notified) and l2 (notified). M3: closed, l1
    // alone. M4: l1 with another firm's lawyer. M5: l1 and l3 of the same firm.
    let m1 = app.matter("D4-1", &lead).await;
    app.add_participant(&m1, &l1, "matter_editor", true).await;
    let m2 = app.matter("D4-2", &lead).await;
    app.add_participant(&m2, &l1, "matter_editor", false).await;
    app.add_participant(&m2, &l2, "matter_reader", true).await;
    let m3 = app.matter("D4-3", &lead).await;
    app.add_participant(&m3, &l1, "matter_editor", true).await;
    assert_eq!(
        patch_matter(&app, &m3, json!({"open_for_editing": false, "open_for_invoicing": false}))
            .await
            .status,
        StatusCode::OK
    );
    let m4 = app.matter("D4-4", &lead).await;
    app.add_participant(&m4, &l1, "billing_only", true).await;
    app.add_participant(&m4, &b1, "matter_editor", true).await;
    let m5 = app.matter("D4-5", &lead).await;
    app.add_participant(&m5, &l1, "matter_editor", true).await;
    app.add_participant(&m5, &l3, "matter_editor", true).await;

    // l3 is not alone anywhere: its firm administrator may deactivate it,
    // and from then on l1 is alone on M5 too (inactive users do not count).
    assert_clear(&app, &fa_token, &l3).await;
    assert_eq!(deactivate(&app, &fa_token, &l3).await.status, StatusCode::OK);

    let l1_expected = expect(&[
        ("only_firm_user_on_matter", &m1),
        ("only_notified_firm_user_on_matter", &m1),
        ("only_firm_user_on_matter", &m4),
        ("only_notified_firm_user_on_matter", &m4),
        ("only_firm_user_on_matter", &m5),
        ("only_notified_firm_user_on_matter", &m5),
    ]);
    assert_blocked(&app, &fa_token, &l1, &l1_expected).await;
    // l2 shares M2 with l1 but is the only one of the firm notified there.
    assert_blocked(&app, &fa_token, &l2, &expect(&[("only_notified_firm_user_on_matter", &m2)])).await;

    // A company-side administrator sees the same list as warnings and succeeds.
    let c = check(&app, &app.admin, &l1).await;
    assert_eq!(
        (c.body["can_deactivate"].as_bool(), c.body["blockers"].as_array().map(Vec::len)),
        (Some(true), Some(0)),
        "{}",
        c.body
    );
    assert_eq!(summary(&c.body["warnings"]), l1_expected);
    let r = deactivate(&app, &app.admin, &l1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(summary(&r.body["warnings"]), l1_expected);
    let entry = &app.audit(&format!("target_id={l1}&action=user.deactivated")).await[0];
    assert_eq!(
        summary(&entry["after"]["warnings"]),
        l1_expected,
        "the audit entry keeps the warnings"
    );
}

#[tokio::test]
async fn a_refused_deactivation_rolls_back_the_other_edits_of_the_same_request() {
    let app = spawn_app().await;
    let office = app.office("Rome").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&office))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let u = app.company_user("u@company.example", "company_user", Some(&office)).await;
    let m = app.matter("RB-1", &u).await;
    // D3 binds an office administrator too.
    assert_blocked(&app, &oa_token, &u, &expect(&[("lead_company_person", &m)])).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{u}"),
            &oa_token,
            json!({"active": false, "first_name": "Changed", "email": "changed@company.example"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "deactivation_blocked"), "{}", r.body);
    let now = app.get(&format!("/api/v1/users/{u}"), &app.admin).await.body;
    assert_eq!(
        (now["first_name"].as_str(), now["email"].as_str(), now["active"].as_bool()),
        (Some("Test"), Some("u@company.example"), Some(true))
    );
    assert!(app.audit(&format!("target_id={u}&action=user.updated")).await.is_empty());
}
