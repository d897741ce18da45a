//! OP4: stopping with SIGTERM, and the concurrency limit.

use crate::server::{new_user, start, Server};
use reqwest::{Client, StatusCode};
use std::time::Duration;
use testkit::smtp_sink::SmtpSink;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a `POST /api/v1/users` and sends its headers and the first half
/// of its body; the rest is sent by [`finish_slow_request`].
async fn start_slow_request(server: &Server, token: &str, email: &str) -> (TcpStream, Vec<u8>) {
    let body = serde_json::to_vec(&new_user(email, true)).unwrap();
    let mut conn = TcpStream::connect(&server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    conn.write_all(&body[..half]).await.unwrap();
    conn.flush().await.unwrap();
    (conn, body[half..].to_vec())
}

/// Sends the rest of the body and reads the whole answer.
async fn finish_slow_request(mut conn: TcpStream, rest: Vec<u8>) -> String {
    conn.write_all(&rest).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The server closes after answering (it is shutting down) or keeps the
    // connection: read until the body's end or the close.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&answer);
                if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
                    break;
                }
            }
            Ok(Err(e)) => panic!("reading the answer: {e}"),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn op4_sigterm_lets_a_slow_request_in_flight_finish_then_exits_0() {
    let mut server = start(&[]).await;
    let (token, _) = server.admin_token().await;
    let (conn, rest) = start_slow_request(&server, &token, "slow@company.example").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("TERM");
    // Stopped accepting: a new connection is refused (or never answered).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let refused = Client::new()
            .get(format!("{}/healthz", server.url))
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .is_err();
        if refused {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.child.try_wait().unwrap().is_none(), "waits for the request in flight");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = finish_slow_request(conn, rest).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "the request in flight is answered:\n{answer}");
    let status = server.exit_within(Duration::from_secs(20)).await;
    assert!(status.success(), "exit 0: {status:?}\n{}", server.logs());
    // It was committed: the next process has the user.
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    let again = crate::server::start_in(dir, &[]).await;
    let (token, _) = again.admin_token().await;
    let list: serde_json::Value = Client::new()
        .get(format!("{}/api/v1/users?q=slow", again.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["email"], "slow@company.example", "{list}");
}

#[tokio::test]
async fn op4_sigterm_with_a_slow_loris_client_still_exits_within_the_grace() {
    // The header timeout alone would hold the connection for a minute.
    let mut server = start(&[
        ("TRACKER_SHUTDOWN_GRACE", "2".into()),
        ("TRACKER_HEADER_TIMEOUT", "60".into()),
        ("TRACKER_BODY_TIMEOUT", "60".into()),
    ])
    .await;
    let (token, _) = server.admin_token().await;
    // One client never finishes its headers, another never its body.
    let mut loris = TcpStream::connect(&server.addr).await.unwrap();
    loris.write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let (_body_loris, _) = start_slow_request(&server, &token, "never@company.example").await;
    let trickle = tokio::spawn(async move {
        for _ in 0..600 {
            if loris.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = tokio::time::Instant::now();
    server.signal("TERM");
    let status = server.exit_within(Duration::from_secs(15)).await;
    assert!(status.success(), "exit 0: {status:?}\n{}", server.logs());
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "the grace (2 s), not the clients, decided when to stop"
    );
    assert!(server.logs().contains("cut off"), "{}", server.logs());
    trickle.abort();
}

#[tokio::test]
async fn op4_requests_past_the_limit_are_answered_503_with_retry_after() {
    let server = start(&[("TRACKER_MAX_CONCURRENT_REQUESTS", "2".into())]).await;
    let (token, _) = server.admin_token().await;
    // Two requests in flight hold both places.
    let first = start_slow_request(&server, &token, "one@company.example").await;
    let second = start_slow_request(&server, &token, "two@company.example").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = Client::new();
    let burst =
        futures::future::join_all((0..8).map(|_| client.get(format!("{}/api/v1/users", server.url)).bearer_auth(&token).send())).await;
    for r in burst {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "1");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "server_busy", "{body}");
    }
    // The probes still answer.
    let r = client.get(format!("{}/readyz", server.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The two in flight finish; then there is room again.
    for (conn, rest) in [first, second] {
        let answer = finish_slow_request(conn, rest).await;
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    let r = client
        .get(format!("{}/api/v1/users", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// OP4: a delivery stuck at a slow mail server is cut off at the end of
/// the grace and its claim released: the next process sends it at once,
/// not after the 60 s lease.
#[tokio::test]
async fn op4_sigterm_releases_the_mail_claims_for_the_next_process() {
    let stuck = SmtpSink::start().await;
    stuck.set_data_delay(Duration::from_secs(120));
    let mut server = start(&[("TRACKER_SMTP_URL", stuck.url()), ("TRACKER_SHUTDOWN_GRACE", "2".into())]).await;
    let (token, _) = server.admin_token().await;
    let r = Client::new()
        .post(format!("{}/api/v1/users", server.url))
        .bearer_auth(&token)
        .json(&new_user("ann@company.example", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while stuck.data_begun() < 1 {
        assert!(tokio::time::Instant::now() < deadline, "the delivery never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.signal("TERM");
    let status = server.exit_within(Duration::from_secs(15)).await;
    assert!(status.success(), "exit 0: {status:?}\n{}", server.logs());
    assert!(server.logs().contains("mail claims released"), "{}", server.logs());

    let working = SmtpSink::start().await;
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    let _next = crate::server::start_in(dir, &[("TRACKER_SMTP_URL", working.url())]).await;
    let got = working.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1, "sent at once by the next process");
}
