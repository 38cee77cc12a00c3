//! Prometheus's JSON shapes: `{"status":"success","data":...}` with
//! optional `warnings`/`infos`, samples as `[<unix seconds>, "<value>"]`,
//! label sets as objects.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::model::{Labels, Sample};
use crate::promql::{QueryOutput, Value};

/// A successful answer.
#[derive(Serialize)]
pub struct Success<T: Serialize> {
    pub status: &'static str,
    pub data: T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub infos: Vec<String>,
}

pub fn success<T: Serialize>(data: T) -> Response {
    Json(Success {
        status: "success",
        data,
        warnings: Vec::new(),
        infos: Vec::new(),
    })
    .into_response()
}

/// A time in ms shown as Unix seconds: an integer when whole, otherwise
/// with the milliseconds (`1435781451.781`), as Prometheus writes it.
pub struct Ts(pub i64);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// A float as Prometheus's API writes it: shortest round-trip decimal,
/// never an exponent, and `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// `[t, "v"]`.
pub struct Point(pub i64, pub f64);

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(2))?;
        seq.serialize_element(&Ts(self.0))?;
        seq.serialize_element(&format_value(self.1))?;
        seq.end()
    }
}

/// A label set as a JSON object.
pub struct Metric<'a>(pub &'a Labels);

impl Serialize for Metric<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for l in self.0 {
            map.serialize_entry(&l.name, &l.value)?;
        }
        map.end()
    }
}

struct VectorElem<'a> {
    labels: &'a Labels,
    sample: &'a Sample,
}

impl Serialize for VectorElem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("metric", &Metric(self.labels))?;
        map.serialize_entry("value", &Point(self.sample.t, self.sample.v))?;
        map.end()
    }
}

struct MatrixElem<'a> {
    labels: &'a Labels,
    samples: &'a [Sample],
}

impl Serialize for MatrixElem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("metric", &Metric(self.labels))?;
        let points: Vec<Point> = self.samples.iter().map(|p| Point(p.t, p.v)).collect();
        map.serialize_entry("values", &points)?;
        map.end()
    }
}

/// The `data` of a query answer: `resultType` and `result`.
pub struct QueryData<'a>(pub &'a Value);

impl Serialize for QueryData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("resultType", self.0.type_name())?;
        match self.0 {
            Value::Scalar(t, v) => map.serialize_entry("result", &Point(*t, *v))?,
            Value::String(t, v) => map.serialize_entry("result", &(Ts(*t), v))?,
            Value::Vector(elems) => {
                let list: Vec<VectorElem> = elems
                    .iter()
                    .map(|(labels, sample)| VectorElem { labels, sample })
                    .collect();
                map.serialize_entry("result", &list)?
            }
            Value::Matrix(series) => {
                let list: Vec<MatrixElem> = series
                    .iter()
                    .map(|s| MatrixElem {
                        labels: &s.labels,
                        samples: &s.samples,
                    })
                    .collect();
                map.serialize_entry("result", &list)?
            }
        }
        map.end()
    }
}

/// A query answer with its annotations.
pub fn query_response(out: &QueryOutput) -> Response {
    Json(Success {
        status: "success",
        data: QueryData(&out.value),
        warnings: out.warnings.clone(),
        infos: out.infos.clone(),
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_times_are_written_like_prometheus() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(
            serde_json::to_string(&Point(1_435_781_451_781, 2.5)).unwrap(),
            r#"[1435781451.781,"2.5"]"#
        );
        assert_eq!(
            serde_json::to_string(&Point(1_435_781_451_000, 2.0)).unwrap(),
            r#"[1435781451,"2"]"#
        );
    }
}
