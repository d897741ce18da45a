//! `tracker serve --demo`: a small company to explore, loaded once through
//! the same use cases a person would use.

use crate::firms::{NewFirm, NewFirmAdministrator};
use crate::matters::{MatterInput, NewParticipant};
use crate::offices::OfficeInput;
use crate::routes::{LevelInput, RouteInput};
use crate::settings::SettingsPatch;
use crate::users::{NewUser, UserPatch};
use crate::{App, AppResult, Ctx};
use domain::model::User;

pub const DEMO_EMAIL: &str = "admin@demo.example";
pub const DEMO_PASSWORD: &str = "Demo-Password-2026";

/// Loads the demo company into an empty database, or finds it there
/// already (a second `serve --demo` on the demo's own data). Returns whether
/// it loaded anything. Any other database with users is refused: the demo
/// administrator's password is published, and must never become a way into
/// real data.
pub async fn load(app: &App) -> AppResult<bool> {
    {
        let mut tx = app.db.read().await?;
        if tx.user_by_email(DEMO_EMAIL).await?.is_some() {
            return Ok(false);
        }
        let users = tx.count_users().await?;
        if users > 0 {
            return Err(crate::AppError::conflict(
                "database_not_empty",
                format!(
                    "--demo loads a demo company with a published password into an empty database only; this one has {users} user(s). Start without --demo, or point TRACKER_DATA_DIR / TRACKER_DATABASE_URL at an empty place"
                ),
            ));
        }
    }
    let admin = app
        .create_admin(DEMO_EMAIL, "Dana", "Admin", Some(DEMO_PASSWORD.into()))
        .await?
        .user;
    let ctx = Ctx::user(&admin, None);
    app.update_settings(
        &ctx,
        SettingsPatch {
            company_name: Some("Acme Legal Department".into()),
            ..Default::default()
        },
    )
    .await?;

    let mut offices = Vec::new();
    for name in ["New York", "London", "Singapore"] {
        offices.push(
            app.create_office(
                &ctx,
                OfficeInput {
                    name: Some(name.into()),
                    ..Default::default()
                },
            )
            .await?,
        );
    }
    let user = |email: &str, first: &str, last: &str, role: &str, office: usize, hold: bool| NewUser {
        email: email.into(),
        first_name: first.into(),
        last_name: last.into(),
        side: Some("company".into()),
        firm_id: None,
        office_id: Some(offices[office].id.to_string()),
        role: role.into(),
        hold_new_user_email: hold,
    };
    let mut company: Vec<User> = Vec::new();
    let people = [
        ("olivia.office@demo.example", "Olivia", "Office", "company_office_administrator", 0),
        ("mark.matters@demo.example", "Mark", "Matters", "company_matter_creator", 0),
        ("lena.lead@demo.example", "Lena", "Lead", "company_user", 0),
        ("carl.coordinator@demo.example", "Carl", "Coordinator", "company_user", 1),
        ("bea.backup@demo.example", "Bea", "Backup", "company_user", 1),
        ("alex.approver@demo.example", "Alex", "Approver", "company_user", 2),
        ("ann.alternate@demo.example", "Ann", "Alternate", "company_user", 2),
        ("dan.delegate@demo.example", "Dan", "Delegate", "company_user", 0),
        ("free.person@demo.example", "Frank", "Free", "company_user", 1),
        ("o'brien@demo.example", "Siobhan", "O'Brien", "company_user", 2),
    ];
    for (i, (email, first, last, role, office)) in people.iter().enumerate() {
        company.push(
            app.create_user(&ctx, user(email, first, last, role, *office, i % 2 == 0))
                .await?
                .user,
        );
    }
    for i in 0..12 {
        let u = app
            .create_user(
                &ctx,
                user(
                    &format!("held.user{i:02}@demo.example"),
                    &format!("Held{i:02}"),
                    "Pending",
                    "company_user",
                    i % 3,
                    true,
                ),
            )
            .await?
            .user;
        company.push(u);
    }
    let (lena, carl, bea, alex, ann, dan) = (&company[2], &company[3], &company[4], &company[5], &company[6], &company[7]);

    app.update_settings(
        &ctx,
        SettingsPatch {
            tracker_coordinator_id: Some(Some(admin.id.to_string())),
            ..Default::default()
        },
    )
    .await?;
    app.update_office(
        &ctx,
        &offices[1].id,
        OfficeInput {
            coordinator_id: Some(Some(carl.id.to_string())),
            backup_coordinator_id: Some(Some(bea.id.to_string())),
            ..Default::default()
        },
    )
    .await?;
    app.update_office(
        &ctx,
        &offices[2].id,
        OfficeInput {
            active: Some(false),
            ..Default::default()
        },
    )
    .await?;
    app.create_route(
        &ctx,
        RouteInput {
            name: Some("Standard invoices".into()),
            active: Some(true),
            levels: Some(vec![LevelInput {
                primary_approver_id: alex.id.to_string(),
                alternate_approver_id: Some(ann.id.to_string()),
                delegate_ids: vec![dan.id.to_string()],
            }]),
        },
    )
    .await?;

    let mut firm_users = Vec::new();
    for (firm, domain, admin_first, admin_last) in [
        ("Baker & Partners LLP", "baker.example", "Bob", "Baker"),
        ("Cole Law Group", "cole.example", "Cora", "Cole"),
    ] {
        let (firm, firm_admin) = app
            .create_firm(
                &ctx,
                NewFirm {
                    name: firm.into(),
                    administrator: NewFirmAdministrator {
                        email: format!("admin@{domain}"),
                        first_name: admin_first.into(),
                        last_name: admin_last.into(),
                        hold_new_user_email: true,
                    },
                },
            )
            .await?;
        firm_users.push(firm_admin.user);
        for (j, (first, last)) in [("Jane", "Lawyer"), ("Paul", "Paralegal"), ("Rita", "Reader")].iter().enumerate() {
            let u = app
                .create_user(
                    &ctx,
                    NewUser {
                        email: format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase()),
                        first_name: (*first).into(),
                        last_name: (*last).into(),
                        side: Some("firm".into()),
                        firm_id: Some(firm.id.to_string()),
                        office_id: None,
                        role: "firm_user".into(),
                        hold_new_user_email: j != 0,
                    },
                )
                .await?
                .user;
            firm_users.push(u);
        }
    }

    let mut matters = Vec::new();
    for (i, (name, open_edit, open_inv)) in [
        ("Acme v. Widgets Inc.", true, true),
        ("Patent portfolio review", true, false),
        ("Lease renewal, London", false, true),
        ("Closed merger 2024", false, false),
    ]
    .iter()
    .enumerate()
    {
        let m = app
            .create_matter(
                &ctx,
                MatterInput {
                    name: Some((*name).into()),
                    number: Some(format!("M-2026-{:03}", i + 1)),
                    lead_company_person_id: Some(lena.id.to_string()),
                    open_for_editing: Some(*open_edit),
                    open_for_invoicing: Some(*open_inv),
                },
            )
            .await?;
        matters.push(m);
    }
    // Jane Lawyer of the first firm is its only lawyer on the first matter (D4).
    let participants = [
        (&matters[0], &firm_users[1], "matter_editor", true),
        (&matters[1], &firm_users[5], "billing_only", true),
        (&matters[1], &firm_users[6], "matter_reader", false),
        (&matters[0], &company[8], "report_only", true),
    ];
    for (matter, person, role, receives_notifications) in participants {
        app.add_participant(
            &ctx,
            &matter.id,
            NewParticipant {
                user_id: person.id.to_string(),
                role: role.into(),
                receives_notifications,
            },
        )
        .await?;
    }
    let lena_ctx = Ctx::user(lena, None);
    app.set_my_delegates(&lena_ctx, vec![dan.id.to_string()]).await?;

    // A former colleague, deactivated, still listed on a matter (D2).
    let gone = app
        .create_user(&ctx, user("gone.person@demo.example", "Greta", "Gone", "company_user", 0, true))
        .await?
        .user;
    app.add_participant(
        &ctx,
        &matters[2].id,
        NewParticipant {
            user_id: gone.id.to_string(),
            role: "matter_reader".into(),
            receives_notifications: true,
        },
    )
    .await?;
    app.update_user(
        &ctx,
        &gone.id,
        UserPatch {
            active: Some(false),
            ..Default::default()
        },
    )
    .await?;
    Ok(true)
}
