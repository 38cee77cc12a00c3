//! The monitored stack's alerts end to end: three real demo app processes,
//! a real vigil-exporter probing them, and two evaluators scraping the
//! exporter side by side — vigil (in process, alerts recorded through its
//! sink seam) and Debian's Prometheus — both with the repository's
//! InstanceDown and InsufficientHealthyInstances rules from
//! `rules/stack.rules.yml` (expressions, labels and annotations as written;
//! only `for` and the interval shortened so the test takes seconds).
//!
//! Stop one app: InstanceDown is pending, then fires at the evaluation
//! `for` after it became active. Stop all: InsufficientHealthyInstances
//! fires. Restore: everything resolves. At each step both evaluators must
//! show the same alerts on `/api/v1/alerts`. Servers start once.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use vigil::rules::{AlertSink, OutgoingAlert};
use vigil::server::{Options, load};
use vigil_test_support::{ChildGuard, wait_for_tcp};
use vigil_test_support::{eventually, free_port};
use vigil_tests::api::{alerts, get_json, get_text, wait_alerts};
use vigil_tests::demo_app::AppSet;
use vigil_tests::exporter::ExporterProcess;

const INSTANCE_DOWN_FOR_MS: i64 = 3_000;
const INSUFFICIENT_FOR_MS: i64 = 2_000;
/// vigil's firing alerts are valid for four resend delays (1 m) after a send.
const VALID_FOR_MS: i64 = 4 * 60_000;
const INSTANCES: [&str; 3] = ["api-1", "api-2", "api-3"];

/// The two rules from the repository's file, with short `for`s, as JSON
/// (which is YAML to both vigil and Prometheus).
fn test_rules() -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/stack.rules.yml");
    let file = vigil::rules::check_file(&repo).expect("the repository's rules load");
    let wanted = [
        ("InstanceDown", INSTANCE_DOWN_FOR_MS),
        ("InsufficientHealthyInstances", INSUFFICIENT_FOR_MS),
    ];
    let rules: Vec<Value> = wanted
        .iter()
        .map(|(name, for_ms)| {
            let def = file
                .groups
                .iter()
                .flat_map(|g| &g.rules)
                .find(|r| r.alert.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{name} missing from rules/stack.rules.yml"));
            json!({
                "alert": name,
                "expr": def.expr,
                "for": format!("{}ms", for_ms),
                "labels": def.labels,
                "annotations": def.annotations,
            })
        })
        .collect();
    json!({"groups": [{"name": "stack-e2e", "interval": "1s", "rules": rules}]}).to_string()
}

/// Every alert the rules hand to notification.
#[derive(Default)]
struct Recorder(Mutex<Vec<OutgoingAlert>>);

impl AlertSink for Recorder {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        self.0.lock().unwrap().extend(alerts);
    }
}

impl Recorder {
    fn sent(&self, alertname: &str, instance: Option<&str>) -> Vec<OutgoingAlert> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.labels.get("alertname") == Some(alertname))
            .filter(|a| instance.is_none() || a.labels.get("instance") == instance)
            .cloned()
            .collect()
    }
}

/// `/api/v1/alerts` reduced to what both evaluators must agree on: labels,
/// annotations, state and value (not `activeAt`, which depends on when
/// each scraped), sorted.
fn comparable(alerts: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "labels": a["labels"],
                "annotations": a["annotations"],
                "state": a["state"],
                "value": a["value"],
            })
        })
        .collect();
    out.sort_by_key(|a| a.to_string());
    out
}

fn start_prometheus(dir: &Path, exporter: &str, rules: &Path) -> (ChildGuard, String) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: ['{}']\nscrape_configs:\n  - job_name: stack\n    honor_labels: true\n    static_configs:\n      - targets: ['{exporter}']\n",
            rules.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .expect("run prometheus (apt-get install -y prometheus)");
    let guard = ChildGuard::new("prometheus", child);
    wait_for_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(30));
    (guard, format!("http://127.0.0.1:{port}"))
}

/// Starts vigil in process, with `sink`; returns its base URL and the
/// sender that stops it.
async fn start_vigil(
    dir: &Path,
    exporter: &str,
    rules: &Path,
    sink: Arc<Recorder>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let config = dir.join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: ['{}']\nscrape_configs:\n  - job_name: stack\n    honor_labels: true\n    static_configs:\n      - targets: ['{exporter}']\n",
            rules.display()
        ),
    )
    .unwrap();
    let cfg = vigil::config::Config::load(&config).unwrap();
    let options = Options {
        alert_sink: Some(sink),
        ..Options::new(Some(config), Arc::new(vigil::clock::SystemClock))
    };
    let vigil = load(cfg, options).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        vigil
            .serve(listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (base, tx)
}

/// Waits until `base` (either evaluator) has evaluated the group with all
/// three instances healthy.
async fn wait_all_healthy(who: &str, base: &str) {
    let mut body: Value;
    eventually!(60, format!("{who} to see 3 healthy instances: {body}"), {
        let mut url = reqwest::Url::parse(&format!("{base}/api/v1/query")).unwrap();
        url.query_pairs_mut()
            .append_pair("query", "count(instance_health == 1)");
        body = get_json(url.as_str()).await;
        let rules = get_json(&format!("{base}/api/v1/rules")).await;
        let evaluated = rules["data"]["groups"][0]["rules"]
            .as_array()
            .is_some_and(|r| r.iter().all(|r| r["health"] == "ok"));
        body["data"]["result"][0]["value"][1] == "3" && evaluated
    });
}

/// An alert pending since a slot of the 1 s grid fires at the evaluation
/// exactly `for` later, unless the group missed slots (a loaded machine):
/// then at most one interval later per missed slot.
async fn assert_fired_on_time(vigil: &str, pending_ms: i64, for_ms: i64) {
    let metrics = get_text(&format!("{vigil}/metrics")).await;
    let missed: i64 = metrics
        .lines()
        .find(|l| l.starts_with("vigil_rule_group_iterations_missed_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        (for_ms..=for_ms + 1000 * missed).contains(&pending_ms),
        "fired {pending_ms} ms after becoming active; `for` is {for_ms} ms, {missed} slots missed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_alerts_in_vigil_and_prometheus() {
    let mut apps = AppSet::start(Path::new(env!("CARGO_BIN_EXE_vigil-demo-app")), &INSTANCES);
    let app_list: String = INSTANCES
        .iter()
        .zip(apps.ports())
        .map(|(i, p)| format!("  - url: http://127.0.0.1:{p}\n    instance: {i}\n"))
        .collect();
    let exporter = ExporterProcess::start(&format!("global:\n  timeout: 500ms\napps:\n{app_list}"));
    let exporter_addr = exporter.addr.to_string();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("stack-e2e.rules.json");
    std::fs::write(&rules, test_rules()).unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let sink = Arc::new(Recorder::default());
    let (vigil, stop_vigil) = start_vigil(dir.path(), &exporter_addr, &rules, sink.clone()).await;
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir(&prom_dir).unwrap();
    let (_prometheus, prom) = start_prometheus(&prom_dir, &exporter_addr, &rules);
    wait_all_healthy("vigil", &vigil).await;
    wait_all_healthy("prometheus", &prom).await;
    assert!(alerts(&vigil).await.is_empty());
    // Prometheus evaluates before its first scrape, when `or vector(0)`
    // makes InsufficientHealthyInstances pending; the first evaluation
    // with data drops it (vigil waits for its first scrapes instead).
    wait_alerts("prometheus", &prom, &[], 20).await;

    // One app stops: InstanceDown pending, then firing `for` later.
    apps.stop(1);
    wait_alerts("vigil", &vigil, &[("InstanceDown", "api-2", "pending")], 20).await;
    let firing = [("InstanceDown", "api-2", "firing")];
    let v = comparable(wait_alerts("vigil", &vigil, &firing, 20).await);
    let sent = sink.sent("InstanceDown", Some("api-2"));
    assert_eq!(sent.len(), 1, "{sent:?}");
    let fired_at = sent[0].ends_at - VALID_FOR_MS;
    assert_fired_on_time(&vigil, fired_at - sent[0].starts_at, INSTANCE_DOWN_FOR_MS).await;
    let p = comparable(wait_alerts("prometheus", &prom, &firing, 20).await);
    assert_eq!(v, p, "vigil and Prometheus disagree");

    // Every app stops: too few healthy instances.
    apps.stop(0);
    apps.stop(2);
    let all_down = [
        ("InstanceDown", "api-1", "firing"),
        ("InstanceDown", "api-2", "firing"),
        ("InstanceDown", "api-3", "firing"),
        ("InsufficientHealthyInstances", "", "firing"),
    ];
    let v = comparable(wait_alerts("vigil", &vigil, &all_down, 20).await);
    let p = comparable(wait_alerts("prometheus", &prom, &all_down, 20).await);
    assert_eq!(v, p, "vigil and Prometheus disagree");
    let insufficient = sink.sent("InsufficientHealthyInstances", None);
    assert_eq!(insufficient.len(), 1);
    assert_fired_on_time(
        &vigil,
        insufficient[0].ends_at - VALID_FOR_MS - insufficient[0].starts_at,
        INSUFFICIENT_FOR_MS,
    )
    .await;
    assert_eq!(
        insufficient[0].annotations,
        vec![
            (
                "description".to_string(),
                "Only 0 instances are healthy.".to_string()
            ),
            (
                "summary".to_string(),
                "Less than 2 healthy instances".to_string()
            ),
        ]
    );

    // Everything comes back: every alert resolves, and says so once.
    for i in 0..INSTANCES.len() {
        apps.up(i);
    }
    wait_alerts("vigil", &vigil, &[], 20).await;
    wait_alerts("prometheus", &prom, &[], 20).await;
    let mut resolved: BTreeMap<String, usize> = BTreeMap::new();
    for a in sink.0.lock().unwrap().iter() {
        if a.ends_at - a.starts_at < VALID_FOR_MS && a.ends_at > a.starts_at {
            let key = format!(
                "{}/{}",
                a.labels.get("alertname").unwrap_or(""),
                a.labels.get("instance").unwrap_or("")
            );
            *resolved.entry(key).or_default() += 1;
        }
    }
    assert_eq!(
        resolved.keys().cloned().collect::<Vec<_>>(),
        [
            "InstanceDown/api-1",
            "InstanceDown/api-2",
            "InstanceDown/api-3",
            "InsufficientHealthyInstances/"
        ]
    );
    assert!(resolved.values().all(|n| *n == 1), "{resolved:?}");
    let _ = stop_vigil.send(());
}
