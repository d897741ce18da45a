//! Issue 11: revocation that holds under races, links that reach only the
//! right person, sessions that end (S8–S11), and the hygiene around them.
//! Races are made deterministic with the test-build pause points of
//! `app::hooks`; a randomized version runs as well, on SQLite and (in the
//! PostgreSQL pass) on PostgreSQL.

use crate::helpers::*;
use crate::onboarding::{app_with_sink, settle, to, token_in};
use app::hooks::Point;
use reqwest::StatusCode;
use serde_json::{json, Value};

const MIN: i64 = 60_000;

async fn sessions_of(app: &TestApp, id: &str) -> i64 {
    let mut tx = app_of(app).db.read().await.unwrap();
    tx.count_user_sessions(&domain::UserId::from(id)).await.unwrap()
}

async fn user(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/users/{id}"), &app.admin).await.body
}

async fn failure_reasons(app: &TestApp, id: &str) -> Vec<String> {
    app.audit(&format!("target_id={id}&action=user.sign_in_failed"))
        .await
        .iter()
        .map(|e| e["after"]["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A company user with a password, and that password's session ended.
async fn person(app: &TestApp, email: &str) -> String {
    let id = app.company_user(email, "company_user", None).await;
    let token = app.password_for(&id, email).await;
    app.delete("/api/v1/sessions/current", &token).await;
    id
}

/// S9: a deactivation that commits while sign-in checks the password is
/// not undone, and the sign-in leaves no session.
#[tokio::test]
async fn s9_a_deactivation_during_the_password_check_wins() {
    let app = spawn_app().await;
    let id = person(&app, "racer@company.example").await;
    let mut paused = app_of(&app).hooks.arm(Point::SignInVerified);
    let sign_in = app.try_sign_in("racer@company.example", PASSWORD);
    let admin = async {
        paused.reached().await;
        let r = app
            .patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": false}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        paused.release();
    };
    let (r, ()) = tokio::join!(sign_in, admin);
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.code(), "invalid_credentials");
    assert_eq!(user(&app, &id).await["active"], false, "the deactivation stands");
    assert_eq!(sessions_of(&app, &id).await, 0, "no session was left");
    assert_eq!(failure_reasons(&app, &id).await, ["inactive"]);
}

/// S9: a reset (N5) and an email change during the password check refuse
/// the sign-in as S2 does; a role change during it is kept.
#[tokio::test]
async fn s9_changes_made_during_the_password_check_are_kept() {
    let app = spawn_app().await;
    let cases: [(&str, Value); 3] = [
        ("reset@company.example", Value::Null),
        ("moved@company.example", json!({"email": "moved.now@company.example"})),
        ("promoted@company.example", json!({"role": "company_matter_creator"})),
    ];
    for (email, patch) in cases {
        let id = person(&app, email).await;
        let mut paused = app_of(&app).hooks.arm(Point::SignInVerified);
        let sign_in = app.try_sign_in(email, PASSWORD);
        let admin = async {
            paused.reached().await;
            let r = if patch.is_null() {
                app.post(&format!("/api/v1/users/{id}/reset-password"), &app.admin, json!({})).await
            } else {
                app.patch(&format!("/api/v1/users/{id}"), &app.admin, patch.clone()).await
            };
            assert!(r.status.is_success(), "{email}: {}", r.body);
            paused.release();
        };
        let (r, ()) = tokio::join!(sign_in, admin);
        let after = user(&app, &id).await;
        match email {
            "reset@company.example" => {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
                assert_eq!(failure_reasons(&app, &id).await, ["password_changed"]);
                assert_eq!(sessions_of(&app, &id).await, 0);
                // The old password stays unusable.
                assert_eq!(app.try_sign_in(email, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
            }
            "moved@company.example" => {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
                assert_eq!(after["email"], "moved.now@company.example");
                assert_eq!(sessions_of(&app, &id).await, 0);
            }
            _ => {
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                assert_eq!(after["role"], "company_matter_creator", "the role change was not written back over");
                assert_eq!(r.body["user"]["role"], "company_matter_creator");
            }
        }
    }
}

/// S9, randomized: sign-ins and deactivations of the same user at random
/// offsets. Whatever the order, the user ends inactive with no working
/// session; both orders must have happened.
#[tokio::test]
async fn s9_randomized_sign_ins_racing_deactivations_never_leave_a_session() {
    use rand::Rng;
    // Up to 60 trials of three hashing requests each would pass the
    // per-address limits within a minute on a slow machine: each trial
    // comes from an address of its own.
    let mut app = spawn_app_with(|cfg| cfg.http.trusted_proxies = Some("127.0.0.1".into())).await;
    let (mut signed_in_first, mut refused) = (0, 0);
    // The deactivation waits 0..max_delay ms. A sign-in hashes a password,
    // so on a loaded machine it may outlast any short wait: while no
    // sign-in has come first, the range doubles every fourth trial.
    let mut max_delay = 60;
    for trial in 0..60 {
        if trial >= 16 && signed_in_first > 0 && refused > 0 {
            break;
        }
        if trial > 0 && trial % 4 == 0 && signed_in_first == 0 {
            max_delay = (max_delay * 2).min(4_000);
        }
        app.come_from(&format!("203.0.113.{}", trial + 1));
        let email = format!("race{trial}@company.example");
        let id = person(&app, &email).await;
        let delay = rand::thread_rng().gen_range(0..max_delay);
        let sign_in = app.try_sign_in(&email, PASSWORD);
        let admin = async {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            app.patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": false}))
                .await
        };
        let (s, d) = tokio::join!(sign_in, admin);
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
        match s.status {
            StatusCode::CREATED => {
                signed_in_first += 1;
                let token = s.body["token"].as_str().unwrap();
                assert_eq!(app.get("/api/v1/me", token).await.status, StatusCode::UNAUTHORIZED);
            }
            StatusCode::UNAUTHORIZED => refused += 1,
            other => panic!("sign-in answered {other}: {}", s.body),
        }
        assert_eq!(user(&app, &id).await["active"], false, "trial {trial}");
        assert_eq!(sessions_of(&app, &id).await, 0, "trial {trial}");
    }
    assert!(
        signed_in_first > 0 && refused > 0,
        "both orders: {signed_in_first} sign-ins first, {refused} refused"
    );
}

/// S11: eight parallel wrong passwords count eight, so the account locks
/// at five.
#[tokio::test]
async fn s11_parallel_wrong_passwords_each_count() {
    let app = spawn_app().await;
    let id = person(&app, "guessed@company.example").await;
    let attempts = (0..8).map(|_| app.try_sign_in("guessed@company.example", "Wrong-password-9"));
    let answers = futures::future::join_all(attempts).await;
    assert!(answers.iter().all(|r| r.status == StatusCode::UNAUTHORIZED));
    let locked = app.get("/api/v1/users?status=locked", &app.admin).await;
    assert_eq!(locked.body["total"], 1, "{}", locked.body);
    assert_eq!(locked.body["items"][0]["id"], id.as_str());
    let mut reasons = failure_reasons(&app, &id).await;
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "locked",
            "locked",
            "locked",
            "wrong_password",
            "wrong_password",
            "wrong_password",
            "wrong_password",
            "wrong_password_locked"
        ]
    );
    assert_eq!(app.audit(&format!("target_id={id}&action=user.locked")).await.len(), 1);
}

/// S10: correcting a mistyped address voids the link sent to it; the
/// corrected address gets the next one, which works.
#[tokio::test]
async fn s10_a_corrected_address_voids_the_link_sent_to_the_old_one() {
    let (app, sink) = app_with_sink().await;
    let id = app
        .create_user(json!({"email": "jane@acme.exmaple", "first_name": "Jane", "last_name": "Doe",
            "side": "company", "role": "company_user", "hold_new_user_email": false}))
        .await;
    settle(&app).await;
    let wrong = token_in(&app, &to(&sink, "jane@acme.exmaple")[0]);
    let r = app
        .patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"email": "jane@acme.example"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stolen = app.set_password(&wrong, PASSWORD).await;
    assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", stolen.body);
    assert_eq!(stolen.body["error"]["fields"][0]["code"], "link_superseded", "{}", stolen.body);
    assert_eq!(user(&app, &id).await["activated"], false);

    let r = app.post(&format!("/api/v1/users/{id}/new-user-email"), &app.admin, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    settle(&app).await;
    let right = token_in(&app, &to(&sink, "jane@acme.example")[0]);
    let r = app.set_password(&right, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(to(&sink, "jane@acme.exmaple").len(), 1, "nothing more went to the old address");
}

/// S10: a new user email still waiting in the outbox is cancelled and
/// queued again to the new address; a matter notice to the old one is
/// cancelled.
#[tokio::test]
async fn s10_queued_mail_follows_the_address_change() {
    let app = spawn_app().await;
    let id = app.company_user("typo@company.exmaple", "company_user", None).await;
    let uid = domain::UserId::from(id.as_str());
    let later = app_of(&app).now() + 3_600_000; // not due: the worker leaves it
    {
        let mut tx = app_of(&app).db.write().await.unwrap();
        tx.enqueue_mail(&store::OutboxPayload::NewUserEmail, Some(&uid), "typo@company.exmaple", later)
            .await
            .unwrap();
        let notice = store::OutboxPayload::MatterAdded(store::MatterAdded {
            matter_id: "m1".into(),
            matter_name: "Lease".into(),
            matter_number: "M-1".into(),
            role: "matter_reader".into(),
        });
        tx.enqueue_mail(&notice, Some(&uid), "typo@company.exmaple", later).await.unwrap();
        tx.set_new_user_email_status(&uid, domain::model::EmailStatus::Queued, app_of(&app).now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let r = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &app.admin,
            json!({"email": "fixed@company.example"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = {
        let mut tx = app_of(&app).db.read().await.unwrap();
        tx.mail_for_user(&uid, 10).await.unwrap()
    };
    let summary: Vec<(String, String, String)> = rows
        .iter()
        .map(|m| (m.kind.clone(), m.to_address.clone(), m.status.to_string()))
        .collect();
    let old: Vec<_> = summary.iter().filter(|(_, to, _)| to == "typo@company.exmaple").collect();
    assert_eq!(old.len(), 2, "{summary:?}");
    assert!(old.iter().all(|(_, _, status)| status == "cancelled"), "{summary:?}");
    let new: Vec<_> = summary.iter().filter(|(_, to, _)| to == "fixed@company.example").collect();
    assert_eq!(new.len(), 1, "{summary:?}");
    assert_eq!(new[0].0, "new_user_email");
    assert!(new[0].2 == "queued" || new[0].2 == "sending" || new[0].2 == "sent", "{summary:?}");
    let update = app.audit(&format!("target_id={id}&action=user.updated")).await;
    assert_eq!(update[0]["after"]["email_change"]["requeued"], "new_user_email", "{}", update[0]);
}

/// S11: a session ends after 30 idle minutes (the default), a request
/// restarts the idle time, the absolute lifetime ends it in any case, and
/// the sweep deletes what has ended.
/// S10 under a race with the mail worker. An email change writes the new
/// address (on PostgreSQL a key update, which locks the user even against
/// the foreign-key check of a new link) and then cancels the user's mail;
/// the worker claims that mail and then makes a link for the user. Each
/// would wait for the other: a deadlock, and one of them failed. Now the
/// worker holds the recipient before it writes anything, skipping one that
/// is locked: it leaves the message due, and the edit cancels it. On
/// SQLite the single writer orders the two instead, and the worker finds
/// the message cancelled.
#[tokio::test]
async fn s10_an_email_change_and_the_mail_worker_never_wait_for_each_other() {
    let app = spawn_app().await;
    let running = app_of(&app);
    let id = app.company_user("moving@company.example", "company_user", None).await;
    let user_id = domain::UserId::from(id.as_str());
    // Queued for later, so that only the worker below claims it.
    let later = running.now() + 3_600_000;
    let queued = {
        let mut tx = running.db.write().await.unwrap();
        let queued = tx
            .enqueue_mail(&store::OutboxPayload::NewUserEmail, Some(&user_id), "moving@company.example", later)
            .await
            .unwrap();
        tx.set_new_user_email_status(&user_id, domain::model::EmailStatus::Queued, later)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        queued
    };
    let mut config = mail::WorkerConfig::new(app.url.clone());
    config.clock = std::sync::Arc::new(move || later + 60_000);
    let outbox = app.dir.path().join("race-outbox");
    let transport = mail::Transport::files(&outbox, "Tracker <tracker@test.example>").unwrap();
    let worker = mail::Worker::new(running.db.clone(), transport, config, Default::default());

    let mut paused = running.hooks.arm(Point::EmailWritten);
    let path = format!("/api/v1/users/{id}");
    let edit = app.patch(&path, &app.admin, json!({"email": "moved@company.example"}));
    let race = async {
        paused.reached().await;
        let run = tokio::spawn(async move { worker.run_once().await });
        if app.database_url.is_some() {
            let held = tokio::time::timeout(std::time::Duration::from_secs(20), run)
                .await
                .expect("the worker waited for the user the edit holds")
                .unwrap()
                .unwrap();
            assert_eq!(held.handled(), 0, "the message waits for the edit: {held:?}");
            paused.release();
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert!(!run.is_finished(), "SQLite: the worker's transaction waits for the edit's");
            paused.release();
            run.await.unwrap().unwrap();
        }
    };
    let (r, ()) = tokio::join!(edit, race);
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["email"], "moved@company.example");
    settle(&app).await;
    let mut tx = running.db.read().await.unwrap();
    let old = tx.mail_message(queued).await.unwrap().unwrap();
    assert_eq!(old.status, store::MailStatus::Cancelled, "{old:?}");
    assert_eq!((old.attempts, old.sent_at), (0, None), "never attempted: {old:?}");
    let mail = tx.mail_for_user(&user_id, 10).await.unwrap();
    let resent: Vec<_> = mail.iter().filter(|m| m.id != queued).collect();
    assert_eq!(resent.len(), 1, "{mail:?}");
    assert_eq!(resent[0].to_address, "moved@company.example");
    assert_eq!(resent[0].status, store::MailStatus::Sent, "{mail:?}");
    let to_old = std::fs::read_dir(&outbox)
        .map(|d| {
            d.filter(|f| {
                std::fs::read_to_string(f.as_ref().unwrap().path())
                    .unwrap_or_default()
                    .contains("moving@company.example")
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(to_old, 0, "nothing went to the old address");
}

/// S10, randomized: email changes land at random moments while the mail
/// worker is sending those very users their new user email. Every change
/// succeeds (no deadlock answered as 503), the outbox settles with each
/// message sent or cancelled, and mail reaches only addresses the user had.
/// Rounds go on until a change was seen to meet its user's mail still
/// queued or in flight (it was cancelled and sent again to the new
/// address). Which of the two wins depends on the machine's load, so the
/// order itself is not required.
#[tokio::test]
async fn s10_randomized_email_changes_racing_the_mail_worker_all_succeed() {
    use rand::Rng;
    let (app, sink) = app_with_sink().await;
    // A slower server keeps claims open longer, so that changes meet them.
    sink.set_data_delay(std::time::Duration::from_millis(20));
    let mut users = Vec::new();
    let mut met = 0;
    for round in 0..12 {
        if round >= 3 && met > 0 {
            break;
        }
        let mut changes = Vec::new();
        let mut these = Vec::new();
        for i in 0..8 {
            let old = format!("r{round}u{i}@company.example");
            let new = format!("r{round}u{i}-moved@company.example");
            let id = app
                .create_user(json!({"email": old, "first_name": "Race", "last_name": "Mover", "side": "company",
                    "role": "company_user", "hold_new_user_email": false}))
                .await;
            let delay = rand::thread_rng().gen_range(0..8);
            let (client, url, token) = (app.client.clone(), format!("{}/api/v1/users/{id}", app.url), app.admin.clone());
            let body = json!({"email": new});
            changes.push(tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                send(client, url, reqwest::Method::PATCH, Some(token), Some(body)).await
            }));
            these.push((id, old, new));
        }
        for change in changes {
            let r = change.await.unwrap();
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        settle(&app).await;
        let mut tx = app_of(&app).db.read().await.unwrap();
        for (id, _, _) in &these {
            met += usize::from(tx.mail_for_user(&domain::UserId::from(id.as_str()), 10).await.unwrap().len() > 1);
        }
        drop(tx);
        users.extend(these);
    }
    assert!(met > 0, "no change met its user's mail queued or in flight");
    let mut sent = 0;
    let mut tx = app_of(&app).db.read().await.unwrap();
    for (id, _, new) in &users {
        let mail = tx.mail_for_user(&domain::UserId::from(id.as_str()), 10).await.unwrap();
        assert!(!mail.is_empty(), "{id}");
        for m in &mail {
            assert!(matches!(m.status, store::MailStatus::Sent | store::MailStatus::Cancelled), "{m:?}");
            sent += usize::from(m.status == store::MailStatus::Sent);
        }
        assert_eq!(user(&app, id).await["email"], new.as_str());
        assert!(
            !to(&sink, new).is_empty() || mail.iter().all(|m| m.to_address != *new),
            "{id}: {mail:?}"
        );
    }
    let received = sink.messages();
    assert_eq!(received.len(), sent, "one message per row recorded as sent");
    for r in &received {
        assert!(
            users
                .iter()
                .any(|(_, old, new)| r.rcpt_to == [old.clone()] || r.rcpt_to == [new.clone()]),
            "{:?}",
            r.rcpt_to
        );
    }
}

#[tokio::test]
async fn s11_sessions_end_when_idle_and_at_their_lifetime_and_are_swept() {
    let app = spawn_app().await;
    let id = app.company_user("idle@company.example", "company_user", None).await;
    let token = app.password_for(&id, "idle@company.example").await;
    app.advance_clock(31 * MIN).await;
    assert_eq!(
        app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED,
        "idle for 31 minutes"
    );

    let admin = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    let r = app
        .patch("/api/v1/settings", &admin, json!({"sessions": {"lifetime_hours": 1}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sessions"], json!({"idle_minutes": 30, "lifetime_hours": 1}));
    let busy = app.sign_in("idle@company.example", PASSWORD).await;
    for _ in 0..2 {
        app.advance_clock(25 * MIN).await;
        assert_eq!(app.get("/api/v1/me", &busy).await.status, StatusCode::OK, "used every 25 minutes");
    }
    app.advance_clock(11 * MIN).await;
    assert_eq!(
        app.get("/api/v1/me", &busy).await.status,
        StatusCode::UNAUTHORIZED,
        "past its 1-hour lifetime"
    );

    assert!(sessions_of(&app, &id).await >= 2, "ended sessions are still stored until the sweep");
    let swept = app_of(&app).sweep_sessions().await.unwrap();
    assert!(swept >= 2, "{swept}");
    assert_eq!(sessions_of(&app, &id).await, 0);

    for bad in [
        json!({"sessions": {"idle_minutes": 1}}),
        json!({"sessions": {"lifetime_hours": 0}}),
        json!({"sessions": {"idle": 5}}),
    ] {
        let admin = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
        let r = app.patch("/api/v1/settings", &admin, bad.clone()).await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "{bad}: {}",
            r.body
        );
    }
}

/// S11: setting a password from a link ends every session of the user.
#[tokio::test]
async fn s11_setting_a_password_from_a_link_ends_every_session() {
    let app = spawn_app().await;
    let id = app.company_user("twice@company.example", "company_user", None).await;
    let old = app.password_for(&id, "twice@company.example").await;
    assert_eq!(app.get("/api/v1/me", &old).await.status, StatusCode::OK);
    let link = app.link_for(&id).await;
    let r = app.set_password(&link, "An0ther-Passw0rd!").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/me", &old).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sessions_of(&app, &id).await, 0);
}

/// S8: bidi overrides and invisible characters in names are refused with a
/// 422 naming the field, and nothing changes.
#[tokio::test]
async fn s8_names_with_bidi_or_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let before = app.user_count().await;
    for (field, value) in [
        ("first_name", "Ann\u{202E}eM"),
        ("last_name", "Lee\u{200B}"),
        ("first_name", "\u{2066}Bob"),
    ] {
        let mut body = json!({"email": "spoof@company.example", "first_name": "Ann", "last_name": "Lee",
            "side": "company", "role": "company_user", "hold_new_user_email": true});
        body[field] = json!(value);
        let r = app.post("/api/v1/users", &app.admin, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{value:?}: {}", r.body);
        assert_eq!(r.body["error"]["fields"][0]["field"], field, "{}", r.body);
        assert_eq!(r.body["error"]["fields"][0]["code"], "invalid_characters");
    }
    assert_eq!(app.user_count().await, before);
    let id = app.company_user("plain@company.example", "company_user", None).await;
    let r = app
        .patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"last_name": "Admin\u{200D}"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app.post("/api/v1/offices", &app.admin, json!({"name": "Paris\u{202E}"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// `serve --demo` loads its published administrator into an empty database
/// only.
#[tokio::test]
async fn demo_refuses_a_database_that_has_users() {
    let app = spawn_app().await;
    let cfg = tracker::config::ServeConfig {
        storage: tracker::config::Storage {
            data_dir: app.dir.path().to_path_buf(),
            database_url: app.database_url.clone(),
        },
        listen: "127.0.0.1:0".into(),
        public_url: None,
        smtp_url: None,
        mail_from: "Tracker <tracker@test.example>".into(),
        demo: true,
        test_clock: false,
        http: Default::default(),
        ops: Default::default(),
    };
    let err = tracker::start(&cfg)
        .await
        .err()
        .expect("--demo on a database with users is refused");
    assert!(format!("{err:#}").contains("empty database"), "{err:#}");
    let r = app.try_sign_in(app::demo::DEMO_EMAIL, app::demo::DEMO_PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no demo administrator was added");
}

/// The SQLite file and the `.eml` files (which hold live links) are
/// readable by the service's own user only.
#[cfg(unix)]
#[tokio::test]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    app.create_user(json!({"email": "mailed@company.example", "first_name": "Mai", "last_name": "Led",
        "side": "company", "role": "company_user", "hold_new_user_email": false}))
        .await;
    settle(&app).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let outbox = app.dir.path().join("outbox");
    assert_eq!(mode(&outbox), 0o700);
    let emls: Vec<_> = std::fs::read_dir(&outbox).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!emls.is_empty());
    for f in emls {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    if app.database_url.is_none() {
        assert_eq!(mode(&app.dir.path().join("tracker.db")), 0o600);
    }
}

/// Id lists in requests are bounded before any work is done.
#[tokio::test]
async fn id_lists_are_bounded() {
    let app = spawn_app().await;
    let lead = app.company_user("lead@company.example", "company_user", None).await;
    let ids: Vec<String> = (0..1001).map(|i| format!("m{i}")).collect();
    let r = app
        .post(
            "/api/v1/bulk-update/lead-company-person",
            &app.admin,
            json!({"from_user_id": lead, "to_user_id": app.admin_id, "matter_ids": ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["fields"][0]["code"], "too_many", "{}", r.body);
    let many: Vec<String> = (0..50).map(|i| format!("u{i}")).collect();
    let r = app.put("/api/v1/me/delegates", &app.admin, json!({"delegate_ids": many})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["fields"][0]["code"], "too_many_delegates", "{}", r.body);
}
