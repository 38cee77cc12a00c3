//! A receiver's `http_config` as the HTTP client applies it, against
//! local servers: OAuth2 client credentials (the token request as
//! golang.org/x/oauth2 makes it, the token cached, the client moved into
//! the form when the endpoint refuses basic auth, a rotated secret file
//! fetching a new token, an expired one fetched again on the caller's
//! clock, one the receiver refuses with 401 replaced once), and `tls_config` (`ca_file`, `server_name`,
//! `insecure_skip_verify`, `max_version`) over real TLS.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use vigil::clock::{Clock, ManualClock};
use vigil::notify::http::{HttpClient, HttpRequest, HttpSendError};
use vigil::notify::route::receivers::HttpConfig;
use vigil_common::Secret;

const CLIENT_SECRET: &str = "s3cr3t-oauth-7f2e";

/// One request the server saw: path, `Authorization`, body.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

#[derive(Clone)]
struct Server {
    seen: Seen,
    /// Whether `/token` refuses a client given by basic auth.
    params_only: bool,
    /// Which `Authorization` values the other paths answer 401 to
    /// (revoked tokens).
    refused: fn(&str) -> bool,
}

async fn handle(
    State(s): State<Server>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = String::from_utf8_lossy(&body).to_string();
    let path = uri.path().to_string();
    let n = {
        let mut seen = s.seen.lock().unwrap();
        seen.push((path.clone(), auth.clone(), body.clone()));
        seen.iter().filter(|(p, _, _)| p == "/token").count()
    };
    if path != "/token" {
        let status = if (s.refused)(&auth) {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        return (status, "{}".to_string()).into_response();
    }
    if s.params_only && auth.starts_with("Basic ") {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#).into_response();
    }
    let token = format!(r#"{{"access_token":"tok-{n}","token_type":"bearer","expires_in":3600}}"#);
    ([("content-type", "application/json")], token).into_response()
}

async fn start(params_only: bool) -> (String, Seen) {
    start_with(params_only, |_| false).await
}

async fn start_with(params_only: bool, refused: fn(&str) -> bool) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(handle).with_state(Server {
        seen: seen.clone(),
        params_only,
        refused,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn client(yaml: &str) -> HttpClient {
    let cfg: HttpConfig = yaml_serde::from_str(yaml).unwrap();
    HttpClient::build(&cfg).unwrap()
}

async fn post(c: &HttpClient, url: &str) -> Result<u16, String> {
    post_at(c, url, Utc::now()).await
}

/// [`post`] at `now` on the caller's clock.
async fn post_at(c: &HttpClient, url: &str, now: DateTime<Utc>) -> Result<u16, String> {
    let req = HttpRequest::json(Secret::new(url), &serde_json::json!({"a": 1}));
    c.send(&req, now).await.map(|a| a.status)
}

fn form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn oauth2_token_is_fetched_once_and_sent() {
    let (base, seen) = start(false).await;
    let c = client(&format!(
        "oauth2: {{client_id: 'vigil id', client_secret: '{CLIENT_SECRET}', token_url: '{base}/token', scopes: [read, write], endpoint_params: {{audience: alerts}}}}"
    ));
    assert_eq!(post(&c, &format!("{base}/hook")).await, Ok(200));
    assert_eq!(post(&c, &format!("{base}/hook")).await, Ok(200));
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["/token", "/hook", "/hook"], "one token for both");
    // The client in basic auth, its ID and secret query-escaped first.
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("vigil+id:{CLIENT_SECRET}"));
    assert_eq!(seen[0].1, format!("Basic {basic}"));
    assert_eq!(
        form(&seen[0].2),
        [
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".into(), "read write".into()),
            ("audience".into(), "alerts".into()),
        ]
    );
    assert_eq!(seen[1].1, "Bearer tok-1");
    assert_eq!(seen[2].1, "Bearer tok-1");
    assert!(!format!("{c:?}").contains(CLIENT_SECRET));
}

/// The token (`expires_in: 3600`) is kept until ten seconds before it
/// expires on the clock the sends are made at, then fetched again: a
/// manual clock moved past that point, no waiting.
#[tokio::test]
async fn oauth2_token_is_fetched_again_once_it_expires_on_the_clock() {
    let (base, seen) = start(false).await;
    let c = client(&format!(
        "oauth2: {{client_id: id, client_secret: '{CLIENT_SECRET}', token_url: '{base}/token'}}"
    ));
    let clock = ManualClock::new(1_800_000_000_000);
    let hook = format!("{base}/hook");
    // Each request as `<path> <authorization>`, the token requests' basic
    // auth left out.
    let requests = || -> Vec<String> {
        let seen = seen.lock().unwrap();
        seen.iter()
            .map(|(p, a, _)| match p.as_str() {
                "/token" => p.clone(),
                _ => format!("{p} {a}"),
            })
            .collect()
    };
    assert_eq!(post_at(&c, &hook, clock.now()).await, Ok(200));
    clock.advance(std::time::Duration::from_secs(3589));
    assert_eq!(post_at(&c, &hook, clock.now()).await, Ok(200));
    assert_eq!(
        requests(),
        ["/token", "/hook Bearer tok-1", "/hook Bearer tok-1"],
        "one token while it lasts"
    );
    clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(post_at(&c, &hook, clock.now()).await, Ok(200));
    assert_eq!(
        requests()[3..],
        ["/token", "/hook Bearer tok-2"],
        "fetched again ten seconds before it expires"
    );
}

/// A receiver that refuses the cached token (revoked, or expired early)
/// gets the request again at once with a new token; a second 401 is the
/// answer.
#[tokio::test]
async fn oauth2_token_refused_with_401_is_fetched_again_once() {
    let requests = |seen: &Seen| -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|(p, a, _)| match p.as_str() {
                "/token" => p.clone(),
                _ => format!("{p} {a}"),
            })
            .collect()
    };
    let (base, seen) = start_with(false, |auth| auth == "Bearer tok-1").await;
    let c = client(&format!(
        "oauth2: {{client_id: id, client_secret: '{CLIENT_SECRET}', token_url: '{base}/token'}}"
    ));
    assert_eq!(post(&c, &format!("{base}/hook")).await, Ok(200));
    assert_eq!(post(&c, &format!("{base}/hook")).await, Ok(200));
    assert_eq!(
        requests(&seen),
        [
            "/token",
            "/hook Bearer tok-1",
            "/token",
            "/hook Bearer tok-2",
            "/hook Bearer tok-2"
        ],
        "the refused token replaced once, the new one kept"
    );

    // A receiver that refuses every token: one new token, then its 401.
    let (base, seen) = start_with(false, |auth| auth.starts_with("Bearer ")).await;
    let c = client(&format!(
        "oauth2: {{client_id: id, client_secret: '{CLIENT_SECRET}', token_url: '{base}/token'}}"
    ));
    assert_eq!(post(&c, &format!("{base}/hook")).await, Ok(401));
    assert_eq!(
        requests(&seen),
        [
            "/token",
            "/hook Bearer tok-1",
            "/token",
            "/hook Bearer tok-2"
        ]
    );
}

#[tokio::test]
async fn oauth2_client_moves_into_the_form_when_basic_auth_is_refused() {
    let (base, seen) = start(true).await;
    let c = client(&format!(
        "oauth2: {{client_id: id, client_secret: '{CLIENT_SECRET}', token_url: '{base}/token'}}"
    ));
    assert_eq!(post(&c, &format!("{base}/hook")).await, Ok(200));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen[0].1.starts_with("Basic "));
    assert_eq!(seen[1].1, "");
    let f = form(&seen[1].2);
    assert!(f.contains(&("client_id".into(), "id".into())), "{f:?}");
    assert!(f.contains(&("client_secret".into(), CLIENT_SECRET.into())));
    assert_eq!(seen[2].1, "Bearer tok-2");
}

#[tokio::test]
async fn oauth2_rotated_secret_file_fetches_a_new_token() {
    let (base, seen) = start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "first\n").unwrap();
    let c = client(&format!(
        "oauth2: {{client_id: id, client_secret_file: '{}', token_url: '{base}/token'}}",
        file.display()
    ));
    post(&c, &format!("{base}/hook")).await.unwrap();
    std::fs::write(&file, "second\n").unwrap();
    post(&c, &format!("{base}/hook")).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let auths: Vec<&str> = seen.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(auths[1], "Bearer tok-1");
    assert_eq!(auths[3], "Bearer tok-2", "{seen:?}");
}

#[tokio::test]
async fn oauth2_failure_is_retryable_and_shows_no_secret() {
    let (base, _seen) = start(false).await;
    let c = client(&format!(
        "oauth2: {{client_id: id, client_secret: '{CLIENT_SECRET}', token_url: '{base}/fail/token'}}"
    ));
    // The token endpoint answers `{}`: no access_token.
    let e = post(&c, &format!("{base}/hook")).await.unwrap_err();
    assert!(e.contains("missing access_token"), "{e}");
    assert!(!e.contains(CLIENT_SECRET));
}

/// An HTTPS server on 127.0.0.1 whose certificate names only
/// `hook.example.org`, speaking only TLS 1.3; its CA file.
async fn start_tls(dir: &std::path::Path) -> (u16, std::path::PathBuf) {
    use tokio_rustls::rustls;
    vigil_common::install_crypto_provider();
    let ck = rcgen::generate_simple_self_signed(vec!["hook.example.org".to_string()]).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ck.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("{}")))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (port, ca)
}

#[tokio::test]
async fn tls_config_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = start_tls(dir.path()).await;
    let url = format!("https://127.0.0.1:{port}/hook");
    let ca = ca.display();
    let try_with = |tls: String| {
        let url = url.clone();
        async move { post(&client(&format!("tls_config: {tls}")), &url).await }
    };
    // The certificate names hook.example.org, not 127.0.0.1.
    assert!(try_with(format!("{{ca_file: '{ca}'}}")).await.is_err());
    assert_eq!(
        try_with(format!(
            "{{ca_file: '{ca}', server_name: hook.example.org}}"
        ))
        .await,
        Ok(200)
    );
    // Without ca_file the system's roots do not know the certificate.
    assert!(
        try_with("{server_name: hook.example.org}".into())
            .await
            .is_err()
    );
    assert_eq!(
        try_with("{insecure_skip_verify: true}".into()).await,
        Ok(200)
    );
    // The server speaks TLS 1.3 only.
    assert!(
        try_with(format!(
            "{{ca_file: '{ca}', server_name: hook.example.org, max_version: TLS12}}"
        ))
        .await
        .is_err()
    );
    assert_eq!(
        try_with(format!(
            "{{ca_file: '{ca}', server_name: hook.example.org, min_version: TLS13}}"
        ))
        .await,
        Ok(200)
    );
}

#[test]
fn tls_build_errors_are_config_errors() {
    let cfg: HttpConfig =
        yaml_serde::from_str("tls_config: {min_version: TLS13, max_version: TLS12}").unwrap();
    let e = HttpSendError::from(HttpClient::build(&cfg).unwrap_err());
    assert!(!e.retryable());
    assert!(e.to_string().contains("max_version"), "{e}");
}
