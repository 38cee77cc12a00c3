//! Input that decides recursion depth never crashes vigil (issue 16, part
//! 1), on the real binary: deeply nested or very long queries get
//! Prometheus's `400 bad_data` naming the limit and the next request is
//! answered; a rule file nested beyond the limit is refused by `vigil check
//! rules` (exit 1, `file:line:column`), by reload (500, the running rules
//! keep running) and at start (non-zero exit before binding).

mod support;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use vigil::promql::limits::{MAX_BYTES, MAX_DEPTH};
use vigil_bin::VigilProcess;
use vigil_test_support::eventually;

fn nested(open: &str, leaf: &str, close: &str, n: usize) -> String {
    format!("{}{leaf}{}", open.repeat(n), close.repeat(n))
}

/// The queries of the issue, and deeper ones.
fn deep_queries() -> Vec<(&'static str, String)> {
    vec![
        ("1,500 parentheses", nested("(", "1", ")", 1500)),
        ("abs( 500 deep", nested("abs(", "vector(1)", ")", 500)),
        ("sum( 1,000 deep", nested("sum(", "vector(1)", ")", 1000)),
        ("1+1+… 2,000 terms", vec!["1"; 2000].join("+")),
        (
            "vector(1) or … 20,000 terms",
            vec!["vector(1)"; 20_000].join(" or "),
        ),
        ("100,000 parentheses", nested("(", "1", ")", 100_000)),
        (
            "a subquery 300 deep",
            nested("max_over_time(", "vector(1)", "[1m:])", 300),
        ),
        ("the limit plus one", nested("(", "1", ")", MAX_DEPTH)),
    ]
}

async fn post_form(base: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let r = support::http()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_query(base: &str, q: &str) -> (u16, Value) {
    let url =
        reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), [("query", q)]).unwrap();
    let r = support::http().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn assert_refused(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(*status, 400, "{what}: {body}");
    assert_eq!(body["status"], "error", "{what}: {body}");
    assert_eq!(body["errorType"], "bad_data", "{what}: {body}");
    let err = body["error"].as_str().unwrap_or("");
    let named = err.contains(&format!("limit of {MAX_DEPTH}"))
        || err.contains(&format!("limit of {MAX_BYTES} bytes"));
    assert!(named, "{what}: the limit is not named: {err}");
}

async fn still_answers(base: &str) {
    let (status, body) = get_query(base, "1 + 1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"][1], "2");
}

#[tokio::test]
async fn nested_queries_are_refused_and_vigil_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, "global: {evaluation_interval: 1s}\n").unwrap();
    let v = VigilProcess::start(&config);
    for (what, q) in deep_queries() {
        // GET while the URL stays well within what servers take; POST always.
        if q.len() < 4000 {
            assert_refused(what, &get_query(&v.base, &q).await);
        }
        assert_refused(
            what,
            &post_form(&v.base, "/api/v1/query", &[("query", &q)]).await,
        );
        let range = [
            ("query", q.as_str()),
            ("start", "0"),
            ("end", "60"),
            ("step", "15"),
        ];
        assert_refused(
            what,
            &post_form(&v.base, "/api/v1/query_range", &range).await,
        );
        still_answers(&v.base).await;
    }
    // Up to the limit, a query is evaluated.
    let q = nested("(", "vector(1)", ")", MAX_DEPTH - 2);
    let (status, body) = post_form(&v.base, "/api/v1/query", &[("query", &q)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "1");
    v.kill();
}

/// A recording rule whose expression is nested `depth` deep, on line 6.
fn deep_rule_file(depth: usize) -> String {
    format!(
        "groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - record: deep\n        expr: {}\n",
        nested("(", "vector(1)", ")", depth)
    )
}

const GOOD: &str = "groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: Up\n        expr: vector(1)\n";

fn vigil_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

#[test]
fn check_rules_refuses_a_deep_rule_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("deep.yml");
    std::fs::write(&rules, deep_rule_file(5000)).unwrap();
    let out = vigil_cmd()
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:6:15:", rules.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("limit of {MAX_DEPTH}")),
        "{stderr}"
    );
}

#[test]
fn start_fails_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deep.rules.yml"), deep_rule_file(5000)).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, "rule_files: ['*.rules.yml']\n").unwrap();
    let out = run_to_exit(&config);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(
        stderr.contains(&format!("limit of {MAX_DEPTH}")),
        "{stderr}"
    );
}

fn run_to_exit(config: &Path) -> std::process::Output {
    vigil_cmd()
        .args([
            "run",
            "--web.listen-address",
            "127.0.0.1:0",
            "--config.file",
        ])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn reload_refuses_a_deep_rule_and_keeps_the_running_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("a.rules.yml");
    std::fs::write(&rules, GOOD).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(&config, "rule_files: ['*.rules.yml']\n").unwrap();
    let v = VigilProcess::start(&config);
    eventually!(20, "Up firing", v.alert("Up").await.is_some());

    std::fs::write(&rules, deep_rule_file(5000)).unwrap();
    let r = support::http()
        .post(format!("{}/-/reload", v.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!("{}:6:15:", rules.display())),
        "{body}"
    );
    assert!(body.contains(&format!("limit of {MAX_DEPTH}")), "{body}");

    let last_eval = || async {
        v.get("/api/v1/rules").await["data"]["groups"][0]["lastEvaluation"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let before = last_eval().await;
    eventually!(
        20,
        "the running group still evaluates",
        last_eval().await != before
    );
    assert!(v.alert("Up").await.is_some(), "running rules kept");
    v.kill();
}
