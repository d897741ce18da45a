//! O3: scheduled deactivations run at their time, are cancelled, run when
//! overdue at start-up, and refuse when a successor left before the date.

use super::*;

async fn schedule(app: &TestApp, id: &str, at_ms: i64, body: Value) -> Value {
    let mut body = body;
    body["effective_at"] = json!(rfc3339(at_ms));
    let r = app.post(&format!("/api/v1/users/{id}/offboard"), &app.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["active"], true);
    assert_eq!(r.body["scheduled"]["status"], "scheduled", "{}", r.body);
    r.body
}

#[tokio::test]
async fn o3_a_scheduled_deactivation_runs_at_its_time_and_a_cancelled_one_does_not() {
    let mut app = spawn_app().await;
    let leaving = app.company_user("soon@company.example", "company_user", None).await;
    let staying = app.company_user("stays@company.example", "company_user", None).await;
    let successor = app.company_user("next@company.example", "company_user", None).await;
    let m = app.matter("SC-1", &leaving).await;
    app.matter("SC-2", &staying).await;
    schedule(&app, &leaving, now_ms() + 2 * DAY_MS, json!({"default_successor_id": successor})).await;
    schedule(&app, &staying, now_ms() + 2 * DAY_MS, json!({"default_successor_id": successor})).await;
    let list = app.get("/api/v1/scheduled-deactivations", &app.admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["total"], 2, "{}", list.body);
    assert_eq!(plan(&app, &leaving).await["scheduled"]["status"], "scheduled");
    let r = app
        .delete(&format!("/api/v1/users/{staying}/scheduled-deactivation"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .delete(&format!("/api/v1/users/{staying}/scheduled-deactivation"), &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 1);
    // Not yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(user(&app, &leaving).await["active"], true);
    app.advance_clock(2 * DAY_MS + 1000).await;
    // Sessions of two days ago have ended (S11).
    app.admin = app.fresh_admin("later-admin@company.example").await;
    wait_until("the plan ran", || async { user(&app, &leaving).await["active"] == false }).await;
    let m = app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body;
    assert_eq!(m["lead_company_person_id"], successor.as_str());
    assert_eq!(user(&app, &staying).await["active"], true, "the cancelled plan did not run");
    assert_eq!(app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["total"], 0);
    // Exactly once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.audit("action=user.offboarded").await.len(), 1);
    assert_eq!(app.audit(&format!("action=user.deactivated&target_id={leaving}")).await.len(), 1);
}

#[tokio::test]
async fn o3_a_successor_deactivated_before_the_date_stops_the_plan_and_the_administrators_are_told() {
    let (mut app, sink) = app_with_sink().await;
    let leaving = app.company_user("later@company.example", "company_user", None).await;
    let successor = app.company_user("heir@company.example", "company_user", None).await;
    let m = app.matter("SF-1", &leaving).await;
    schedule(
        &app,
        &leaving,
        now_ms() + DAY_MS,
        json!({"successors": {"lead_company_person": successor}}),
    )
    .await;
    // The successor leaves first.
    let r = app
        .patch(&format!("/api/v1/users/{successor}"), &app.admin, json!({"active": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.advance_clock(DAY_MS + 1000).await;
    app.admin = app.fresh_admin("later-admin@company.example").await;
    wait_until("the plan was refused", || async {
        app.get("/api/v1/scheduled-deactivations", &app.admin).await.body["items"][0]["status"] == "failed"
    })
    .await;
    let list = app.get("/api/v1/scheduled-deactivations", &app.admin).await.body;
    assert!(list["items"][0]["failure"].as_str().unwrap().contains("deactivated"), "{list}");
    assert_eq!(user(&app, &leaving).await["active"], true, "nothing was deactivated");
    let m = app.get(&format!("/api/v1/matters/{m}"), &app.admin).await.body;
    assert_eq!(m["lead_company_person_id"], leaving.as_str(), "nothing was handed over");
    assert_eq!(app.audit("action=user.deactivation_failed").await.len(), 1);
    settle(&app).await;
    let told = to(&sink, ADMIN_EMAIL);
    assert!(
        told.iter().any(|m| m.subject.contains("was not carried out")),
        "{:?}",
        told.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn o3_administrators_are_reminded_of_blocking_items_without_a_successor() {
    let (app, sink) = app_with_sink().await;
    let leaving = app.company_user("remind@company.example", "company_user", None).await;
    app.matter("RM-1", &leaving).await;
    // Five days ahead instead of the default three.
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"offboarding_reminder_days": 5}))
        .await;
    assert_eq!(
        (r.status, &r.body["offboarding_reminder_days"]),
        (StatusCode::OK, &json!(5)),
        "{}",
        r.body
    );
    let r = app
        .patch("/api/v1/settings", &app.admin, json!({"offboarding_reminder_days": 0}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
        "{}",
        r.body
    );
    schedule(&app, &leaving, now_ms() + 10 * DAY_MS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    settle(&app).await;
    assert!(to(&sink, ADMIN_EMAIL)
        .iter()
        .all(|m| !m.subject.contains("responsibilities without a successor")));
    // Six days on, the plan is four days away: within five, not three.
    app.advance_clock(6 * DAY_MS).await;
    wait_until("the reminder arrived", || async {
        settle(&app).await;
        to(&sink, ADMIN_EMAIL)
            .iter()
            .filter(|m| m.subject.contains("responsibilities without a successor"))
            .count()
            == 1
    })
    .await;
    let r = to(&sink, ADMIN_EMAIL)
        .into_iter()
        .find(|m| m.subject.contains("without a successor"))
        .unwrap();
    assert!(r.text.contains("RM-1"), "{}", r.text);
}

#[tokio::test]
async fn o3_an_overdue_plan_runs_when_the_server_starts() {
    let mut app = spawn_app().await;
    let leaving = app.company_user("overdue@company.example", "company_user", None).await;
    let successor = app.company_user("after@company.example", "company_user", None).await;
    app.matter("OD-1", &leaving).await;
    schedule(&app, &leaving, now_ms() + DAY_MS, json!({"default_successor_id": successor})).await;
    app.running.take().unwrap().shutdown().await.unwrap();
    // While no server runs, the date passes (by a day: no waiting).
    app.sql(&[&format!(
        "UPDATE scheduled_deactivations SET effective_at = effective_at - {} WHERE user_id = '{leaving}'",
        2 * DAY_MS
    )])
    .await
    .unwrap();
    let url = match &app.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}/tracker.db", app.dir.path().display()),
    };
    let again = spawn_app_with(|cfg| cfg.storage.database_url = Some(url)).await;
    wait_until("the overdue plan ran", || async { user(&again, &leaving).await["active"] == false }).await;
    assert_eq!(again.audit("action=user.offboarded").await.len(), 1);
}
