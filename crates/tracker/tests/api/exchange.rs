//! A2: CSV exports of the user list and the audit log — RFC 4180 with a
//! header, quotes, commas and non-ASCII kept, formulas defused, the same
//! selectors and scope as the JSON lists, every export audited.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

struct Csv {
    status: StatusCode,
    content_type: String,
    text: String,
}

async fn get_csv(app: &TestApp, path: &str, token: &str) -> Csv {
    let r = app
        .client
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Csv {
        status,
        content_type,
        text: r.text().await.unwrap(),
    }
}

/// The records of a CSV body, header first.
fn records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_owned).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", rows[0]))
}

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
    let (email, first, last, office_col) = (
        column(&rows, "email"),
        column(&rows, "first_name"),
        column(&rows, "last_name"),
        column(&rows, "office"),
    );
    let by_email = |e: &str| rows.iter().find(|r| r[email] == e).unwrap_or_else(|| panic!("{e} in {rows:?}"));
    assert_eq!(by_email("quote@company.example")[first], "Bob \"The Builder\"");
    assert_eq!(by_email("quote@company.example")[last], "O'Brien, Jr.");
    assert_eq!(by_email("quote@company.example")[office_col], "Zürich, \"HQ\"");
    assert_eq!(by_email("utf@company.example")[first], "Zoë Ñandú");
    assert_eq!(by_email("utf@company.example")[last], "李 小龍");
    assert_eq!(by_email("formula@company.example")[first], "'=HYPERLINK(\"http://x\")");
    assert_eq!(by_email("formula@company.example")[last], "'+1 Minus");
    assert_eq!(by_email("at@company.example")[first], "'@SUM(A1)");
    assert_eq!(by_email("at@company.example")[last], "'-Dash");
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
                    scope: domain::access::UserScope::All,
                    org,
                    status,
                    q,
                    sort,
                    descending,
                    limit: 1_000,
                    offset: 0,
                    after: None,
                };
                let mut tx = running.app.db.read().await.unwrap();
                let list: Vec<String> = tx
                    .list_users(&query)
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|u| u.id.to_string())
                    .collect();
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

async fn import(app: &TestApp, token: &str, dry_run: bool, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
    let r = app
        .client
        .post(format!("{}/api/v1/users/import?dry_run={dry_run}", app.url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    Reply { status, body, headers }
}

const HEADER: &str = "email,first_name,last_name,side,firm,office,role,hold_new_user_email\r\n";

#[tokio::test]
async fn csv_import_dry_runs_then_creates_all_with_audit_and_n1_mail() {
    let app = spawn_app().await;
    app.office("Zürich, \"HQ\"").await;
    app.firm("Smith & Co", "admin@smith.example").await;
    let file = format!(
        "{HEADER}new1@company.example,\"Bob \"\"The Builder\"\"\",\"O'Brien, Jr.\",company,,\"Zürich, \"\"HQ\"\"\",company_user,true\r\n\
         new2@smith.example,Zoë,李 小龍,firm,Smith & Co,,firm_user,false\r\n\
         new3@company.example,=cmd,-Minus,company,,,company_user,\r\n"
    );
    let before = app.user_count().await;
    let created_before = app.audit("action=user.created").await.len();
    let dry = import(&app, &app.admin, true, "text/csv", file.clone()).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(dry.body["created"], 0);
    assert_eq!(dry.body["valid_rows"], 3);
    assert_eq!(dry.body["errors"], json!([]));
    assert_eq!(app.user_count().await, before, "a dry run creates nothing");

    let done = import(&app, &app.admin, false, "text/csv; charset=utf-8", file).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    assert_eq!(done.body["created"], 3);
    assert_eq!(app.user_count().await, before + 3);
    assert_eq!(app.audit("action=user.created").await.len(), created_before + 3);
    // Round trip: the export gives back what was imported, formulas defused.
    let rows = records(&get_csv(&app, "/api/v1/users.csv?sort=email", &app.admin).await.text);
    let (email, first, last, office, firm) = (
        column(&rows, "email"),
        column(&rows, "first_name"),
        column(&rows, "last_name"),
        column(&rows, "office"),
        column(&rows, "firm"),
    );
    let by = |e: &str| rows.iter().find(|r| r[email] == e).unwrap().clone();
    assert_eq!(by("new1@company.example")[first], "Bob \"The Builder\"");
    assert_eq!(by("new1@company.example")[last], "O'Brien, Jr.");
    assert_eq!(by("new1@company.example")[office], "Zürich, \"HQ\"");
    assert_eq!(by("new2@smith.example")[last], "李 小龍");
    assert_eq!(by("new2@smith.example")[firm], "Smith & Co");
    assert_eq!(by("new3@company.example")[first], "'=cmd");
    assert_eq!(by("new3@company.example")[last], "'-Minus");
    // N1 per row: held where the row says so, queued otherwise.
    let statuses: std::collections::HashMap<String, String> = app.get("/api/v1/users?status=all&per_page=500", &app.admin).await.body
        ["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["new_user_email"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses["new1@company.example"], "held");
    assert_ne!(statuses["new2@smith.example"], "held");
    assert_ne!(statuses["new3@company.example"], "held");
    assert_eq!(app.get("/api/v1/audit/verify", &app.admin).await.body["ok"], true);
}

#[tokio::test]
async fn csv_import_reports_every_row_error_and_creates_nothing() {
    let app = spawn_app().await;
    let office = app.office("Paris").await;
    app.company_user("taken@company.example", "company_user", None).await;
    let oa = app
        .company_user("oa@company.example", "company_office_administrator", Some(&office))
        .await;
    let oa_token = app.password_for(&oa, "oa@company.example").await;
    let file = format!(
        "{HEADER}ok@company.example,Ok,Row,company,,,company_user,\r\n\
         taken@company.example,Taken,Email,company,,,company_user,\r\n\
         dup@company.example,Dup,One,company,,,company_user,\r\n\
         DUP@company.example,Dup,Two,company,,,company_user,\r\n\
         x@company.example,Firm,Unknown,firm,Nowhere LLP,,firm_user,\r\n\
         y@company.example,Office,Unknown,company,,Atlantis,company_user,\r\n\
         z@company.example,Role,Unknown,company,,,emperor,\r\n\
         not-an-email,Bad,Email,company,,,company_user,\r\n\
         w@company.example,\"Two\nLines\",Name,company,,,company_user,\r\n\
         v@company.example,Hold,Bad,company,,,company_user,maybe\r\n\
         sa@company.example,Too,Mighty,company,,,company_system_administrator,\r\n"
    );
    let before = app.user_count().await;
    // The real run refuses the file in the error format, every problem on
    // its row's field, and creates nothing.
    let refused = import(&app, &oa_token, false, "text/csv", file.clone()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.code(), "invalid_rows");
    assert_eq!(app.user_count().await, before, "all or nothing");
    let refused_fields: Vec<(String, String)> = refused.body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned()))
        .collect();
    assert!(
        refused_fields.contains(&("rows[3].email".into(), "email_taken".into())),
        "{refused_fields:?}"
    );
    // The dry run reports the same problems by row, field and code.
    let r = import(&app, &oa_token, true, "text/csv", file).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["created"], 0);
    assert_eq!(r.body["errors"].as_array().unwrap().len(), refused_fields.len());
    assert_eq!(app.user_count().await, before, "a dry run creates nothing");
    let errors: Vec<(i64, String, String)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().is_empty());
            (
                e["row"].as_i64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |row: i64, field: &str, code: &str| {
        assert!(
            errors.iter().any(|e| e.0 == row && e.1 == field && e.2 == code),
            "row {row} {field} {code} in {errors:?}"
        )
    };
    has(3, "email", "email_taken");
    has(5, "email", "duplicate_in_file");
    has(6, "firm", "unknown_firm");
    has(7, "office", "unknown_office");
    has(8, "role", "invalid_role");
    has(9, "email", "invalid_email");
    has(10, "first_name", "invalid_characters");
    has(11, "hold_new_user_email", "invalid_boolean");
    has(12, "role", "role_not_allowed");
    assert!(!errors.iter().any(|e| e.0 == 2 || e.0 == 4), "valid rows have no error: {errors:?}");
}

/// A3 past one chunk of the batched import (500 rows): problems in later
/// chunks still stop everything, and a clean file of 2,100 rows creates
/// every user, with its audit entries chained in row order (created, then
/// queued unless held), one N1 message per queued row, and kept totals
/// that still equal a count.
#[tokio::test]
async fn csv_import_of_several_chunks_is_all_or_nothing_chained_and_counted() {
    use store::{Org, SortKey, Status, UserQuery};
    const ROWS: usize = 2_100;
    let app = spawn_app().await;
    let office = app.office("Paris").await;
    let (firm, _) = app.firm("Smith & Co", "admin@smith.example").await;
    app.company_user("taken@company.example", "company_user", None).await;
    // Row i is on line i + 2; every 100th row has its email queued.
    let line = |i: usize, email: &str| {
        let hold = !i.is_multiple_of(100);
        match i % 3 {
            0 => format!("{email},Firm,Person {i},firm,Smith & Co,,firm_user,{hold}\r\n"),
            1 => format!("{email},Office,Person {i},company,,Paris,company_user,{hold}\r\n"),
            _ => format!("{email},Plain,Person {i},company,,,company_user,{hold}\r\n"),
        }
    };
    let email = |i: usize| format!("bulk{i:05}@company.example");
    let mut bad = String::from(HEADER);
    for i in 0..ROWS {
        let e = match i {
            1_900 => email(3),
            2_050 => "TAKEN@company.example".to_owned(),
            _ => email(i),
        };
        bad.push_str(&line(i, &e));
    }
    let users_before = app.user_count().await;
    let verify_before = app.get("/api/v1/audit/verify", &app.admin).await.body;
    let refused = import(&app, &app.admin, false, "text/csv", bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let fields: Vec<(String, String)> = refused.body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        fields,
        [
            ("rows[1902].email".to_owned(), "duplicate_in_file".to_owned()),
            ("rows[2052].email".to_owned(), "email_taken".to_owned())
        ],
        "a repeat across chunks and a taken email in the last chunk"
    );
    assert_eq!(app.user_count().await, users_before, "all or nothing");
    assert_eq!(app.get("/api/v1/audit/verify", &app.admin).await.body, verify_before);

    let mut good = String::from(HEADER);
    for i in 0..ROWS {
        good.push_str(&line(i, &email(i)));
    }
    let done = import(&app, &app.admin, false, "text/csv", good).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    assert_eq!(done.body["created"], ROWS);
    assert_eq!(app.user_count().await, users_before + ROWS as i64);
    let queued_rows = ROWS.div_ceil(100);
    let verify = app.get("/api/v1/audit/verify", &app.admin).await.body;
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(
        verify["entries"].as_i64().unwrap() - verify_before["entries"].as_i64().unwrap(),
        (ROWS + queued_rows) as i64,
        "one created entry per row and one queued entry per queued row"
    );

    let running = app.running.as_ref().unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    // The import's entries, oldest first: row by row, each user created
    // and then, unless held, its email queued.
    let mut entries = tx
        .audit_page(&store::AuditQuery {
            limit: (ROWS + queued_rows) as i64,
            ..Default::default()
        })
        .await
        .unwrap();
    entries.reverse();
    let mut at = 0;
    let mut ids = Vec::new();
    for i in 0..ROWS {
        let created = &entries[at];
        assert_eq!(created.action, "user.created", "row {i}");
        let after: serde_json::Value = serde_json::from_str(created.after_json.as_deref().unwrap()).unwrap();
        assert_eq!(after["user"]["email"], email(i), "entries follow the rows");
        assert_eq!(after["hold_new_user_email"], i % 100 != 0);
        let id = created.target_id.clone().unwrap();
        at += 1;
        if i % 100 == 0 {
            assert_eq!(entries[at].action, "user.new_user_email_queued", "row {i}");
            assert_eq!(entries[at].target_id.as_deref(), Some(id.as_str()));
            at += 1;
        }
        ids.push(id);
    }
    // N1: one message for each queued row, none for a held one.
    for i in [0, 1, 500, 1_000, 1_999, 2_000, 2_099] {
        let mail = tx.mail_for_user(&domain::UserId::from(ids[i].as_str()), 10).await.unwrap();
        let sent: Vec<(&str, &str)> = mail.iter().map(|m| (m.kind.as_str(), m.to_address.as_str())).collect();
        if i % 100 == 0 {
            assert_eq!(sent, [("new_user_email", email(i).as_str())], "row {i}");
        } else {
            assert!(sent.is_empty(), "row {i} is held: {sent:?}");
        }
    }
    // The kept totals (triggers) still equal a count, for every
    // organisation and status the import touched.
    let now = running.app.now();
    for org in [Org::All, Org::Company, Org::Firms, Org::Firm(domain::FirmId::from(firm.as_str()))] {
        for status in [
            Status::Active,
            Status::Inactive,
            Status::All,
            Status::Locked(now),
            Status::NeverEmailed,
        ] {
            for scope in [
                domain::access::UserScope::All,
                domain::access::UserScope::Office(domain::OfficeId::from(office.as_str())),
            ] {
                let q = UserQuery {
                    scope: scope.clone(),
                    org: org.clone(),
                    status,
                    q: None,
                    sort: SortKey::Name,
                    descending: false,
                    limit: 50,
                    offset: 0,
                    after: None,
                };
                let kept = tx.user_total(&q).await.unwrap();
                assert_eq!(kept, tx.count_matching_users(&q).await.unwrap(), "{scope:?} {org:?} {status:?}");
            }
        }
    }
    let all = tx
        .user_total(&UserQuery {
            scope: domain::access::UserScope::All,
            org: Org::All,
            status: Status::All,
            q: None,
            sort: SortKey::Name,
            descending: false,
            limit: 50,
            offset: 0,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(all, users_before + ROWS as i64);
    drop(tx);
    // Exported over HTTP past one page (2,000 rows): every user once.
    let exported = records(&get_csv(&app, "/api/v1/users.csv?status=all&sort=name", &app.admin).await.text);
    assert_eq!(exported.len() as i64 - 1, users_before + ROWS as i64);
    let at = column(&exported, "email");
    let distinct: std::collections::HashSet<&str> = exported[1..].iter().map(|r| r[at].as_str()).collect();
    assert_eq!(distinct.len(), exported.len() - 1);
    assert!((0..ROWS).all(|i| distinct.contains(email(i).as_str())));
}

#[tokio::test]
async fn csv_import_refuses_bad_files_with_a_clear_error() {
    let app = spawn_app().await;
    let before = app.user_count().await;
    let one = format!("{HEADER}a@company.example,A,B,company,,,company_user,\r\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("application/json", one.clone().into_bytes(), "not_csv"),
        ("text/csv", b"email,first_name\xff\xfe,last_name\r\n".to_vec(), "not_utf8"),
        ("text/csv", Vec::new(), "empty_file"),
        ("text/csv", HEADER.as_bytes().to_vec(), "empty_file"),
        (
            "text/csv",
            b"email,first_name,last_name\r\na@company.example,A,B\r\n".to_vec(),
            "missing_columns",
        ),
        ("text/csv", format!("{HEADER}a@company.example,A\r\n").into_bytes(), "invalid_csv"),
        ("text/csv", vec![b'a'; 9 * 1024 * 1024], "file_too_large"),
    ];
    for (ct, body, code) in cases {
        let r = import(&app, &app.admin, false, ct, body).await;
        let status = match code {
            "not_csv" | "not_utf8" | "file_too_large" => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        assert_eq!(r.status, status, "{code}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{}", r.body);
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.user_count().await, before);
    // Only user administrators import.
    let user = app.company_user("plain@company.example", "company_user", None).await;
    let token = app.password_for(&user, "plain@company.example").await;
    assert_eq!(import(&app, &token, true, "text/csv", one).await.status, StatusCode::FORBIDDEN);
}

/// The *Import users* page: check shows the problems, then a clean file is
/// confirmed and imported; the list and audit pages link their CSV.
#[tokio::test]
async fn csv_import_page_checks_then_imports_and_pages_offer_downloads() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!("tracker_session={}", app.admin);
    let csrf = web::extract::csrf_token(&app.admin);
    // The page's forms are multipart: a chosen file to check, the checked
    // text carried back to apply.
    let post = |csrf: String, action: &'static str, part: (&'static str, String)| {
        let (name, content) = part;
        let mut form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("action", action)
            .text("upload", "key-of-this-page");
        form = if name == "file" {
            form.part(
                "file",
                reqwest::multipart::Part::text(content)
                    .file_name("people.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            )
        } else {
            form.text(name, content)
        };
        client
            .post(format!("{}/users/import", app.url))
            .header("cookie", cookie.clone())
            .multipart(form)
            .send()
    };
    let page = client
        .get(format!("{}/users/import", app.url))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("enctype=\"multipart/form-data\"") && html.contains("type=\"file\" name=\"file\""),
        "{html}"
    );

    // Without the session's CSRF token nothing is read.
    let r = post("forged".into(), "check", ("file", String::from(HEADER))).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A file that is not an import file is named as such.
    let r = post(csrf.clone(), "check", ("file", "name;age\r\nAda;36\r\n".into()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"import-problem\"") && html.contains("lacks the column"),
        "{html}"
    );

    let bad = format!("{HEADER}p1@company.example,Page,One,company,,Nowhere,company_user,\r\n");
    let r = post(csrf.clone(), "check", ("file", bad)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"import-errors\"") && html.contains("<td>2</td><td>office</td>") && html.contains("unknown_office"),
        "{html}"
    );
    assert!(!html.contains("id=\"import-apply\""), "no confirmation for a file with problems");

    let good = format!("{HEADER}p1@company.example,Page,One,company,,,company_user,true\r\n");
    let before = app.user_count().await;
    let r = post(csrf.clone(), "check", ("file", good.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Import 1 users") && html.contains("of people.csv"), "{html}");
    assert!(
        html.contains("p1@company.example"),
        "the checked text is carried to the confirmation"
    );
    assert_eq!(app.user_count().await, before, "checking creates nothing");
    let r = post(csrf.clone(), "apply", ("csv", good)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.user_count().await, before + 1);
    // The script's progress source: the rows this import created.
    let progress: serde_json::Value = client
        .get(format!("{}/users/import/progress?upload=key-of-this-page", app.url))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(progress, json!({"state": "creating", "total": 1, "done": 1}));
    let other = app.fresh_admin("other.admin@company.example").await;
    let theirs: serde_json::Value = client
        .get(format!("{}/users/import/progress?upload=key-of-this-page", app.url))
        .header("cookie", format!("tracker_session={other}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["state"], "unknown", "another administrator's import is not shown");

    let list = client
        .get(format!("{}/users?sort=email&order=desc", app.url))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    let html = list.text().await.unwrap();
    assert!(
        html.contains("href=\"/api/v1/users.csv?org=all&#38;status=active&#38;sort=email&#38;order=desc\" download>Download CSV"),
        "{html}"
    );
    assert!(html.contains("href=\"/users/import\""));
    let audit = client
        .get(format!("{}/audit", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert!(audit.text().await.unwrap().contains("/api/v1/audit.csv"));
}
