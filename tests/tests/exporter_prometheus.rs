//! Side by side with the real thing: Debian's Prometheus scrapes
//! vigil-exporter (it asks for OpenMetrics first) and must store what it
//! shows: the contract counter without `_total`, the app families under
//! `honor_labels`, the self-metrics. A Prometheus that rejects the text
//! would mark the target down and store nothing.

use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_test_support::{ChildGuard, wait_for_tcp};
use vigil_test_support::{eventually, free_port};
use vigil_tests::demo_app::{AppOptions, AppState, DemoApp};
use vigil_tests::exporter::{ExporterProcess, http_client};
use vigil_tests::postgres::PgServer;

/// Runs `query` against Prometheus's API until it returns a non-empty
/// vector whose first value satisfies `ok` (at most 60 s).
async fn query_until(base: &str, query: &str, ok: impl Fn(f64) -> bool) -> serde_json::Value {
    let client = http_client();
    let mut last = serde_json::Value::Null;
    eventually!(
        60,
        format!("Prometheus to answer {query} as expected; last answer: {last}"),
        {
            let mut url = reqwest::Url::parse(&format!("{base}/api/v1/query")).unwrap();
            url.query_pairs_mut().append_pair("query", query);
            if let Ok(res) = client.get(url).send().await
                && let Ok(body) = res.json::<serde_json::Value>().await
            {
                last = body;
            }
            last["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(&ok)
        }
    );
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_what_the_exporter_shows() {
    let pg = PgServer::start_primary().expect("start PostgreSQL");
    let mut degraded = AppOptions::new("api-2");
    degraded.initial = AppState::Degraded;
    let apps = [
        DemoApp::start(AppOptions::new("api-1")).await.unwrap(),
        DemoApp::start(degraded).await.unwrap(),
    ];
    let exporter = ExporterProcess::start(&format!(
        "postgres:\n  - dsn: {}\napps:\n  - url: {}\n    instance: api-1\n  - url: {}\n    instance: api-2\n",
        pg.dsn(),
        apps[0].url(),
        apps[1].url()
    ));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: vigil\n    honor_labels: true\n    static_configs:\n      - targets: ['{}']\n",
            exporter.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .expect("run prometheus (apt-get install -y prometheus)");
    let _prometheus = ChildGuard::new("prometheus", child);
    wait_for_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(30));
    let base = format!("http://127.0.0.1:{port}");

    query_until(&base, "up{job=\"vigil\"}", |v| v == 1.0).await;
    // A contract counter without `_total`, typed `unknown` in OpenMetrics.
    query_until(&base, "count(pg_stat_database_xact_commit)", |v| v >= 1.0).await;
    query_until(&base, "instance_health{instance=\"api-2\"}", |v| v == 0.5).await;
    query_until(&base, "pg_up", |v| v == 1.0).await;
    query_until(&base, "vigil_exporter_scrapes_total", |v| v >= 1.0).await;
    query_until(
        &base,
        "histogram_quantile(0.5, sum by (le) (health_check_duration_seconds_bucket))",
        |v| v.is_finite() && v > 0.0,
    )
    .await;
    // The whole scrape was taken in: PostgreSQL alone gives well over 100.
    query_until(&base, "scrape_samples_scraped{job=\"vigil\"}", |v| {
        v > 100.0
    })
    .await;
}
