//! Backfill: a past period's ledger rebuilt from range queries of each
//! service's `up` expression, so the first report can cover a month before
//! vigil ran.
//!
//! The source is any Prometheus-compatible `/api/v1/query_range`: a
//! Prometheus, Thanos or Mimir, or a running vigil (its embedded store).
//! Each step of the range query stands for one evaluation at that
//! timestamp, exactly as the live task would have made it, so a backfilled
//! month and a recorded one agree; a step without any sample is unknown.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::evaluate::state_of;
use super::ledger::{Interval, LedgerError, State, intervals_from_observations};
use super::span::Span;

/// Most steps asked in one request: under Prometheus's 11,000 points.
pub const MAX_STEPS_PER_QUERY: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("cannot reach {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}: {message}")]
    Api {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: unexpected answer: {what}")]
    Shape { url: String, what: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The evaluation timestamps of `span` every `step_ms`: `start`,
/// `start + step`, … before `end`, in chunks of at most
/// [`MAX_STEPS_PER_QUERY`] as `(first, last)` pairs.
pub fn chunks(span: Span, step_ms: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut first = span.start;
    while first < span.end {
        let last = (first + (MAX_STEPS_PER_QUERY - 1) * step_ms).min(span.end - 1);
        let last = first + (last - first) / step_ms * step_ms;
        out.push((first, last));
        first = last + step_ms;
    }
    out
}

/// Observations from a range query's points: at each step, the state of
/// the values of every series that has a point there; steps without any
/// point are unknown.
pub fn observations(
    points: &BTreeMap<i64, Vec<f64>>,
    span: Span,
    step_ms: i64,
) -> Vec<(i64, State)> {
    let mut out = Vec::with_capacity(usize::try_from(span.len_ms() / step_ms).unwrap_or(0) + 1);
    let mut t = span.start;
    while t < span.end {
        out.push((t, points.get(&t).map_or(State::Unknown, |v| state_of(v))));
        t += step_ms;
    }
    out
}

/// The ledger intervals of `span` from range-query points.
pub fn intervals(
    points: &BTreeMap<i64, Vec<f64>>,
    span: Span,
    step_ms: i64,
    max_gap_ms: i64,
) -> Result<Vec<Interval>, BackfillError> {
    let obs = observations(points, span, step_ms);
    if obs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(intervals_from_observations(&obs, span.end, max_gap_ms)?)
}

/// Adds a `query_range` answer's matrix (or a scalar expression's points)
/// to `points` by timestamp in ms.
pub fn add_matrix(points: &mut BTreeMap<i64, Vec<f64>>, body: &Json) -> Result<(), String> {
    if body["status"] != "success" {
        return Err(format!(
            "{}: {}",
            body["errorType"].as_str().unwrap_or("error"),
            body["error"].as_str().unwrap_or("unknown error")
        ));
    }
    let data = &body["data"];
    let series = match data["resultType"].as_str() {
        Some("matrix") => data["result"]
            .as_array()
            .ok_or("result is not a list")?
            .iter()
            .map(|s| &s["values"])
            .collect::<Vec<_>>(),
        other => return Err(format!("result type {other:?}, expected matrix")),
    };
    for values in series {
        for p in values.as_array().ok_or("values is not a list")? {
            let t = p[0].as_f64().ok_or("timestamp is not a number")?;
            let v: f64 = p[1]
                .as_str()
                .ok_or("value is not a string")?
                .parse()
                .map_err(|_| format!("bad sample value {}", p[1]))?;
            points
                .entry((t * 1000.0).round() as i64)
                .or_default()
                .push(v);
        }
    }
    Ok(())
}

/// Runs the range queries of `expr` over `span` against `base_url`
/// (`http://host:9090`) and returns the points by timestamp.
pub async fn fetch(
    client: &reqwest::Client,
    base_url: &str,
    expr: &str,
    span: Span,
    step_ms: i64,
) -> Result<BTreeMap<i64, Vec<f64>>, BackfillError> {
    let url = format!("{}/api/v1/query_range", base_url.trim_end_matches('/'));
    let mut points = BTreeMap::new();
    for (first, last) in chunks(span, step_ms) {
        let secs = |ms: i64| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
        let form = [
            ("query", expr.to_string()),
            ("start", secs(first)),
            ("end", secs(last)),
            ("step", secs(step_ms)),
        ];
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let resp = client
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|source| BackfillError::Http {
                url: url.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        let body: Json = resp.json().await.map_err(|source| BackfillError::Http {
            url: url.clone(),
            source,
        })?;
        if status != 200 {
            return Err(BackfillError::Api {
                url,
                status,
                message: body["error"]
                    .as_str()
                    .unwrap_or("no error text")
                    .to_string(),
            });
        }
        add_matrix(&mut points, &body).map_err(|what| BackfillError::Shape {
            url: url.clone(),
            what,
        })?;
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn chunks_cover_every_step_once() {
        let span = Span::new(0, 25_000 * MIN);
        let c = chunks(span, MIN);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], (0, 9_999 * MIN));
        assert_eq!(c[1].0, 10_000 * MIN);
        assert_eq!(c[2], (20_000 * MIN, 24_999 * MIN));
        assert_eq!(chunks(Span::new(0, 90_000), MIN), vec![(0, MIN)]);
        assert!(chunks(Span::new(0, 0), MIN).is_empty());
    }

    #[test]
    fn range_points_become_intervals() {
        let body: Json = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"instance":"a"},"values":[[0,"1"],[60,"1"],[120,"0"],[180,"1"]]},
              {"metric":{"instance":"b"},"values":[[0,"1"],[60,"1"],[120,"1"],[180,"1"],[300,"1"]]}]}}"#,
        )
        .unwrap();
        let mut points = BTreeMap::new();
        add_matrix(&mut points, &body).unwrap();
        let got = intervals(&points, Span::new(0, 6 * MIN), MIN, 3 * MIN).unwrap();
        let iv = |s, e, state| Interval {
            span: Span::new(s * MIN, e * MIN),
            state,
        };
        // minute 4 has no point at all: unknown
        assert_eq!(
            got,
            vec![
                iv(0, 2, State::Up),
                iv(2, 3, State::Down),
                iv(3, 4, State::Up),
                iv(4, 5, State::Unknown),
                iv(5, 6, State::Up)
            ]
        );
    }

    #[test]
    fn api_errors_are_reported() {
        let body: Json = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap();
        let err = add_matrix(&mut BTreeMap::new(), &body).unwrap_err();
        assert_eq!(err, "bad_data: parse error");
    }
}
