//! OP3: with `TRACKER_LOG_FORMAT=json` every line on standard output is a
//! JSON object, the start-up banner included, and each request has one
//! line with its request id, route template, status, latency and user.

use crate::server::{new_user, start};
use reqwest::{Client, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn op3_json_logs_have_one_line_per_request_with_its_fields() {
    let server = start(&[("TRACKER_LOG_FORMAT", "json".into())]).await;
    let (token, admin_id) = server.admin_token().await;
    let client = Client::new();
    let r = client
        .post(format!("{}/api/v1/users", server.url))
        .bearer_auth(&token)
        .json(&new_user("ann@company.example", true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = client
        .get(format!("{}/api/v1/users/{id}", server.url))
        .bearer_auth(&token)
        .header("x-request-id", "op3-trace-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-request-id"], "op3-trace-0001", "the request id is returned");
    let made = client.get(format!("{}/healthz", server.url)).send().await.unwrap();
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(made_id.len() >= 32, "a request id is made when none is sent: {made_id}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let out = std::fs::read_to_string(&server.stdout).unwrap();
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "Tracker is listening" && l["fields"]["listen"] == server.addr),
        "the banner is a JSON line:\n{out}"
    );
    let finished: Vec<&Value> = lines.iter().filter(|l| l["fields"]["message"] == "request finished").collect();
    let line = finished
        .iter()
        .find(|l| l["span"]["request_id"] == "op3-trace-0001")
        .unwrap_or_else(|| panic!("a line for the request:\n{out}"));
    assert_eq!(line["span"]["route"], "/api/v1/users/{id}", "{line}");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["user_id"], admin_id.as_str(), "{line}");
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert_eq!(
        finished.iter().filter(|l| l["span"]["request_id"] == "op3-trace-0001").count(),
        1,
        "one line per request"
    );
    let health = finished
        .iter()
        .find(|l| l["span"]["request_id"] == made_id.as_str())
        .expect("the made id is logged");
    assert!(health["span"]["user_id"].is_null(), "no user on an anonymous request");
}
