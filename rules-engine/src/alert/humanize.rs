//! The number formatting of Prometheus's template functions (`humanize`,
//! `humanize1024`, `humanizeDuration`, `humanizePercentage`,
//! `humanizeTimestamp`), written against Go's `%.4g`, so annotations read the
//! same as under Prometheus.

/// Go's `%.4g`: four significant digits, trailing zeros removed, exponent
/// form (`1.235e+06`) when the exponent is below -4 or at least 4.
pub fn go_g4(v: f64) -> String {
    crate::promql::go_float::go_g(v, Some(4))
}

/// SI prefixes: `1.235k`, `12.35m`.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g4(v);
    }
    let mut v = v;
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", go_g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", go_g4(v))
}

/// Binary prefixes: `1Ki`, `1.5Gi`.
pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return go_g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", go_g4(v))
}

/// Seconds as `1d 2h 3m 4s`, or `12.35ms` below a second.
pub fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g4(v);
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let total = go_int64(v.abs());
        let (days, hours, minutes, seconds) = (
            total / 86400,
            total / 3600 % 24,
            total / 60 % 60,
            total % 60,
        );
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g4(v.abs()))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g4(v))
}

/// Go's `int64(f)` on amd64 (where Debian's Prometheus runs): a value out
/// of range becomes the smallest int64, so `humanizeDuration` of `1e30`
/// prints negative parts exactly as Prometheus does.
fn go_int64(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// A ratio as a percentage: 0.1234 → `12.34%`.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", go_g4(v * 100.0))
}

/// Seconds since the epoch as Go prints a UTC `time.Time`:
/// `2026-11-22 02:08:00.5 +0000 UTC`.
pub fn humanize_timestamp(v: f64) -> String {
    if !v.is_finite() {
        return go_g4(v);
    }
    let secs = v.floor() as i64;
    let nanos = ((v - v.floor()) * 1e9).round() as u32;
    match chrono::DateTime::from_timestamp(secs, nanos.min(999_999_999)) {
        Some(t) => {
            let frac = if nanos == 0 {
                String::new()
            } else {
                format!(".{nanos:09}").trim_end_matches('0').to_string()
            };
            format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
        }
        None => go_g4(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are Go's output for the same calls.
    #[test]
    fn g4_matches_go() {
        for (v, want) in [
            (1234567.0, "1.235e+06"),
            (0.00001234, "1.234e-05"),
            (0.0001234, "0.0001234"),
            (12.5, "12.5"),
            (100.0, "100"),
            (9999.0, "9999"),
            (99999.0, "1e+05"),
            (-2.0, "-2"),
        ] {
            assert_eq!(go_g4(v), want, "{v}");
        }
    }

    #[test]
    fn humanize_family() {
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.012345), "12.35m");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize1024(1048576.0), "1Mi");
        assert_eq!(humanize1024(512.0), "512");
        assert_eq!(humanize_duration(93784.0), "1d 2h 3m 4s");
        assert_eq!(humanize_duration(61.0), "1m 1s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.0125), "12.5ms");
        assert_eq!(humanize_percentage(0.123456), "12.35%");
        assert_eq!(humanize_timestamp(1.5), "1970-01-01 00:00:01.5 +0000 UTC");
        assert_eq!(humanize_timestamp(f64::NAN), "NaN");
    }
}
