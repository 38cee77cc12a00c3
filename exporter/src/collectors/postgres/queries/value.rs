//! Values of a custom query's result, as postgres_exporter turns them into
//! numbers and labels (its `dbToFloat64` and `dbToString`).
//!
//! Custom queries run over the simple query protocol, so every value comes
//! as text, with its type's name: integers and floats are numbers, `bool`
//! is 1/0 (`true`/`false` as a label), `timestamp[tz]` and `date` are Unix
//! seconds (the session's `DateStyle` is ISO, see `run.rs`), `NULL` is
//! NaN (and written, as upstream does) or an empty label, and any other
//! type is parsed as a number when it reads as one (`numeric`) and is
//! otherwise not a value (the column is left out of that row).

/// A column's value in one row: its type's name (sqlx's, such as `INT4`)
/// and its text, `None` for `NULL`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell<'a> {
    pub type_name: &'a str,
    pub text: Option<&'a str>,
}

impl Cell<'_> {
    /// The number, `Some(NaN)` for `NULL`, `None` when it is not one.
    pub(crate) fn number(&self) -> Option<f64> {
        let Some(text) = self.text else {
            return Some(f64::NAN);
        };
        match self.type_name {
            "BOOL" => match text {
                "t" => Some(1.0),
                "f" => Some(0.0),
                _ => None,
            },
            "TIMESTAMP" | "TIMESTAMPTZ" | "DATE" => timestamp(text),
            _ => float(text),
        }
    }

    /// The label value.
    pub(crate) fn label(&self) -> String {
        let Some(text) = self.text else {
            return String::new();
        };
        match self.type_name {
            "BOOL" => (if text == "t" { "true" } else { "false" }).to_string(),
            "TIMESTAMP" | "TIMESTAMPTZ" | "DATE" => match timestamp(text) {
                Some(seconds) => format!("{seconds}"),
                None => text.to_string(),
            },
            _ => text.to_string(),
        }
    }
}

/// A number as Go's `strconv.ParseFloat` reads it, with PostgreSQL's
/// spellings of the special values.
pub(crate) fn float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.trim().parse().ok(),
    }
}

/// Whole Unix seconds of an ISO timestamp (`2024-05-01 12:30:00.25+02`,
/// `2024-05-01`), UTC unless an offset is given; `infinity` is not a time.
fn timestamp(text: &str) -> Option<f64> {
    let (date, rest) = text.split_at_checked(10)?;
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let mut seconds = days_from_civil(year, month, day)? * 86_400;
    if rest.ends_with(" BC") {
        return None;
    }
    if let Some(time) = rest.strip_prefix(' ') {
        let (clock, offset) = match time.find(['+', '-']) {
            Some(i) => (&time[..i], Some(&time[i..])),
            None => (time, None),
        };
        let mut hms = clock.split(':');
        let h: i64 = hms.next()?.parse().ok()?;
        let m: i64 = hms.next()?.parse().ok()?;
        let s: f64 = hms.next().unwrap_or("0").parse().ok()?;
        seconds += h * 3600 + m * 60 + s.floor() as i64;
        if let Some(offset) = offset {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let mut parts = offset[1..].split(':');
            let oh: i64 = parts.next()?.parse().ok()?;
            let om: i64 = parts.next().unwrap_or("0").parse().ok()?;
            let os: i64 = parts.next().unwrap_or("0").parse().ok()?;
            seconds -= sign * (oh * 3600 + om * 60 + os);
        }
    } else if !rest.is_empty() {
        return None;
    }
    Some(seconds as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A one-dimensional array's elements (`{1,2.5,NULL}`), for histograms.
pub(crate) fn array(text: &str) -> Option<Vec<Option<f64>>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|item| {
            let item = item.trim().trim_matches('"');
            if item == "NULL" {
                Some(None)
            } else {
                float(item).map(Some)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell<'a>(type_name: &'a str, text: Option<&'a str>) -> Cell<'a> {
        Cell { type_name, text }
    }

    #[test]
    fn numbers_by_type() {
        assert_eq!(cell("INT8", Some("42")).number(), Some(42.0));
        assert_eq!(cell("NUMERIC", Some("1.50")).number(), Some(1.5));
        assert_eq!(
            cell("FLOAT8", Some("-Infinity")).number(),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(cell("BOOL", Some("t")).number(), Some(1.0));
        assert!(cell("INT4", None).number().unwrap().is_nan());
        assert_eq!(cell("TEXT", Some("abc")).number(), None);
        assert_eq!(cell("TEXT", Some("12")).number(), Some(12.0));
    }

    #[test]
    fn timestamps_are_unix_seconds() {
        let t = |s| cell("TIMESTAMPTZ", Some(s)).number();
        assert_eq!(t("1970-01-01 00:00:00+00"), Some(0.0));
        assert_eq!(t("2024-05-01 12:30:00.75+02"), Some(1_714_559_400.0));
        assert_eq!(t("2024-05-01 12:30:00-03:30"), Some(1_714_579_200.0));
        assert_eq!(
            cell("DATE", Some("2000-03-01")).number(),
            Some(951_868_800.0)
        );
        assert_eq!(t("infinity"), None);
        assert_eq!(
            cell("TIMESTAMP", Some("2024-05-01 12:30:00")).label(),
            "1714566600"
        );
    }

    #[test]
    fn labels_as_upstream_writes_them() {
        assert_eq!(cell("BOOL", Some("f")).label(), "false");
        assert_eq!(cell("TEXT", None).label(), "");
        assert_eq!(cell("NAME", Some("public")).label(), "public");
    }

    #[test]
    fn arrays() {
        assert_eq!(
            array("{1,2.5,NULL}"),
            Some(vec![Some(1.0), Some(2.5), None])
        );
        assert_eq!(array("{}"), Some(vec![]));
        assert_eq!(array("1,2"), None);
        assert_eq!(array("{a}"), None);
    }
}
