//! OP2: the metrics port, scraped after real traffic.

use crate::server::{free_port, new_user, start, ADMIN};
use reqwest::{Client, StatusCode};
use std::time::{Duration, Instant};

/// The value of the sample `name{labels}` (labels exactly as rendered,
/// in the exporter's order), or `None` when there is no such line.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
}

/// A sample's value, whatever order its labels are in.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, v) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
        let matches = n == name && labels.iter().all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
        matches.then(|| v.parse().unwrap())
    })
}

#[tokio::test]
async fn op2_the_metrics_port_shows_requests_sign_ins_lockouts_mail_users_and_the_writer() {
    let metrics_port = free_port();
    let server = start(&[("TRACKER_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))]).await;
    let client = Client::new();
    let scrape = || async {
        let r = client.get(format!("http://127.0.0.1:{metrics_port}/metrics")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    };
    let before = scrape().await;
    assert_eq!(value(&before, "tracker_users", &[("status", "active")]), Some(1.0), "{before}");
    assert_eq!(value(&before, "tracker_sign_ins_total", &[("outcome", "succeeded")]), None);

    // Real traffic: a sign-in, a user with a new user email, a read by id,
    // wrong passwords up to a lockout, an unknown page.
    let (token, _) = server.admin_token().await;
    let r = client
        .post(format!("{}/api/v1/users", server.url))
        .bearer_auth(&token)
        .json(&new_user("ann@company.example", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ann: serde_json::Value = r.json().await.unwrap();
    let r = client
        .get(format!("{}/api/v1/users/{}", server.url, ann["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bob = client
        .post(format!("{}/api/v1/users", server.url))
        .bearer_auth(&token)
        .json(&new_user("bob@company.example", true))
        .send()
        .await
        .unwrap();
    assert_eq!(bob.status(), StatusCode::CREATED);
    let bob: serde_json::Value = bob.json().await.unwrap();
    let r = client
        .patch(format!("{}/api/v1/users/{}", server.url, bob["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..5 {
        let r = server.sign_in(ADMIN, "Wrong-Passw0rd-1").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = client.get(format!("{}/no/such/page", server.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Not on the public port.
    let r = client.get(format!("{}/metrics", server.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The new user email is written by the worker.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = scrape().await;
        if value(
            &text,
            "tracker_mail_deliveries_total",
            &[("kind", "new_user_email"), ("outcome", "delivered")],
        ) == Some(1.0)
        {
            break text;
        }
        assert!(Instant::now() < deadline, "no delivery counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let req = |method: &str, route: &str, status: &str| {
        value(
            &text,
            "tracker_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(req("POST", "/api/v1/sessions", "201"), Some(1.0), "{text}");
    assert_eq!(req("POST", "/api/v1/sessions", "401"), Some(5.0), "{text}");
    assert_eq!(req("POST", "/api/v1/users", "201"), Some(2.0), "{text}");
    assert_eq!(
        req("GET", "/api/v1/users/{id}", "200"),
        Some(1.0),
        "route template, not the path:\n{text}"
    );
    assert_eq!(req("GET", "unmatched", "404"), Some(2.0), "the page and /metrics:\n{text}");
    assert!(!text.contains(ann["id"].as_str().unwrap()), "no id in a label");
    let bucket = value(
        &text,
        "tracker_http_request_duration_seconds_bucket",
        &[("route", "/api/v1/sessions"), ("status", "201"), ("le", "+Inf")],
    );
    assert_eq!(bucket, Some(1.0), "a latency histogram:\n{text}");
    assert_eq!(value(&text, "tracker_sign_ins_total", &[("outcome", "succeeded")]), Some(1.0));
    assert_eq!(value(&text, "tracker_sign_ins_total", &[("outcome", "refused")]), Some(5.0));
    assert_eq!(
        value(&text, "tracker_lockouts_total", &[("reason", "failed_sign_ins")]),
        Some(1.0),
        "{text}"
    );
    let active = value(&text, "tracker_users", &[("status", "active")]);
    let inactive = value(&text, "tracker_users", &[("status", "inactive")]);
    assert_eq!((active, inactive), (Some(2.0), Some(1.0)), "users by status:\n{text}");
    assert!(value(&text, "tracker_outbox_messages", &[("status", "queued")]).is_some(), "{text}");
    assert!(sample(&text, "tracker_outbox_oldest_queued_age_seconds").is_some(), "{text}");
    let writes = value(&text, "tracker_db_write_wait_seconds_count", &[("database", "sqlite")]).unwrap_or(0.0);
    assert!(writes >= 3.0, "the writer's wait is measured:\n{text}");
}
