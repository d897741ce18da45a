//! A3: the CSV import over the API: dry run, all or nothing, every row's
//! problems, several chunks, bad files.

use super::*;

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
    assert_cells(
        &rows,
        &[
            ("new1@company.example", "first_name", "Bob \"The Builder\""),
            ("new1@company.example", "last_name", "O'Brien, Jr."),
            ("new1@company.example", "office", "Zürich, \"HQ\""),
            ("new2@smith.example", "last_name", "李 小龍"),
            ("new2@smith.example", "firm", "Smith & Co"),
            ("new3@company.example", "first_name", "'=cmd"),
            ("new3@company.example", "last_name", "'-Minus"),
        ],
    );
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
    let refused_fields = error_fields(&refused.body);
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
    use store::{Org, Status};
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
    assert_eq!(
        error_fields(&refused.body),
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
                let q = user_query(scope.clone(), org.clone(), status);
                let kept = tx.user_total(&q).await.unwrap();
                assert_eq!(kept, tx.count_matching_users(&q).await.unwrap(), "{scope:?} {org:?} {status:?}");
            }
        }
    }
    let all = tx
        .user_total(&user_query(domain::access::UserScope::All, Org::All, Status::All))
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
