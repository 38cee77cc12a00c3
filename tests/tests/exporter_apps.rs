//! App health through a running vigil-exporter: demo apps in every state,
//! a hanging health endpoint cut off at its deadline, and bodies that are
//! not health answers.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use vigil_test_support::free_port;
use vigil_tests::demo_app::{AppOptions, AppState, DemoApp, set_app_state};
use vigil_tests::exporter::{ExporterProcess, sample_value};

async fn app(instance: &str, state: AppState) -> DemoApp {
    let mut opts = AppOptions::new(instance);
    opts.initial = state;
    DemoApp::start(opts).await.expect("start demo app")
}

fn target(app: &DemoApp, instance: &str, extra: &str) -> String {
    format!("  - url: {}\n    instance: {instance}\n{extra}", app.url())
}

fn value(text: &str, name: &str, instance: &str) -> Option<f64> {
    sample_value(text, name, &[("instance", instance)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_health_state_through_the_exporter() {
    let healthy = app("api-1", AppState::Healthy).await;
    let degraded = app("api-2", AppState::Degraded).await;
    let unhealthy = app("api-3", AppState::Unhealthy).await;
    let down = app("api-4", AppState::Down).await;
    let slow = app("api-5", AppState::Slow).await;
    let config = format!(
        "global:\n  timeout: 3s\napps:\n{}{}{}{}{}",
        target(&healthy, "api-1", "    labels: { job: cartae-api }\n"),
        target(&degraded, "api-2", ""),
        target(&unhealthy, "api-3", ""),
        target(&down, "api-4", ""),
        target(&slow, "api-5", "    timeout: 1s\n"),
    );
    let exporter = ExporterProcess::start(&config);

    // The slow app hangs until its state changes; the scrape must come
    // back at its deadline, not wait for it. Bounded by the deadline plus
    // generous slack for a loaded machine.
    let started = Instant::now();
    let text = vigil_tests::exporter::http_client()
        .get(exporter.url("/metrics"))
        .timeout(Duration::from_secs(8))
        .send()
        .await
        .expect("the scrape returns although an app hangs")
        .text()
        .await
        .unwrap();
    let took = started.elapsed();

    let h = |name: &str, i: &str| value(&text, name, i);
    // healthy
    assert_eq!(h("instance_health", "api-1"), Some(1.0), "{text}");
    assert_eq!(h("app_up", "api-1"), Some(1.0));
    assert_eq!(h("app_ready", "api-1"), Some(1.0));
    assert_eq!(h("app_live", "api-1"), Some(1.0));
    assert_eq!(
        sample_value(
            &text,
            "instance_health",
            &[("instance", "api-1"), ("job", "cartae-api")]
        ),
        Some(1.0),
        "static labels are added"
    );
    assert_eq!(
        sample_value(
            &text,
            "app_info",
            &[("instance", "api-1"), ("version", "1.0.0")]
        ),
        Some(1.0)
    );
    assert!(h("app_uptime_seconds", "api-1").is_some());
    assert_eq!(
        sample_value(
            &text,
            "app_health_check_status",
            &[("instance", "api-1"), ("check", "database")]
        ),
        Some(1.0)
    );
    // degraded: still up and ready, half healthy, the Redis check degraded
    assert_eq!(h("instance_health", "api-2"), Some(0.5));
    assert_eq!(h("app_up", "api-2"), Some(1.0));
    assert_eq!(
        sample_value(
            &text,
            "app_health_check_status",
            &[("instance", "api-2"), ("check", "redis")]
        ),
        Some(0.5)
    );
    assert_eq!(
        sample_value(
            &text,
            "app_health_check_latency_seconds",
            &[("instance", "api-2"), ("check", "redis")]
        ),
        Some(0.075)
    );
    // unhealthy: answers (503 with JSON), so up; not ready; still live
    assert_eq!(h("instance_health", "api-3"), Some(0.0));
    assert_eq!(h("app_up", "api-3"), Some(1.0));
    assert_eq!(h("app_ready", "api-3"), Some(0.0));
    assert_eq!(h("app_live", "api-3"), Some(1.0));
    assert_eq!(
        sample_value(
            &text,
            "app_health_check_status",
            &[("instance", "api-3"), ("check", "database")]
        ),
        Some(0.0)
    );
    // down: 503 without a health body
    assert_eq!(h("instance_health", "api-4"), Some(0.0));
    assert_eq!(h("app_up", "api-4"), Some(0.0));
    assert_eq!(h("app_ready", "api-4"), Some(0.0));
    // slow: cut off at its 1 s deadline
    assert_eq!(h("instance_health", "api-5"), Some(0.0));
    assert_eq!(h("app_up", "api-5"), Some(0.0));
    assert_eq!(
        sample_value(
            &text,
            "vigil_exporter_collector_failures_total",
            &[("target", "api-5"), ("reason", "timeout")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample_value(
            &text,
            "health_check_failures_total",
            &[("instance", "api-5"), ("check_type", "health")]
        ),
        Some(1.0)
    );
    assert!(
        took < Duration::from_secs(3),
        "the scrape waited for the slow app past its own 1 s deadline: {took:?}"
    );
    let logs = exporter.logs();
    assert!(logs.contains("target=api-5 kind=timeout"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_seen_and_logged_once() {
    let api = app("api-1", AppState::Healthy).await;
    let exporter = ExporterProcess::start(&format!("apps:\n{}", target(&api, "api-1", "")));

    assert_eq!(
        value(&exporter.scrape().await, "instance_health", "api-1"),
        Some(1.0)
    );
    set_app_state(&api.url(), AppState::Degraded).await.unwrap();
    assert_eq!(
        value(&exporter.scrape().await, "instance_health", "api-1"),
        Some(0.5)
    );
    set_app_state(&api.url(), AppState::Down).await.unwrap();
    for _ in 0..3 {
        let text = exporter.scrape().await;
        assert_eq!(value(&text, "app_up", "api-1"), Some(0.0));
    }
    set_app_state(&api.url(), AppState::Healthy).await.unwrap();
    let text = exporter.scrape().await;
    assert_eq!(value(&text, "app_up", "api-1"), Some(1.0));
    assert_eq!(
        sample_value(
            &text,
            "health_check_failures_total",
            &[("instance", "api-1"), ("check_type", "health")]
        ),
        Some(3.0),
        "three failed health probes counted"
    );
    assert_eq!(
        sample_value(
            &text,
            "health_check_duration_seconds_count",
            &[("instance", "api-1"), ("check_type", "health")]
        ),
        Some(6.0)
    );

    let logs = exporter.logs();
    let failed: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("collection failed"))
        .collect();
    assert_eq!(failed.len(), 1, "one log line per change of state:\n{logs}");
    assert!(failed[0].contains("GET /health: HTTP 503"), "{}", failed[0]);
    assert_eq!(logs.matches("collection recovered").count(), 1, "{logs}");
}

/// A server whose endpoints answer what no health endpoint should.
async fn bad_server() -> String {
    let big = "x".repeat(4096);
    let router = Router::new()
        .route("/plain", get(|| async { "healthy\n" }))
        .route(
            "/html",
            get(|| async { axum::response::Html("<html><body>Welcome to nginx!</body></html>") }),
        )
        .route(
            "/big",
            get(move || async move { format!("{{\"status\":\"healthy\",\"pad\":\"{big}\"}}") }),
        )
        .route(
            "/latin1",
            get(|| async { (StatusCode::OK, vec![b'h', 0xe9, 0xff, b'y']) }),
        )
        .route(
            "/truncated",
            get(|| async { "{\"status\":\"healthy\",\"checks\":{" }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_mark_the_app_down() {
    let url = bad_server().await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    let t = |name: &str, path: &str| {
        format!(
            "  - url: {url}\n    instance: {name}\n    health_path: {path}\n    max_body_bytes: 1024\n"
        )
    };
    let config = format!(
        "apps:\n{}{}{}{}{}  - url: {closed}\n    instance: closed\n",
        t("plain", "/plain"),
        t("html", "/html"),
        t("big", "/big"),
        t("latin1", "/latin1"),
        t("truncated", "/truncated"),
    );
    let exporter = ExporterProcess::start(&config);
    let text = exporter.scrape().await;
    assert_eq!(value(&text, "app_up", "plain"), Some(1.0), "{text}");
    assert_eq!(value(&text, "instance_health", "plain"), Some(1.0));
    for name in ["html", "big", "latin1", "truncated", "closed"] {
        assert_eq!(value(&text, "app_up", name), Some(0.0), "{name}");
        assert_eq!(value(&text, "instance_health", name), Some(0.0), "{name}");
    }
    let logs = exporter.logs();
    for (name, reason) in [
        ("html", "not health JSON"),
        ("big", "body larger than 1024 bytes"),
        ("latin1", "not UTF-8"),
        ("truncated", "not health JSON"),
        ("closed", "Connection refused"),
    ] {
        let line = logs
            .lines()
            .find(|l| l.contains("collection failed") && l.contains(&format!("target={name} ")))
            .unwrap_or_else(|| panic!("no failure logged for {name}:\n{logs}"));
        assert!(line.contains(reason), "{name}: {line}");
    }
}

/// The demo app as a process (what scripts/demo and HAProxy tests run):
/// starts in the state it is given and switches on its admin endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_app_binary_switches_state() {
    let port = free_port();
    let mut opts = AppOptions::new("api-9");
    opts.initial = AppState::Unhealthy;
    opts.version = "2.3.4".into();
    let _child = vigil_tests::demo_app::start_child(
        std::path::Path::new(env!("CARGO_BIN_EXE_vigil-demo-app")),
        port,
        &opts,
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = vigil_tests::exporter::http_client();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["instance"], "api-9");
    assert_eq!(body["version"], "2.3.4");
    assert_eq!(body["checks"]["database"]["status"], "failed");

    set_app_state(&base, AppState::Healthy).await.unwrap();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let state = client
        .get(format!("{base}/admin/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(state.text().await.unwrap().trim(), "healthy");
    let bad = client
        .post(format!("{base}/admin/state"))
        .body("sideways")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
