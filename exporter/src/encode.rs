//! The exposition text: Prometheus text format 0.0.4, or OpenMetrics 1.0
//! when the scraper asks for it.
//!
//! Names are written exactly as the collectors give them. That matters for
//! the contract counters that lack `_total` (`pg_stat_database_xact_commit`):
//! a library that appends `_total` would rename them and break every
//! dashboard built on postgres_exporter. In OpenMetrics a counter's samples
//! must end in `_total`, so such a counter cannot be a `counter` there without
//! renaming it; it is written as `unknown` instead, which keeps its name and
//! every PromQL function (`rate` does not look at the type). Counters whose
//! name ends in `_total` are proper OpenMetrics counters: the family on the
//! TYPE/HELP lines drops the suffix, the samples keep it.

use std::fmt::Write;

use crate::metrics::{Family, Label, MetricType};
use crate::registry::{Gathered, target_labels};

/// The exposition format of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics text 1.0.0.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Picks the format from an `Accept` header: OpenMetrics 1.0 when it is
    /// acceptable with a q-value at least that of the text format (as
    /// Prometheus's own scrape header asks), text otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut best_om: f32 = 0.0;
        let mut best_text: f32 = 0.0;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "q" => q = v.trim().parse().unwrap_or(0.0),
                        "version" => version = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
            match media.as_str() {
                "application/openmetrics-text"
                    if matches!(version.as_deref(), None | Some("1.0.0")) =>
                {
                    best_om = best_om.max(q);
                }
                "text/plain" | "*/*" | "text/*" => best_text = best_text.max(q),
                _ => {}
            }
        }
        if best_om > 0.0 && best_om >= best_text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// Writes `families` in `format`.
pub fn encode(families: &[Family], format: Format) -> String {
    let mut out = String::with_capacity(families.iter().map(|f| 64 + f.samples.len() * 64).sum());
    for family in families {
        write_family(&mut out, family, format, &[], &[]);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// Writes a scrape's families in `format` into `out`, handing `out` to
/// `flush` whenever it holds at least `chunk` bytes (between families) and
/// once at the end: the caller compresses or copies each piece, so the
/// whole text never needs to be in memory at once.
pub fn write_gathered(
    gathered: &Gathered,
    format: Format,
    out: &mut String,
    chunk: usize,
    flush: &mut dyn FnMut(&mut String),
) {
    for merged in &gathered.families {
        write_family(out, &merged.family, format, &merged.runs, &gathered.targets);
        if out.len() >= chunk {
            flush(out);
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    flush(out);
}

/// Writes one family; sample `i` gets, after its own labels, the labels of
/// the target whose run holds it (`runs`, see `registry::Gathered`) that it
/// does not already have.
fn write_family(
    out: &mut String,
    family: &Family,
    format: Format,
    runs: &[(usize, Option<usize>)],
    targets: &[Vec<Label>],
) {
    let (meta_name, kind) = match (format, family.kind) {
        (Format::Text, k) => (&*family.name, k.as_str()),
        (Format::OpenMetrics, MetricType::Counter) => match family.name.strip_suffix("_total") {
            Some(base) => (base, "counter"),
            None => (&*family.name, "unknown"),
        },
        (Format::OpenMetrics, MetricType::Untyped) => (&*family.name, "unknown"),
        (Format::OpenMetrics, k) => (&*family.name, k.as_str()),
    };
    if !family.help.is_empty() {
        let _ = write!(out, "# HELP {meta_name} ");
        write_escaped(out, &family.help, format == Format::OpenMetrics);
        out.push('\n');
    }
    let _ = writeln!(out, "# TYPE {meta_name} {kind}");
    for (s, extra) in family.samples.iter().zip(target_labels(runs, targets)) {
        out.push_str(&family.name);
        out.push_str(s.suffix);
        let mut first = true;
        let own = s.labels.iter();
        let added = extra
            .iter()
            .filter(|(name, _)| !s.labels.iter().any(|(n, _)| n == name));
        for (name, value) in own.chain(added) {
            out.push(if first { '{' } else { ',' });
            first = false;
            out.push_str(name);
            out.push_str("=\"");
            write_escaped(out, value, true);
            out.push('"');
        }
        if !first {
            out.push('}');
        }
        out.push(' ');
        write_value(out, s.value);
        out.push('\n');
    }
}

/// Appends `s` escaped: backslash and newline always; double quote in
/// label values (and in OpenMetrics HELP text, which escapes it too).
/// Written in place, as is every part of a sample: the encoder allocates
/// nothing per sample (a 250 KB answer has a few thousand of them).
fn write_escaped(out: &mut String, s: &str, quote: bool) {
    let special = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Shortest text that reads back as the same float; exponent form for very
/// large or small magnitudes so a byte count never becomes 300 digits.
pub fn format_value(v: f64) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Appends [`format_value`]'s text for `v`.
fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v != 0.0 && (v.abs() >= 1e21 || v.abs() < 1e-6) {
        let _ = write!(out, "{v:e}");
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Most values are counts: integer digits without the float
        // formatter (which was a few percent of a scrape's CPU). Below
        // 2^53 every integer-valued f64 is exactly this integer, and
        // `{v}` would print the same digits. `-0.0` prints as `-0`.
        if v.is_sign_negative() {
            out.push('-');
        }
        write_integer(out, v.abs() as u64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Appends the decimal digits of `n`.
fn write_integer(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Sample, labels};

    fn families() -> Vec<Family> {
        let mut commit = Family::counter(
            "pg_stat_database_xact_commit",
            "Number of transactions in this database that have been committed",
        );
        commit.push(labels(&[("datname", "app"), ("server", "db:5432")]), 42.0);
        let mut scrapes = Family::counter("vigil_exporter_scrapes_total", "Scrapes served.");
        scrapes.push(vec![], 3.0);
        let mut health = Family::gauge("instance_health", "1 healthy, 0.5 degraded, 0 unhealthy");
        health.push(labels(&[("instance", "api-1")]), 0.5);
        health.push(labels(&[("instance", "we\"ird\\na\nme")]), 0.0);
        let mut hist = Family::new(
            "health_check_duration_seconds",
            "Probe time",
            MetricType::Histogram,
        );
        for (le, v) in [("0.1", 1.0), ("+Inf", 2.0)] {
            hist.samples.push(Sample {
                suffix: "_bucket",
                labels: labels(&[("check_type", "health"), ("le", le)]),
                value: v,
            });
        }
        hist.samples.push(Sample {
            suffix: "_sum",
            labels: labels(&[("check_type", "health")]),
            value: 0.25,
        });
        hist.samples.push(Sample {
            suffix: "_count",
            labels: labels(&[("check_type", "health")]),
            value: 2.0,
        });
        let untyped = Family::new(
            "pg_static",
            "Version string as reported by postgres",
            MetricType::Untyped,
        )
        .single(1.0);
        vec![commit, scrapes, health, hist, untyped]
    }

    const GOLDEN_TEXT: &str = r#"# HELP pg_stat_database_xact_commit Number of transactions in this database that have been committed
# TYPE pg_stat_database_xact_commit counter
pg_stat_database_xact_commit{datname="app",server="db:5432"} 42
# HELP vigil_exporter_scrapes_total Scrapes served.
# TYPE vigil_exporter_scrapes_total counter
vigil_exporter_scrapes_total 3
# HELP instance_health 1 healthy, 0.5 degraded, 0 unhealthy
# TYPE instance_health gauge
instance_health{instance="api-1"} 0.5
instance_health{instance="we\"ird\\na\nme"} 0
# HELP health_check_duration_seconds Probe time
# TYPE health_check_duration_seconds histogram
health_check_duration_seconds_bucket{check_type="health",le="0.1"} 1
health_check_duration_seconds_bucket{check_type="health",le="+Inf"} 2
health_check_duration_seconds_sum{check_type="health"} 0.25
health_check_duration_seconds_count{check_type="health"} 2
# HELP pg_static Version string as reported by postgres
# TYPE pg_static untyped
pg_static 1
"#;

    const GOLDEN_OPENMETRICS: &str = r#"# HELP pg_stat_database_xact_commit Number of transactions in this database that have been committed
# TYPE pg_stat_database_xact_commit unknown
pg_stat_database_xact_commit{datname="app",server="db:5432"} 42
# HELP vigil_exporter_scrapes Scrapes served.
# TYPE vigil_exporter_scrapes counter
vigil_exporter_scrapes_total 3
# HELP instance_health 1 healthy, 0.5 degraded, 0 unhealthy
# TYPE instance_health gauge
instance_health{instance="api-1"} 0.5
instance_health{instance="we\"ird\\na\nme"} 0
# HELP health_check_duration_seconds Probe time
# TYPE health_check_duration_seconds histogram
health_check_duration_seconds_bucket{check_type="health",le="0.1"} 1
health_check_duration_seconds_bucket{check_type="health",le="+Inf"} 2
health_check_duration_seconds_sum{check_type="health"} 0.25
health_check_duration_seconds_count{check_type="health"} 2
# HELP pg_static Version string as reported by postgres
# TYPE pg_static unknown
pg_static 1
# EOF
"#;

    #[test]
    fn text_format_matches_golden() {
        assert_eq!(encode(&families(), Format::Text), GOLDEN_TEXT);
    }

    #[test]
    fn openmetrics_matches_golden() {
        assert_eq!(encode(&families(), Format::OpenMetrics), GOLDEN_OPENMETRICS);
    }

    #[test]
    fn help_escaping_differs_by_format() {
        let f = vec![Family::gauge("g", "a \"q\" \\ b\nc").single(1.0)];
        assert!(encode(&f, Format::Text).starts_with("# HELP g a \"q\" \\\\ b\\nc\n"));
        assert!(encode(&f, Format::OpenMetrics).starts_with("# HELP g a \\\"q\\\" \\\\ b\\nc\n"));
    }

    #[test]
    fn values() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(-0.5), "-0.5");
        assert_eq!(format_value(1.7e9), "1700000000");
        assert_eq!(format_value(1e300), "1e300");
        assert_eq!(format_value(2.5e-9), "2.5e-9");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(999_999_999_999_999.0), "999999999999999");
        assert_eq!(format_value(1e15), "1000000000000000");
        assert_eq!(format_value(-42.0), "-42");
    }

    proptest::proptest! {
        /// The integer path writes what the float formatter would.
        #[test]
        fn integers_as_the_formatter_writes_them(n in -1e15f64..1e15, scale in 0u32..6) {
            let v = (n / 10f64.powi(scale as i32)).trunc();
            proptest::prop_assert_eq!(format_value(v), format!("{v}"));
        }
    }

    #[test]
    fn negotiates_like_prometheus_asks() {
        let prom2 = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::negotiate(Some(prom2)), Format::OpenMetrics);
        let text_first = "text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5";
        assert_eq!(Format::negotiate(Some(text_first)), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=0.0.1")),
            Format::Text
        );
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
    }
}
