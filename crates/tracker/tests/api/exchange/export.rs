//! A2: the CSV exports of the user list and the audit log.

use super::*;

#[tokio::test]
async fn csv_users_export_round_trips_quotes_commas_non_ascii_and_defuses_formulas() {
    let app = spawn_app().await;
    let office = app.office("Zürich, \"HQ\"").await;
    let tricky = [
        ("quote@company.example", "Bob \"The Builder\"", "O'Brien, Jr."),
        ("utf@company.example", "Zoë Ñandú", "李 小龍"),
        ("formula@company.example", "=HYPERLINK(\"http://x\")", "+1 Minus"),
        ("at@company.example", "@SUM(A1)", "-Dash"),
    ];
    for (email, first, last) in tricky {
        app.create_user(json!({"email": email, "first_name": first, "last_name": last, "side": "company",
            "role": "company_user", "office_id": office, "hold_new_user_email": true}))
            .await;
    }
    let c = get_csv(&app, "/api/v1/users.csv?sort=email", &app.admin).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert!(c.content_type.starts_with("text/csv"), "{}", c.content_type);
    assert!(c.text.contains("\r\n"), "RFC 4180 lines end with CRLF");
    let rows = records(&c.text);
    assert_cells(
        &rows,
        &[
            ("quote@company.example", "first_name", "Bob \"The Builder\""),
            ("quote@company.example", "last_name", "O'Brien, Jr."),
            ("quote@company.example", "office", "Zürich, \"HQ\""),
            ("utf@company.example", "first_name", "Zoë Ñandú"),
            ("utf@company.example", "last_name", "李 小龍"),
            ("formula@company.example", "first_name", "'=HYPERLINK(\"http://x\")"),
            ("formula@company.example", "last_name", "'+1 Minus"),
            ("at@company.example", "first_name", "'@SUM(A1)"),
            ("at@company.example", "last_name", "'-Dash"),
        ],
    );
    let email = column(&rows, "email");
    // The same rows as the JSON list, in its order.
    let json_list = app.get("/api/v1/users?sort=email&per_page=500", &app.admin).await;
    let emails: Vec<&str> = json_list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    let csv_emails: Vec<&str> = rows[1..].iter().map(|r| r[email].as_str()).collect();
    assert_eq!(csv_emails, emails);
}

#[tokio::test]
async fn csv_users_export_takes_every_selector_and_streams_past_a_page() {
    let app = spawn_app().await;
    app.office("Many").await;
    let (firm, _) = app.firm("Csv LLP", "admin@csv.example").await;
    // More than one chunk of the import (500 rows); the export's paging
    // is walked with small pages in the test below, and past its page of
    // 2,000 over HTTP in the several-chunk import test.
    let mut file = String::from("email,first_name,last_name,side,firm,office,role\r\n");
    for i in 0..520 {
        file.push_str(&format!("many{i:03}@company.example,Many,M{i:03},company,,Many,company_user\r\n"));
    }
    let r = import(&app, &app.admin, false, "text/csv", file).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let all = records(
        &get_csv(&app, "/api/v1/users.csv?org=company&sort=email&order=desc", &app.admin)
            .await
            .text,
    );
    let total = app.get("/api/v1/users?org=company&per_page=1", &app.admin).await.body["total"]
        .as_i64()
        .unwrap();
    assert_eq!(all.len() as i64 - 1, total, "every row across pages, once");
    let email = column(&all, "email");
    let mut sorted: Vec<String> = all[1..].iter().map(|r| r[email].clone()).collect();
    sorted.sort();
    sorted.reverse();
    assert_eq!(all[1..].iter().map(|r| r[email].clone()).collect::<Vec<_>>(), sorted);
    let searched = records(&get_csv(&app, "/api/v1/users.csv?q=many01", &app.admin).await.text);
    assert_eq!(searched.len() - 1, 10, "{searched:?}");
    let firm_only = records(&get_csv(&app, &format!("/api/v1/users.csv?org=firm:{firm}"), &app.admin).await.text);
    assert_eq!(firm_only.len() - 1, 1);
    assert_eq!(firm_only[1][email], "admin@csv.example");
    // The same errors as GET /users.
    let bad = app.get("/api/v1/users.csv?sort=age", &app.admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(bad.body["error"]["code"], "invalid_query");
}

/// A2: the export reads the list page by page, each range of it (active,
/// inactive) on its own cursor, merged: in every sort and order, with
/// small pages, it gives the list's rows in the list's order, each once.
#[tokio::test]
async fn csv_users_export_pages_merge_active_and_inactive_in_list_order() {
    use store::{Org, SortKey, Status, UserExport, UserQuery};
    let app = spawn_app().await;
    app.office("Merge").await;
    let mut file = String::from(HEADER);
    for i in 0..60 {
        // Repeated names, so that ties fall to the id.
        file.push_str(&format!(
            "m{i:02}@company.example,F{},L{},company,,Merge,company_user,true\r\n",
            i % 4,
            i % 5
        ));
    }
    let r = import(&app, &app.admin, false, "text/csv", file).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Every third inactive, some signed in at different times.
    let inactive: Vec<String> = (0..60).step_by(3).map(|i| format!("'m{i:02}@company.example'")).collect();
    let signed_in: Vec<String> = (0..60).step_by(4).map(|i| format!("'m{i:02}@company.example'")).collect();
    app.sql(&[
        &format!(
            "UPDATE users SET active = FALSE, deactivated_at = 1 WHERE email_norm IN ({})",
            inactive.join(", ")
        ),
        &format!(
            "UPDATE users SET last_sign_in_at = 1000 + LENGTH(last_name) * 7 WHERE email_norm IN ({})",
            signed_in.join(", ")
        ),
    ])
    .await
    .unwrap();
    let running = app.running.as_ref().unwrap();
    for sort in [SortKey::Name, SortKey::Email, SortKey::LastSignIn] {
        for descending in [false, true] {
            for (status, org, q) in [
                (Status::All, Org::All, None),
                (Status::Inactive, Org::Company, None),
                (Status::All, Org::All, Some("L3".to_owned())),
            ] {
                let query = UserQuery {
                    q,
                    sort,
                    descending,
                    limit: 1_000,
                    ..user_query(domain::access::UserScope::All, org, status)
                };
                let list: Vec<String> = running
                    .app
                    .db
                    .list_users(&query)
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|u| u.id.to_string())
                    .collect();
                let mut tx = running.app.db.read().await.unwrap();
                let mut export = UserExport::start(&mut tx, query.clone()).await.unwrap();
                let mut exported = Vec::new();
                while let Some((users, names)) = export.next_page(&mut tx, 7).await.unwrap() {
                    assert!(!users.is_empty() && users.len() <= 7 && names.len() == users.len());
                    exported.extend(users.iter().map(|u| u.id.to_string()));
                }
                assert!(list.len() > 7, "more than a page: {query:?}");
                assert_eq!(exported, list, "{query:?}");
            }
        }
    }
}

#[tokio::test]
async fn csv_exports_are_audited_and_scoped() {
    let app = spawn_app().await;
    let office = app.office("Scoped").await;
    let other = app.office("Other").await;
    app.company_user("mine@company.example", "company_user", Some(&office)).await;
    app.company_user("theirs@company.example", "company_user", Some(&other)).await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&office))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let c = get_csv(&app, "/api/v1/users.csv?status=all", &oa_token).await;
    assert_eq!(c.status, StatusCode::OK);
    assert!(
        c.text.contains("mine@company.example") && !c.text.contains("theirs@company.example"),
        "{}",
        c.text
    );
    // The audit log is for system administrators only.
    assert_eq!(get_csv(&app, "/api/v1/audit.csv", &oa_token).await.status, StatusCode::FORBIDDEN);
    let user = app.company_user("plain@company.example", "company_user", None).await;
    let user_token = app.password_for(&user, "plain@company.example").await;
    assert_eq!(get_csv(&app, "/api/v1/users.csv", &user_token).await.status, StatusCode::FORBIDDEN);

    let exported = app.audit("action=export.users").await;
    assert_eq!(exported.len(), 1, "{exported:?}");
    assert_eq!(exported[0]["actor_id"], oa.as_str());
    assert_eq!(exported[0]["after"]["status"], "all");
}

#[tokio::test]
async fn csv_audit_export_filters_by_time_actor_and_action() {
    let app = spawn_app().await;
    let office = app.office("Audited, \"Inc\"").await;
    let id = app.company_user("audited@company.example", "company_user", Some(&office)).await;
    let c = get_csv(
        &app,
        &format!("/api/v1/audit.csv?action=user.created&actor_id={}", app.admin_id),
        &app.admin,
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let rows = records(&c.text);
    assert_eq!(rows[0][..5], ["id", "at", "actor_id", "actor", "action"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let after: serde_json::Value = serde_json::from_str(&rows[1][column(&rows, "after")]).unwrap();
    assert_eq!(after["user"]["email"], "audited@company.example");
    assert_eq!(rows[1][column(&rows, "target_id")], id);
    // JSON with quotes and commas survives the CSV quoting.
    let offices = records(&get_csv(&app, "/api/v1/audit.csv?action=office.created", &app.admin).await.text);
    let after: serde_json::Value = serde_json::from_str(&offices[1][column(&offices, "after")]).unwrap();
    assert!(after.to_string().contains("Audited, \\\"Inc\\\""), "{after}");
    // A time range that ends before everything is empty but for the header.
    let none = records(&get_csv(&app, "/api/v1/audit.csv?to=2000-01-01T00:00:00Z", &app.admin).await.text);
    assert_eq!(none.len(), 1);
    let bad = app.get("/api/v1/audit.csv?from=yesterday", &app.admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The export itself is in the log, and the chain still verifies.
    assert_eq!(app.audit("action=export.audit").await.len(), 3);
    assert_eq!(app.get("/api/v1/audit/verify", &app.admin).await.body["ok"], true);
}
