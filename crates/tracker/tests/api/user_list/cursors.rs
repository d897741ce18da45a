//! P3: cursor pages walk the same order as a single page, in every sort
//! and both orders, never-signed-in users last.

use super::{ids, MIN};
use crate::helpers::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::json;

/// Walks a list with `cursor` two rows at a time and returns the ids.
async fn walk(app: &TestApp, params: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let c = cursor.as_deref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let r = app.get(&format!("/api/v1/users?{params}&per_page=2{c}"), &app.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        ids.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        match r.body["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(ids.len() < 1_000, "the walk ends");
    }
    ids
}

#[tokio::test]
async fn cursor_pages_walk_every_sort_in_order_with_never_signed_in_last() {
    let app = spawn_app().await;
    let office = app.office("North").await;
    let (firm, _) = app.firm("Firm One", "one@firm.example").await;
    // Ties on names, users signed in at different times, and some never.
    let mut signed = Vec::new();
    for i in 0..9_u32 {
        let id = app
            .company_user(&format!("same{i}@company.example"), "company_user", Some(&office))
            .await;
        if !i.is_multiple_of(3) {
            app.advance_clock(MIN).await;
            app.password_for(&id, &format!("same{i}@company.example")).await;
            signed.push(id);
        }
    }
    for i in 0..4 {
        let id = app.firm_user(&format!("f{i}@firm.example"), "firm_user", &firm).await;
        if i == 1 {
            app.patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": false}))
                .await;
        }
    }
    for org in ["all", "company", "firms", &format!("firm:{firm}")] {
        for status in ["active", "inactive", "all"] {
            for sort in ["name", "email", "last_sign_in"] {
                for order in ["asc", "desc"] {
                    let params = format!("org={org}&status={status}&sort={sort}&order={order}");
                    let whole = app.get(&format!("/api/v1/users?{params}&per_page=500"), &app.admin).await;
                    let walked = walk(&app, &params).await;
                    assert_eq!(walked, ids(&whole.body), "{params}");
                    assert_eq!(whole.body["total"], walked.len(), "{params}");
                    let page2 = app.get(&format!("/api/v1/users?{params}&per_page=2&page=2"), &app.admin).await;
                    assert_eq!(
                        ids(&page2.body),
                        walked.iter().skip(2).take(2).cloned().collect::<Vec<_>>(),
                        "{params}: page=2"
                    );
                    if sort == "last_sign_in" {
                        let items = whole.body["items"].as_array().unwrap();
                        let times: Vec<Option<&str>> = items.iter().map(|u| u["last_sign_in_at"].as_str()).collect();
                        let first_never = times.iter().position(Option::is_none).unwrap_or(times.len());
                        assert!(times[first_never..].iter().all(Option::is_none), "{params}: never signed in last");
                        let mut sorted: Vec<&str> = times[..first_never].iter().map(|t| t.unwrap()).collect();
                        sorted.sort();
                        if order == "desc" {
                            sorted.reverse();
                        }
                        assert_eq!(
                            sorted,
                            times[..first_never].iter().map(|t| t.unwrap()).collect::<Vec<_>>(),
                            "{params}"
                        );
                    }
                }
            }
        }
    }
    assert_eq!(signed.len(), 6);
    // Firm and office names come with the page.
    let firms = app.get(&format!("/api/v1/users?org=firm:{firm}"), &app.admin).await;
    assert!(
        firms.body["items"].as_array().unwrap().iter().all(|u| u["firm_name"] == "Firm One"),
        "{}",
        firms.body
    );
    let north = app.get("/api/v1/users?org=company&q=same", &app.admin).await;
    assert!(
        north.body["items"].as_array().unwrap().iter().all(|u| u["office_name"] == "North"),
        "{}",
        north.body
    );
    // A cursor belongs to its sort and order.
    let first = app.get("/api/v1/users?sort=email&per_page=2", &app.admin).await;
    let next = first.body["next"].as_str().unwrap();
    let wrong = app.get(&format!("/api/v1/users?sort=name&cursor={next}"), &app.admin).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let junk = app.get("/api/v1/users?cursor=bm90IG91cnM", &app.admin).await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", junk.body);
}

/// Locked out (migration 0011): every sort, both orders, walked with
/// cursors through the index of accounts with a lock on record, gives
/// exactly the users of `status=all` whose lock still runs, in the same
/// order, and skips locks that have run out; its total agrees.
#[tokio::test]
async fn locked_out_pages_walk_the_accounts_locked_now_in_every_sort() {
    use domain::access::UserScope;
    use store::{Org, SortKey, Status};
    let app = spawn_app().await;
    let running = app.running.as_ref().unwrap();
    let offices = vec![app.office("North").await];
    let (firm, _) = app.firm("Firm One", "one@firm.example").await;
    let firms = vec![firm];
    let now = running.app.now();
    let users: Vec<_> = (0..1_500).map(|i| super::seeded_user(i, &firms, &offices, now)).collect();
    let mut tx = running.app.db.write().await.unwrap();
    tx.insert_users(&users).await.unwrap();
    tx.commit().await.unwrap();
    let locked_now: std::collections::HashSet<String> = users
        .iter()
        .filter(|u| u.locked_until.is_some_and(|t| t > now))
        .map(|u| u.id.to_string())
        .collect();
    assert!(locked_now.len() >= 20, "{}", locked_now.len());
    assert!(
        users.iter().any(|u| u.locked_until.is_some_and(|t| t <= now)),
        "some locks have run out"
    );

    let db = &running.app.db;
    for sort in [SortKey::Name, SortKey::Email, SortKey::LastSignIn] {
        for descending in [false, true] {
            let query = |status| store::UserQuery {
                sort,
                descending,
                limit: 5_000,
                ..crate::helpers::user_query(UserScope::All, Org::All, status)
            };
            let all = db.list_users(&query(Status::All)).await.unwrap();
            let expected: Vec<String> = all
                .items
                .iter()
                .map(|u| u.id.to_string())
                .filter(|id| locked_now.contains(id))
                .collect();
            let mut walked = Vec::new();
            let mut q = store::UserQuery {
                limit: 7,
                ..query(Status::Locked(now))
            };
            loop {
                let page = db.list_users(&q).await.unwrap();
                assert_eq!(page.total, locked_now.len() as i64, "{sort:?} desc={descending}");
                walked.extend(page.items.iter().map(|u| u.id.to_string()));
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(walked, expected, "{sort:?} desc={descending}");
        }
    }
}
