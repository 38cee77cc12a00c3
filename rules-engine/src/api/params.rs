//! Request parameters as Prometheus reads them: GET query string and POST
//! form body merged, repeated keys (`match[]`), times as RFC 3339 or Unix
//! seconds, durations as Prometheus durations or float seconds, series
//! selectors for `match[]`.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri, header::CONTENT_TYPE};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::Expr;

use super::error::ApiError;
use crate::model::{METRIC_NAME, Matcher};

/// The earliest and latest times a request may name (ms); what
/// Prometheus's `minTime`/`maxTime` default to, kept within i64 ms.
pub const MIN_TIME: i64 = i64::MIN / 2;
pub const MAX_TIME: i64 = i64::MAX / 2;

/// All parameters of a request, in order.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Query string plus, for form posts, the body (Go's `ParseForm`).
    pub fn from_request(uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Self {
        let mut pairs: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            // Body values come first, as Go's r.Form lists them.
            let mut body_pairs: Vec<(String, String)> =
                form_urlencoded::parse(body).into_owned().collect();
            body_pairs.append(&mut pairs);
            pairs = body_pairs;
        }
        Params(pairs)
    }

    /// The first value of `name`, if given and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name` (for `match[]`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A required time parameter.
    pub fn time(&self, name: &str) -> Result<i64, ApiError> {
        parse_time(self.get(name).unwrap_or("")).map_err(|e| ApiError::bad_param(name, e))
    }

    /// An optional time parameter with a default.
    pub fn time_or(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(_) => self.time(name),
        }
    }

    /// An optional duration parameter.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, ApiError> {
        self.get(name)
            .map(|s| parse_duration(s).map_err(|e| ApiError::bad_param(name, e)))
            .transpose()
    }

    /// The `match[]` selectors, each a list of matchers.
    pub fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .into_iter()
            .map(|s| parse_selector(s).map_err(ApiError::bad_data))
            .collect()
    }
}

/// RFC 3339 or Unix seconds (with fraction), to ms.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
    {
        let ms = (secs * 1000.0).round();
        if ms >= MIN_TIME as f64 && ms <= MAX_TIME as f64 {
            return Ok(ms as i64);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    Err(format!("cannot parse {s:?} to a valid timestamp"))
}

/// Float seconds or a Prometheus duration (`5m`, `1h30m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 || secs * 1000.0 > i64::MAX as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(Duration::from_secs_f64(secs));
    }
    promql_parser::util::parse_duration(s)
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

/// A series selector (`up{job="x"}`, `{__name__=~"a.*"}`) to matchers.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, String> {
    // The parser recurses on nesting: bounded first, as for queries.
    crate::promql::limits::check(s).map_err(|e| e.to_string())?;
    let expr = promql_parser::parser::parse(s).map_err(|e| e.to_string())?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "invalid parameter \"match[]\": {s:?} is not a series selector"
        ));
    };
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    for m in &vs.matchers.matchers {
        out.push(match m.op {
            PMatchOp::Equal => Matcher::equal(&m.name, &m.value),
            PMatchOp::NotEqual => Matcher::not_equal(&m.name, &m.value),
            PMatchOp::Re(_) => Matcher::regex(&m.name, &m.value).map_err(|e| e.to_string())?,
            PMatchOp::NotRe(_) => {
                Matcher::not_regex(&m.name, &m.value).map_err(|e| e.to_string())?
            }
        });
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(format!(
            "invalid parameter \"match[]\": `or` is not supported in {s:?}"
        ));
    }
    if out.iter().all(|m| m.matches_empty()) {
        return Err("match[] must contain at least one non-empty matcher".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_like_prometheus() {
        assert_eq!(parse_time("1435781451.781").unwrap(), 1_435_781_451_781);
        assert_eq!(parse_time("1435781451").unwrap(), 1_435_781_451_000);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00").unwrap(),
            1_435_781_451_781
        );
        assert_eq!(
            parse_time("yesterday").unwrap_err(),
            "cannot parse \"yesterday\" to a valid timestamp"
        );
    }

    #[test]
    fn durations_parse_as_seconds_or_units() {
        assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn selectors_become_matchers() {
        let m = parse_selector(r#"up{job=~"a|b",instance!="x"}"#).unwrap();
        assert_eq!(m.len(), 3);
        assert!(m[1].matches("a") && !m[1].matches("c"));
        assert!(parse_selector("sum(up)").is_err());
        assert!(parse_selector(r#"{job=""}"#).is_err());
    }
}
