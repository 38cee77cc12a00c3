//! Sending over HTTP against a local axum receiver: the body and the
//! `Authorization` header arrive; 5xx, 429 (with `Retry-After`) and an
//! unreachable receiver are retryable, other 4xx are not; no error shows
//! the URL or the credentials (the compliance check every HTTP notifier
//! gets).

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::{Router, extract::State, routing::post};
use chrono::{TimeZone, Utc};
use serde_json::json;

use vigil::notify::http::{HttpClient, HttpSendError};
use vigil::notify::retry::Decision;
use vigil::notify::route::receivers::HttpConfig;
use vigil_common::Secret;

#[derive(Default)]
struct Seen {
    bodies: Vec<(String, Option<String>, serde_json::Value)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn receiver() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/{code}",
            post(
                |State(seen): State<Shared>,
                 axum::extract::Path(code): axum::extract::Path<u16>,
                 headers: HeaderMap,
                 body: axum::Json<serde_json::Value>| async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string());
                    seen.lock()
                        .unwrap()
                        .bodies
                        .push((code.to_string(), auth, body.0));
                    let mut h = HeaderMap::new();
                    if code == 429 {
                        h.insert("retry-after", "42".parse().unwrap());
                    }
                    (StatusCode::from_u16(code).unwrap(), h, "")
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn config(yaml: &str) -> HttpConfig {
    yaml_serde::from_str(yaml).unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()
}

fn assert_no_secrets(e: &HttpSendError, secrets: &[&str]) {
    let shown = format!("{e} {e:?}");
    for s in secrets {
        assert!(!shown.contains(s), "{s:?} leaked in {shown}");
    }
}

#[tokio::test]
async fn delivers_body_with_basic_auth() {
    let (base, seen) = receiver().await;
    let c = HttpClient::build(&config("basic_auth: {username: u, password: pw-secret}")).unwrap();
    let body = json!({"version": "4", "status": "firing"});
    c.post_json("hook", &Secret::new(format!("{base}/200")), &body, now())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.bodies.len(), 1);
    // base64("u:pw-secret")
    assert_eq!(seen.bodies[0].1.as_deref(), Some("Basic dTpwdy1zZWNyZXQ="));
    assert_eq!(seen.bodies[0].2, body);
}

#[tokio::test]
async fn bearer_from_authorization_block() {
    let (base, seen) = receiver().await;
    let c = HttpClient::build(&config("authorization: {credentials: tok-secret}")).unwrap();
    c.post_json(
        "hook",
        &Secret::new(format!("{base}/204")),
        &json!({}),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        seen.lock().unwrap().bodies[0].1.as_deref(),
        Some("Bearer tok-secret")
    );
}

#[tokio::test]
async fn retry_decisions_by_status() {
    let (base, _seen) = receiver().await;
    let c = HttpClient::build(&config("bearer_token: tok-secret")).unwrap();
    let secret_path = "hook-token-in-path";
    for (code, retry, not_before) in [
        (500, true, None),
        (503, true, None),
        (429, true, Some(42)),
        (400, false, None),
        (404, false, None),
    ] {
        let url = Secret::new(format!("{base}/{code}?t={secret_path}"));
        let e = c
            .post_json("hook", &url, &json!({}), now())
            .await
            .unwrap_err();
        assert_eq!(e.retryable(), retry, "status {code}");
        if let HttpSendError::Delivery {
            decision: Decision::Retry { not_before: nb, .. },
            ..
        } = &e
        {
            assert_eq!(nb.map(|d| d.as_secs()), not_before, "status {code}");
        }
        assert!(e.to_string().contains(&code.to_string()), "{e}");
        assert_no_secrets(&e, &[secret_path, "tok-secret", &base]);
    }
}

#[tokio::test]
async fn unreachable_receiver_is_retryable_and_says_nothing_of_the_url() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = HttpClient::build(&HttpConfig::default()).unwrap();
    let url = Secret::new(format!("http://127.0.0.1:{port}/hook?token=url-secret"));
    let e = c
        .post_json("hook", &url, &json!({}), now())
        .await
        .unwrap_err();
    assert!(e.retryable());
    assert_no_secrets(&e, &["url-secret", &port.to_string()]);
}
