//! vigil-exporter as a child process, for end-to-end tests: its own
//! temporary directory (configuration, logs), a free loopback port, stopped
//! by its pid when dropped.
//!
//! The binary belongs to another package, so cargo does not hand its path to
//! this one's tests; [`exporter_bin`] builds it once per test process with the
//! cargo that runs the tests (a no-op when it is up to date).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use vigil_test_support::{ChildGuard, eventually, free_port, poll_until};

/// How long a starting exporter may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub use crate::bins::target_profile_dir;

/// The vigil-exporter binary, built on first use.
pub fn exporter_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| crate::bins::workspace_bin("vigil-exporter", "vigil-exporter"))
}

/// An HTTP client for tests. reqwest is built without a crypto provider
/// (the workspace uses ring only), so ring is made the process default first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A running vigil-exporter.
pub struct ExporterProcess {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    pub https: bool,
    child: ChildGuard,
}

/// What to start an exporter with.
#[derive(Default)]
pub struct ExporterOptions<'a> {
    /// Contents of `--web.config.file`, written next to the config.
    pub web_config: Option<&'a str>,
    /// Whether the web config turns TLS on (the URLs use https).
    pub https: bool,
    /// Extra command-line arguments.
    pub args: Vec<String>,
    /// Extra environment variables (for `${ENV}` in the config).
    pub env: Vec<(String, String)>,
}

impl ExporterProcess {
    /// Starts the exporter with `config` (YAML) and debug logs in logfmt.
    pub fn start(config: &str) -> ExporterProcess {
        Self::start_with(config, ExporterOptions::default())
    }

    /// Starts it with options; panics, with its log, if it does not listen.
    pub fn start_with(config: &str, opts: ExporterOptions<'_>) -> ExporterProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = dir.path().join("vigil-exporter.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log_path = dir.path().join("exporter.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let mut cmd = Command::new(exporter_bin());
        cmd.arg("--config.file")
            .arg(&config_path)
            .arg("--web.listen-address")
            .arg(addr.to_string())
            .args(["--log.level", "debug"])
            .args(&opts.args)
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if let Some(web) = opts.web_config {
            let web_path = dir.path().join("web-config.yml");
            std::fs::write(&web_path, web).expect("write web config");
            cmd.arg("--web.config.file").arg(web_path);
        }
        let child = cmd.spawn().expect("spawn vigil-exporter");
        let mut child = ChildGuard::new("vigil-exporter", child);
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let listening = poll_until(START_TIMEOUT, || {
            assert!(!child.has_exited(), "vigil-exporter exited:\n{}", log());
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        assert!(
            listening,
            "vigil-exporter not listening on {addr} after {START_TIMEOUT:?}:\n{}",
            log()
        );
        ExporterProcess {
            addr,
            dir,
            config_path,
            log_path,
            https: opts.https,
            child,
        }
    }

    /// `http(s)://127.0.0.1:port/path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn has_exited(&mut self) -> bool {
        self.child.has_exited()
    }

    /// Replaces its configuration file (takes effect on reload).
    pub fn write_config(&self, config: &str) {
        std::fs::write(&self.config_path, config).expect("write config");
    }

    /// Sends SIGHUP (asks for a reload).
    pub fn sighup(&self) {
        self.child.signal("HUP");
    }

    /// GETs `/metrics` as text format 0.0.4.
    pub async fn scrape(&self) -> String {
        let res = http_client()
            .get(self.url("/metrics"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("GET /metrics");
        assert!(res.status().is_success(), "GET /metrics: {}", res.status());
        res.text().await.expect("body of /metrics")
    }

    /// Scrapes until `pred` holds of `/metrics` and returns that text;
    /// fails naming `what`, with the last text and the exporter's log,
    /// after `secs`. Each look collects every target, so ten a second.
    pub async fn scrape_until(&self, secs: u64, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut text;
        eventually!(
            secs,
            format!("{what}:\n{text}\n{}", self.logs()),
            {
                text = self.scrape().await;
                pred(&text)
            },
            every: Duration::from_millis(100)
        );
        text
    }
}

/// The value of the sample `name{labels...}` in exposition text whose labels
/// include all of `want`; `None` when there is no such sample.
pub fn sample_value(text: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples(text, name)
        .into_iter()
        .find(|(labels, _)| {
            want.iter()
                .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, v)| v)
}

/// Label pairs, unescaped.
pub type Labels = Vec<(String, String)>;

/// A sample: its labels and value.
pub type Sample = (Labels, f64);

/// Every sample named exactly `name`.
pub fn samples(text: &str, name: &str) -> Vec<Sample> {
    text.lines()
        .filter_map(parse_line)
        .filter(|(n, _, _)| *n == name)
        .map(|(_, labels, v)| (labels, v))
        .collect()
}

/// One sample line of text-format exposition: name, labels, value.
/// `None` for comments, blank lines and lines that do not parse.
pub fn parse_line(line: &str) -> Option<(&str, Labels, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let end = line.find(['{', ' '])?;
    let name = &line[..end];
    let rest = &line[end..];
    let (labels, value) = match rest.strip_prefix('{') {
        Some(body) => parse_labels(body)?,
        None => (Vec::new(), rest),
    };
    let value = match value.split_whitespace().next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name, labels, value))
}

/// Parses `a="x",b="y\"z"} rest` into the labels and `rest`.
fn parse_labels(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        rest = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_samples() {
        let text = "# TYPE x gauge\nx{a=\"1\",b=\"q\\\"r\"} 2\nx{a=\"2\"} +Inf\nxy 3\nx 4\n";
        assert_eq!(sample_value(text, "x", &[("b", "q\"r")]), Some(2.0));
        assert_eq!(sample_value(text, "x", &[("a", "2")]), Some(f64::INFINITY));
        assert_eq!(sample_value(text, "x", &[]), Some(2.0));
        assert_eq!(samples(text, "x").len(), 3);
        assert_eq!(sample_value(text, "xy", &[]), Some(3.0));
        assert_eq!(sample_value(text, "x", &[("a", "3")]), None);
        let (name, labels, v) = parse_line("y{p=\"/a,b=c\",q=\"}\"} 1.5").unwrap();
        assert_eq!((name, v), ("y", 1.5));
        assert_eq!(labels[0], ("p".to_string(), "/a,b=c".to_string()));
        assert_eq!(labels[1], ("q".to_string(), "}".to_string()));
    }
}
