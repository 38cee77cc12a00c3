//! The failover drill's stack, started once: a PostgreSQL primary with two
//! streaming standbys (one to promote beside the running primary, one to
//! take over when it stops), a Redis master and replica watched by three
//! Sentinels, three demo apps behind HAProxy, vigil-exporter reading all of
//! them, and the `vigil` binary scraping the exporter with the drill's
//! rules, routing every alert to a webhook receiver, aiosmtpd (email) and a
//! Slack-shaped receiver, with an SLA service for "a writable primary
//! exists". Every server is on a free loopback port in a temporary
//! directory and is stopped by pid when the stack drops.

use std::path::Path;

use vigil_test_support::Recorder;
use vigil_test_support::{Smtpd, free_port};
use vigil_tests::demo_app::AppSet;
use vigil_tests::exporter::{ExporterProcess, sample_value, samples};
use vigil_tests::haproxy::{HaproxyOptions, HaproxyServer};
use vigil_tests::postgres::PgServer;
use vigil_tests::redis::RedisServer;
use vigil_tests::sentinel::Sentinel;
use vigil_tests::vigil::VigilProcess;

/// The `cluster` label of the PostgreSQL servers.
pub const PG_CLUSTER: &str = "main";
/// The `cluster` label of the Redis servers and the Sentinel.
pub const REDIS_CLUSTER: &str = "cache";
/// The webhook's path on the receiver.
pub const HOOK_PATH: &str = "/hook";
/// The Slack webhook path, shaped like Slack's (`/services/T…/B…/…`).
pub const SLACK_PATH: &str = "/services/T0DRILL/B0DRILL/failover-token";
/// Where the emails go.
pub const MAIL_TO: &str = "oncall@drill.test";
/// The demo apps behind HAProxy.
pub const INSTANCES: [&str; 3] = ["api-1", "api-2", "api-3"];

pub struct Stack {
    pub vigil: VigilProcess,
    pub exporter: ExporterProcess,
    pub hook: Recorder,
    pub smtpd: Smtpd,
    pub slack: Recorder,
    /// The primary at the start.
    pub pg_a: PgServer,
    /// The standby that takes over when pg_a stops.
    pub pg_b: PgServer,
    /// The standby promoted while pg_a runs (split brain).
    pub pg_c: PgServer,
    pub redis_master: RedisServer,
    pub redis_replica: RedisServer,
    /// Three; the exporter reads the first.
    pub sentinels: Vec<Sentinel>,
    _apps: AppSet,
    _haproxy: HaproxyServer,
    /// Config, rules, SQLite data; removed last.
    _dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start(rules: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let pg_a =
            PgServer::start_primary().expect("start PostgreSQL (apt-get install postgresql)");
        let pg_b = pg_a.start_replica().expect("start standby b");
        let pg_c = pg_a.start_replica().expect("start standby c");
        let redis_master = RedisServer::start_master(None).expect("start redis-server");
        let redis_replica = redis_master.start_replica().expect("start the replica");
        let sentinels = Sentinel::start_group(3, redis_master.addr(), None, 1)
            .expect("start three redis-sentinel (apt-get install redis-sentinel)");
        let apps = AppSet::start(Path::new(env!("CARGO_BIN_EXE_vigil-demo-app")), &INSTANCES);
        let haproxy = HaproxyServer::start(HaproxyOptions {
            servers: apps.addrs(),
            stats_user: "admin".into(),
            stats_password: "drill-stats-pw".into(),
            tls: false,
        })
        .expect("start haproxy");
        let exporter = ExporterProcess::start(&exporter_config(
            [&pg_a, &pg_b, &pg_c],
            [&redis_master, &redis_replica],
            &sentinels[0],
            &haproxy,
            &apps,
        ));
        wait_exporter_steady(&exporter).await;
        let hook = Recorder::start().await;
        let smtpd = Smtpd::start(free_port(), &dir.path().join("mail"), None);
        let slack = Recorder::start().await;
        std::fs::write(dir.path().join("failover.rules.json"), rules).unwrap();
        let config = dir.path().join("vigil.yml");
        std::fs::write(
            &config,
            vigil_config(
                &exporter.addr.to_string(),
                &hook.base(),
                &smtpd,
                &slack.base(),
            ),
        )
        .unwrap();
        let vigil = VigilProcess::start_checked(&config, &dir.path().join("vigil.log"));
        Stack {
            vigil,
            exporter,
            hook,
            smtpd,
            slack,
            pg_a,
            pg_b,
            pg_c,
            redis_master,
            redis_replica,
            sentinels,
            _apps: apps,
            _haproxy: haproxy,
            _dir: dir,
        }
    }
}

/// Until the exporter reads one primary, two standbys, a Sentinel that
/// knows its master and every app healthy: vigil starts after this, so its SLA ledger does not
/// record the exporter's first connections as time without a primary.
async fn wait_exporter_steady(exporter: &ExporterProcess) {
    exporter
        .scrape_until(60, "the exporter to see the stack up", |text| {
            let roles: Vec<f64> = samples(text, "pg_replication_is_replica")
                .iter()
                .map(|(_, v)| *v)
                .collect();
            let sentinel = sample_value(text, "redis_sentinel_masters", &[]);
            let healthy = samples(text, "instance_health")
                .iter()
                .filter(|(_, v)| *v == 1.0)
                .count();
            roles.len() == 3
                && roles.iter().sum::<f64>() == 2.0
                && sentinel == Some(1.0)
                && healthy == INSTANCES.len()
        })
        .await;
}

fn exporter_config(
    pg: [&PgServer; 3],
    redis: [&RedisServer; 2],
    sentinel: &Sentinel,
    haproxy: &HaproxyServer,
    apps: &AppSet,
) -> String {
    let mut out = String::from("global:\n  timeout: 800ms\npostgres:\n");
    for s in pg {
        out += &format!(
            "  - dsn: {}\n    labels: {{ cluster: {PG_CLUSTER} }}\n",
            s.dsn()
        );
    }
    out += "redis:\n";
    for s in redis {
        out += &format!(
            "  - address: {}\n    labels: {{ cluster: {REDIS_CLUSTER} }}\n",
            s.url()
        );
    }
    out += &format!(
        "  - address: {}\n    labels: {{ cluster: {REDIS_CLUSTER} }}\n",
        sentinel.url()
    );
    out += &format!(
        "haproxy:\n  - url: {}\n    username: {}\n    password: {}\napps:\n",
        haproxy.stats_url(),
        haproxy.stats_user(),
        haproxy.stats_password()
    );
    for (instance, port) in INSTANCES.iter().zip(apps.ports()) {
        out += &format!(
            "  - url: http://127.0.0.1:{port}\n    instance: {instance}\n    labels: {{ job: cartae-api }}\n"
        );
    }
    out
}

/// Scrape and evaluate every second; one notification group per alert (the
/// labels that tell the drill's alerts apart), so each firing and each
/// resolution is one webhook call, one email and one Slack message. Email
/// and Slack carry one line per alert, `alert: STATUS NAME on
/// SERVER|TARGET|CLUSTER` (the newline escaped for YAML's double quotes), which
/// `notes.rs` reads back. The SLA service is
/// "the cluster has a writable primary": down when none of its watched
/// servers is one, unknown before the exporter is scraped.
fn vigil_config(exporter: &str, hook: &str, smtpd: &Smtpd, slack: &str) -> String {
    let line = "{{ range .Alerts }}alert: {{ .Status }} {{ .Labels.alertname }} on \
                {{ .Labels.server }}|{{ .Labels.target }}|{{ .Labels.cluster }}\\n{{ end }}";
    let smarthost = smtpd.smarthost();
    format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
storage:
  path: data
rule_files: [failover.rules.json]
scrape_configs:
  - job_name: vigil-exporter
    honor_labels: true
    static_configs:
      - targets: ['{exporter}']
alerting:
  external_url: http://vigil.drill.test
  alertmanager_config:
    global:
      smtp_smarthost: '{smarthost}'
      smtp_from: vigil@drill.test
      smtp_require_tls: false
    route:
      receiver: hook
      group_by: [alertname, cluster, server, target, master_name]
      group_wait: 500ms
      group_interval: 2s
      repeat_interval: 1h
    receivers:
      - name: hook
        webhook_configs:
          - url: '{hook}{HOOK_PATH}'
            send_resolved: true
        email_configs:
          - to: {MAIL_TO}
            send_resolved: true
            text: "{line}"
        slack_configs:
          - api_url: '{slack}{SLACK_PATH}'
            channel: '#oncall'
            send_resolved: true
            text: "{line}"
sla:
  services:
    - name: database
      up: '(count(pg_replication_is_replica{{cluster="{PG_CLUSTER}"}} == 0) or count(pg_up{{cluster="{PG_CLUSTER}"}}) * 0) >= bool 1'
      failover_objective: 3s
"#
    )
}
