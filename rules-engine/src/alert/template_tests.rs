//! Template expansion checked against what Prometheus prints for the same
//! templates and data.

use std::sync::Arc;

use super::template::{QuerySample, TemplateData, TemplateQuery, expand, parse_check};
use crate::model::Labels;

fn run(text: &str, labels: &Labels, value: f64) -> String {
    let data = TemplateData {
        labels: Some(labels),
        value,
        ..Default::default()
    };
    expand("A", text, &data, None, 0).unwrap()
}

#[test]
fn labels_value_and_missing_keys() {
    let l = Labels::from_pairs([("instance", "app-1:8080"), ("job", "api")]);
    assert_eq!(
        run("{{ $labels.instance }} is {{ $value }}", &l, 0.85),
        "app-1:8080 is 0.85"
    );
    assert_eq!(run("[{{ $labels.nosuch }}]", &l, 0.0), "[]");
    assert_eq!(run("[{{ $externalLabels.cluster }}]", &l, 0.0), "[]");
    assert_eq!(
        run("literal <no value> text", &l, 0.0),
        "literal <no value> text"
    );
}

#[test]
fn functions_print_as_prometheus() {
    let l = Labels::from_pairs([("instance", "app-1:8080"), ("path", "/api/v1")]);
    assert_eq!(
        run("{{ $value | humanizePercentage }}", &l, 0.0512),
        "5.12%"
    );
    assert_eq!(run("{{ humanize $value }}", &l, 2_500_000.0), "2.5M");
    assert_eq!(run("{{ $value | humanize1024 }}", &l, 2048.0), "2ki");
    assert_eq!(
        run("{{ $value | humanizeDuration }}", &l, 3661.0),
        "1h 1m 1s"
    );
    assert_eq!(run("{{ printf \"%.2f\" $value }}", &l, 1.0 / 3.0), "0.33");
    assert_eq!(run("{{ $labels.path | toUpper }}", &l, 0.0), "/API/V1");
    assert_eq!(run("{{ \"hello world\" | title }}", &l, 0.0), "Hello World");
    assert_eq!(
        run(
            "{{ reReplaceAll \":[0-9]+\" \"\" $labels.instance }}",
            &l,
            0.0
        ),
        "app-1"
    );
    assert_eq!(
        run(
            "{{ if match \"^app-\" $labels.instance }}yes{{ end }}",
            &l,
            0.0
        ),
        "yes"
    );
    assert_eq!(run("{{ $labels.instance | stripPort }}", &l, 0.0), "app-1");
}

#[test]
fn parse_errors_name_the_alert() {
    let e = parse_check("A", "{{ $labels.x ").unwrap_err();
    assert!(e.0.contains("__alert_A:1:"), "{e}");
    assert!(
        parse_check("A", "{{ nosuch 1 }}")
            .unwrap_err()
            .0
            .contains("nosuch")
    );
    assert!(
        parse_check("A", "{{ $nope }}")
            .unwrap_err()
            .0
            .contains("$nope")
    );
    assert!(parse_check("A", "{{ query \"up\" | first | value }}").is_ok());
}

struct Fixed;

impl TemplateQuery for Fixed {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        if expr != "up" || t_ms != 42_000 {
            return Err(format!("unexpected {expr} at {t_ms}"));
        }
        Ok(vec![
            QuerySample {
                labels: Labels::from_pairs([("instance", "b")]),
                value: 0.0,
            },
            QuerySample {
                labels: Labels::from_pairs([("instance", "a")]),
                value: 1.0,
            },
        ])
    }
}

#[test]
fn query_runs_at_the_evaluation_time() {
    let data = TemplateData::default();
    let q: Arc<dyn TemplateQuery> = Arc::new(Fixed);
    let out = expand(
        "A",
        "{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}|{{ query \"up\" | first | label \"instance\" }}",
        &data,
        Some(q.clone()),
        42_000,
    )
    .unwrap();
    assert_eq!(out, "a=1 b=0 |b");
    assert!(expand("A", "{{ query \"up\" }}", &data, Some(q), 1).is_err());
}

#[test]
fn variables_follow_go_scoping() {
    assert!(parse_check("A", "{{ $x := 1 }}{{ $x }}").is_ok());
    assert!(parse_check("A", "{{ range $k, $v := $labels }}{{ $k }}{{ end }}").is_ok());
    assert!(parse_check("A", "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}").is_err());
    assert!(parse_check("A", "{{ with $y := 1 }}{{ else }}{{ $y }}{{ end }}").is_ok());
    assert!(parse_check("A", "{{ define \"d\" }}{{ $labels }}{{ end }}").is_err());
    assert!(parse_check("A", "{{ $z = 1 }}").is_err());
}
