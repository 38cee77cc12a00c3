//! A reload changes the list of Alertmanagers vigil forwards to: a running
//! vigil forwards its rules' alerts to one Debian Alertmanager; after the
//! config file names another one instead (and adds a rule) and vigil
//! reloads, the new rule's alert reaches the new Alertmanager and never
//! the old one. A list with a bad entry is refused and the running list
//! stays.

#[path = "support/alertmanager.rs"]
mod alertmanager;
#[path = "support/vigil_bin.rs"]
mod vigil_bin;

use std::path::Path;

use vigil_test_support::eventually;

use alertmanager::Alertmanager;
use vigil_bin::VigilProcess;

const AM_CONFIG: &str = "route:\n  receiver: none\nreceivers:\n  - name: none\n";

/// Rules that always fire; a name `Later` fires only after 500 ms
/// pending, so its alert leaves vigil after the others.
fn rules(names: &[&str]) -> String {
    let mut s = String::from("groups:\n  - name: always\n    interval: 200ms\n    rules:\n");
    for n in names {
        s.push_str(&format!("      - alert: {n}\n        expr: vector(1)\n"));
        if *n == "Later" {
            s.push_str("        for: 500ms\n");
        }
    }
    s
}

fn write_config(dir: &Path, am_urls: &[String], rule_names: &[&str]) {
    std::fs::write(dir.join("always.rules.yml"), rules(rule_names)).unwrap();
    let ams: String = am_urls
        .iter()
        .map(|u| format!("    - url: {u}\n"))
        .collect();
    std::fs::write(
        dir.join("vigil.yml"),
        format!(
            "storage:\n  path: data\nrule_files: ['always.rules.yml']\nalerting:\n  alertmanagers:\n{ams}"
        ),
    )
    .unwrap();
}

async fn wait_for(am: &Alertmanager, name: &str) {
    eventually!(
        20,
        format!("{name} to reach Alertmanager {}", am.port),
        am.alert_names().await.iter().any(|n| n == name)
    );
}

async fn reload(v: &VigilProcess) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/-/reload", v.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn reload_swaps_the_alertmanagers_forwarded_to() {
    let (old, new) = (
        Alertmanager::start(AM_CONFIG).await,
        Alertmanager::start(AM_CONFIG).await,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    write_config(dir.path(), &[old.base()], &["BeforeReload"]);
    let v = VigilProcess::start(&dir.path().join("vigil.yml"));
    wait_for(&old, "BeforeReload").await;

    // A bad URL scheme in the new list: refused, the old list stays.
    write_config(
        dir.path(),
        &[format!("{}/", new.base()), "ftp://127.0.0.1:1".into()],
        &["BeforeReload", "Refused"],
    );
    let (status, why) = reload(&v).await;
    assert_eq!(status, 500, "{why}");
    assert!(why.contains("alertmanager 1"), "{why}");

    write_config(
        dir.path(),
        &[new.base()],
        &["BeforeReload", "AfterReload", "Later"],
    );
    let (status, why) = reload(&v).await;
    assert_eq!(status, 200, "{why}");
    wait_for(&new, "AfterReload").await;
    // A new alert is forwarded at once, one batch at a time to every
    // Alertmanager on the list: once `Later` (sent after AfterReload) has
    // reached the new one, had the old one still been on the list, it
    // would have AfterReload.
    wait_for(&new, "Later").await;
    assert_eq!(old.alert_names().await, ["BeforeReload"]);
    assert!(
        !new.alert_names().await.iter().any(|n| n == "Refused"),
        "the refused config's rule ran"
    );
}
