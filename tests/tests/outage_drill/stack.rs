//! The drill's stack, started once: PostgreSQL primary and streaming
//! replica, a Redis master, three demo app processes behind HAProxy,
//! vigil-exporter watching all of them, aiosmtpd and a Slack-shaped
//! receiver, and the `vigil` binary scraping the exporter with the drill's
//! rules, routing, and SLA. Every server is on a free loopback port in a
//! temporary directory and is stopped by pid when the stack drops.

use std::path::Path;

use vigil_test_support::Recorder;
use vigil_test_support::{Smtpd, free_port};
use vigil_tests::demo_app::AppSet;
use vigil_tests::exporter::{ExporterProcess, sample_value, samples};
use vigil_tests::haproxy::{HaproxyOptions, HaproxyServer};
use vigil_tests::postgres::PgServer;
use vigil_tests::redis::RedisServer;
use vigil_tests::vigil::VigilProcess;

pub const INSTANCES: [&str; 3] = ["api-1", "api-2", "api-3"];
/// The Slack webhook path, shaped like Slack's (`/services/T…/B…/…`).
pub const SLACK_PATH: &str = "/services/T0DRILL/B0DRILL/drill-token";
const REDIS_PASSWORD: &str = "drill-redis-pw";

pub struct Stack {
    pub vigil: VigilProcess,
    pub apps: AppSet,
    pub primary: PgServer,
    pub smtpd: Smtpd,
    pub slack: Recorder,
    pub exporter: ExporterProcess,
    _replica: PgServer,
    _redis: RedisServer,
    _haproxy: HaproxyServer,
    /// Config, rules, SQLite data, mail; removed last.
    _dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start(rules: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let primary =
            PgServer::start_primary().expect("start PostgreSQL (apt-get install postgresql)");
        let replica = primary
            .start_replica()
            .expect("start the streaming replica");
        let redis = RedisServer::start_master(Some(REDIS_PASSWORD)).expect("start redis-server");
        let apps = AppSet::start(Path::new(env!("CARGO_BIN_EXE_vigil-demo-app")), &INSTANCES);
        let haproxy = HaproxyServer::start(HaproxyOptions {
            servers: apps.addrs(),
            stats_user: "admin".into(),
            stats_password: "drill-stats-pw".into(),
            tls: false,
        })
        .expect("start haproxy");
        let exporter = ExporterProcess::start(&exporter_config(
            &primary, &replica, &redis, &haproxy, &apps,
        ));
        wait_exporter_steady(&exporter).await;
        let maildir = dir.path().join("mail");
        let smtpd = Smtpd::start(free_port(), &maildir, None);
        let slack = Recorder::start().await;

        std::fs::write(dir.path().join("drill.rules.yml"), rules).unwrap();
        let config = dir.path().join("vigil.yml");
        std::fs::write(
            &config,
            vigil_config(&exporter.addr.to_string(), &smtpd, &slack),
        )
        .unwrap();
        let vigil = VigilProcess::start_checked(&config, &dir.path().join("vigil.log"));
        Stack {
            vigil,
            apps,
            primary,
            smtpd,
            slack,
            exporter,
            _replica: replica,
            _redis: redis,
            _haproxy: haproxy,
            _dir: dir,
        }
    }
}

/// Until the exporter sees every app healthy and the primary up: its first
/// connection to PostgreSQL (SCRAM in a debug build) can take longer than a
/// probe's deadline, and vigil, started after this, must not put that
/// warm-up in the SLA ledger as downtime.
async fn wait_exporter_steady(exporter: &ExporterProcess) {
    exporter
        .scrape_until(60, "the exporter to see the stack up", |text| {
            let healthy = samples(text, "instance_health")
                .iter()
                .filter(|(_, v)| *v == 1.0)
                .count();
            let primary = sample_value(text, "pg_up", &[("role", "primary")]);
            healthy == INSTANCES.len() && primary == Some(1.0)
        })
        .await;
}

fn exporter_config(
    primary: &PgServer,
    replica: &PgServer,
    redis: &RedisServer,
    haproxy: &HaproxyServer,
    apps: &AppSet,
) -> String {
    let app_list: String = INSTANCES
        .iter()
        .zip(apps.ports())
        .map(|(i, p)| format!("  - url: http://127.0.0.1:{p}\n    instance: {i}\n    labels: {{ job: cartae-api }}\n"))
        .collect();
    format!(
        "global:\n  timeout: 500ms\n\
         postgres:\n  - dsn: {}\n    labels: {{ role: primary }}\n  - dsn: {}\n    labels: {{ role: replica }}\n\
         redis:\n  - address: {}\n    password: {REDIS_PASSWORD}\n\
         haproxy:\n  - url: {}\n    username: {}\n    password: {}\n\
         apps:\n{app_list}",
        primary.dsn(),
        replica.dsn(),
        redis.url(),
        haproxy.stats_url(),
        haproxy.stats_user(),
        haproxy.stats_password(),
    )
}

/// Scrape and evaluate every second; group per alert and instance so each
/// alert is a notification of its own; wait and interval short so the drill
/// takes about two minutes. The SLA section keeps the defaults (the seeds'
/// objective and credit tiers; time without data excluded), so the report
/// judges the drill's own window.
fn vigil_config(exporter: &str, smtpd: &Smtpd, slack: &Recorder) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
storage:
  path: data
rule_files: [drill.rules.yml]
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
      receiver: oncall
      group_by: [alertname, instance]
      group_wait: 500ms
      group_interval: 2s
      repeat_interval: 1h
    receivers:
      - name: oncall
        email_configs:
          - to: oncall@drill.test
            send_resolved: true
            text: |
              {{{{ range .Alerts }}}}alert: {{{{ .Status }}}} {{{{ .Labels.alertname }}}} on {{{{ .Labels.instance }}}}
              summary: {{{{ .Annotations.summary }}}}
              {{{{ end }}}}
        slack_configs:
          - api_url: '{slack}{SLACK_PATH}'
            channel: '#oncall'
            send_resolved: true
sla:
  services:
    - name: api
      # Down when fewer than 2 instances are healthy, also when none is;
      # unknown (not down) before the exporter's first probe of the apps.
      up: '(count(instance_health{{job="cartae-api"}} == 1) or count(app_up{{job="cartae-api"}}) * 0) >= bool 2'
    - name: database
      up: 'pg_up{{role="primary"}}'
"#,
        smarthost = smtpd.smarthost(),
        slack = slack.base(),
    )
}
