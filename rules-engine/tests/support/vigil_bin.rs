//! The real `vigil` binary as a child process: started on port 0 with JSON
//! logs, its log lines collected by a thread (the `listening` line gives
//! the address), stopped with SIGKILL or SIGTERM. Killed (by its pid) on
//! drop, so a failing test leaves nothing running.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use vigil_test_support::ChildGuard;

pub struct VigilProcess {
    child: ChildGuard,
    pub base: String,
    /// Every log line so far, parsed.
    pub logs: Arc<Mutex<Vec<Value>>>,
}

impl VigilProcess {
    /// Starts `vigil run --config.file config` and waits until it listens.
    pub fn start(config: &Path) -> VigilProcess {
        Self::start_with(config, &[])
    }

    /// [`VigilProcess::start`] with more flags for `vigil run`.
    pub fn start_with(config: &Path, flags: &[&str]) -> VigilProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["run", "--web.listen-address", "127.0.0.1:0"])
            .args(["--log.format", "json", "--config.file"])
            .arg(config)
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let child = ChildGuard::new("vigil", child);
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                let v = match v.get("fields") {
                    Some(f) => f.clone(),
                    None => v,
                };
                if v["message"] == "listening" {
                    let _ = tx.send(v["address"].as_str().unwrap_or("").to_string());
                }
                sink.lock().unwrap().push(v);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("vigil did not listen: {:?}", logs.lock().unwrap()));
        VigilProcess {
            child,
            base: format!("http://{addr}"),
            logs,
        }
    }

    /// SIGKILL: no chance to save anything on the way out.
    pub fn kill(mut self) {
        self.child.stop();
    }

    /// Sends a signal by name (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        self.child.signal(name);
    }

    /// The `alert notification` log lines so far.
    pub fn notifications(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["message"] == "alert notification")
            .cloned()
            .collect()
    }

    /// Log lines whose message contains `text`.
    pub fn logged(&self, text: &str) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["message"].as_str().is_some_and(|m| m.contains(text)))
            .cloned()
            .collect()
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Value {
        let text = self.text(path).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }

    /// `GET path` as text.
    pub async fn text(&self, path: &str) -> String {
        vigil_common::install_crypto_provider();
        reqwest::get(format!("{}{path}", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The pending or firing alert named `name`.
    pub async fn alert(&self, name: &str) -> Option<Value> {
        self.get("/api/v1/alerts").await["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == name)
            .cloned()
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
