//! Scraping over HTTPS: a local target served with a generated certificate
//! (vigil-common's TLS serving), verified through `tls_config.ca_file`,
//! refused without it, accepted with `insecure_skip_verify`; basic auth
//! from a password file.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use tokio::sync::oneshot;
use vigil::config::Config;
use vigil::scrape::Scraper;
use vigil::scrape::client::ScrapeClient;
use vigil::scrape::target::{TargetGroup, targets_from_group};
use vigil::store::{Head, HeadOptions};
use vigil_common::web::WebConfig;

const T0: i64 = 1_700_000_000_000;

struct TlsTarget {
    addr: String,
    ca_file: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

async fn start_tls_target() -> TlsTarget {
    vigil_common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let web_yml = dir.path().join("web.yml");
    std::fs::write(
        &web_yml,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let web = WebConfig::load(&web_yml).unwrap();
    let app = Router::new().route(
        "/metrics",
        get(|headers: HeaderMap| async move {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                // "user:pw" in base64.
                Some("Basic dXNlcjpwdw==") => "secure_metric 1\n".to_string(),
                _ => "secure_metric 0\n".to_string(),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        vigil_common::serve::serve(app, listener, &web, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TlsTarget {
        addr,
        ca_file: cert,
        stop: Some(tx),
        _dir: dir,
    }
}

async fn scrape_once(job_yaml: &str, addr: &str) -> (vigil::scrape::ScrapeReport, Arc<Head>) {
    let cfg = Config::parse(&format!("scrape_configs:\n{job_yaml}"), "test")
        .unwrap()
        .scrape_configs
        .remove(0);
    let group = TargetGroup {
        targets: vec![addr.to_string()],
        ..TargetGroup::default()
    };
    let target = targets_from_group(&cfg, &group).remove(0).unwrap();
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let client = ScrapeClient::new(&cfg).unwrap();
    let mut s = Scraper::new(target, Arc::new(cfg), client, head.clone());
    (s.scrape(T0).await, head)
}

fn secure_value(head: &Head) -> Option<f64> {
    use vigil::store::Querier;
    head.select(
        &[vigil::model::Matcher::equal("__name__", "secure_metric")],
        i64::MIN,
        i64::MAX,
    )
    .first()
    .map(|s| s.samples[0].v)
}

#[tokio::test]
async fn https_with_ca_file_and_basic_auth() {
    let mut t = start_tls_target().await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").unwrap();
    let job = format!(
        "- job_name: tls\n  scheme: https\n  tls_config:\n    ca_file: {}\n  basic_auth:\n    username: user\n    password_file: {}\n",
        t.ca_file.display(),
        pw.display()
    );
    let (r, head) = scrape_once(&job, &t.addr).await;
    assert!(r.up(), "{r:?}");
    assert_eq!(secure_value(&head), Some(1.0), "basic auth header accepted");

    // Without the CA the certificate is refused and the target is down.
    let (r, _) = scrape_once("- job_name: tls\n  scheme: https\n", &t.addr).await;
    let err = r.error.expect("unknown issuer");
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // insecure_skip_verify accepts it.
    let (r, _) = scrape_once(
        "- job_name: tls\n  scheme: https\n  tls_config:\n    insecure_skip_verify: true\n",
        &t.addr,
    )
    .await;
    assert!(r.up(), "{r:?}");
    let _ = t.stop.take().unwrap().send(());
}

#[tokio::test]
async fn a_missing_secret_file_fails_the_client_and_names_the_file() {
    let cfg = Config::parse(
        "scrape_configs:\n- job_name: a\n  bearer_token_file: /nonexistent/token\n",
        "test",
    )
    .unwrap()
    .scrape_configs
    .remove(0);
    let err = ScrapeClient::new(&cfg).unwrap_err().to_string();
    assert!(err.starts_with("reading /nonexistent/token: "), "{err}");
}

/// With no config file vigil scrapes itself, over TLS when it serves TLS.
#[tokio::test]
async fn self_scrape_follows_the_servers_tls() {
    let t = start_tls_target().await; // only for its certificate files
    let dir = t._dir.path();
    let web_yml = dir.join("web.yml");
    let web = WebConfig::load(&web_yml).unwrap();
    let options = vigil::server::Options {
        web,
        ..vigil::server::Options::new(None, Arc::new(vigil::clock::SystemClock))
    };
    let vigil = vigil::server::load(Config::default(), options)
        .await
        .unwrap();
    let served = support::served::Served::start(vigil).await;
    let base = served.base.clone();
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let mut body: serde_json::Value;
    vigil_test_support::eventually!(40, format!("a self-scrape: {body}"), {
        body = client
            .get(format!("{base}/api/v1/query?query=up"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    });
    let first = &body["data"]["result"][0];
    assert_eq!(first["metric"]["job"], "vigil");
    assert_eq!(first["value"][1], "1", "{body}");
    served.stop().await;
}
