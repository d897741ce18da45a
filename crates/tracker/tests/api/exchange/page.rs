//! The *Import users* page, and the CSV downloads the list and audit pages offer.

use super::*;

/// The *Import users* page: check shows the problems, then a clean file is
/// confirmed and imported; the list and audit pages link their CSV.
#[tokio::test]
async fn csv_import_page_checks_then_imports_and_pages_offer_downloads() {
    let app = spawn_app().await;
    let client = no_redirects();
    let cookie = format!("tracker_session={}", app.admin);
    // A page as the session `token` sees it.
    let get = |path: String, token: &str| {
        client
            .get(format!("{}{path}", app.url))
            .header("cookie", format!("tracker_session={token}"))
            .send()
    };
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
    let page = get("/users/import".into(), &app.admin).await.unwrap();
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
    let progress = |token: String| async move {
        let r = get("/users/import/progress?upload=key-of-this-page".into(), &token).await.unwrap();
        r.json::<serde_json::Value>().await.unwrap()
    };
    let progress_of_mine = progress(app.admin.clone()).await;
    assert_eq!(progress_of_mine, json!({"state": "creating", "total": 1, "done": 1}));
    let other = app.fresh_admin("other.admin@company.example").await;
    let theirs = progress(other).await;
    assert_eq!(theirs["state"], "unknown", "another administrator's import is not shown");

    let list = get("/users?sort=email&order=desc".into(), &app.admin).await.unwrap();
    let html = list.text().await.unwrap();
    assert!(
        html.contains("href=\"/api/v1/users.csv?org=all&#38;status=active&#38;sort=email&#38;order=desc\" download>Download CSV"),
        "{html}"
    );
    assert!(html.contains("href=\"/users/import\""));
    let audit = get("/audit".into(), &app.admin).await.unwrap();
    assert!(audit.text().await.unwrap().contains("/api/v1/audit.csv"));
}
