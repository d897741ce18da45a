//! P2: the search finds any part of names and emails.

use super::{assert_plan_is_index_ordered, ids, seeded_user};
use crate::helpers::{spawn_app, user_query};
use domain::access::UserScope;
use reqwest::StatusCode;
use serde_json::json;
use store::{Org, Status};

/// P2: `q` finds any part of a first name, last name or email (3
/// characters or more), every word somewhere; shorter words match starts.
#[tokio::test]
async fn search_finds_any_part_of_names_and_emails() {
    let app = spawn_app().await;
    let wilson = app
        .create_user(json!({"email": "ann.w@company.example", "first_name": "Ann", "last_name": "Wilson", "side": "company", "role": "company_user", "hold_new_user_email": true}))
        .await;
    let under = app
        .create_user(json!({"email": "j_doe%x@company.example", "first_name": "Jo", "last_name": "Nelson", "side": "company", "role": "company_user", "hold_new_user_email": true}))
        .await;
    let found = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move {
            let r = app.get(&format!("/api/v1/users?status=all&q={q}"), &app.admin).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let mut got = ids(&r.body);
            got.sort();
            assert_eq!(r.body["total"], got.len(), "{q}");
            got
        }
    };
    let mut both = vec![wilson.clone(), under.clone()];
    both.sort();
    assert_eq!(found("lson").await, both);
    assert_eq!(found("ILSO").await, vec![wilson.clone()]);
    assert_eq!(found("ann%20lson").await, vec![wilson.clone()], "every word");
    assert_eq!(found("nn.w").await, vec![wilson.clone()], "inside the email");
    assert_eq!(found("_do").await, vec![under.clone()], "LIKE wildcards are literal");
    assert_eq!(found("e%25x").await, vec![under.clone()]);
    assert_eq!(found("%22%22%22").await, Vec::<String>::new(), "quotes are literal");
    assert_eq!(found("jo").await, vec![under.clone()], "short words match starts");
    assert_eq!(found("on").await, Vec::<String>::new(), "not inside");
    // A renamed user is found by the new name only.
    let r = app
        .patch(&format!("/api/v1/users/{wilson}"), &app.admin, json!({"last_name": "Smith"}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(found("lson").await, vec![under.clone()]);
    assert_eq!(found("mith").await, vec![wilson.clone()]);
    // Searches are read through the search index, among many users.
    let running = app.running.as_ref().unwrap();
    let office = app.office("North").await;
    let (firm, _) = app.firm("Firm One", "one@firm.example").await;
    let now = running.app.now();
    let mut tx = running.app.db.write().await.unwrap();
    // Enough rows that PostgreSQL's costs prefer an index to a scan.
    let users: Vec<_> = (0..20_000)
        .map(|i| seeded_user(i, std::slice::from_ref(&firm), std::slice::from_ref(&office), now))
        .collect();
    tx.insert_users(&users).await.unwrap();
    tx.commit().await.unwrap();
    running.app.db.analyze().await.unwrap();
    let mut tx = running.app.db.read().await.unwrap();
    let mut q = user_query(UserScope::All, Org::All, Status::Active);
    q.q = Some("mith".into());
    let plan = tx.explain_user_page(&q).await.unwrap().join("\n");
    assert!(plan.contains("VIRTUAL TABLE") || plan.contains("users_search_trgm"), "{plan}");
    assert!(
        !plan.contains("users_by_"),
        "few matches are looked up, not found by reading a list index: {plan}"
    );
    assert_eq!(tx.user_total(&q).await.unwrap(), 1);
    // A search with many matches reads the list's index in order instead.
    q.q = Some("last".into());
    let plan = tx.explain_user_page(&q).await.unwrap();
    assert_plan_is_index_ordered(&plan, false, &format!("q=last:\n{}", plan.join("\n")));
    let page = tx.list_users(&q).await.unwrap();
    assert_eq!(page.total, tx.count_matching_users(&q).await.unwrap());
    assert!(page.total > 2_000 && page.items.len() == 50 && page.next.is_some());
}
