//! D7: a never-activated account made in error is purged or re-purposed.

use super::*;

/// `tracker users purge EMAIL` against the test's database, while the
/// server keeps running (and writing) beside it.
async fn purge(app: &TestApp, email: &str) -> std::process::Output {
    app.cli(&["users", "purge", email]).await
}

#[tokio::test]
async fn purge_removes_only_never_activated_accounts_that_nothing_refers_to() {
    let app = spawn_app().await;
    let mistake = app.company_user("mistake@company.example", "company_user", None).await;
    let activated = app.company_user("real@company.example", "company_user", None).await;
    app.password_for(&activated, "real@company.example").await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let invited = app.company_user("invited@company.example", "company_user", None).await;
    let m = app.matter("PURGE-1", &lead).await;
    app.add_participant(&m, &invited, "matter_reader", true).await;
    let before = app.user_count().await;

    let out = purge(&app, "MISTAKE@company.example").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout} stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("mistake@company.example"), "{stdout}");
    assert_eq!(app.user_count().await, before - 1);
    assert_eq!(
        app.get(&format!("/api/v1/users/{mistake}"), &app.admin).await.status,
        StatusCode::NOT_FOUND
    );
    let entries = app.audit("action=user.purged").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0]["target_id"].as_str(), entries[0]["before"]["email"].as_str()),
        (Some(mistake.as_str()), Some("mistake@company.example"))
    );
    // Its earlier history stays (D1).
    assert!(!app.audit(&format!("target_id={mistake}&action=user.created")).await.is_empty());
    // The address is free again.
    app.company_user("mistake@company.example", "company_user", None).await;

    for (email, why) in [
        ("real@company.example", "activated"),
        ("invited@company.example", "matter participant"),
        ("lead@company.example", "lead company person"),
        ("nobody@company.example", "not found"),
    ] {
        let out = purge(&app, email).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{email} must not be purged");
        assert!(stderr.contains(email) && stderr.contains(why), "{email}: {stderr}");
    }
    assert_eq!(app.user_count().await, before);
    assert_eq!(app.audit("action=user.purged").await.len(), 1);
}

#[tokio::test]
async fn a_never_activated_account_is_repurposed_by_editing_but_an_activated_one_loses_its_password_and_sessions() {
    let app = spawn_app().await;
    let wrong = app.company_user("jon.smyth@company.example", "company_user", None).await;
    let r = app
        .patch(
            &format!("/api/v1/users/{wrong}"),
            &app.admin,
            json!({"email": "jane.smith@company.example", "first_name": "Jane", "last_name": "Smith"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["email"].as_str(),
            r.body["first_name"].as_str(),
            r.body["last_name"].as_str()
        ),
        (Some("jane.smith@company.example"), Some("Jane"), Some("Smith"))
    );
    assert_eq!(
        (r.body["activated"].as_bool(), r.body["active"].as_bool()),
        (Some(false), Some(true))
    );
    // The old address is free; the re-purposed account can be activated.
    app.company_user("jon.smyth@company.example", "company_user", None).await;
    app.password_for(&wrong, "jane.smith@company.example").await;

    let (u, token) = app.signed_in_company_user("old@company.example").await;
    let r = app
        .patch(&format!("/api/v1/users/{u}"), &app.admin, json!({"email": "new@company.example"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    for email in ["old@company.example", "new@company.example"] {
        let r = app.try_sign_in(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{email}: the old password is unusable");
    }
    let running = app.running.as_ref().unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    let mail = tx.mail_for_user(&domain::UserId::from(u.as_str()), 10).await.unwrap();
    drop(tx);
    assert!(
        mail.iter().any(|m| m.kind == "password_reset"
            && ["queued", "sending", "sent"].contains(&m.status.as_str())
            && m.to_address == "new@company.example"),
        "a fresh link goes to the new address: {mail:?}"
    );
    // Changing only the case of the address is no change of address.
    let (v, v_token) = app.signed_in_company_user("case@company.example").await;
    assert_eq!(
        app.patch(&format!("/api/v1/users/{v}"), &app.admin, json!({"email": "Case@Company.example"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(app.get("/api/v1/me", &v_token).await.status, StatusCode::OK);
}
