//! Alertmanager's template idioms rendered side by side with Debian's
//! Alertmanager 0.25: the same alerts posted to a real Alertmanager whose
//! Slack receiver (a local HTTP server standing in for Slack) has its
//! title, text, pretext and footer templated with the methods its data
//! types have (`.SortedPairs` with `.Name`/`.Value`, `.Names`, `.Values`,
//! `.Remove`, `.Alerts.Firing`) and its template functions; vigil renders
//! the same templates over the same notification data, once with its own
//! defaults and once with Debian's copy of Alertmanager's `default.tmpl`
//! loaded as a `templates:` file, and every field must be equal.

#[path = "support/alertmanager.rs"]
mod alertmanager;

use chrono::{TimeZone, Utc};

use alertmanager::Alertmanager;
use vigil::model::Labels;
use vigil::notify::alert::notification_order;
use vigil::notify::template::{DEFAULTS, Templates};
use vigil::notify::{Alert, Data};
use vigil_test_support::Recorder;

/// Debian's copy of Alertmanager's built-in templates.
const AM_DEFAULT_TMPL: &str = "/usr/share/prometheus/alertmanager/default.tmpl";

const TITLE: &str = r#"{{ template "__subject" . }}"#;
const TEXT: &str = r#"{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}|{{ .CommonLabels.Names | join "," }}|{{ .CommonLabels.Values | join "," }}|{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}|{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }}|{{ range .Alerts.Firing }}{{ range .Labels.SortedPairs }}{{ .Name | toUpper }}:{{ .Value | title }} {{ end }}{{ end }}"#;
const PRETEXT: &str = r#"{{ reReplaceAll "([a-z]+):([0-9]+)" "$2@$1" "host:9100" }}|{{ match "^Pg" .GroupLabels.alertname }}|{{ stringSlice "a" "b" | join "+" }}|{{ safeHtml "<b>x</b>" }}|{{ title "foo_bar baz-qux PgDown HTTP it's a.b x:y 1.5" }}|{{ toLower "ABC" }}|{{ .GroupLabels.SortedPairs.Names | join "," }}|{{ .CommonAnnotations.SortedPairs.Values | join " " }}|{{ range $i, $p := .CommonLabels.SortedPairs }}{{ $i }}{{ $p.Name }}{{ end }}"#;
const FOOTER: &str = r#"{{ template "__text_alert_list" .Alerts.Firing }}"#;

/// A YAML single-quoted scalar.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn config(port: u16) -> String {
    format!(
        "route:\n  receiver: slack\n  group_by: [alertname]\n  group_wait: 1s\nreceivers:\n  - name: slack\n    slack_configs:\n      - api_url: http://127.0.0.1:{port}/slack\n        channel: '#ops'\n        title: {}\n        text: {}\n        pretext: {}\n        footer: {}\n",
        quoted(TITLE),
        quoted(TEXT),
        quoted(PRETEXT),
        quoted(FOOTER)
    )
}

fn alert(instance: &str, description: &str) -> Alert {
    let now = Utc::now();
    Alert {
        labels: Labels::from_pairs([
            ("alertname", "PgDown"),
            // Sorts before `alertname`, which SortedPairs puts first.
            ("a_zone", "eu"),
            ("instance", instance),
            ("job", "postgres_exporter"),
            ("team", "dba"),
        ]),
        annotations: Labels::from_pairs([
            ("summary", "PostgreSQL is down"),
            ("description", description),
        ]),
        starts_at: Utc
            .timestamp_opt(now.timestamp() - 120, 500_000_000)
            .unwrap(),
        ends_at: Some(Utc.timestamp_opt(now.timestamp() + 3600, 0).unwrap()),
        generator_url: "http://prom.example/graph?g0.expr=pg_up".into(),
    }
}

#[tokio::test]
async fn alertmanager_template_idioms_render_as_in_alertmanager() {
    let rec = Recorder::start().await;
    let port = rec.port;

    let am = Alertmanager::start(&config(port)).await;
    let mut alerts = vec![
        alert("db1:5432", "db1 refuses"),
        alert("db2:5432", "db2 refuses"),
    ];
    am.post(&alerts).await;
    rec.wait_for(20, "a Slack message from Alertmanager", |seen| {
        !seen.is_empty()
    })
    .await;
    let msg = rec.received()[0].json();
    let got = &msg["attachments"][0];

    alerts.sort_by(notification_order);
    let group = Labels::from_pairs([("alertname", "PgDown")]);
    let data = Data::new("slack", &group, &alerts, &am.base(), Utc::now());
    let am_file = std::fs::read_to_string(AM_DEFAULT_TMPL)
        .expect("Alertmanager's default.tmpl: install Debian's `prometheus-alertmanager`");
    let with_am = Templates::from_sources(&[
        ("default.tmpl".into(), DEFAULTS.into()),
        (AM_DEFAULT_TMPL.into(), am_file),
    ])
    .expect("Alertmanager's default.tmpl parses");
    for (field, tmpl) in [
        ("title", TITLE),
        ("text", TEXT),
        ("pretext", PRETEXT),
        ("footer", FOOTER),
    ] {
        let ours = with_am.render(tmpl, &data).unwrap();
        assert_eq!(
            got[field],
            ours.as_str(),
            "{field} with Alertmanager's default.tmpl"
        );
    }
    // vigil's own defaults use Alertmanager's subject.
    let ours = Templates::defaults().render(TITLE, &data).unwrap();
    assert_eq!(got["title"], ours.as_str(), "title with vigil's defaults");
}
