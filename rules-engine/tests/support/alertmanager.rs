//! Debian's Alertmanager 0.25 (`prometheus-alertmanager`) on a free
//! loopback port with a config and storage of its own in a temp dir,
//! clustering off; killed (by its pid) on drop.
//! Included with `#[path]` by the tests that need one.

#![allow(dead_code)]

use std::process::{Command, Stdio};

use vigil_test_support::{ChildGuard, free_port};

pub struct Alertmanager {
    _child: ChildGuard,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts it with `config` and waits until `/-/ready` answers.
    pub async fn start(config: &str) -> Alertmanager {
        Self::start_with(config, &[]).await
    }

    /// [`Alertmanager::start`] with more command-line flags.
    pub async fn start_with(config: &str, flags: &[&str]) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg_path, config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .args(flags)
            .stdout(Stdio::null())
            .stderr(if std::env::var("AM_DEBUG").is_ok() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect(
                "prometheus-alertmanager not found: install Debian's `prometheus-alertmanager`",
            );
        let am = Alertmanager {
            _child: ChildGuard::new(format!("alertmanager :{port}"), child),
            port,
            _dir: dir,
        };
        vigil_test_support::http_ready("Alertmanager", &format!("{}/-/ready", am.base()), 20).await;
        am
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.base()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Posts `alerts` to its `/api/v2/alerts`, as Prometheus does.
    pub async fn post(&self, alerts: &[vigil::notify::Alert]) {
        let body: Vec<serde_json::Value> = alerts.iter().map(posted).collect();
        let url = format!("{}/api/v2/alerts", self.base());
        let r = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{url}: {:?}", r.text().await);
    }

    /// The names (`alertname`) of the alerts it holds, sorted.
    pub async fn alert_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .get("/api/v2/alerts")
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["labels"]["alertname"].as_str().map(String::from))
            .collect();
        names.sort();
        names
    }
}

/// One alert as Prometheus posts it to `/api/v2/alerts`.
pub fn posted(a: &vigil::notify::Alert) -> serde_json::Value {
    let d = vigil::notify::data::AlertData::new(a, a.starts_at);
    serde_json::json!({
        "labels": d.labels, "annotations": d.annotations,
        "startsAt": d.starts_at,
        "endsAt": vigil::notify::data::go_time(a.ends_at),
        "generatorURL": d.generator_url,
    })
}
