//! P2: the search finds any part of names and emails.

use super::{ids, seeded_user};
use crate::helpers::{spawn_app, user_query};
use domain::access::UserScope;
use reqwest::StatusCode;
use serde_json::json;
use store::{Org, SortKey, Status, SEARCH_COUNT_LIMIT};

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
    // Many matches (here: nearly every user): one pass over the matches
    // gives the count and the page (sorted keeping only the page), never a
    // list index. SQLite finds them through the search index; PostgreSQL's
    // planner rightly reads the table when nearly every row matches.
    q.q = Some("last".into());
    let plan = tx.explain_user_page(&q).await.unwrap();
    let text = plan.join("\n");
    if tx.dialect() == store::Dialect::Sqlite {
        assert!(
            text.contains("VIRTUAL TABLE") && text.contains("SEARCH u USING INDEX sqlite_autoindex_users_1"),
            "{text}"
        );
        // No step reads `users` (alias `u`) or a document whole.
        assert!(!plan.iter().any(|l| l.split_whitespace().take(2).eq(["SCAN", "u"])), "{text}");
    } else {
        assert!(text.contains("CTE f") && text.contains("CTE Scan on f"), "{text}");
    }
    assert!(!text.contains("users_by_"), "{text}");
    let page = running.app.db.list_users(&q).await.unwrap();
    assert!(tx.count_matching_users(&q).await.unwrap() > SEARCH_COUNT_LIMIT + 1_000);
    assert_eq!((page.total, page.total_exact), (SEARCH_COUNT_LIMIT, false), "counted to the limit");
    assert!(page.items.len() == 50 && page.next.is_some());
    drop(tx);
    search_pages_walk_every_match_in_order(running).await;
}

/// A search's pages, by cursor and by `page=`, in every sort and order and
/// with `status=all`: every match once, in order, and the total is a count.
async fn search_pages_walk_every_match_in_order(running: &tracker::Running) {
    let db = &running.app.db;
    for (sort, descending) in [
        (SortKey::Name, false),
        (SortKey::Name, true),
        (SortKey::Email, false),
        (SortKey::LastSignIn, true),
    ] {
        for status in [Status::All, Status::Inactive] {
            let mut q = user_query(UserScope::All, Org::All, status);
            (q.q, q.sort, q.descending, q.limit) = (Some("st11 fir".into()), sort, descending, 15);
            let expected = db.read().await.unwrap().count_matching_users(&q).await.unwrap();
            let what = format!("{sort:?} desc={descending} {status:?}");
            assert!(
                expected > 3 * q.limit && expected <= SEARCH_COUNT_LIMIT,
                "{what}: {expected} matches"
            );
            let mut walked: Vec<domain::model::User> = Vec::new();
            let mut pages = Vec::new();
            loop {
                let page = db.list_users(&q).await.unwrap();
                assert_eq!((page.total, page.total_exact), (expected, true), "{what}");
                pages.push(page.items.iter().map(|u| u.id.to_string()).collect::<Vec<_>>());
                walked.extend(page.items);
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(walked.len() as i64, expected, "{what}: every match once");
            // The list's sort key of each row, id last (R2: never signed in last).
            let keys: Vec<(String, String, String, i64, String)> = walked
                .iter()
                .map(|u| {
                    let id = u.id.to_string();
                    match sort {
                        SortKey::Name => (
                            u.last_name.as_str().to_lowercase(),
                            u.first_name.as_str().to_lowercase(),
                            String::new(),
                            0,
                            id,
                        ),
                        SortKey::Email => (String::new(), String::new(), u.email.as_str().to_lowercase(), 0, String::new()),
                        SortKey::LastSignIn => {
                            let at = u.last_sign_in_at.unwrap_or(if descending { -1 } else { i64::MAX });
                            (String::new(), String::new(), String::new(), at, id)
                        }
                    }
                })
                .collect();
            for (i, pair) in keys.windows(2).enumerate() {
                let ordered = if descending { pair[0] > pair[1] } else { pair[0] < pair[1] };
                assert!(ordered, "{what}: rows {i} and {} out of order: {:?} {:?}", i + 1, pair[0], pair[1]);
            }
            // `page=` reads the same pages.
            q.after = None;
            q.offset = 2 * q.limit;
            let third = db.list_users(&q).await.unwrap();
            assert_eq!(
                third.items.iter().map(|u| u.id.to_string()).collect::<Vec<_>>(),
                pages[2],
                "{what}: page 3"
            );
        }
    }
}

/// P2 on SQLite: a search sorted by name reads its page from the trigram
/// index in the order of the documents' numbers (migration 0015). Users
/// whose neighbours in the name order have no number left between them
/// are numbered out of order, in their partition's tail; renames and
/// (de)activations renumber a user. Whatever the numbers, every page by
/// cursor and by `page=` walks the matches exactly as `users` sorts them,
/// for every status and both orders (PostgreSQL: the same walk, through
/// its own search).
/// Then the tails are put back in order (what the server does every few
/// seconds, off here so that the test sees them first) and the same walks
/// hold.
#[tokio::test]
async fn search_in_name_order_reads_users_numbered_out_of_order() {
    let app = crate::helpers::spawn_app_with(|cfg| cfg.ops.search_order_every_secs = 0).await;
    let running = app.running.as_ref().unwrap();
    let office = app.office("North").await;
    let (firm, _) = app.firm("Firm One", "one@firm.example").await;
    let now = running.app.now();
    let (firms, offices) = ([firm], [office]);
    let mut users: Vec<domain::model::User> = (0..200).map(|i| seeded_user(i, &firms, &offices, now)).collect();
    // "Gapp A", then "Gapp N59" down to "Gapp N00": each just above "Gapp
    // A" and below the one made before it, so their numbers halve one gap
    // until there is none left.
    let gapp = |i: usize, first: &str| {
        let mut u = seeded_user(1_000 + i, &firms, &offices, now);
        u.last_name = domain::PersonName::parse("last_name", "Gapp").unwrap();
        u.first_name = domain::PersonName::parse("first_name", first).unwrap();
        u.active = true;
        u
    };
    users.push(gapp(0, "A"));
    users.extend((0..60).rev().map(|n| gapp(n + 1, &format!("N{n:02}"))));
    let moved: Vec<String> = users[users.len() - 20..].iter().map(|u| u.id.to_string()).collect();
    let mut tx = running.app.db.write().await.unwrap();
    tx.insert_users(&users).await.unwrap();
    tx.commit().await.unwrap();
    let sqlite = running.app.db.dialect() == store::Dialect::Sqlite;
    let mut tx = running.app.db.read().await.unwrap();
    if sqlite {
        assert!(
            tx.search_docs_in_tails().await.unwrap().unwrap() > 0,
            "some users are numbered out of order"
        );
        assert_eq!(tx.search_copy_drift().await.unwrap(), Some(0));
    }
    drop(tx);
    // Renamed (a new place), deactivated (the other partition) and
    // reactivated users, through the API.
    for (i, id) in moved.iter().enumerate() {
        let change = match i % 4 {
            0 => json!({"last_name": "Gappe"}),
            1 => json!({"first_name": format!("M{i}")}),
            _ => json!({"active": false}),
        };
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin, change).await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    for id in moved.iter().skip(2).step_by(8) {
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin, json!({"active": true})).await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let db = &running.app.db;
    if sqlite {
        let mut tx = db.read().await.unwrap();
        assert_eq!(tx.search_copy_drift().await.unwrap(), Some(0));
        let mut q = user_query(UserScope::All, Org::All, Status::All);
        q.q = Some("gapp".into());
        let plan = tx.explain_user_page(&q).await.unwrap().join("\n");
        assert!(plan.contains("VIRTUAL TABLE") && !plan.contains("TEMP B-TREE"), "{plan}");
        drop(tx);
        // After a cursor, each partition's place in the name order is
        // found through the documents' name index.
        q.after = db.list_users(&q).await.unwrap().next;
        assert!(q.after.is_some());
        let plan = db.read().await.unwrap().explain_user_page(&q).await.unwrap().join("\n");
        assert!(
            plan.contains("COVERING INDEX user_search_docs_by_name") && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    }
    for round in ["with tails", "tails put in order", "all renumbered"] {
        if round == "all renumbered" {
            // More namesakes out of order, then every document numbered
            // anew at once (what a bulk import's many tails get).
            let more: Vec<_> = (0..60).rev().map(|n| gapp(100 + n, &format!("O{n:02}"))).collect();
            let mut tx = db.write().await.unwrap();
            tx.insert_users(&more).await.unwrap();
            tx.commit().await.unwrap();
            if sqlite {
                assert!(db.read().await.unwrap().search_docs_in_tails().await.unwrap().unwrap() > 0);
                let mut tx = db.write().await.unwrap();
                tx.renumber_search_docs().await.unwrap();
                tx.commit().await.unwrap();
            }
        }
        if round == "tails put in order" && sqlite {
            let tails = db.read().await.unwrap().search_docs_in_tails().await.unwrap().unwrap();
            assert!(tails > 0, "the moves left users out of order");
            // Fewer than 1,000: window by window, 3 to a transaction.
            assert_eq!(db.order_search_tails(3).await.unwrap() as i64, tails);
        }
        if round != "with tails" && sqlite {
            let mut tx = db.read().await.unwrap();
            assert_eq!(tx.search_docs_in_tails().await.unwrap(), Some(0), "{round}");
            assert_eq!(
                tx.search_copy_drift().await.unwrap(),
                Some(0),
                "{round}: in order, in their partitions"
            );
        }
        for text in ["gapp", "app n0", "gapp n05", "gappe", "app m1"] {
            for status in [Status::Active, Status::Inactive, Status::All] {
                for descending in [false, true] {
                    let mut q = user_query(UserScope::All, Org::All, status);
                    (q.q, q.descending, q.limit) = (Some(text.into()), descending, 7);
                    let what = format!("{round}: {text} {status:?} desc={descending}");
                    let expected = db.read().await.unwrap().matching_user_ids(&q).await.unwrap();
                    let mut walked = Vec::new();
                    let mut pages = Vec::new();
                    loop {
                        let page = db.list_users(&q).await.unwrap();
                        assert_eq!(page.total, expected.len() as i64, "{what}");
                        let ids: Vec<String> = page.items.iter().map(|u| u.id.to_string()).collect();
                        walked.extend(ids.iter().cloned());
                        pages.push(ids);
                        match page.next {
                            Some(next) => q.after = Some(next),
                            None => break,
                        }
                        assert!(pages.len() <= 100, "{what}: the pages end");
                    }
                    assert_eq!(walked, expected, "{what}: every match once, in order");
                    q.after = None;
                    for (n, page) in pages.iter().enumerate().take(4) {
                        q.offset = n as i64 * q.limit;
                        let got = db.list_users(&q).await.unwrap();
                        let ids: Vec<String> = got.items.iter().map(|u| u.id.to_string()).collect();
                        assert_eq!(&ids, page, "{what}: page={}", n + 1);
                    }
                }
            }
        }
    }
    // The same first page over HTTP.
    let r = app.get("/api/v1/users?status=all&q=gapp&per_page=9", &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut q = user_query(UserScope::All, Org::All, Status::All);
    q.q = Some("gapp".into());
    let expected = db.read().await.unwrap().matching_user_ids(&q).await.unwrap();
    assert_eq!(ids(&r.body), expected[..9].to_vec());
    assert_eq!(r.body["total"], expected.len());
}

/// P2/P4: a search counts its matches up to [`SEARCH_COUNT_LIMIT`], then
/// stops: with one match more its total is the limit and `total_exact` is
/// false, in the API and on the HTML list ("more than"), whichever way
/// the search is read (in name order, over every match for another sort,
/// a short word's prefix ranges); exactly the limit is still exact. Its
/// pages walk every match all the same.
#[tokio::test]
async fn a_search_counts_its_matches_up_to_the_limit() {
    let app = spawn_app().await;
    let running = app.running.as_ref().unwrap();
    let now = running.app.now();
    let office = app.office("North").await;
    let (firm, _) = app.firm("Firm One", "one@firm.example").await;
    // One more than the limit match `zebr` (and the short word `zq`), the
    // first of them inactive.
    let users: Vec<_> = (0..=SEARCH_COUNT_LIMIT as usize)
        .map(|i| {
            let mut u = seeded_user(i, std::slice::from_ref(&firm), std::slice::from_ref(&office), now);
            u.last_name = domain::PersonName::parse("last_name", &format!("Zqzebra{i:04}")).unwrap();
            u.active = i != 0;
            u
        })
        .collect();
    let mut tx = running.app.db.write().await.unwrap();
    tx.insert_users(&users).await.unwrap();
    tx.commit().await.unwrap();
    running.app.db.analyze().await.unwrap();
    let limit = SEARCH_COUNT_LIMIT;
    for search in ["q=zebr", "q=zebr&sort=email", "q=zebr&sort=last_sign_in&order=desc", "q=zq"] {
        for (status, total, exact) in [("all", limit, false), ("active", limit, true), ("inactive", 1, true)] {
            let path = format!("/api/v1/users?{search}&status={status}&per_page=500");
            let r = app.get(&path, &app.admin).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            assert_eq!(
                (r.body["total"].as_i64(), r.body["total_exact"].as_bool()),
                (Some(total), Some(exact)),
                "{path}"
            );
            // The pages still walk every match, past the limit.
            let mut walked = ids(&r.body).len() as i64;
            let mut next = r.body["next"].as_str().map(str::to_owned);
            while let Some(cursor) = next {
                let r = app.get(&format!("{path}&cursor={cursor}"), &app.admin).await;
                assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
                assert_eq!(r.body["total"].as_i64(), Some(total), "{path}: every page says the same");
                walked += ids(&r.body).len() as i64;
                next = r.body["next"].as_str().map(str::to_owned);
            }
            let matches = match status {
                "all" => limit + 1,
                "active" => limit,
                _ => 1,
            };
            assert_eq!(walked, matches, "{path}");
        }
    }
    // A list without a search keeps its exact total past the limit.
    let r = app.get("/api/v1/users?status=all", &app.admin).await;
    assert_eq!(r.body["total_exact"], true);
    assert!(r.body["total"].as_i64().unwrap() > limit + 1, "{}", r.body["total"]);
    // The HTML list says so.
    let page = |query: &str| {
        let url = format!("{}/users?{query}", app.url);
        let cookie = format!("tracker_session={}", app.admin);
        async move {
            let r = reqwest::Client::new().get(url).header("cookie", cookie).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let html = page("q=zebr&status=all").await;
    assert!(html.contains(&format!("1–50 of more than {limit} ")), "{html}");
    let html = page("q=zebr&status=active").await;
    assert!(html.contains(&format!("1–50 of {limit} ")), "{html}");
}
