//! S1, S2, S5, S6: sign-in, sessions, cookies and CSRF.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn sign_in_gives_a_token_and_an_httponly_samesite_cookie() {
    let app = spawn_app().await;
    let r = app.try_sign_in(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(r.body["token"].as_str().unwrap().len(), 43);
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("tracker_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let me = app.get("/api/v1/me", r.body["token"].as_str().unwrap()).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["role"], "company_system_administrator");
}

#[tokio::test]
async fn every_failed_sign_in_answers_the_same_and_the_reason_is_audited() {
    let app = spawn_app().await;
    let user = app.company_user("inactive@company.example", "company_user", None).await;
    app.password_for(&user, "inactive@company.example").await;
    // Deactivated users answer exactly like wrong passwords (S2, D2).
    let r = app
        .patch(&format!("/api/v1/users/{user}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let attempts = [
        (ADMIN_EMAIL, "wrong password 1!"),
        ("nobody@company.example", PASSWORD),
        ("inactive@company.example", PASSWORD),
        ("", ""),
    ];
    let mut bodies = Vec::new();
    for (email, pw) in attempts {
        let r = app.try_sign_in(email, pw).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(r.headers.get("set-cookie").is_none());
        bodies.push(r.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(bodies[0]["error"]["code"], "invalid_credentials");

    let failures = app.audit("action=user.sign_in_failed").await;
    let reasons: Vec<&str> = failures.iter().map(|e| e["after"]["reason"].as_str().unwrap()).collect();
    assert!(
        reasons.contains(&"wrong_password") && reasons.contains(&"unknown_email") && reasons.contains(&"inactive"),
        "{reasons:?}"
    );
    let wrong = failures.iter().find(|e| e["after"]["reason"] == "wrong_password").unwrap();
    assert_eq!(wrong["target_id"], app.admin_id.as_str());
    assert_eq!(wrong["source_ip"], "127.0.0.1");
}

#[tokio::test]
async fn sign_out_ends_the_session_at_once() {
    let app = spawn_app().await;
    let token = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    assert_eq!(app.delete("/api/v1/sessions/current", &token).await.status, StatusCode::NO_CONTENT);
    let r = app.get("/api/v1/me", &token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "not_signed_in");
    // The other session of the same user is untouched.
    assert_eq!(app.get("/api/v1/me", &app.admin).await.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_are_401() {
    let app = spawn_app().await;
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    for bad in ["x", "not a token at all", &"A".repeat(43), &"é".repeat(43)] {
        let r = app.get("/api/v1/me", bad).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
    let r = app
        .client
        .get(format!("{}/api/v1/me", app.url))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app().await;
    let token = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    app.advance_clock(13 * 3600 * 1000).await;
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_for_changes() {
    let app = spawn_app().await;
    let jar_client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let r = jar_client
        .post(format!("{}/api/v1/sessions", app.url))
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    // Reads work with the cookie alone.
    let me = jar_client.get(format!("{}/api/v1/me", app.url)).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let office = json!({"name": "Paris"});
    let no_csrf = jar_client
        .post(format!("{}/api/v1/offices", app.url))
        .json(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let wrong = jar_client
        .post(format!("{}/api/v1/offices", app.url))
        .header("x-csrf-token", "0".repeat(32))
        .json(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let ok = jar_client
        .post(format!("{}/api/v1/offices", app.url))
        .header("x-csrf-token", csrf)
        .json(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes_and_tokens_only_as_sha256() {
    let app = spawn_app().await;
    let token = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    let running = app.running.as_ref().unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    let creds = tx.credentials(&domain::UserId::from(app.admin_id.as_str())).await.unwrap().unwrap();
    assert!(creds.password_hash.unwrap().starts_with("$argon2id$"));
    let now = running.app.now();
    drop(tx);
    let db = &running.app.db;
    assert!(db.session(&domain::secret::hash_token(&token), now).await.unwrap().is_some());
    assert!(db.session(&token, now).await.unwrap().is_none(), "the plain token is not a key");
    // On the embedded database, no byte of the file holds a plain secret.
    let file = app.dir.path().join("tracker.db");
    if file.exists() {
        let db = std::fs::read(&file).unwrap();
        let wal = std::fs::read(app.dir.path().join("tracker.db-wal")).unwrap_or_default();
        for bytes in [&db, &wal] {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(PASSWORD), "a plain password is stored");
            assert!(!text.contains(&token), "a plain session token is stored");
        }
    }
}

#[tokio::test]
async fn a_link_sets_the_password_once_and_activates_the_account() {
    let app = spawn_app().await;
    let id = app.company_user("new@company.example", "company_user", None).await;
    let before = app.get(&format!("/api/v1/users/{id}"), &app.admin).await;
    assert_eq!(before.body["activated"], false);
    let token = app.link_for(&id).await;

    let weak = app.set_password(&token, "short").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.code(), "password_too_short");
    let ok = app.set_password(&token, PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["activated"], true);
    let again = app.set_password(&token, PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.code(), "link_used");
    let unknown = app.set_password(&"x".repeat(43), PASSWORD).await;
    assert_eq!(unknown.code(), "link_invalid");
    app.sign_in("new@company.example", PASSWORD).await;
    let history = app.get(&format!("/api/v1/users/{id}/history"), &app.admin).await;
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user.activated") && actions.contains(&"user.signed_in") && actions.contains(&"user.created"),
        "{actions:?}"
    );
}
