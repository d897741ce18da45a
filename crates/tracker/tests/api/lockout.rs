//! S2–S4: password policy, lockouts, inactivity, unlock and rate limits,
//! with the server's test clock instead of sleeping.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

async fn attempt(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let r = app.try_sign_in(email, password).await;
    (r.status, r.body)
}

async fn user_with_password(app: &TestApp, email: &str) -> String {
    let id = app.company_user(email, "company_user", None).await;
    app.password_for(&id, email).await;
    id
}

#[tokio::test]
async fn five_failures_lock_the_account_with_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    let id = user_with_password(&app, "lock@company.example").await;
    let (_, wrong_body) = attempt(&app, "lock@company.example", "Wrong-password-1").await;
    for _ in 0..4 {
        let (status, body) = attempt(&app, "lock@company.example", "Wrong-password-1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, wrong_body);
    }
    // Locked now: the right password gets exactly the wrong-password answer.
    let (status, body) = attempt(&app, "lock@company.example", PASSWORD).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &wrong_body));
    let locked = app.get("/api/v1/users?status=locked", &app.admin).await;
    assert_eq!(locked.body["total"], 1);
    assert_eq!(locked.body["items"][0]["lock_reason"], "failed_sign_ins");
    assert!(locked.body["items"][0]["locked_until"].is_string());
    let reasons: Vec<String> = app
        .audit(&format!("target_id={id}&action=user.sign_in_failed"))
        .await
        .iter()
        .map(|e| e["after"]["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons[0], "locked");
    assert_eq!(reasons[1], "wrong_password_locked");
    assert_eq!(app.audit(&format!("target_id={id}&action=user.locked")).await.len(), 1);

    // The lock expires by itself (default 30 minutes).
    app.advance_clock(29 * MIN).await;
    assert_eq!(attempt(&app, "lock@company.example", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    app.advance_clock(2 * MIN).await;
    assert_eq!(attempt(&app, "lock@company.example", PASSWORD).await.0, StatusCode::CREATED);
    // The administrator's own session has been idle past 30 minutes (S11).
    assert_eq!(app.get("/api/v1/me", &app.admin).await.status, StatusCode::UNAUTHORIZED);
    let admin = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(app.get("/api/v1/users?status=locked", &admin).await.body["total"], 0);
}

/// S4 and migration 0011: the minute sweep clears locks that have run
/// out, and only their two fields; a lock still running, and an
/// inactivity lock (until an administrator unlocks it), stay. The
/// locked-out list answers the same before and after.
#[tokio::test]
async fn the_sweep_clears_only_locks_that_have_run_out() {
    let app = spawn_app().await;
    let expired = user_with_password(&app, "expired@company.example").await;
    let running = user_with_password(&app, "running@company.example").await;
    for _ in 0..5 {
        attempt(&app, "expired@company.example", "Wrong-password-1").await;
    }
    app.advance_clock(20 * MIN).await;
    for _ in 0..5 {
        attempt(&app, "running@company.example", "Wrong-password-1").await;
    }
    app.advance_clock(15 * MIN).await; // the first lock (30 minutes) is over, the second is not
    let admin = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    let listed = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = app.get("/api/v1/users?status=locked", &admin).await.body;
    assert_eq!(listed(&before), ["running@company.example"]);
    assert_eq!(before["total"], 1);
    let stored = |id: &str| {
        let db = app_of(&app).db.clone();
        let id = domain::UserId::from(id);
        async move { db.read().await.unwrap().user(&id).await.unwrap().unwrap() }
    };
    assert!(
        stored(&expired).await.locked_until.is_some(),
        "an expired lock stays on record until the sweep"
    );
    let updated = stored(&expired).await.updated_at;

    assert_eq!(app_of(&app).clear_expired_locks().await.unwrap(), 1);
    let cleared = stored(&expired).await;
    assert_eq!((cleared.locked_until, cleared.lock_reason), (None, None));
    assert_eq!(cleared.updated_at, updated);
    let kept = stored(&running).await;
    assert!(kept.locked_until.is_some() && kept.lock_reason.is_some());
    let after = app.get("/api/v1/users?status=locked", &admin).await.body;
    assert_eq!(listed(&after), ["running@company.example"]);
    assert_eq!(after["total"], 1);
    assert_eq!(app_of(&app).clear_expired_locks().await.unwrap(), 0, "nothing left to clear");
    assert_eq!(attempt(&app, "expired@company.example", PASSWORD).await.0, StatusCode::CREATED);
    assert_eq!(attempt(&app, "running@company.example", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failures_spread_beyond_the_window_do_not_lock() {
    let app = spawn_app().await;
    user_with_password(&app, "slow@company.example").await;
    for _ in 0..6 {
        attempt(&app, "slow@company.example", "Wrong-password-1").await;
        app.advance_clock(16 * MIN).await;
    }
    assert_eq!(attempt(&app, "slow@company.example", PASSWORD).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn an_administrator_unlocks_and_the_setting_changes_the_threshold() {
    let app = spawn_app().await;
    let r = app
        .patch(
            "/api/v1/settings",
            &app.admin,
            json!({"lockout": {"max_failures": 2, "window_minutes": 15, "duration_minutes": 600, "inactivity_days": 90}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let id = user_with_password(&app, "unlock@company.example").await;
    attempt(&app, "unlock@company.example", "Wrong-password-1").await;
    attempt(&app, "unlock@company.example", "Wrong-password-1").await;
    assert_eq!(attempt(&app, "unlock@company.example", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let r = app.post(&format!("/api/v1/users/{id}/unlock"), &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["locked"], false);
    assert_eq!(attempt(&app, "unlock@company.example", PASSWORD).await.0, StatusCode::CREATED);
    assert_eq!(
        app.audit(&format!("target_id={id}&action=user.unlocked")).await[0]["actor"],
        ADMIN_EMAIL
    );
}

#[tokio::test]
async fn inactivity_locks_at_the_next_attempt_and_an_unlock_gives_72_hours() {
    let app = spawn_app().await;
    let id = user_with_password(&app, "idle@company.example").await;
    app.advance_clock(91 * DAY).await;
    let (status, _) = attempt(&app, "idle@company.example", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The first administrator is idle too: the operator makes a new one.
    let admin = app.fresh_admin("later@company.example").await;
    let locked = app.get("/api/v1/users?status=locked", &admin).await;
    assert_eq!(locked.body["total"], 1, "{}", locked.body);
    assert_eq!(locked.body["items"][0]["lock_reason"], "inactivity");
    // Stays locked until an administrator unlocks (no expiry by time).
    app.advance_clock(10 * DAY).await;
    assert_eq!(attempt(&app, "idle@company.example", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let admin = app.fresh_admin("later2@company.example").await;
    assert_eq!(
        app.post(&format!("/api/v1/users/{id}/unlock"), &admin, json!({})).await.status,
        StatusCode::OK
    );
    // The user must sign in within 72 hours or it locks again.
    app.advance_clock(73 * 3600 * 1000).await;
    assert_eq!(attempt(&app, "idle@company.example", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let admin = app.fresh_admin("later3@company.example").await;
    app.post(&format!("/api/v1/users/{id}/unlock"), &admin, json!({})).await;
    app.advance_clock(71 * 3600 * 1000).await;
    assert_eq!(attempt(&app, "idle@company.example", PASSWORD).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn unlock_is_scoped() {
    let app = spawn_app().await;
    let (firm_a, admin_a) = app.firm("Mu LLP", "admin@mu.example").await;
    let _ = firm_a;
    let token = app.password_for(&admin_a, "admin@mu.example").await;
    let company = app.company_user("c@company.example", "company_user", None).await;
    assert_eq!(
        app.post(&format!("/api/v1/users/{company}/unlock"), &token, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
}

/// S3: length and character classes, and no reuse of the last five.
#[tokio::test]
async fn the_password_policy_applies_and_recent_passwords_cannot_be_reused() {
    let app = spawn_app().await;
    let id = app.company_user("policy@company.example", "company_user", None).await;
    let link = || async {
        let token = app.link_for(&id).await;
        token
    };
    let set = |token: String, pw: &'static str| {
        let app = &app;
        async move { app.set_password(&token, pw).await }
    };
    let t = link().await;
    for (pw, code) in [
        ("Sh0rt!", "password_too_short"),
        ("alllowercaseletters", "password_too_simple"),
        ("ALLUPPERCASE1234", "password_too_simple"),
    ] {
        let r = set(t.clone(), pw).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, code), "{pw}");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("at least"));
    }
    assert_eq!(set(t, "First-Passw0rd!").await.status, StatusCode::OK);
    assert_eq!(set(link().await, "First-Passw0rd!").await.code(), "password_reused");
    for pw in ["Second-Passw0rd!", "Third-Passw0rd!", "Fourth-Passw0rd!", "Fifth-Passw0rd!"] {
        assert_eq!(set(link().await, pw).await.status, StatusCode::OK, "{pw}");
    }
    // Five remembered: the first is still refused; after a sixth it is allowed.
    assert_eq!(set(link().await, "First-Passw0rd!").await.code(), "password_reused");
    assert_eq!(set(link().await, "Sixth-Passw0rd!").await.status, StatusCode::OK);
    assert_eq!(set(link().await, "First-Passw0rd!").await.status, StatusCode::OK);
    // The policy settings change the rule; the floor is 8.
    app.patch(
        "/api/v1/settings",
        &app.admin,
        json!({"password_policy": {"min_length": 20, "min_classes": 4, "history": 5}}),
    )
    .await;
    assert_eq!(set(link().await, "Seventh-Passw0rd!").await.code(), "password_too_short");
}

#[tokio::test]
async fn sign_in_and_set_password_are_rate_limited_with_429() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attempt(&app, "target@company.example", "Wrong-password-1").await.0);
    }
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let r = app.try_sign_in("target@company.example", "x").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "too_many_attempts");
    assert_eq!(r.headers.get("retry-after").unwrap(), "60");
    // Another account from the same address still works (per-account limit).
    app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    let mut last = StatusCode::OK;
    for _ in 0..31 {
        last = app.set_password(&"x".repeat(43), PASSWORD).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}
