//! O1/O2: the plan lists every kind of responsibility; offboarding hands
//! them all over and deactivates in one step; a bad successor changes
//! nothing; firm users' matters go to a colleague.

use super::*;

#[tokio::test]
async fn o1_o2_the_plan_lists_every_kind_and_offboarding_hands_it_all_over_with_one_digest_per_successor() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let ids = &w.ids;
    let (route, paris, lyon) = (&ids["route"], &ids["paris"], &ids["lyon"]);
    let p = plan(&app, &w.leaving).await;
    let got = items(&p);
    let want: BTreeMap<String, (String, bool, Option<String>)> = [
        (format!("lead_company_person:{}", ids["m1"]), ("lead_company_person", true, None)),
        (format!("lead_company_person:{}", ids["m2"]), ("lead_company_person", true, None)),
        (
            format!("office_coordinator:{paris}"),
            ("office_coordinator", true, Some(ids["backup"].clone())),
        ),
        (
            format!("office_backup_coordinator:{lyon}"),
            ("office_backup_coordinator", true, None),
        ),
        (
            format!("route_primary_approver:{route}:1"),
            ("route_primary_approver", true, Some(ids["alternate"].clone())),
        ),
        (
            format!("route_alternate_approver:{route}:2"),
            ("route_alternate_approver", true, None),
        ),
        (format!("participation:{}", ids["m4"]), ("matter_participation", false, None)),
        (format!("delegation_given:{}", ids["delegate"]), ("delegation_given", false, None)),
        (
            format!("delegation_received:{}", ids["delegator"]),
            ("delegation_received", false, None),
        ),
        (format!("route_delegate:{route}:3"), ("route_delegate", false, None)),
        ("tracker_coordinator".to_owned(), ("tracker_coordinator", false, None)),
    ]
    .into_iter()
    .map(|(k, (kind, b, s))| (k, (kind.to_owned(), b, s)))
    .collect();
    assert_eq!(got, want, "{p}");
    assert_eq!(p["can_deactivate"], false);
    let lead_group = p["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "lead_company_person")
        .unwrap()
        .clone();
    assert_eq!(lead_group["count"], 2);
    assert_eq!(lead_group["label"], "Lead company person of 2 open matters");
    // The plan is the same again (stable keys).
    assert_eq!(items(&plan(&app, &w.leaving).await), got);

    // The coordinator goes to the suggested backup; everything else to the default.
    let before = sink.messages().len();
    let r = app
        .post(
            &format!("/api/v1/users/{}/offboard", w.leaving),
            &app.admin,
            json!({"default_successor_id": ids["successor"], "successors": {format!("office_coordinator:{paris}"): ids["backup"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["active"], false);
    assert_eq!(r.body["reassigned"], 11, "{}", r.body);
    assert_eq!(user(&app, &w.leaving).await["active"], false);
    for m in ["m1", "m2"] {
        let m = app.get(&format!("/api/v1/matters/{}", ids[m]), &app.admin).await;
        assert_eq!(m.body["lead_company_person_id"], ids["successor"].as_str(), "{}", m.body);
    }
    let parts = app.get(&format!("/api/v1/matters/{}/participants", ids["m4"]), &app.admin).await;
    let roles: BTreeMap<String, String> = parts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_str().unwrap_or_default().to_owned(),
                p["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles.get(&ids["successor"]).map(String::as_str),
        Some("matter_editor"),
        "{}",
        parts.body
    );
    assert!(roles.contains_key(&w.leaving), "the leaver stays on the matter, deactivated (D2)");
    let o = app.get(&format!("/api/v1/offices/{paris}"), &app.admin).await.body;
    assert_eq!(
        (o["coordinator_id"].as_str(), o["backup_coordinator_id"].as_str()),
        (Some(ids["backup"].as_str()), None),
        "{o}"
    );
    let o = app.get(&format!("/api/v1/offices/{lyon}"), &app.admin).await.body;
    assert_eq!(o["backup_coordinator_id"], ids["successor"].as_str(), "{o}");
    let rt = app.get(&format!("/api/v1/approval-routes/{route}"), &app.admin).await.body;
    assert_eq!(rt["levels"][0]["primary_approver_id"], ids["successor"].as_str(), "{rt}");
    assert_eq!(rt["levels"][1]["alternate_approver_id"], ids["successor"].as_str(), "{rt}");
    assert_eq!(rt["levels"][2]["delegate_ids"], json!([ids["successor"]]), "{rt}");
    let s = app.get("/api/v1/settings", &app.admin).await.body;
    assert_eq!(s["tracker_coordinator_id"], ids["successor"].as_str(), "{s}");
    let d = app
        .get(&format!("/api/v1/users/{}/delegates", ids["successor"]), &app.admin)
        .await
        .body;
    let names = |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect() };
    assert_eq!(names(&d["delegates"]), [ids["delegate"].clone()], "{d}");
    assert_eq!(names(&d["delegators"]), [ids["delegator"].clone()], "{d}");
    // Nothing left: the plan of the deactivated user is empty of blockers.
    assert_eq!(plan(&app, &w.leaving).await["can_deactivate"], true);
    // One audit entry per reassignment, and the offboarding itself.
    let offboarded = app.audit("action=user.offboarded").await;
    assert_eq!(offboarded.len(), 1);
    assert_eq!(app.audit("action=matter.lead_reassigned").await.len(), 2);
    // One digest per successor, never to the leaver.
    settle(&app).await;
    let digests: Vec<_> = sink.messages()[before..]
        .iter()
        .map(|m| parse(&m.data))
        .filter(|m| m.subject.starts_with("You took over"))
        .collect();
    assert_eq!(
        digests.len(),
        2,
        "{:?}",
        digests.iter().map(|d| (&d.to, &d.subject)).collect::<Vec<_>>()
    );
    let mine = to(&sink, "successor@company.example");
    let digest: Vec<_> = mine.iter().filter(|m| m.subject.starts_with("You took over")).collect();
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].subject, "You took over 10 responsibilities from Test leaving");
    assert!(
        digest[0].text.contains("Lead company person of Matter OB-1 (OB-1)"),
        "{}",
        digest[0].text
    );
    assert!(to(&sink, "backup@company.example")
        .iter()
        .any(|m| m.subject == "You took over 1 responsibility from Test leaving"));
    assert!(to(&sink, "leaving@company.example")
        .iter()
        .all(|m| !m.subject.starts_with("You took over")));
}

#[tokio::test]
async fn o2_invalid_successors_are_all_listed_and_nothing_changes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let ids = &w.ids;
    let (_, firm_admin) = app.firm("Outside LLP", "fa@firm.example").await;
    let gone = app.company_user("gone@company.example", "company_user", None).await;
    let r = app
        .patch(&format!("/api/v1/users/{gone}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let audit_before = app.audit("per_page=500").await.len();
    let r = app
        .post(
            &format!("/api/v1/users/{}/offboard", w.leaving),
            &app.admin,
            json!({"successors": {
                format!("lead_company_person:{}", ids["m1"]): gone,
                "lead_company_person": firm_admin,
                format!("office_backup_coordinator:{}", ids["lyon"]): ids["coord"],
                "no_such_item:1": ids["successor"],
                format!("participation:{}", ids["m4"]): "nobody",
            }}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{}",
        r.body
    );
    let mut problems: Vec<(String, String)> = r.body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned()))
        .collect();
    problems.sort();
    let mut want = vec![
        (format!("successors.lead_company_person:{}", ids["m1"]), "user_inactive".to_owned()),
        (
            format!("successors.lead_company_person:{}", ids["m2"]),
            "not_company_user".to_owned(),
        ),
        (
            format!("successors.office_backup_coordinator:{}", ids["lyon"]),
            "same_as_coordinator".to_owned(),
        ),
        ("successors.no_such_item:1".to_owned(), "unknown_item".to_owned()),
        (format!("successors.participation:{}", ids["m4"]), "unknown_user".to_owned()),
        (
            format!("successors.office_coordinator:{}", ids["paris"]),
            "successor_required".to_owned(),
        ),
        (
            format!("successors.route_primary_approver:{}:1", ids["route"]),
            "successor_required".to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(problems, want, "{}", r.body);
    // Nothing changed.
    assert_eq!(user(&app, &w.leaving).await["active"], true);
    assert_eq!(app.audit("per_page=500").await.len(), audit_before);
    assert_eq!(items(&plan(&app, &w.leaving).await).len(), 11);
    let m = app.get(&format!("/api/v1/matters/{}", ids["m1"]), &app.admin).await;
    assert_eq!(m.body["lead_company_person_id"], w.leaving.as_str());
    // Out of scope: 404, as for every user route (S7).
    let firm_token = app.password_for(&firm_admin, "fa@firm.example").await;
    let r = app.get(&format!("/api/v1/users/{}/offboarding-plan", w.leaving), &firm_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .post(&format!("/api/v1/users/{}/offboard", w.leaving), &firm_token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn o1_o2_firm_users_d4_items_and_a_colleague_takes_over() {
    let app = spawn_app().await;
    let (firm, firm_admin) = app.firm("Counsel LLP", "boss@counsel.example").await;
    let lawyer = app.firm_user("lawyer@counsel.example", "firm_user", &firm).await;
    let colleague = app.firm_user("colleague@counsel.example", "firm_user", &firm).await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let m = app.matter("FD-1", &lead).await;
    app.add_participant(&m, &lawyer, "billing_only", true).await;
    let key = format!("participation:{m}");
    // A firm administrator is blocked by D4 (and may not add participants).
    let boss = app.password_for(&firm_admin, "boss@counsel.example").await;
    let r = app.get(&format!("/api/v1/users/{lawyer}/offboarding-plan"), &boss).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(items(&r.body)[&key], ("only_firm_user_on_matter".to_owned(), true, None));
    let r = app
        .post(
            &format!("/api/v1/users/{lawyer}/offboard"),
            &boss,
            json!({"default_successor_id": colleague}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["fields"][0]["code"], "not_permitted", "{}", r.body);
    // A company system administrator is only warned, and hands it to a colleague.
    assert_eq!(
        items(&plan(&app, &lawyer).await)[&key],
        ("only_firm_user_on_matter".to_owned(), false, None)
    );
    let company = app.company_user("cx@company.example", "company_user", None).await;
    let r = app
        .post(
            &format!("/api/v1/users/{lawyer}/offboard"),
            &app.admin,
            json!({"successors": {key.clone(): company}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_same_firm", "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/users/{lawyer}/offboard"),
            &app.admin,
            json!({"successors": {key: colleague}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["reassigned"], 1);
    let parts = app.get(&format!("/api/v1/matters/{m}/participants"), &app.admin).await.body;
    assert!(
        parts["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user_id"] == colleague.as_str() && p["role"] == "billing_only"),
        "{parts}"
    );
}
