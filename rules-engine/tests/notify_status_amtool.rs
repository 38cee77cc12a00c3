//! `/api/v2/status` and `/api/v2/receivers` as Alertmanager answers them,
//! read by Debian's `amtool` (0.25): `amtool config show` prints the
//! configuration with every secret as `<secret>`, `amtool cluster show`
//! reads the cluster status, `amtool config routes` draws the tree from
//! the served configuration. The answer's shape (keys at every level)
//! equals that of a real Alertmanager given the same routing file.

#[path = "support/alertmanager.rs"]
mod alertmanager;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::collections::BTreeSet;
use std::process::Command;

use alertmanager::Alertmanager;
use serde_json::Value;
use vigil_bin::VigilProcess;

const SECRETS: [&str; 4] = [
    "hunter2-smtp",
    "T000/B000/slacktoken",
    "hook-token-42",
    "basic-p4ss",
];

fn routing() -> String {
    format!(
        "global:\n  smtp_smarthost: 127.0.0.1:2525\n  smtp_from: vigil@example.org\n  smtp_auth_username: vigil\n  smtp_auth_password: {}\n  slack_api_url: https://hooks.slack.com/services/{}\n\
route:\n  receiver: ops\n  group_by: [alertname]\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: dba\n\
receivers:\n  - name: ops\n    webhook_configs:\n      - url: http://127.0.0.1:1/hook?token={}\n        http_config:\n          basic_auth: {{username: u, password: {}}}\n  - name: dba\n    email_configs: [{{to: dba@example.org}}]\n    slack_configs: [{{channel: '#db'}}]\n",
        SECRETS[0], SECRETS[1], SECRETS[2], SECRETS[3]
    )
}

/// `amtool ARGS --alertmanager.url=BASE`: (exit success, stdout). Its
/// stderr (where it warns that vigil's version is not its own) is shown
/// only on failure.
fn amtool(base: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("amtool")
        .args(args)
        .arg(format!("--alertmanager.url={base}"))
        .output()
        .expect("amtool not found: install Debian's `prometheus-alertmanager`");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return (
            false,
            format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        );
    }
    (true, stdout)
}

/// Every key path in a JSON value (`cluster.status`, ...), values left out.
fn shape(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = format!("{prefix}{k}");
            out.insert(p.clone());
            shape(x, &format!("{p}."), out);
        }
    }
}

#[tokio::test]
async fn status_and_receivers_serve_amtool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), routing()).unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        "storage:\n  path: data\nalerting:\n  alertmanager_config_file: alertmanager.yml\n",
    )
    .unwrap();
    let v = VigilProcess::start(&config);
    let am = Alertmanager::start(&routing()).await;

    let ours = v.get("/api/v2/status").await;
    let theirs = am.get("/api/v2/status").await;
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    shape(&ours, "", &mut a);
    shape(&theirs, "", &mut b);
    assert_eq!(
        a, b,
        "status shape: ours {ours:#}\nAlertmanager's {theirs:#}"
    );
    assert_eq!(ours["cluster"], theirs["cluster"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(ours["uptime"].as_str().unwrap()).is_ok(),
        "{ours}"
    );
    let original = ours["config"]["original"].as_str().unwrap();
    assert!(original.contains("receiver: ops"), "{original}");
    assert!(
        original.contains("smtp_auth_password: <secret>"),
        "{original}"
    );

    assert_eq!(
        v.get("/api/v2/receivers").await,
        am.get("/api/v2/receivers").await
    );

    let (ok, shown) = amtool(&v.base, &["config", "show"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("slack_api_url: <secret>"), "{shown}");
    assert!(shown.contains("receiver: dba"), "{shown}");
    let (ok, cluster) = amtool(&v.base, &["cluster", "show"]);
    assert!(ok, "{cluster}");
    assert!(cluster.contains("disabled"), "{cluster}");
    let (ok, tree) = amtool(&v.base, &["config", "routes"]);
    let (_, am_tree) = amtool(&am.base(), &["config", "routes"]);
    assert!(ok, "{tree}");
    assert_eq!(tree, am_tree);

    let served = format!("{ours}{shown}{tree}");
    for s in SECRETS {
        assert!(!served.contains(s), "{s} served: {served}");
    }
}
