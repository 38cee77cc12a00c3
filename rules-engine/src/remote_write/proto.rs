//! Prometheus remote write 1.0 on the wire: the `prometheus.WriteRequest`
//! protobuf (only the fields 1.0 senders fill: series with labels and
//! samples), in snappy's block format. The messages are derived with
//! prost, so no `.proto` file or protoc is needed; field numbers are those
//! of Prometheus's `prompb/remote.proto` and `types.proto`.

use std::collections::BTreeMap;

use prost::Message;

use crate::model::Labels;

/// `prometheus.WriteRequest` (field 3, metadata, is not sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`: labels sorted by name, samples by time.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`: the value's bits are kept, so a staleness marker
/// (a NaN with a fixed payload) arrives as one.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Builds a request from samples, one series per label set, each series'
/// samples in time order (receivers reject out-of-order samples).
pub fn write_request(samples: impl IntoIterator<Item = (Labels, i64, f64)>) -> WriteRequest {
    let mut by_series: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    for (labels, timestamp, value) in samples {
        by_series
            .entry(labels)
            .or_default()
            .push(Sample { value, timestamp });
    }
    let timeseries = by_series
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by_key(|s| s.timestamp);
            TimeSeries {
                labels: labels
                    .iter()
                    .map(|l| Label {
                        name: l.name.clone(),
                        value: l.value.clone(),
                    })
                    .collect(),
                samples,
            }
        })
        .collect();
    WriteRequest { timeseries }
}

/// The request body: protobuf, then snappy block compression (not the
/// framed stream format: remote write 1.0 says block).
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    let raw = req.encode_to_vec();
    // Compressing a buffer we just built cannot fail but for sizes beyond
    // snappy's 4 GiB limit, which max_samples_per_send keeps us far below.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// Why a body could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("snappy: {0}")]
    Snappy(#[from] snap::Error),
    #[error("protobuf: {0}")]
    Proto(#[from] prost::DecodeError),
}

/// The inverse of [`encode`], as a receiver reads it (tests use it).
pub fn decode(body: &[u8]) -> Result<WriteRequest, DecodeError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_group_into_sorted_series_and_survive_the_round_trip() {
        let a = Labels::from_pairs([("__name__", "a"), ("job", "x")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let stale = crate::model::stale_nan();
        let req = write_request([
            (a.clone(), 2_000, 2.0),
            (b.clone(), 1_000, stale),
            (a.clone(), 1_000, 1.0),
        ]);
        let back = decode(&encode(&req)).unwrap();
        assert_eq!(back.timeseries.len(), 2);
        let sa = &back.timeseries[0];
        assert_eq!(sa.labels[0].name, "__name__");
        assert_eq!(sa.labels[1].value, "x");
        let ts: Vec<i64> = sa.samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(ts, [1_000, 2_000]);
        let marker = back.timeseries[1].samples[0].value;
        assert_eq!(
            marker.to_bits(),
            stale.to_bits(),
            "staleness marker bits kept"
        );
    }

    /// The bytes of a one-sample request, as Go's protobuf encodes it:
    /// field 1 (series), in it field 1 (label: name, value) and field 2
    /// (sample: double value, varint timestamp).
    #[test]
    fn the_encoding_matches_the_protobuf_wire_format() {
        let req = write_request([(Labels::from_pairs([("a", "b")]), 1, 1.0)]);
        let bytes = req.encode_to_vec();
        let expected: Vec<u8> = vec![
            0x0a, 0x15, // timeseries, 21 bytes
            0x0a, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'b', // label a="b"
            0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // sample: value 1.0
            0x10, 0x01, // timestamp 1
        ];
        assert_eq!(bytes, expected);
    }
}
