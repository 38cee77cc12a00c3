//! `--web.external-url` and `--rules.alert.resend-delay` in a running
//! vigil: the external URL reaches `$externalURL` in templates, each
//! alert's `generatorURL` (Prometheus's `/graph?g0.expr=...&g0.tab=1`
//! link) and the notifier's `externalURL`; the default is
//! `http://<hostname>:<port>`; the resend delay sets how often a firing
//! alert is sent again.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::served::{Served, options, vigil_with};
use vigil::rules::external_url::compute;
use vigil_test_support::Recorder;
use vigil_test_support::eventually;

const RULES: &str = "groups:
  - name: always
    interval: 100ms
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        annotations: {link: '{{ $externalURL }}/alerts'}
";

#[tokio::test]
async fn the_external_url_reaches_templates_links_and_the_notifier() {
    let recorder = Recorder::start().await;
    let hook = format!("{}/hook", recorder.base());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yml"), RULES).unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(
        &path,
        format!(
            "rule_files: [r.yml]\nalerting:\n  alertmanager_config:\n    route:\n      receiver: hook\n      group_wait: 100ms\n    receivers:\n      - name: hook\n        webhook_configs: [{{url: '{hook}'}}]\n"
        ),
    )
    .unwrap();
    let vigil = vigil_with(
        &path,
        vigil::server::Options {
            external_url: Some(compute(Some("http://vigil.example:9999/prefix/"), 10188).unwrap()),
            ..options(&path)
        },
    )
    .await;
    let v = Served::start(vigil).await;
    recorder
        .wait_for(20, "a notification", |seen| !seen.is_empty())
        .await;
    let payload = recorder.received()[0].json();
    v.stop().await;
    assert_eq!(payload["externalURL"], "http://vigil.example:9999/prefix");
    let alert = &payload["alerts"][0];
    assert_eq!(
        alert["generatorURL"],
        "http://vigil.example:9999/prefix/graph?g0.expr=vector%281%29+%3E+0&g0.tab=1"
    );
    assert_eq!(
        alert["annotations"]["link"],
        "http://vigil.example:9999/prefix/alerts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_external_url_is_hostname_and_port_and_resend_delay_is_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yml"), RULES).unwrap();
    let path = dir.path().join("vigil.yml");
    std::fs::write(&path, "rule_files: [r.yml]\n").unwrap();
    let sink = Arc::new(support::Recorder::default());
    let loaded = vigil_with(
        &path,
        vigil::server::Options {
            alert_sink: Some(sink.clone()),
            resend_delay: Duration::from_millis(300),
            ..options(&path)
        },
    )
    .await;
    let vigil = loaded.handle();
    let v = Served::start(loaded).await;
    eventually!(20, "three sends", sink.0.lock().unwrap().len() >= 3);
    let port = v.base.rsplit(':').next().unwrap().to_string();
    v.stop().await;

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let expected = format!("http://{}:{port}", host.trim());
    assert_eq!(vigil.external_url().as_deref(), Some(expected.as_str()));
    let sent = sink.0.lock().unwrap().clone();
    assert!(
        sent[0]
            .generator_url
            .starts_with(&format!("{expected}/graph?g0.expr="))
    );

    // A firing alert is valid for four resend delays; so each send's
    // evaluation time is `ends_at - 4 * 300ms`, and sends are at least the
    // delay apart (every 100ms evaluation would send without it; the
    // default 1m would send once).
    let times: Vec<i64> = sent.iter().map(|a| a.ends_at - 4 * 300).collect();
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (300..60_000).contains(&gap),
            "sent {gap}ms apart: {times:?}"
        );
    }
}

/// Bad flag values stop `vigil run` before it binds, saying which flag.
#[test]
fn bad_flag_values_are_refused_at_start() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["run", "--web.listen-address", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run(&["--web.external-url", "'http://vigil.example/'"]);
    assert!(
        err.contains("--web.external-url") && err.contains("quotes"),
        "{err}"
    );
    let err = run(&["--rules.alert.resend-delay", "5"]);
    assert!(err.contains("--rules.alert.resend-delay"), "{err}");
    assert!(err.contains("a unit is required"), "{err}");
}
