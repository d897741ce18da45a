//! The people pickers answer each purpose as the use case that takes the
//! choice would.

use super::*;

/// The picker endpoint answers each purpose as the use case that takes the
/// choice would: firm users never get company people, a firm administrator
/// gets their own firm only, and a participant who may not add anyone gets
/// 403 (404 for a matter they cannot reach).
#[tokio::test]
async fn authz_people_pickers_follow_their_consumers() {
    let app = spawn_app().await;
    let world = seed(&app).await;
    let tokens = &world.tokens;
    let (joined, hidden) = (&world.matters["join"], &world.matters["hide"]);
    let people = |r: &Reply| -> BTreeSet<String> {
        r.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("items: {}", r.body))
            .iter()
            .map(|p| p["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let ask = |who: &str, query: String| {
        let t = tokens[who].clone();
        let app = &app;
        async move { app.get(&format!("/api/v1/people?{query}"), &t).await }
    };

    // Company people: system administrators choose coordinators, approvers
    // and the Tracker Coordinator; matter creators choose leads.
    for purpose in ["coordinator", "approver", "tracker_coordinator"] {
        let r = ask("csa", format!("for={purpose}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let got = people(&r);
        assert!(
            got.contains(&email("cub")) && !got.iter().any(|e| e.ends_with("@firm.example")),
            "{got:?}"
        );
        for who in ["coa", "cmc", "cu", "fa1", "fu1"] {
            assert_eq!(
                ask(who, format!("for={purpose}")).await.status,
                StatusCode::FORBIDDEN,
                "{who} {purpose}"
            );
        }
    }
    let r = ask("cmc", "for=lead&q=kqc".into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(people(&r).iter().all(|e| e.starts_with("kqc") && e.ends_with("@company.example")));
    for who in ["cu", "coa", "fa1", "fu1"] {
        assert_eq!(ask(who, "for=lead".into()).await.status, StatusCode::FORBIDDEN, "{who}");
    }

    // Participants: only who may add them, and never beyond their firm.
    let r = ask("fa1", format!("for=participant&matter_id={joined}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got = people(&r);
    assert_eq!(
        got,
        BTreeSet::from([email("fa1"), email("fu1")]),
        "a firm administrator's own firm only"
    );
    assert_eq!(
        ask("cu", format!("for=participant&matter_id={joined}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask("fu1", format!("for=participant&matter_id={joined}")).await.status,
        StatusCode::FORBIDDEN
    );
    for who in ["cu", "cmc", "fa1", "fu1", "coa"] {
        assert_eq!(
            ask(who, format!("for=participant&matter_id={hidden}")).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    assert_eq!(ask("cmc", "for=participant".into()).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Delegates: the caller's own organisation, without the caller.
    let r = ask("fu1", "for=delegate".into()).await;
    assert_eq!(people(&r), BTreeSet::from([email("fa1")]));
    let got = people(&ask("cu", "for=delegate".into()).await);
    assert!(!got.contains(&email("cu")) && got.iter().all(|e| e.ends_with("@company.example") || e == ADMIN_EMAIL));

    // Unreadable queries are 400s in the API's error format, a matter
    // missing or not taken is a 422 on `matter_id`; signed out is 401.
    for q in ["for=everyone", "for=lead&x=1"] {
        let r = ask("csa", q.into()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.body);
    }
    for q in ["for=participant", "for=delegate&matter_id=x"] {
        let r = ask("csa", q.into()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.body);
        assert_eq!(r.body["error"]["field"], "matter_id", "{q}");
    }
    for q in ["for=lead&limit=0", "for=lead&limit=501"] {
        let r = ask("csa", q.into()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", r.body);
    }
    let r = ask("csa", "for=lead&limit=2".into()).await;
    assert!(
        r.body["items"].as_array().unwrap().len() == 2 && r.body["more"] == true,
        "{}",
        r.body
    );
    let r = app.call(reqwest::Method::GET, "/api/v1/people?for=lead", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
