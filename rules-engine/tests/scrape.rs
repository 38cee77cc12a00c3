//! Scraping a real local HTTP target into the real head, with pinned
//! timestamps: samples and labels, synthetic series, staleness, failures
//! and limits.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use vigil::clock::ManualClock;
use vigil::config::{Config, ScrapeConfig};
use vigil::model::{Matcher, is_stale_nan};
use vigil::scrape::client::ScrapeClient;
use vigil::scrape::target::{TargetGroup, targets_from_group};
use vigil::scrape::{ScrapeManager, Scraper};
use vigil::store::{Head, HeadOptions, Querier};
use vigil_test_support::eventually;

const T0: i64 = 1_700_000_000_000;

fn job(yaml_job: &str) -> ScrapeConfig {
    let text = format!("scrape_configs:\n{yaml_job}");
    Config::parse(&text, "test")
        .unwrap()
        .scrape_configs
        .remove(0)
}

fn scraper(cfg: ScrapeConfig, addr: &str, head: &Arc<Head>) -> Scraper {
    let group = TargetGroup {
        targets: vec![addr.to_string()],
        ..TargetGroup::default()
    };
    let target = targets_from_group(&cfg, &group).remove(0).unwrap();
    let client = ScrapeClient::new(&cfg).unwrap();
    Scraper::new(target, Arc::new(cfg), client, head.clone())
}

/// The samples of the series named `name` (all of them, oldest first).
fn points(head: &Head, name: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    head.select(&[Matcher::equal("__name__", name)], i64::MIN, i64::MAX)
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|p| (p.t, p.v)).collect(),
            )
        })
        .collect()
}

fn value_at(head: &Head, name: &str, t: i64) -> Option<f64> {
    points(head, name)
        .into_iter()
        .flat_map(|(_, ps)| ps)
        .find(|(pt, _)| *pt == t)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn samples_get_target_labels_and_synthetic_series() {
    let target = support::Target::start(
        "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\",job=\"app\"} 10\nhttp_requests_total{code=\"500\"} 2\n",
    )
    .await;
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let addr = target.addr.to_string();
    let mut s = scraper(job("- job_name: web\n"), &addr, &head);
    let r = s.scrape(T0).await;
    assert!(r.up(), "{r:?}");
    assert_eq!(
        (r.samples_scraped, r.samples_post_relabel, r.series_added),
        (2, 2, 2)
    );
    let got = points(&head, "http_requests_total");
    assert_eq!(
        got,
        vec![
            (
                format!(
                    "http_requests_total{{code=\"200\", exported_job=\"app\", instance=\"{addr}\", job=\"web\"}}"
                ),
                vec![(T0, 10.0)]
            ),
            (
                format!("http_requests_total{{code=\"500\", instance=\"{addr}\", job=\"web\"}}"),
                vec![(T0, 2.0)]
            ),
        ]
    );
    assert_eq!(value_at(&head, "up", T0), Some(1.0));
    assert_eq!(value_at(&head, "scrape_samples_scraped", T0), Some(2.0));
    assert_eq!(
        value_at(&head, "scrape_samples_post_metric_relabeling", T0),
        Some(2.0)
    );
    assert_eq!(value_at(&head, "scrape_series_added", T0), Some(2.0));
    let d = value_at(&head, "scrape_duration_seconds", T0).unwrap();
    assert!(d > 0.0 && d < 10.0, "{d}");

    // Second scrape: nothing new.
    let r = s.scrape(T0 + 15_000).await;
    assert_eq!(r.series_added, 0);
    assert_eq!(
        value_at(&head, "scrape_series_added", T0 + 15_000),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_disappearing_series_is_marked_stale_at_the_next_scrape() {
    let target = support::Target::start("a 1\nb 2\n").await;
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let mut s = scraper(job("- job_name: j\n"), &target.addr.to_string(), &head);
    s.scrape(T0).await;
    target.set_body("a 1\n");
    let r = s.scrape(T0 + 15_000).await;
    assert_eq!(r.stale_markers, 1);
    let b = value_at(&head, "b", T0 + 15_000).expect("a stale marker for b");
    assert!(is_stale_nan(b));
    assert_eq!(value_at(&head, "a", T0 + 15_000), Some(1.0));
    // It comes back as a new series.
    target.set_body("a 1\nb 3\n");
    let r = s.scrape(T0 + 30_000).await;
    assert_eq!(r.series_added, 1);
    assert_eq!(value_at(&head, "b", T0 + 30_000), Some(3.0));
}

#[tokio::test]
async fn a_target_that_goes_down_is_up_0_with_its_series_stale() {
    let mut target = support::Target::start("a 1\n").await;
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let mut s = scraper(job("- job_name: j\n"), &target.addr.to_string(), &head);
    assert!(s.scrape(T0).await.up());

    target.set_status(StatusCode::INTERNAL_SERVER_ERROR);
    let r = s.scrape(T0 + 15_000).await;
    assert_eq!(
        r.error.as_deref(),
        Some("server returned HTTP status 500 Internal Server Error")
    );
    assert_eq!(value_at(&head, "up", T0 + 15_000), Some(0.0));
    assert!(is_stale_nan(value_at(&head, "a", T0 + 15_000).unwrap()));
    let st = s.status().lock().unwrap().clone();
    assert_eq!(st.health.as_str(), "down");
    assert!(st.last_error.contains("500"));

    target.stop().await;
    let r = s.scrape(T0 + 30_000).await;
    assert!(r.error.is_some());
    assert_eq!(value_at(&head, "up", T0 + 30_000), Some(0.0));
    assert_eq!(
        value_at(&head, "scrape_samples_scraped", T0 + 30_000),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_malformed_body_fails_the_scrape_and_stores_nothing_of_it() {
    let target = support::Target::start("good 1\n").await;
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let mut s = scraper(job("- job_name: j\n"), &target.addr.to_string(), &head);
    s.scrape(T0).await;
    target.set_body("good 2\nbad{x=\"1\" 3\n");
    let r = s.scrape(T0 + 15_000).await;
    let err = r.error.clone().expect("parse error");
    assert!(err.starts_with("line 2, column"), "{err}");
    assert_eq!(value_at(&head, "up", T0 + 15_000), Some(0.0));
    // Rolled back: the good line of the bad body was not stored, and the
    // previous series is stale.
    assert!(is_stale_nan(value_at(&head, "good", T0 + 15_000).unwrap()));
}

#[tokio::test]
async fn limits_fail_the_scrape_with_the_reason() {
    let body = "a 1\nb 2\nc{x=\"1\",y=\"2\"} 3\n";
    let target = support::Target::start(body).await;
    let addr = target.addr.to_string();
    let head = Arc::new(Head::new(HeadOptions::unlimited()));

    let mut s = scraper(job("- job_name: j\n  sample_limit: 2\n"), &addr, &head);
    let r = s.scrape(T0).await;
    assert_eq!(r.error.as_deref(), Some("sample limit exceeded"));
    assert_eq!(value_at(&head, "a", T0), None);
    assert_eq!(value_at(&head, "up", T0), Some(0.0));

    // Dropping one series by metric relabeling brings it within the limit.
    let cfg = "- job_name: j2\n  sample_limit: 2\n  metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: b\n    action: drop\n";
    let r = scraper(job(cfg), &addr, &head).scrape(T0).await;
    assert!(r.up(), "{r:?}");
    assert_eq!((r.samples_scraped, r.samples_post_relabel), (3, 2));

    let r = scraper(job("- job_name: j3\n  label_limit: 4\n"), &addr, &head)
        .scrape(T0)
        .await;
    assert_eq!(
        r.error.as_deref(),
        Some("label_limit exceeded (metric: c, number of labels: 5, limit: 4)")
    );

    let r = scraper(
        job("- job_name: j4\n  body_size_limit: 10B\n"),
        &addr,
        &head,
    )
    .scrape(T0)
    .await;
    assert_eq!(
        r.error.as_deref(),
        Some("body size limit exceeded (10 bytes)")
    );
}

#[tokio::test]
async fn honor_labels_and_timestamps() {
    let target = support::Target::start("m{job=\"inner\"} 1 1600000000000\n").await;
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let mut s = scraper(
        job("- job_name: outer\n  honor_labels: true\n"),
        &target.addr.to_string(),
        &head,
    );
    assert!(s.scrape(T0).await.up());
    let got = points(&head, "m");
    assert_eq!(got.len(), 1);
    assert!(got[0].0.contains("job=\"inner\""), "{got:?}");
    assert_eq!(got[0].1, vec![(1_600_000_000_000, 1.0)]);
    // Series with their own timestamps get no staleness markers.
    target.set_body("");
    let r = s.scrape(T0 + 15_000).await;
    assert_eq!(r.stale_markers, 0);
}

#[tokio::test]
async fn openmetrics_bodies_and_auth_headers() {
    let target = support::Target::start("# TYPE x counter\nx_total 5\n# EOF\n").await;
    target.set_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8");
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let cfg = format!("- job_name: om\n  bearer_token_file: {}\n", token.display());
    let mut s = scraper(job(&cfg), &target.addr.to_string(), &head);
    let r = s.scrape(T0).await;
    assert!(r.up(), "{r:?}");
    assert_eq!(value_at(&head, "x_total", T0), Some(5.0));
    assert_eq!(
        target.seen_auth.lock().unwrap().as_slice(),
        ["Bearer s3cret"]
    );
}

#[tokio::test]
async fn removing_a_target_from_file_sd_marks_it_stale() {
    let a = support::Target::start("from_a 1\n").await;
    let b = support::Target::start("from_b 1\n").await;
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("targets.json");
    let write = |addrs: &[String]| {
        let list: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
        std::fs::write(
            &sd,
            format!(
                "[{{\"targets\": [{}], \"labels\": {{\"env\": \"test\"}}}}]",
                list.join(",")
            ),
        )
        .unwrap();
    };
    let (addr_a, addr_b) = (a.addr.to_string(), b.addr.to_string());
    write(&[addr_a.clone(), addr_b.clone()]);
    let cfg = job(&format!(
        "- job_name: sd\n  scrape_interval: 1s\n  file_sd_configs:\n  - files: ['{}']\n    refresh_interval: 1s\n",
        dir.path().join("*.json").display()
    ));
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let clock = Arc::new(ManualClock::new(T0));
    let manager = ScrapeManager::new(head.clone(), clock.clone());
    manager.apply(&[cfg]).unwrap();
    assert_eq!(manager.targets().active.len(), 2);
    eventually(
        "both targets scraped",
        std::time::Duration::from_secs(10),
        || value_at(&head, "from_a", T0).is_some() && value_at(&head, "from_b", T0).is_some(),
    )
    .await;

    clock.set(T0 + 60_000);
    write(std::slice::from_ref(&addr_a));
    eventually(
        "target b removed",
        std::time::Duration::from_secs(15),
        || manager.targets().active.len() == 1,
    )
    .await;
    // b may have been scraped once more at the new time before discovery
    // dropped it; its markers then follow that scrape by a millisecond.
    let last_at_or_after = |name: &str| {
        points(&head, name)
            .into_iter()
            .flat_map(|(_, ps)| ps)
            .filter(|(t, _)| *t >= T0 + 60_000)
            .max_by_key(|(t, _)| *t)
    };
    eventually("b marked stale", std::time::Duration::from_secs(10), || {
        last_at_or_after("from_b").is_some_and(|(_, v)| is_stale_nan(v))
            && last_at_or_after("up").is_some()
    })
    .await;
    let view = manager.targets();
    assert_eq!(
        view.active[0].target.labels().get("instance"),
        Some(addr_a.as_str())
    );
    assert_eq!(view.active[0].target.labels().get("env"), Some("test"));
    manager.shutdown().await;
    assert!(manager.targets().active.is_empty());
}

/// Scraping past the head's truncation interval (retention on, as in
/// `vigil run`) must not hang: appends that trigger retention truncation
/// once deadlocked the scrape loop and every query after a minute.
#[test]
fn scraping_across_retention_truncation_does_not_hang() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let target = support::Target::start("a 1\nb 2\n").await;
            let head = Arc::new(Head::new(HeadOptions::default()));
            let mut s = scraper(job("- job_name: j\n"), &target.addr.to_string(), &head);
            for i in 0..10 {
                assert!(s.scrape(T0 + i * 15_000).await.up());
            }
            let n = head
                .select(&[Matcher::equal("__name__", "a")], i64::MIN, i64::MAX)
                .len();
            tx.send(n).unwrap();
        });
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(30));
    assert_eq!(got, Ok(1), "scrape loop hung across truncation");
}
