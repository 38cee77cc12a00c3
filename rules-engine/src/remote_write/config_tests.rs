//! `remote_write:` parsing: defaults, and every bad value or unknown key
//! reported as `file:line:column` without a credential in the message.

use crate::config::Config;

fn err(text: &str) -> String {
    Config::parse(text, "vigil.yml")
        .expect_err("config should be rejected")
        .to_string()
}

#[test]
fn defaults_are_prometheus_s() {
    let cfg = Config::parse(
        "remote_write:\n  - url: http://127.0.0.1:9090/api/v1/write\n",
        "vigil.yml",
    )
    .unwrap();
    let rw = &cfg.remote_write[0];
    assert_eq!(rw.remote_timeout.as_millis(), 30_000);
    let q = &rw.queue_config;
    assert_eq!(
        (q.capacity, q.max_samples_per_send),
        (10_000, 2_000),
        "queue sizes"
    );
    assert_eq!(q.batch_send_deadline.as_millis(), 5_000);
    assert_eq!(q.min_backoff.as_millis(), 30);
    assert_eq!(q.max_backoff.as_millis(), 5_000);
}

#[test]
fn the_full_subset_parses() {
    let text = "remote_write:\n  - url: https://rw.example/api/v1/push\n    remote_timeout: 10s\n    headers: {X-Scope-OrgID: team}\n    basic_auth: {username: u, password: p}\n    tls_config: {insecure_skip_verify: true}\n    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: ALERTS_FOR_STATE\n        action: drop\n    queue_config: {capacity: 5, max_samples_per_send: 2, batch_send_deadline: 1s, min_backoff: 10ms, max_backoff: 1s}\n";
    let cfg = Config::parse(text, "vigil.yml").unwrap();
    let rw = &cfg.remote_write[0];
    assert_eq!(rw.queue_config.capacity, 5);
    assert_eq!(rw.write_relabel_configs.len(), 1);
    assert_eq!(rw.headers["X-Scope-OrgID"].expose(), "team");
}

#[test]
fn an_unknown_key_is_located() {
    let e = err("remote_write:\n  - url: http://a:1/w\n    max_shards: 3\n");
    assert!(e.starts_with("vigil.yml:3:5: "), "{e}");
    assert!(e.contains("unknown field `max_shards`"), "{e}");
    let e = err("remote_write:\n  - url: http://a:1/w\n    queue_config:\n      capacityy: 3\n");
    assert!(e.starts_with("vigil.yml:4:7: "), "{e}");
}

/// A bad value is located at the value, or (for values checked after
/// parsing: durations, regexes) at the list item holding it, as for scrape
/// jobs.
#[test]
fn bad_values_are_located() {
    let e = err("remote_write:\n  - url: http://a:1/w\n    remote_timeout: 10\n");
    assert!(e.starts_with("vigil.yml:2:5: remote_write[0]: "), "{e}");
    assert!(e.contains("not a valid duration"), "{e}");
    let e = err("remote_write:\n  - url: http://a:1/w\n    queue_config: {capacity: -1}\n");
    assert!(e.starts_with("vigil.yml:3:30: "), "{e}");
    assert!(e.contains("queue_config.capacity"), "{e}");
    let e = err(
        "remote_write:\n  - url: http://a:1/w\n    write_relabel_configs:\n      - regex: '(('\n",
    );
    assert!(e.starts_with("vigil.yml:4:"), "{e}");
    assert!(e.contains("invalid regex"), "{e}");
}

#[test]
fn semantic_errors_point_at_the_field() {
    let cases = [
        ("url: ftp://a/w", "url", "http:// or https://"),
        (
            "url: http://a:1/w\n    remote_timeout: 0s",
            "remote_timeout",
            "above 0",
        ),
        (
            "url: http://a:1/w\n    headers: {Authorization: x}",
            "headers",
            "reserved header",
        ),
        (
            "url: http://a:1/w\n    bearer_token: t\n    bearer_token_file: f",
            "bearer_token_file",
            "at most one",
        ),
        (
            "url: http://a:1/w\n    bearer_token: t\n    basic_auth: {username: u}",
            "basic_auth",
            "at most one",
        ),
        (
            "url: http://a:1/w\n    queue_config: {min_backoff: 2s, max_backoff: 1s}",
            "queue_config",
            "min_backoff",
        ),
        (
            "url: http://a:1/w\n    queue_config: {max_samples_per_send: 0}",
            "queue_config",
            "max_samples_per_send",
        ),
    ];
    for (item, field, message) in cases {
        let text = format!("remote_write:\n  - {item}\n");
        let line = 1 + text
            .lines()
            .position(|l| l.trim_start().trim_start_matches("- ").starts_with(field))
            .unwrap();
        let e = err(&text);
        assert!(e.starts_with(&format!("vigil.yml:{line}:")), "{field}: {e}");
        assert!(e.contains(message), "{field}: {e}");
    }
}

#[test]
fn credentials_stay_out_of_errors() {
    let e = err(
        "remote_write:\n  - url: http://u:hunter2@a:1/w?token=sesame\n  - url: http://u:hunter2@a:1/w?token=other\n",
    );
    assert!(
        e.contains("multiple remote write configs with url http://a:1/w"),
        "{e}"
    );
    assert!(!e.contains("hunter2") && !e.contains("sesame"), "{e}");
    let cfg = Config::parse(
        "remote_write:\n  - url: http://u:hunter2@a:1/w\n    bearer_token: sesame\n",
        "vigil.yml",
    )
    .unwrap();
    let debug = format!("{cfg:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("sesame"),
        "{debug}"
    );
}
