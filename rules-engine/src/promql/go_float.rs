//! Floats printed for people as Prometheus (Go) prints them. Rust's
//! `to_string()` writes `2500000`, `inf`, `0.00001`; Go's `%v` writes
//! `2.5e+06`, `+Inf`, `1e-05`, and templates (`{{ $value }}`), annotation
//! texts and promtool's messages all go through Go's formatting.
//!
//! - [`go_float`]: `%v` / `%g`, shortest digits; exponent form when the
//!   decimal exponent is below -4 or at least 6 (Go uses precision 6 for
//!   this decision when printing the shortest representation);
//! - [`go_g`]: `%.Ng`, N significant digits (humanize uses `%.4g`);
//! - [`go_e`]: `strconv.FormatFloat(v, 'e' or 'E', -1, 64)`, as the API
//!   prints an alert's value and promtool prints sample values.
//!
//! The API's JSON numbers are another format (`'f'`, no exponent), kept in
//! `eval::fmt_go_float`.

/// Go's `%v` (and `%g`) of a float64.
pub fn go_float(v: f64) -> String {
    go_g(v, None)
}

/// Go's `%.Ng` with `prec = Some(N)`, or `%g` (shortest) with `None`.
pub fn go_g(v: f64, prec: Option<usize>) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    let (mant, exp) = scientific(v, prec);
    // Go decides with precision 6 when printing the shortest digits.
    let eprec = prec.map_or(6, |p| p.max(1) as i32);
    if exp < -4 || exp >= eprec {
        return format!("{}{}", trim_zeros(&mant), exponent(exp));
    }
    match prec {
        None => format!("{v}"),
        Some(p) => {
            let decimals = usize::try_from(p.max(1) as i32 - 1 - exp).unwrap_or(0);
            trim_zeros(&format!("{v:.decimals$}")).to_string()
        }
    }
}

/// `strconv.FormatFloat(v, 'e', -1, 64)` (`'E'` with `upper`): shortest
/// digits, always with an exponent: `2e+00`, `5E-01`, `2.5e+06`.
pub fn go_e(v: f64, upper: bool) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    let (mant, exp) = scientific(v, None);
    let exp = exponent(exp);
    format!("{mant}{}", if upper { exp.to_uppercase() } else { exp })
}

/// NaN, infinities and zeros as Go writes them.
fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        return Some("NaN".into());
    }
    if v.is_infinite() {
        return Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into());
    }
    None
}

/// The mantissa (rounded to `prec` significant digits, or shortest) and
/// the decimal exponent. Zero has exponent 0, as in Go.
fn scientific(v: f64, prec: Option<usize>) -> (String, i32) {
    let sci = match prec {
        None => format!("{v:e}"),
        Some(p) => format!("{v:.*e}", p.max(1) - 1),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    (mant.to_string(), exp.parse().unwrap_or(0))
}

/// `e+06`, `e-05`: a sign and at least two digits.
fn exponent(exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exp.unsigned_abs())
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings are Go's `fmt.Sprint` (the `%v` of a float64); the
    /// rule-test parity corpus checks a few of them against promtool too.
    #[test]
    fn percent_v() {
        for (v, want) in [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (123456.0, "123456"),
            (123456.7, "123456.7"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (2.5e6, "2.5e+06"),
            (1234567.0, "1.234567e+06"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(go_float(v), want, "{v:e}");
        }
    }

    /// Go's `%.4g`, as `humanize` prints.
    #[test]
    fn percent_point_4_g() {
        for (v, want) in [
            (1234.5678, "1235"),
            (12345.678, "1.235e+04"),
            (0.00012345, "0.0001234"),
            (0.000012345, "1.234e-05"),
            (100.0, "100"),
            (9999.6, "1e+04"),
            (0.5, "0.5"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(go_g(v, Some(4)), want, "{v:e}");
        }
    }

    #[test]
    fn exponent_forms() {
        for (v, want) in [
            (2.0, "2E+00"),
            (0.5, "5E-01"),
            (2.5e6, "2.5E+06"),
            (0.0, "0E+00"),
            (-1e-10, "-1E-10"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(go_e(v, true), want);
        }
        assert_eq!(go_e(0.85, false), "8.5e-01");
        assert_eq!(go_e(123456.0, false), "1.23456e+05");
        assert_eq!(go_e(f64::NAN, false), "NaN");
    }
}
