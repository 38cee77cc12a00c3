//! Parser tests: captured payloads, the cases other parsers get wrong,
//! OpenMetrics specifics, located errors, and property tests.

use super::*;
use proptest::prelude::*;

fn text(body: &str) -> Result<Vec<OwnedSample>, ParseError> {
    parse_to_vec(body.as_bytes(), ParseOptions::new(Format::Text))
}

fn om(body: &str) -> Result<Vec<OwnedSample>, ParseError> {
    parse_to_vec(body.as_bytes(), ParseOptions::new(Format::OpenMetrics))
}

fn err(body: &str, format: Format) -> (usize, usize, ParseErrorKind) {
    let e = parse_to_vec(body.as_bytes(), ParseOptions::new(format)).unwrap_err();
    (e.line, e.column, e.kind)
}

fn labels_of(s: &OwnedSample) -> Vec<(String, String)> {
    s.labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

#[test]
fn captured_payloads_parse_completely() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/anchors/scrapes");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared anchors must sit beside the repository)",
            dir.display()
        )
    });
    let mut files = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "prom") {
            continue;
        }
        files += 1;
        let body = std::fs::read(&path).unwrap();
        let samples = parse_to_vec(&body, ParseOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Every line that is neither blank nor a comment is one sample, and
        // the name we read is the name at the start of that line.
        let expected: Vec<&str> = std::str::from_utf8(&body)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split(['{', ' ']).next().unwrap())
            .collect();
        let got: Vec<&str> = samples
            .iter()
            .map(|s| s.labels.metric_name().unwrap())
            .collect();
        assert_eq!(got, expected, "{}", path.display());
        assert!(samples.len() > 100, "{}", path.display());
    }
    assert!(
        files >= 9,
        "expected the captured payloads in {}",
        dir.display()
    );
}

#[test]
fn recording_rule_names_with_colons_are_kept() {
    let s = text("job:http_requests:rate5m{job=\"api\"} 1.5\n").unwrap();
    assert_eq!(s[0].labels.metric_name(), Some("job:http_requests:rate5m"));
    assert_eq!(text(":a 1\n").unwrap()[0].labels.metric_name(), Some(":a"));
}

#[test]
fn commas_equals_braces_and_escapes_inside_values() {
    let body = concat!(
        r#"http_requests_total{path="/a,b=c",method="GET"} 3"#,
        "\n",
        r#"x{msg="say \"hi\"",brace="}{",back="a\\b",nl="l1\nl2",other="\t"} 1"#,
        "\n",
    );
    let s = text(body).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].labels.get("path"), Some("/a,b=c"));
    assert_eq!(s[0].labels.get("method"), Some("GET"));
    assert_eq!(s[1].labels.get("msg"), Some("say \"hi\""));
    assert_eq!(s[1].labels.get("brace"), Some("}{"));
    assert_eq!(s[1].labels.get("back"), Some("a\\b"));
    assert_eq!(s[1].labels.get("nl"), Some("l1\nl2"));
    // Unknown escapes stay as written, as in Prometheus.
    assert_eq!(s[1].labels.get("other"), Some("\\t"));
}

#[test]
fn values_timestamps_and_whitespace() {
    let body = "a NaN\nb +Inf 1700000000000\nc -Inf -5\nd{} 1e-3\n  e { x = \"1\" , } \t 2 \n\n# free comment\n";
    let s = text(body).unwrap();
    assert!(s[0].value.is_nan());
    assert_eq!(
        (s[1].value, s[1].timestamp),
        (f64::INFINITY, Some(1_700_000_000_000))
    );
    assert_eq!((s[2].value, s[2].timestamp), (f64::NEG_INFINITY, Some(-5)));
    assert_eq!(s[3].value, 0.001);
    assert_eq!(
        labels_of(&s[4]),
        [("__name__".into(), "e".into()), ("x".into(), "1".into())]
    );
    assert_eq!(s[4].value, 2.0);
    // An empty value means the label is absent.
    assert_eq!(text("f{a=\"\"} 1\n").unwrap()[0].labels.len(), 1);
}

#[test]
fn utf8_quoted_names() {
    let s = text("{\"my.metric\", \"my.label\"=\"v\", a=\"ü\"} 1\n").unwrap();
    assert_eq!(s[0].labels.metric_name(), Some("my.metric"));
    assert_eq!(s[0].labels.get("my.label"), Some("v"));
    assert_eq!(s[0].labels.get("a"), Some("ü"));
}

#[test]
fn types_help_and_series_text_are_reported() {
    let body = "# HELP x_total Requests \\\\ served\\n.\n# TYPE x_total counter\nx_total{a=\"1\"} 5\ny 1\n";
    let mut p = Parser::new(body.as_bytes(), ParseOptions::default());
    match p.next().unwrap().unwrap() {
        Entry::Help { family, text } => {
            assert_eq!((family, text), ("x_total", "Requests \\ served\n."))
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        p.next().unwrap().unwrap(),
        Entry::Type {
            family: "x_total",
            kind: MetricType::Counter
        }
    ));
    match p.next().unwrap().unwrap() {
        Entry::Sample(s) => {
            assert_eq!(s.series, b"x_total{a=\"1\"}");
            assert_eq!(s.metric_type, MetricType::Counter);
            assert_eq!(s.labels().collect::<Vec<_>>(), [("a", "1")]);
        }
        e => panic!("{e:?}"),
    }
    match p.next().unwrap().unwrap() {
        Entry::Sample(s) => assert_eq!((s.series, s.metric_type), (&b"y"[..], MetricType::Unknown)),
        e => panic!("{e:?}"),
    }
    assert!(p.next().is_none());
}

#[test]
fn openmetrics_timestamps_exemplars_and_eof() {
    let body = concat!(
        "# TYPE req counter\n",
        "# UNIT req requests\n",
        "# HELP req Requests.\n",
        "req_total{code=\"200\"} 10 1520879607.789 # {trace_id=\"abc\"} 1 1520879607.7\n",
        "req_total{code=\"500\"} 1 # {trace_id=\"def\"} 1\n",
        "req_created{code=\"200\"} 1520430000.123\n",
        "# EOF\n",
    );
    let s = om(body).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].timestamp, Some(1_520_879_607_789));
    assert_eq!(s[1].timestamp, None);
    assert_eq!(s[2].labels.metric_name(), Some("req_created"));
    let skip = ParseOptions {
        skip_created: true,
        ..ParseOptions::new(Format::OpenMetrics)
    };
    assert_eq!(parse_to_vec(body.as_bytes(), skip).unwrap().len(), 2);
    // Without the final newline too.
    assert_eq!(om("a 1\n# EOF").unwrap().len(), 1);
}

#[test]
fn openmetrics_structure_errors() {
    assert_eq!(
        err("a 1\n", Format::OpenMetrics),
        (2, 1, ParseErrorKind::MissingEof)
    );
    assert_eq!(
        err("a 1\n# EOF\nb 1\n", Format::OpenMetrics),
        (3, 1, ParseErrorKind::DataAfterEof)
    );
    assert_eq!(
        err("a 1\n\n# EOF\n", Format::OpenMetrics),
        (2, 1, ParseErrorKind::EmptyLine)
    );
    assert_eq!(
        err("# hello\n# EOF\n", Format::OpenMetrics),
        (1, 1, ParseErrorKind::InvalidComment)
    );
    assert_eq!(
        err("# TYPE a untyped\n# EOF\n", Format::OpenMetrics),
        (1, 10, ParseErrorKind::UnknownType("untyped".into()))
    );
    // Text format: timestamps must be integers (milliseconds).
    assert_eq!(
        err("a 1 1.5\n", Format::Text),
        (1, 5, ParseErrorKind::InvalidTimestamp("1.5".into()))
    );
}

#[test]
fn errors_name_line_and_column() {
    use ParseErrorKind as K;
    let f = Format::Text;
    assert_eq!(
        err("ok 1\nbad{a=\"1\" 2\n", f),
        (2, 11, K::Expected("',' or '}'"))
    );
    assert_eq!(err("x{a=\"1} 2\n", f), (1, 5, K::UnterminatedString));
    assert_eq!(
        err("x{a=1} 2\n", f),
        (1, 5, K::Expected("'\"' opening the label value"))
    );
    assert_eq!(err("x{0a=\"1\"} 2\n", f), (1, 3, K::InvalidLabelName));
    assert_eq!(
        err("x{a=\"1\",a=\"2\"} 2\n", f),
        (1, 9, K::DuplicateLabel("a".into()))
    );
    assert_eq!(err("0x 1\n", f), (1, 1, K::InvalidMetricName));
    assert_eq!(err("x abc\n", f), (1, 3, K::InvalidValue("abc".into())));
    assert_eq!(
        err("x\n", f),
        (1, 2, K::Expected("a space and the sample value"))
    );
    assert_eq!(err("x 1 2 3\n", f), (1, 7, K::TrailingText));
    assert_eq!(err("x{é=\"1\"} 2\n", f), (1, 3, K::InvalidLabelName));
    // Columns count characters, not bytes.
    assert_eq!(
        err("x{a=\"é\",} z\n", f),
        (1, 11, K::InvalidValue("z".into()))
    );
    assert_eq!(
        err("# TYPE x nonsense\n", f).2,
        K::UnknownType("nonsense".into())
    );
}

#[test]
fn limits_are_enforced() {
    let opts = ParseOptions {
        max_labels: 2,
        max_label_name_len: 3,
        max_label_value_len: 4,
        ..ParseOptions::default()
    };
    let run = |b: &str| parse_to_vec(b.as_bytes(), opts.clone()).map_err(|e| e.kind);
    assert!(run("x{a=\"1\",b=\"2\"} 1\n").is_ok());
    assert_eq!(
        run("x{a=\"1\",b=\"2\",c=\"3\"} 1\n"),
        Err(ParseErrorKind::TooManyLabels(2))
    );
    assert_eq!(
        run("x{abcd=\"1\"} 1\n"),
        Err(ParseErrorKind::LabelNameTooLong(3))
    );
    assert_eq!(
        run("x{a=\"12345\"} 1\n"),
        Err(ParseErrorKind::LabelValueTooLong(4))
    );
}

#[test]
fn content_type_selects_the_format() {
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    assert_eq!(Format::from_content_type(om), Format::OpenMetrics);
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4"),
        Format::Text
    );
}

/// Writes a label value with the escapes the formats define.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_value(v: f64) -> String {
    match v {
        f64::INFINITY => "+Inf".into(),
        f64::NEG_INFINITY => "-Inf".into(),
        v if v.is_nan() => "NaN".into(),
        v => format!("{v:?}"),
    }
}

type Generated = (String, Vec<(String, String)>, f64, Option<i64>);

fn sample_strategy() -> impl Strategy<Value = Generated> {
    let name = "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}";
    let labels = proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", "\\PC{0,12}", 0..5)
        .prop_map(|m| {
            m.into_iter()
                .filter(|(k, _)| k != "__name__")
                .collect::<Vec<_>>()
        });
    let value = prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0)
    ];
    (
        name,
        labels,
        value,
        proptest::option::of(-1i64 << 50..1i64 << 50),
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for format in [Format::Text, Format::OpenMetrics] {
            let _ = parse_to_vec(&body, ParseOptions::new(format));
        }
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        idx in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut body = b"# TYPE a counter\na_total{x=\"1\\\"\",y=\"}\"} 1 17 # {t=\"1\"} 2\n# EOF\n".to_vec();
        let i = idx.index(body.len());
        body[i] = byte;
        for format in [Format::Text, Format::OpenMetrics] {
            let _ = parse_to_vec(&body, ParseOptions::new(format));
        }
    }

    #[test]
    fn generated_expositions_round_trip(samples in proptest::collection::vec(sample_strategy(), 1..20)) {
        let mut body = String::new();
        for (name, labels, value, ts) in &samples {
            body.push_str(name);
            let rendered: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            body.push_str(&format!("{{{}}} {}", rendered.join(","), render_value(*value)));
            if let Some(ts) = ts {
                body.push_str(&format!(" {ts}"));
            }
            body.push('\n');
        }
        let parsed = text(&body).unwrap();
        prop_assert_eq!(parsed.len(), samples.len());
        for (got, (name, labels, value, ts)) in parsed.iter().zip(&samples) {
            let want = Labels::from_pairs(
                std::iter::once((METRIC_NAME.to_string(), name.clone())).chain(labels.iter().cloned()),
            );
            prop_assert_eq!(&got.labels, &want);
            prop_assert!(got.value == *value || (got.value.is_nan() && value.is_nan()));
            prop_assert_eq!(got.value.is_sign_negative(), value.is_sign_negative() && !value.is_nan());
            prop_assert_eq!(got.timestamp, *ts);
        }
    }
}

#[test]
fn invalid_utf8_is_reported_on_its_line() {
    let mut body = b"ok 1\nx{a=\"caf".to_vec();
    body.extend_from_slice(&[0xff, b'"', b'}', b' ', b'1', b'\n']);
    let mut p = Parser::new(&body, ParseOptions::default());
    assert!(matches!(p.next(), Some(Ok(Entry::Sample(_)))));
    let e = p.next().unwrap().unwrap_err();
    assert_eq!(
        (e.line, e.column, e.kind),
        (2, 9, ParseErrorKind::InvalidUtf8)
    );
    assert!(p.next().is_none());
}
