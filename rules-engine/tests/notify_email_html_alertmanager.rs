//! An email's HTML part side by side with Debian's Alertmanager 0.25: the
//! same alerts go to a real Alertmanager that mails them to aiosmtpd; vigil
//! renders the same HTML templates, as Go's html/template does (escaping
//! by context), over the same data — Alertmanager's own
//! `email.default.html` (Debian ships it with `default.tmpl`), and a
//! template putting label values with markup in text, attributes and URLs.
//! The decoded HTML parts must be equal.

#[path = "support/alertmanager.rs"]
mod alertmanager;

use chrono::{TimeZone, Utc};

use alertmanager::Alertmanager;
use vigil::model::Labels;
use vigil::notify::alert::notification_order;
use vigil::notify::template::{DEFAULTS, Templates};
use vigil::notify::{Alert, Data};
use vigil_test_support::{Smtpd, free_port};

const SHARE: &str = "/usr/share/prometheus/alertmanager";
const EXTERNAL: &str = "http://am.example:9093";
const CUSTOM: &str = r#"<p title="{{ .CommonAnnotations.summary }}">{{ .CommonAnnotations.summary }}</p>{{ range .Alerts }}<a href="{{ .GeneratorURL }}&x={{ .Labels.instance }}">{{ .Labels.instance }}</a>{{ end }}{{ safeHtml "<hr>" }}"#;

fn config(smtp_port: u16) -> String {
    format!(
        "global:\n  smtp_smarthost: 127.0.0.1:{smtp_port}\n  smtp_from: am@example.org\n  smtp_require_tls: false\nroute:\n  receiver: mail\n  group_by: [alertname]\n  group_wait: 1s\nreceivers:\n  - name: mail\n    email_configs:\n      - to: default@example.org\n      - to: custom@example.org\n        html: '{}'\n",
        CUSTOM.replace('\'', "''")
    )
}

fn alert(instance: &str) -> Alert {
    let now = Utc::now();
    Alert {
        labels: Labels::from_pairs([
            ("alertname", "PgDown"),
            ("instance", instance),
            ("team", "dba"),
        ]),
        annotations: Labels::from_pairs([("summary", "<b>primary</b> & \"replica\" down")]),
        starts_at: Utc.timestamp_opt(now.timestamp() - 60, 0).unwrap(),
        ends_at: Some(Utc.timestamp_opt(now.timestamp() + 3600, 0).unwrap()),
        generator_url: "http://prom.example/graph?g0.expr=pg_up&g0.tab=1".into(),
    }
}

/// Quoted-printable, as Go's mime/quotedprintable writes it.
fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len() + 1
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

/// The decoded `text/html` part of a delivered message.
fn html_part(msg: &str) -> String {
    let start = msg.find("Content-Type: text/html").expect("an HTML part");
    let rest = &msg[start..];
    let body = rest
        .find("\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| rest.find("\n\n").map(|i| i + 2))
        .unwrap();
    let end = rest[body..]
        .find("\n--")
        .map(|i| body + i)
        .unwrap_or(rest.len());
    decode_qp(rest[body..end].trim_end())
}

#[tokio::test]
async fn html_parts_match_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtpd::start(free_port(), &dir.path().join("mail"), None);
    let am = Alertmanager::start_with(
        &config(smtp.port),
        &[&format!("--web.external-url={EXTERNAL}")],
    )
    .await;
    let mut alerts = vec![alert("db1:5432"), alert("db2:5432")];
    am.post(&alerts).await;
    vigil_test_support::eventually!(20, "Alertmanager's two mails", smtp.delivered().len() >= 2);
    let mails = smtp.delivered();
    let to = |who: &str| {
        mails
            .iter()
            .find(|m| m.contains(&format!("X-RcptTo: {who}")))
            .unwrap_or_else(|| panic!("no mail to {who}: {mails:?}"))
    };

    alerts.sort_by(notification_order);
    let group = Labels::from_pairs([("alertname", "PgDown")]);
    let data = Data::new("mail", &group, &alerts, EXTERNAL, Utc::now());
    let read = |f: &str| std::fs::read_to_string(format!("{SHARE}/{f}")).unwrap();
    let t = Templates::from_sources(&[
        ("default.tmpl".into(), DEFAULTS.into()),
        ("am-default.tmpl".into(), read("default.tmpl")),
        ("am-email.tmpl".into(), read("email.tmpl")),
    ])
    .unwrap();
    let ours = t
        .render_html(r#"{{ template "email.default.html" . }}"#, &data)
        .unwrap();
    assert!(ours.contains("View in Alertmanager"), "{ours}");
    assert_eq!(html_part(to("default@example.org")), ours.trim_end());
    let ours = t.render_html(CUSTOM, &data).unwrap();
    // Escaped for an attribute, for text, and as a URL's query value.
    assert!(
        ours.starts_with("<p title=\"&lt;b&gt;primary&lt;/b&gt; &amp; &#34;replica&#34; down\">"),
        "{ours}"
    );
    assert!(
        ours.contains("pg_up&amp;g0.tab=1&x=db1:5432\">db1:5432</a>"),
        "{ours}"
    );
    assert!(ours.ends_with("<hr>"), "{ours}");
    assert_eq!(html_part(to("custom@example.org")), ours.trim_end());
}
