//! The HTTP edge over a real socket: the client address behind trusted
//! proxies and the rate-limit buckets (S12), the bound on password hashing,
//! cookies, HSTS, caching, CSRF binding and redirect targets (S13), and the
//! header, body and request timeouts (OP4).

use crate::helpers::{spawn_app, spawn_app_with, TestApp, ADMIN_EMAIL, PASSWORD};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client that shows redirects instead of following them.
fn client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn request(app: &TestApp, method: Method, path: &str) -> RequestBuilder {
    client().request(method, format!("{}{path}", app.url))
}

async fn json_of(r: Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

fn set_cookies(r: &Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `name=value` of the set cookie whose name is `name`.
fn cookie_pair(set: &[String], name: &str) -> String {
    set.iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {set:?}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn hidden_field(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} field"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// The sign-in page's pre-session cookie and the CSRF token of its form.
async fn pre_session(app: &TestApp, path: &str, cookie_name: &str) -> (String, String, String) {
    let page = request(app, Method::GET, path).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let pre = cookie_pair(&set_cookies(&page), cookie_name);
    let html = page.text().await.unwrap();
    (pre, hidden_field(&html, "csrf"), html)
}

async fn sign_in_from(app: &TestApp, forwarded_for: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = request(app, Method::POST, "/api/v1/sessions")
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    json_of(r).await
}

async fn last_sign_in_ip(app: &TestApp) -> String {
    let entries = app.audit("action=user.signed_in").await;
    entries[0]["source_ip"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn edge_s12_x_forwarded_for_is_believed_only_from_a_trusted_peer() {
    // The tests connect from 127.0.0.1: here it is a trusted proxy.
    let app = spawn_app_with(|cfg| cfg.http.trusted_proxies = Some("127.0.0.1, 10.0.0.0/8".into())).await;
    let (status, _, body) = sign_in_from(&app, "6.6.6.6, 203.0.113.9, 10.1.2.3").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(last_sign_in_ip(&app).await, "203.0.113.9", "right-most untrusted entry");
    // A signed-in change records the same address.
    let r = request(&app, Method::POST, "/api/v1/offices")
        .bearer_auth(&app.admin)
        .header("x-forwarded-for", "2001:db8::7")
        .json(&json!({"name": "Forwarded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let entries = app.audit("action=office.created").await;
    assert_eq!(entries[0]["source_ip"], "2001:db8::7");
    // Garbage in the chain: the peer.
    let (status, _, _) = sign_in_from(&app, "203.0.113.9, not-an-address").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(last_sign_in_ip(&app).await, "127.0.0.1");

    // Without trusted proxies the header is the client's own word.
    let plain = spawn_app().await;
    let (status, _, _) = sign_in_from(&plain, "203.0.113.9").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(last_sign_in_ip(&plain).await, "127.0.0.1");
}

#[tokio::test]
async fn edge_s12_rate_limit_buckets_are_per_ipv6_64_and_per_ipv4_address() {
    let app = spawn_app_with(|cfg| cfg.http.trusted_proxies = Some("127.0.0.1".into())).await;
    let set_password = |from: String| {
        request(&app, Method::POST, "/api/v1/password/set")
            .header("x-forwarded-for", from)
            .json(&json!({"token": "not-a-token", "password": PASSWORD}))
            .send()
    };
    // Set-password allows 30 attempts a minute from one address; one /64
    // is one address, whichever of its addresses the client picks.
    for i in 1..=30 {
        let r = set_password(format!("2001:db8:1:2::{i:x}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
    }
    let (status, headers, body) = json_of(set_password("2001:db8:1:2:ffff:ffff:ffff:fffe".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    assert!(headers.contains_key(RETRY_AFTER));
    let r = set_password("2001:db8:1:3::1".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "the next /64 is another client");
    let r = set_password("198.51.100.1".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "an IPv4 address is its own bucket");
}

#[tokio::test]
async fn edge_s12_a_full_hashing_queue_answers_server_busy_at_once() {
    let app = spawn_app().await;
    // The server runs in this process: fill its hashing path as a flood
    // of sign-ins would (every place taken, none hashing yet).
    let gate = app.running.as_ref().unwrap().app.hashing.clone();
    let mut held = Vec::new();
    while let Ok(place) = gate.admit() {
        held.push(place);
    }
    assert_eq!(held.len(), gate.capacity());
    let r = request(&app, Method::POST, "/api/v1/sessions")
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json_of(r).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "server_busy");
    assert_eq!(headers[RETRY_AFTER], "1");
    // The sign-in page says so too, with Retry-After.
    let (pre, csrf, _) = pre_session(&app, "/sign-in", "tracker_pre").await;
    let r = request(&app, Method::POST, "/sign-in")
        .header(COOKIE, pre)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("email=root%40company.example&password={PASSWORD}&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()[RETRY_AFTER], "1");
    // Nothing was counted against the account: once places free up, the
    // same sign-in works.
    drop(held);
    app.sign_in(ADMIN_EMAIL, PASSWORD).await;
}

#[tokio::test]
async fn edge_s13_https_public_url_gives_host_prefixed_secure_cookies_and_hsts() {
    let app = spawn_app_with(|cfg| cfg.public_url = Some("https://tracker.test".into())).await;
    let r = request(&app, Method::POST, "/api/v1/sessions")
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()[STRICT_TRANSPORT_SECURITY], "max-age=31536000; includeSubDomains");
    let set = set_cookies(&r);
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-tracker_session="))
        .expect("a __Host- session cookie");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.split("; ").any(|p| p == part), "{part} in {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();

    // Pages: the pre-session cookie is a __Host- cookie too, HSTS on all.
    let page = request(&app, Method::GET, "/sign-in").send().await.unwrap();
    assert!(page.headers().contains_key(STRICT_TRANSPORT_SECURITY));
    let pre = set_cookies(&page);
    assert!(pre[0].starts_with("__Host-tracker_pre=") && pre[0].contains("Secure"), "{pre:?}");
    let r = request(&app, Method::GET, "/healthz").send().await.unwrap();
    assert!(r.headers().contains_key(STRICT_TRANSPORT_SECURITY));

    // The session is read under its __Host- name only.
    let r = request(&app, Method::GET, "/users")
        .header(COOKIE, format!("__Host-tracker_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = request(&app, Method::GET, "/users")
        .header(COOKIE, format!("tracker_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a plain-named cookie is not ours over https");

    // Signing out through the page clears the session and sets the notice,
    // both as __Host- cookies.
    let r = request(&app, Method::POST, "/sign-out")
        .header(COOKIE, format!("__Host-tracker_session={token}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={}", web::extract::csrf_token(&token)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = set_cookies(&r);
    assert!(
        set.iter().all(|c| c.starts_with("__Host-tracker_") && c.contains("Secure")),
        "{set:?}"
    );
    assert!(set.iter().any(|c| c.starts_with("__Host-tracker_flash=")), "{set:?}");
    assert!(set.iter().any(|c| c.starts_with("__Host-tracker_session=;")), "{set:?}");

    // Over http: today's names, no HSTS.
    let plain = spawn_app().await;
    let r = request(&plain, Method::GET, "/sign-in").send().await.unwrap();
    assert!(!r.headers().contains_key(STRICT_TRANSPORT_SECURITY));
    let set = set_cookies(&r);
    assert!(set[0].starts_with("tracker_pre=") && !set[0].contains("Secure"), "{set:?}");
}

#[tokio::test]
async fn edge_s13_api_answers_and_pages_are_not_stored() {
    let app = spawn_app().await;
    let me = app.get("/api/v1/me", &app.admin).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.headers[CACHE_CONTROL], "no-store");
    for r in [
        app.call(Method::GET, "/api/v1/me", None, None).await,
        app.get("/api/v1/nothing-here", &app.admin).await,
        app.try_sign_in(ADMIN_EMAIL, PASSWORD).await,
    ] {
        assert_eq!(r.headers[CACHE_CONTROL], "no-store", "{}", r.body);
    }
    let redirect = request(&app, Method::GET, "/users").send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_eq!(redirect.headers()[CACHE_CONTROL], "no-store");
    let css = request(&app, Method::GET, "/static/tracker.css").send().await.unwrap();
    assert_eq!(css.headers()[CACHE_CONTROL], "public, max-age=3600");
}

#[tokio::test]
async fn edge_s13_a_pre_session_token_cannot_authorize_a_signed_in_form() {
    let app = spawn_app().await;
    let (pre, pre_csrf, _) = pre_session(&app, "/sign-in", "tracker_pre").await;
    let before = app.user_count().await;
    let fields = "side=company&first_name=Pre&last_name=Planted&email=planted%40company.example&role=company_user";
    let post = |csrf: String| {
        request(&app, Method::POST, "/users/new")
            .header(COOKIE, format!("tracker_session={}; {pre}", app.admin))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("{fields}&csrf={csrf}"))
            .send()
    };
    let r = post(pre_csrf).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the pre-session token is for the sign-in forms only"
    );
    assert_eq!(app.user_count().await, before);
    let r = post(web::extract::csrf_token(&app.admin)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session's own token works");
    assert_eq!(app.user_count().await, before + 1);
}

#[tokio::test]
async fn edge_s13_next_after_sign_in_is_a_same_site_path() {
    let app = spawn_app().await;
    // As the browser sends them (percent-encoded in the query string).
    for (query, decoded) in [
        ("/%09/evil.example", "/\t/evil.example"),
        ("//evil.example", "//evil.example"),
        ("/%5Cevil.example", "/\\evil.example"),
        ("https://evil.example", "https://evil.example"),
    ] {
        let (pre, csrf, html) = pre_session(&app, &format!("/sign-in?next={query}"), "tracker_pre").await;
        assert_eq!(hidden_field(&html, "next"), "/", "the page carries no foreign target for {query}");
        // A hand-made form sends the target anyway.
        let next: String = url_encoded(decoded);
        let r = request(&app, Method::POST, "/sign-in")
            .header(COOKIE, pre)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("email=root%40company.example&password={PASSWORD}&csrf={csrf}&next={next}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(r.headers()[LOCATION], "/", "{query}");
    }
    // A same-site target is kept.
    let (pre, csrf, _) = pre_session(&app, "/sign-in?next=/users%3Fstatus%3Dinactive", "tracker_pre").await;
    let r = request(&app, Method::POST, "/sign-in")
        .header(COOKIE, pre)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "email=root%40company.example&password={PASSWORD}&csrf={csrf}&next=%2Fusers%3Fstatus%3Dinactive"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/users?status=inactive");
}

fn url_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Reads until the server closes the connection; `None` if it is still
/// open after a generous bound.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&got).into_owned())
}

fn addr(app: &TestApp) -> std::net::SocketAddr {
    app.running.as_ref().unwrap().addr
}

#[tokio::test]
async fn edge_op4_a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app_with(|cfg| cfg.http.header_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    assert!(read_until_closed(&mut slow).await.is_some(), "the connection was closed");
    // Complete requests are served as before.
    let mut quick = TcpStream::connect(addr(&app)).await.unwrap();
    quick
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut quick).await.expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

const PARTIAL_SIGN_IN: &[u8] =
    b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\"";

#[tokio::test]
async fn edge_op4_a_body_that_stops_arriving_is_answered_and_closed() {
    let app = spawn_app_with(|cfg| cfg.http.body_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(PARTIAL_SIGN_IN).await.unwrap();
    let answer = read_until_closed(&mut slow).await.expect("the connection was closed");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
}

#[tokio::test]
async fn edge_op4_a_request_that_takes_too_long_is_answered_503_in_json() {
    let app = spawn_app_with(|cfg| cfg.http.request_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(PARTIAL_SIGN_IN).await.unwrap();
    // Keep the body trickling so that only the whole-request bound applies.
    let answer = tokio::time::timeout(Duration::from_secs(20), async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            tokio::select! {
                n = slow.read(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                },
                () = tokio::time::sleep(Duration::from_millis(300)) => {
                    let _ = slow.write_all(b" ").await;
                }
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    })
    .await
    .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after:"), "{answer}");
}
