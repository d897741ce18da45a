//! O2 at scale: offboarding the lead company person of 10,000 open matters
//! (issue 15's target: < 2 s), one default successor taking everything.
//!
//! `cargo bench -p tracker --bench offboard` on a fresh SQLite file; with
//! `TRACKER_TEST_DATABASE_URL` (as `scripts/with-postgres.sh` exports) on a
//! fresh PostgreSQL database. `BENCH_MATTERS` (default 10000).
//!
//! Set-up (not measured) writes the matters and the lead's participations
//! through the store. The measured call is `App::offboard`, exactly what
//! `POST /api/v1/users/{id}/offboard` runs: the plan, every successor
//! checked, the matters moved set-based, one audit entry per matter, the
//! deactivation and one digest, in one transaction.

use app::offboarding::OffboardInput;
use app::{App, AppConfig, Ctx, SystemClock};
use domain::model::{EmailStatus, Matter, NewUserEmail, Participant, User};
use domain::{EntityName, MatterId, MatterRole, Role, Side, UserId};
use std::sync::Arc;
use std::time::Instant;

fn person(name: &str, now: i64) -> User {
    User {
        id: UserId::generate(),
        email: domain::Email::parse(&format!("{name}@company.example")).unwrap(),
        first_name: domain::PersonName::parse("first_name", "Bench").unwrap(),
        last_name: domain::PersonName::parse("last_name", name).unwrap(),
        side: Side::Company,
        firm_id: None,
        office_id: None,
        role: Role::CompanyUser,
        active: true,
        activated_at: Some(now),
        last_sign_in_at: None,
        created_at: now,
        updated_at: now,
        deactivated_at: None,
        new_user_email: NewUserEmail {
            status: EmailStatus::Sent,
            sent_at: Some(now),
            send_count: 1,
            last_change_at: Some(now),
        },
        locked_until: None,
        lock_reason: None,
    }
}

#[tokio::main]
async fn main() {
    let matters: usize = std::env::var("BENCH_MATTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let (url, dialect) = match std::env::var("TRACKER_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) {
        Some(server) => (
            store::Db::create_postgres_database(&server, &format!("bench_offboard_{}", std::process::id()))
                .await
                .expect("a PostgreSQL database"),
            "PostgreSQL",
        ),
        None => (format!("sqlite://{}/tracker.db", dir.path().display()), "SQLite"),
    };
    println!("offboard benchmark (O2): lead of {matters} open matters, {dialect}");
    let db = tracker::open_db(&url).await.expect("database");
    let app = App::new(db.clone(), Arc::new(SystemClock), AppConfig::default());
    let admin = app
        .create_admin("root@company.example", "Root", "Admin", Some("Str0ng-Passw0rd!".into()))
        .await
        .expect("admin");
    let now = app.now();
    let leaving = person("leaving", now);
    let successor = person("successor", now);
    let mut tx = db.write().await.unwrap();
    tx.insert_users(&[leaving.clone(), successor.clone()]).await.unwrap();
    tx.commit().await.unwrap();
    let t = Instant::now();
    for chunk in (0..matters).collect::<Vec<_>>().chunks(2_000) {
        let mut tx = db.write().await.unwrap();
        for i in chunk {
            let m = Matter {
                id: MatterId::generate(),
                name: EntityName::parse("name", &format!("Matter {i}")).unwrap(),
                number: format!("B-{i:06}"),
                lead_company_person_id: leaving.id.clone(),
                open_for_editing: true,
                open_for_invoicing: true,
                created_at: now,
                updated_at: now,
            };
            tx.insert_matter(&m).await.unwrap();
            tx.upsert_participant(&Participant {
                matter_id: m.id.clone(),
                user_id: leaving.id.clone(),
                role: MatterRole::MatterAdministrator,
                receives_notifications: true,
                added_at: now,
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    db.analyze().await.unwrap();
    println!("set-up: {matters} matters in {:.1} s", t.elapsed().as_secs_f64());

    let ctx = Ctx::user(&admin.user, None);
    let t = Instant::now();
    let done = app
        .offboard(
            &ctx,
            &leaving.id,
            OffboardInput {
                default_successor_id: Some(successor.id.to_string()),
                ..OffboardInput::default()
            },
        )
        .await
        .expect("offboard");
    let took = t.elapsed();
    assert_eq!(done.reassigned, matters, "every matter handed over");
    assert!(!done.user.active);
    println!(
        "offboard: {} responsibilities handed over and the user deactivated in {:.3} s (target < 2 s): {}",
        done.reassigned,
        took.as_secs_f64(),
        if took.as_secs_f64() < 2.0 { "ok" } else { "TOO SLOW" }
    );
    db.close().await;
}
