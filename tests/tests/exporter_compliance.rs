//! The same check for every kind of collector (STYLE 16): a target that
//! cannot be reached yields its source's `*_up 0`, its duration, a failed
//! `vigil_exporter_collector_success`, a failure counted by reason, and one
//! log line however many scrapes fail; a reachable target of the same kind
//! next to it is unaffected.

use vigil_test_support::free_port;
use vigil_tests::demo_app::{AppOptions, DemoApp};
use vigil_tests::exporter::{ExporterProcess, sample_value, samples};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_collector_reports_failure_the_same_way() {
    let closed = free_port();
    let app = DemoApp::start(AppOptions::new("api-ok")).await.unwrap();
    let config = format!(
        "\
global:
  timeout: 2s
postgres:
  - dsn: postgres://vigil:x@127.0.0.1:{closed}/postgres?sslmode=disable
redis:
  - address: redis://127.0.0.1:{closed}
haproxy:
  - url: http://127.0.0.1:{closed}/stats
apps:
  - url: http://127.0.0.1:{closed}
    instance: api-closed
  - url: {}
    instance: api-ok
",
        app.url()
    );
    let exporter = ExporterProcess::start(&config);
    let scrapes = 3;
    let mut text = String::new();
    for _ in 0..scrapes {
        text = exporter.scrape().await;
    }
    let closed_target = format!("127.0.0.1:{closed}");
    for (collector, up, label, target) in [
        ("postgres", "pg_up", "server", closed_target.as_str()),
        ("redis", "redis_up", "target", closed_target.as_str()),
        ("haproxy", "haproxy_up", "target", closed_target.as_str()),
        ("app", "app_up", "instance", "api-closed"),
    ] {
        assert_eq!(
            sample_value(&text, up, &[(label, target)]),
            Some(0.0),
            "{up}"
        );
        let me = [("collector", collector), ("target", target)];
        assert_eq!(
            sample_value(&text, "vigil_exporter_collector_success", &me),
            Some(0.0),
            "{collector}"
        );
        let took = sample_value(&text, "vigil_exporter_collector_duration_seconds", &me)
            .unwrap_or_else(|| panic!("no duration for {collector}"));
        assert!((0.0..2.5).contains(&took), "{collector}: {took}");
        let failures: f64 = samples(&text, "vigil_exporter_collector_failures_total")
            .iter()
            .filter(|(labels, _)| {
                me.iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| v)
            .sum();
        assert_eq!(
            failures, scrapes as f64,
            "{collector}: one failure per scrape"
        );
        let logs = exporter.logs();
        let lines = logs
            .lines()
            .filter(|l| {
                l.contains("collection failed")
                    && l.contains(&format!("collector={collector} target={target} "))
            })
            .count();
        assert_eq!(
            lines, 1,
            "{collector}: logged once per change of state\n{logs}"
        );
    }
    assert_eq!(
        sample_value(&text, "instance_health", &[("instance", "api-closed")]),
        Some(0.0)
    );
    assert_eq!(
        sample_value(&text, "app_up", &[("instance", "api-ok")]),
        Some(1.0)
    );
    assert_eq!(
        sample_value(&text, "instance_health", &[("instance", "api-ok")]),
        Some(1.0)
    );
}
