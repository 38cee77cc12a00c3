//! `--web.config.file`: TLS and bcrypt basic auth in the exporter-toolkit
//! format, end to end with a real TLS client.

use std::process::Command;

use vigil_tests::exporter::{ExporterOptions, ExporterProcess, exporter_bin};

struct Tls {
    dir: tempfile::TempDir,
    cert_pem: String,
    cert_der: rustls::pki_types::CertificateDer<'static>,
}

/// A self-signed certificate for 127.0.0.1, written to a temp dir.
fn tls() -> Tls {
    let key =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let dir = tempfile::tempdir().unwrap();
    let cert_pem = key.cert.pem();
    std::fs::write(dir.path().join("server.crt"), &cert_pem).unwrap();
    std::fs::write(
        dir.path().join("server.key"),
        key.signing_key.serialize_pem(),
    )
    .unwrap();
    Tls {
        dir,
        cert_pem,
        cert_der: key.cert.der().clone(),
    }
}

/// An exporter serving HTTPS with `tls`'s certificate, the rest of its web
/// config being `more`.
fn https_exporter(tls: &Tls, more: &str) -> ExporterProcess {
    let web = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{more}",
        tls.dir.path().join("server.crt").display(),
        tls.dir.path().join("server.key").display(),
    );
    ExporterProcess::start_with(
        "apps:\n",
        ExporterOptions {
            web_config: Some(&web),
            https: true,
            ..Default::default()
        },
    )
}

fn client(tls: &Tls) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth() {
    let tls = tls();
    // Cost 4, bcrypt's minimum: the check is the same, only cheaper.
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let exporter = https_exporter(
        &tls,
        &format!(
            "basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        ),
    );
    let client = client(&tls);
    let url = exporter.url("/metrics");

    let res = client.get(&url).send().await.expect("TLS handshake");
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );

    let res = client
        .get(&url)
        .basic_auth("prometheus", Some("wrong horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client
        .get(&url)
        .basic_auth("nobody", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    for _ in 0..2 {
        let res = client
            .get(&url)
            .basic_auth("prometheus", Some("correct horse"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-frame-options"], "deny");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("vigil_exporter_build_info")
        );
    }

    // Plain HTTP on the TLS port gets no metrics.
    let plain = format!("http://{}/metrics", exporter.addr);
    let answered = reqwest::Client::new().get(&plain).send().await;
    assert!(
        answered
            .as_ref()
            .map(|r| !r.status().is_success())
            .unwrap_or(true),
        "plain HTTP was served: {answered:?}"
    );
}

#[test]
fn a_bad_web_config_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yml");
    std::fs::write(&config, "apps:\n").unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\nbasic_auth_users:\n  alice: not-a-hash\n",
    )
    .unwrap();
    let out = Command::new(exporter_bin())
        .arg("--config.file")
        .arg(&config)
        .arg("--web.config.file")
        .arg(&web)
        .arg("--web.listen-address")
        .arg("127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let w = web.display().to_string();
    assert!(stderr.contains(&format!("{w}:1:1: cert_file ")), "{stderr}");
    assert!(stderr.contains("missing.crt"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{w}:4:1: user \"alice\": the password is not a bcrypt hash"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-hash"), "{stderr}");

    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: a\n  key_file: b\n  colour: red\n",
    )
    .unwrap();
    let out = Command::new(exporter_bin())
        .arg("--config.file")
        .arg(&config)
        .arg("--web.config.file")
        .arg(&web)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{w}:4:3: tls_server_config: unknown field `colour`"
        )),
        "{stderr}"
    );
}

/// hyper refuses a request line over 64 KiB before any route sees it; over
/// TLS, as over plain TCP, the 414 carries Prometheus's JSON error rather
/// than an empty body. Raw TLS: HTTP clients refuse such URIs themselves.
#[test]
fn an_overlong_request_line_over_tls_gets_a_json_error() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    let tls = tls();
    let exporter = https_exporter(&tls, "");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(tls.cert_der.clone()).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(exporter.addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "GET /metrics?x={} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n",
        "a".repeat(100_000)
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    // The server closes the connection after the answer; a TLS close
    // without close_notify is an error here, after all bytes were read.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let error: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["status"], "error");
    assert_eq!(error["errorType"], "bad_data");
}
