//! A2/A3: CSV exports of the user list and the audit log — RFC 4180 with a
//! header, quotes, commas and non-ASCII kept, formulas defused, the same
//! selectors and scope as the JSON lists, every export audited — and the
//! CSV import of users, over the API (`import`) and on its page (`page`).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

mod export;
mod import;
mod page;

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

/// The `name` column of the record whose `email` is `email`.
fn cell<'r>(rows: &'r [Vec<String>], email: &str, name: &str) -> &'r str {
    let (at, of) = (column(rows, "email"), column(rows, name));
    let row = rows
        .iter()
        .find(|r| r[at] == email)
        .unwrap_or_else(|| panic!("{email} in {rows:?}"));
    &row[of]
}

/// Each `(email, column, value)`: that record's cell holds the value.
fn assert_cells(rows: &[Vec<String>], expected: &[(&str, &str, &str)]) {
    for (email, name, value) in expected {
        assert_eq!(cell(rows, email, name), *value, "{email} {name}");
    }
}

/// `(field, code)` of each problem an error answer lists.
fn error_fields(body: &serde_json::Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned()))
        .collect()
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
