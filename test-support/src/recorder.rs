//! A local HTTP server standing in for every receiver's API: it records
//! each request (method, path, query, headers, body) and answers as the
//! real service would for a success (Telegram's `ok`, WeChat's token and
//! `code: 0`, SNS's `PublishResponse`, `{}` otherwise; a webhook or
//! Slack-shaped hook takes any 200), so neither Alertmanager nor vigil
//! retries. A path with a `/fail` segment gets a 503; the first request to
//! a path with a `/hang-first` segment is recorded and never answered (a
//! send that hangs), later ones are answered. Served on 127.0.0.1:0 by the
//! test's tokio runtime; stops with it.
//!
//! For receivers whose URL is fixed (Pushover, PagerDuty's v1 API), it is
//! also an HTTP proxy: [`Recorder::tls_proxy`] answers `CONNECT`, ends the
//! TLS itself with a certificate the client is told to trust, and records
//! what comes through under a prefix of the test's choosing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lowercase names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body parsed as JSON (`Null` when it is not JSON, which the
    /// test's checks then report).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Everything as text, to look for secrets.
    pub fn text(&self) -> String {
        format!(
            "{} {} {:?} {:?} {}",
            self.method,
            self.path,
            self.query,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<Recorded>>>,
    pub port: u16,
}

async fn record(
    State(seen): State<Arc<Mutex<Vec<Recorded>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let query = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path = uri.path().to_string();
    let hang = {
        let mut seen = seen.lock().unwrap();
        let first = !seen.iter().any(|r| r.path == path);
        seen.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query,
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: body.to_vec(),
        });
        first && path.split('/').any(|s| s == "hang-first")
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if path.split('/').any(|s| s == "fail") {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new()).into_response();
    }
    let answer = if path.ends_with("/sendMessage") {
        r#"{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"group"}}}"#
            .to_string()
    } else if path.ends_with("/gettoken") {
        r#"{"access_token":"wx-access","expires_in":7200}"#.to_string()
    } else if path.ends_with("/chat.postMessage") {
        r#"{"success":true}"#.to_string()
    } else if path.ends_with("/message/send") {
        r#"{"code":0,"error":""}"#.to_string()
    } else if headers.get("content-type").is_some_and(|v| {
        v.to_str()
            .unwrap_or("")
            .starts_with("application/x-www-form")
    }) {
        let xml = r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>"#;
        return ([("content-type", "text/xml")], xml.to_string()).into_response();
    } else {
        "{}".to_string()
    };
    ([("content-type", "application/json")], answer).into_response()
}

/// A certificate for the hosts a [`Recorder::tls_proxy`] stands in for,
/// its own CA (the PEM written to `ca_file`).
pub struct ProxyCert {
    pub pem: String,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
}

impl ProxyCert {
    pub fn new(hosts: &[&str]) -> ProxyCert {
        vigil_common::install_crypto_provider();
        let ck = rcgen::generate_simple_self_signed(
            hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(
            ck.signing_key.serialize_der(),
        )
        .unwrap();
        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .unwrap();
        ProxyCert {
            pem: ck.cert.pem(),
            config: Arc::new(config),
        }
    }
}

/// Reads a `CONNECT host:port HTTP/1.1` head and answers it.
async fn connect_head(s: &mut tokio::net::TcpStream) -> Option<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).await.ok()? == 0 || head.len() > 8192 {
            return None;
        }
        head.push(b[0]);
    }
    if !head.starts_with(b"CONNECT ") {
        return None;
    }
    s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .ok()
}

impl Recorder {
    /// A proxy whose tunnelled requests are recorded with `prefix` before
    /// their path; its port.
    pub async fn tls_proxy(&self, prefix: &str, cert: &ProxyCert) -> u16 {
        use tower::ServiceExt;
        let app = Router::new().fallback(record).with_state(self.seen.clone());
        let acceptor = tokio_rustls::TlsAcceptor::from(cert.config.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let prefix = prefix.to_string();
        tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, app, prefix) = (acceptor.clone(), app.clone(), prefix.clone());
                tokio::spawn(async move {
                    if connect_head(&mut tcp).await.is_none() {
                        return;
                    }
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(
                        move |mut req: hyper::Request<hyper::body::Incoming>| {
                            let pq = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.as_str())
                                .unwrap_or("/");
                            *req.uri_mut() = format!("{prefix}{pq}").parse().unwrap();
                            app.clone().oneshot(req.map(axum::body::Body::new))
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        port
    }

    pub async fn start() -> Recorder {
        Recorder::start_on(0).await
    }

    /// [`Recorder::start`] on a given port (one a test kept refusing
    /// connections until now); 0 lets the OS pick.
    pub async fn start_on(port: u16) -> Recorder {
        let seen: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let app = Router::new().fallback(record).with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Recorder { seen, port }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests whose path starts with `prefix`, in arrival order.
    pub fn under(&self, prefix: &str) -> Vec<Recorded> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Waits until `cond` holds of all requests (at most `secs`); `cond`
    /// gets a copy, so it may call the recorder itself.
    pub async fn wait_for(&self, secs: u64, what: &str, cond: impl Fn(&[Recorded]) -> bool) {
        let seen = || {
            let paths: Vec<String> = self
                .seen
                .lock()
                .unwrap()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            format!("{what}; seen {paths:#?}")
        };
        crate::eventually!(secs, seen(), cond(&self.received()));
    }
}
