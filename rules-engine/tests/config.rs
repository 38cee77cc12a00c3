//! Config loading: defaults, resolution against `global`, and errors located
//! as `file:line:column`.

use std::time::Duration;

use vigil::config::Config;

fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let p = dir.path().join("vigil.yml");
    std::fs::write(&p, text).unwrap();
    p
}

fn load_err(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, text);
    let err = Config::load(&p).expect_err("config should be rejected");
    (p.display().to_string(), err.to_string())
}

#[test]
fn empty_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::load(&write(&dir, "")).unwrap();
    assert_eq!(cfg.global.scrape_interval.0, Duration::from_secs(60));
    assert_eq!(cfg.global.scrape_timeout.0, Duration::from_secs(10));
    // Memory only: 6h in the head; with a data directory, 15d in blocks
    // and a head of at most 8 block ranges.
    assert_eq!(cfg.storage.retention().0, Duration::from_secs(6 * 3600));
    assert_eq!(cfg.storage.head_retention(), Duration::from_secs(6 * 3600));
    assert!(cfg.scrape_configs.is_empty());
    let cfg = Config::load(&write(&dir, "storage: {path: data}")).unwrap();
    assert_eq!(
        cfg.storage.retention().0,
        Duration::from_secs(15 * 24 * 3600)
    );
    assert_eq!(cfg.storage.head_retention(), Duration::from_secs(16 * 3600));
}

#[test]
fn jobs_inherit_global_and_resolve_paths() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
global:
  scrape_interval: 15s
  scrape_timeout: 20s
  evaluation_interval: 30s
  external_labels: {site: lab}
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:9100']
        labels: {team: core}
  - job_name: api
    scrape_interval: 5s
    scrape_timeout: 2s
    metrics_path: /probe
    scheme: https
    params: {module: [http_2xx]}
    basic_auth: {username: u, password_file: secrets/pw}
    tls_config: {insecure_skip_verify: true}
    file_sd_configs: [{files: ['sd/*.json'], refresh_interval: 30s}]
    sample_limit: 1000
    body_size_limit: 10MB
    label_limit: 30
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
";
    // A global timeout above the interval is an error, so use one within it.
    let text = text.replace("scrape_timeout: 20s", "scrape_timeout: 10s");
    let cfg = Config::load(&write(&dir, &text)).unwrap();
    let node = &cfg.scrape_configs[0];
    assert_eq!(node.interval().0, Duration::from_secs(15));
    assert_eq!(node.timeout().0, Duration::from_secs(10));
    assert_eq!(node.metrics_path, "/metrics");
    let api = &cfg.scrape_configs[1];
    assert_eq!(api.interval().0, Duration::from_secs(5));
    assert_eq!(api.timeout().0, Duration::from_secs(2));
    assert_eq!(api.body_size_limit.0, 10 << 20);
    assert_eq!(
        api.basic_auth.as_ref().unwrap().password_file.as_deref(),
        Some(dir.path().join("secrets/pw").as_path())
    );
    assert_eq!(
        api.file_sd_configs[0].files[0],
        dir.path().join("sd/*.json").display().to_string()
    );
    assert_eq!(cfg.global.external_labels["site"], "lab");
}

#[test]
fn global_timeout_is_capped_by_a_shorter_job_interval() {
    let cfg = Config::parse(
        "scrape_configs:\n  - job_name: fast\n    scrape_interval: 5s\n",
        "inline",
    )
    .unwrap();
    assert_eq!(cfg.scrape_configs[0].timeout().0, Duration::from_secs(5));
}

#[test]
fn unknown_key_is_located() {
    let (path, err) = load_err("global:\n  scrape_interval: 15s\n  scrape_intervall: 15s\n");
    assert!(
        err.starts_with(&format!("{path}:3:3: ")),
        "unexpected error: {err}"
    );
    assert!(err.contains("unknown field `scrape_intervall`"), "{err}");
}

#[test]
fn unknown_key_in_a_job_is_located() {
    let text = "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [x:1]\n        lables: {a: b}\n";
    let (path, err) = load_err(text);
    assert!(err.starts_with(&format!("{path}:5:9: ")), "{err}");
    assert!(err.contains("lables"), "{err}");
}

#[test]
fn bad_duration_is_located() {
    let (path, err) = load_err("global:\n  scrape_interval: 15\n");
    assert!(err.starts_with(&format!("{path}:2:")), "{err}");
    assert!(err.contains("not a valid duration"), "{err}");
}

#[test]
fn bad_relabel_regex_is_located() {
    let text = "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [a]\n        regex: '(('\n        target_label: b\n";
    let (path, err) = load_err(text);
    // The position is the start of the offending relabel step.
    assert!(err.starts_with(&format!("{path}:4:9: ")), "{err}");
    assert!(err.contains("relabel_configs[0]: invalid regex"), "{err}");
}

#[test]
fn semantic_errors_point_at_the_job() {
    let text = "scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 5s\n    scrape_timeout: 10s\n";
    let (path, err) = load_err(text);
    assert_eq!(
        err,
        format!(
            "{path}:3:5: scrape timeout greater than scrape interval for scrape config with job name \"b\""
        )
    );
    let (path, err) = load_err("scrape_configs:\n  - job_name: a\n  - job_name: a\n");
    assert!(
        err.starts_with(&format!("{path}:3:5: found multiple")),
        "{err}"
    );
    let text = "scrape_configs:\n  - job_name: a\n    bearer_token: t\n    basic_auth: {username: u, password: p}\n";
    let (_, err) = load_err(text);
    assert!(err.contains("at most one of"), "{err}");
    assert!(!err.contains(": p"), "secret leaked: {err}");
}

#[test]
fn missing_file_names_the_path() {
    let err = Config::load(std::path::Path::new("/nonexistent/vigil.yml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/vigil.yml: cannot read"),
        "{err}"
    );
}

#[test]
fn environment_variables_are_expanded_and_missing_ones_located() {
    let text = "scrape_configs:\n  - job_name: ${JOB}\n";
    let cfg =
        Config::parse_with_env(text, "inline", &|n| (n == "JOB").then(|| "api".into())).unwrap();
    assert_eq!(cfg.scrape_configs[0].job_name, "api");
    let err = Config::parse(text, "inline").unwrap_err().to_string();
    assert!(err.starts_with("inline:2:"), "{err}");
    assert!(err.contains("JOB"), "{err}");
}

#[test]
fn every_bad_job_is_reported_at_once() {
    let text =
        "scrape_configs:\n  - job_name: a\n    colour: red\n  - job_name: b\n    scheme: ftp\n";
    let err = Config::parse(text, "f.yml").unwrap_err().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "after a syntax-level error, cross-field checks wait for a clean parse: {err}"
    );
    let text =
        "scrape_configs:\n  - job_name: a\n    scheme: ftp\n  - job_name: b\n    scheme: gopher\n";
    let err = Config::parse(text, "f.yml").unwrap_err().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("f.yml:2:5: scheme must be http or https"),
        "{err}"
    );
    assert!(lines[1].starts_with("f.yml:4:5: "), "{err}");
}

#[test]
fn database_url_inline_or_from_a_file_never_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("db-url"),
        "postgres://vigil:hunter2@127.0.0.1/vigil\n",
    )
    .unwrap();
    let cfg = Config::load(&write(
        &dir,
        "storage:\n  path: data\n  database_url_file: db-url\n",
    ))
    .unwrap();
    assert_eq!(
        cfg.storage.path.as_deref(),
        Some(dir.path().join("data").as_path())
    );
    let url = cfg.storage.database_url().unwrap().unwrap();
    assert_eq!(url.expose(), "postgres://vigil:hunter2@127.0.0.1/vigil");
    assert!(
        !format!("{cfg:?}").contains("hunter2"),
        "the URL is a secret"
    );

    let (file, err) =
        load_err("storage:\n  database_url: postgres://a@b/c\n  database_url_file: x\n");
    assert!(err.starts_with(&format!("{file}:1:1: ")), "{err}");
    assert!(err.contains("not both"), "{err}");
    let (_, err) = load_err("storage:\n  database_url: mysql://a@b/c\n");
    assert!(err.contains("postgres://"), "{err}");
    assert!(!err.contains("a@b"), "{err}");
}

#[test]
fn datasource_is_checked_and_paths_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::load(&write(
        &dir,
        "datasource:\n  url: http://prometheus:9090\n  bearer_token_file: token\n",
    ))
    .unwrap();
    let ds = cfg.datasource.unwrap();
    assert_eq!(ds.bearer_token_file, Some(dir.path().join("token")));
    assert_eq!(ds.timeout.0, Duration::from_secs(30));
    let (file, err) =
        load_err("datasource:\n  url: http://p:9090\n  bearer_token: a\n  bearer_token_file: b\n");
    assert!(err.starts_with(&format!("{file}:1:1: ")), "{err}");
    assert!(err.contains("not both"), "{err}");
    let (_, err) = load_err("datasource:\n  url: p:9090\n");
    assert!(err.contains("http://"), "{err}");
}
