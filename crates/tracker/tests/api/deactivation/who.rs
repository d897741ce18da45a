//! D6 and D8: who may deactivate — the directory owns company users'
//! lifecycle when sync is on; nobody deactivates themselves; administrators
//! act only within their scope.

use super::*;

#[tokio::test]
async fn with_directory_sync_company_users_lifecycle_is_the_directorys_but_firm_users_keep_d4() {
    let app = spawn_app().await;
    let staff = app.company_user("staff@company.example", "company_user", None).await;
    let left = app.company_user("left@company.example", "company_user", None).await;
    assert_eq!(deactivate(&app, &app.admin, &left).await.status, StatusCode::OK);
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let (firm, fa) = app.firm("Delta LLP", "admin@delta.example").await;
    let fa_token = app.password_for(&fa, "admin@delta.example").await;
    let lawyer = app.firm_user("lawyer@delta.example", "firm_user", &firm).await;
    let lone = app.firm_user("lone@delta.example", "firm_user", &firm).await;
    let m = app.matter("AD-1", &lead).await;
    app.add_participant(&m, &lone, "matter_editor", true).await;

    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = deactivate(&app, &app.admin, &staff).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "managed_by_directory"), "{}", r.body);
    assert!(is_active(&app, &staff).await);
    let r = reactivate(&app, &app.admin, &left).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "managed_by_directory"), "{}", r.body);
    assert!(!is_active(&app, &left).await);
    let c = check(&app, &app.admin, &staff).await;
    assert_eq!(
        (c.body["can_deactivate"].as_bool(), c.body["directory_managed"].as_bool()),
        (Some(false), Some(true)),
        "{}",
        c.body
    );
    assert_eq!(
        app.get(&format!("/api/v1/users/{staff}"), &app.admin).await.body["directory_managed"],
        true
    );
    // Other edits of a company user still work.
    assert_eq!(
        app.patch(&format!("/api/v1/users/{staff}"), &app.admin, json!({"last_name": "Renamed"}))
            .await
            .status,
        StatusCode::OK
    );

    // Firm users are not the directory's: both ways work, and D4 still binds.
    assert_eq!(
        app.get(&format!("/api/v1/users/{lawyer}"), &app.admin).await.body["directory_managed"],
        false
    );
    assert_eq!(check(&app, &fa_token, &lawyer).await.body["directory_managed"], false);
    assert_eq!(deactivate(&app, &fa_token, &lawyer).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &fa_token, &lawyer).await.status, StatusCode::OK);
    assert_blocked(
        &app,
        &fa_token,
        &lone,
        &expect(&[("only_firm_user_on_matter", &m), ("only_notified_firm_user_on_matter", &m)]),
    )
    .await;

    // Off again, Tracker owns it.
    assert_eq!(
        app.patch("/api/v1/settings", &app.admin, json!({"active_directory_sync": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(deactivate(&app, &app.admin, &staff).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &app.admin, &left).await.status, StatusCode::OK);
}

#[tokio::test]
async fn nobody_deactivates_themselves_and_administrators_act_only_within_their_scope() {
    let app = spawn_app().await;
    let r = deactivate(&app, &app.admin, &app.admin_id).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "cannot_deactivate_self"),
        "{}",
        r.body
    );
    assert_eq!(check(&app, &app.admin, &app.admin_id).await.body["can_deactivate"], false);

    let ny = app.office("New York").await;
    let ldn = app.office("London").await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&ny))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let ny_user = app.company_user("ny@company.example", "company_user", Some(&ny)).await;
    let ldn_user = app.company_user("ldn@company.example", "company_user", Some(&ldn)).await;
    let ny_root = app
        .company_user("nyroot@company.example", "company_system_administrator", Some(&ny))
        .await;
    let (firm_a, fa) = app.firm("Alpha LLP", "admin@alpha.example").await;
    let (firm_b, _) = app.firm("Beta LLP", "admin@beta.example").await;
    let fa_token = app.password_for(&fa, "admin@alpha.example").await;
    let a_user = app.firm_user("a@alpha.example", "firm_user", &firm_a).await;
    let b_user = app.firm_user("b@beta.example", "firm_user", &firm_b).await;
    let (plain, plain_token) = app.signed_in_company_user("plain@company.example").await;

    // Office administrator: their office only, never a system administrator, never themselves.
    assert_eq!(deactivate(&app, &oa_token, &ldn_user).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/users/{ldn_user}/deactivation-check"), &oa_token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(deactivate(&app, &oa_token, &ny_root).await.status, StatusCode::FORBIDDEN);
    let r = deactivate(&app, &oa_token, &oa).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "cannot_deactivate_self"),
        "{}",
        r.body
    );
    assert_eq!(deactivate(&app, &oa_token, &ny_user).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &oa_token, &ny_user).await.status, StatusCode::OK);

    // Firm administrator: their firm only (404 outside), never themselves.
    for outside in [&b_user, &ny_user, &plain] {
        assert_eq!(
            deactivate(&app, &fa_token, outside).await.status,
            StatusCode::NOT_FOUND,
            "{outside}"
        );
    }
    let r = deactivate(&app, &fa_token, &fa).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "cannot_deactivate_self"),
        "{}",
        r.body
    );
    assert_eq!(deactivate(&app, &fa_token, &a_user).await.status, StatusCode::OK);
    // Outside its scope it cannot reactivate either.
    assert_eq!(deactivate(&app, &app.admin, &b_user).await.status, StatusCode::OK);
    assert_eq!(reactivate(&app, &fa_token, &b_user).await.status, StatusCode::NOT_FOUND);
    assert!(!is_active(&app, &b_user).await);

    // A user without administration deactivates nobody, themselves included.
    assert_eq!(deactivate(&app, &plain_token, &ny_user).await.status, StatusCode::NOT_FOUND);
    assert_eq!(deactivate(&app, &plain_token, &plain).await.status, StatusCode::FORBIDDEN);
    for id in [&ldn_user, &ny_root, &oa, &fa, &ny_user, &plain, &app.admin_id] {
        assert!(is_active(&app, id).await, "{id}");
    }
    // The company system administrator reaches everyone (D8).
    assert_eq!(deactivate(&app, &app.admin, &ldn_user).await.status, StatusCode::OK);
    assert_eq!(deactivate(&app, &app.admin, &ny_root).await.status, StatusCode::OK);
}
